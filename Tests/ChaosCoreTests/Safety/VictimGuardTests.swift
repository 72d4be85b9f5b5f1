@testable import ChaosCore
import Testing

@Suite("Victim guard: blast radius and minHealthy")
struct VictimGuardTests {
    typealias C = VictimGuard.Candidate

    @Test("a group of three with minHealthy 2 gives one victim; one already down gives none")
    func minHealthy() {
        var rng = SplitMix64(seed: 1)
        let cands = ["db1", "db2", "db3"].map { C(id: "redis@\($0)", host: $0) }
        let g = VictimGuard.Group(name: "redis", members: ["db1", "db2", "db3"], minHealthy: 2, healthy: ["db1", "db2", "db3"])
        #expect(VictimGuard.choose(cands, wanted: 3, safety: SafetySpec(), groups: [g], using: &rng).chosen.count == 1)
        var down = g
        down.healthy = ["db1", "db2"]
        let d = VictimGuard.choose(cands, wanted: 1, safety: SafetySpec(), groups: [down], using: &rng)
        #expect(d.chosen.map(\.host) == ["db3"] || d.chosen.isEmpty, "only the member already down may be hit")
        let healthyOnly = VictimGuard.choose(Array(cands.prefix(2)), wanted: 1, safety: SafetySpec(), groups: [down], using: &rng)
        #expect(healthyOnly.chosen.isEmpty && healthyOnly.limits.first?.contains("minHealthy 2") == true, "\(healthyOnly.limits)")
        #expect(VictimGuard.cap(SafetySpec(maxPercent: 50), matched: 3) == 1)
        #expect(VictimGuard.cap(SafetySpec(maxCount: 2, maxPercent: 100), matched: 3) == 2)
    }

    @Test("property: never more than maxCount or maxPercent, never a group below minHealthy, and maximal")
    func property() {
        var rng = SplitMix64(seed: 11)
        let hosts = (1...8).map { "h\($0)" }
        for _ in 0..<2_000 {
            let cands = (0..<Int.random(in: 0...12, using: &rng)).map { C(id: "p\($0)", host: hosts.randomElement(using: &rng)!) }
            let groups = (0..<Int.random(in: 0...3, using: &rng)).map { i -> VictimGuard.Group in
                let members = Set(hosts.filter { _ in Bool.random(using: &rng) })
                return VictimGuard.Group(name: "g\(i)", members: members, minHealthy: Int.random(in: 0...4, using: &rng),
                                         healthy: members.filter { _ in Int.random(in: 0..<5, using: &rng) > 0 })
            }
            let safety = SafetySpec(maxCount: Bool.random(using: &rng) ? Int.random(in: 1...6, using: &rng) : nil,
                                    maxPercent: Bool.random(using: &rng) ? Double(Int.random(in: 1...100, using: &rng)) : nil)
            let wanted = Int.random(in: 1...10, using: &rng)
            let d = VictimGuard.choose(cands, wanted: wanted, safety: safety, groups: groups, using: &rng)
            #expect(d.chosen.count <= wanted)
            if let m = safety.maxCount { #expect(d.chosen.count <= m) }
            if let p = safety.maxPercent, !cands.isEmpty { #expect(Double(d.chosen.count) * 100 / Double(cands.count) <= p + 1e-9) }
            #expect(Set(d.chosen).count == d.chosen.count && d.chosen.allSatisfy(cands.contains))
            let out = Set(d.chosen.map(\.host))
            for g in groups {
                let before = g.healthy.intersection(g.members).count
                let after = g.healthy.intersection(g.members).subtracting(out).count
                #expect(after >= min(before, g.minHealthy), "group \(g.name) \(before) → \(after), minHealthy \(g.minHealthy)")
            }
            // Maximal: below what was wanted and allowed, each candidate left out would cost a group at its floor.
            if d.chosen.count < min(wanted, VictimGuard.cap(safety, matched: cands.count)) {
                for c in cands where !d.chosen.contains(c) && !out.contains(c.host) {
                    let blocked = groups.contains { g in
                        g.members.contains(c.host) && g.healthy.contains(c.host)
                            && g.healthy.intersection(g.members).subtracting(out).count <= g.minHealthy
                    }
                    #expect(blocked, "\(c) could have been hit")
                }
            }
        }
    }
}
