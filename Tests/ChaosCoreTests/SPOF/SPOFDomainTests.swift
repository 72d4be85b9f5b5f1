import ChaosCore
import Testing

/// Failure domains and what-if on maps whose answers are known: a queue whose two instances share a
/// rack, a database whose three replicas span two zones with minHealthy 2, and a pair failure that
/// only N-2 finds.
@Suite("Failure domains and what-if on maps with known answers")
struct SPOFDomainTests {
    /// `hosts`: name → domains; `spec`: service → hosts of its instances.
    static func inventory(hosts: [(String, [String: String])], _ spec: [(String, [String])], minHealthy: [String: Int] = [:], entries: [String],
                          hard: [(String, String)] = [], soft: [(String, String)] = []) -> Inventory {
        let services = spec.map { name, on in
            Inventory.Service(name: name, instances: on.map { Inventory.Instance(host: $0, process: ProcessSelector(name: name)) },
                              minHealthy: minHealthy[name] ?? 1, entry: entries.contains(name) ? SPOFAnalysisTests.probe : nil)
        }
        return Inventory(hosts: hosts.enumerated().map { i, h in Inventory.Host(name: h.0, address: "10.0.0.\(i + 1)", domains: h.1) },
                         dependencies: hard.map { Inventory.Dependency(from: $0.0, to: $0.1) } + soft.map { Inventory.Dependency(from: $0.0, to: $0.1, kind: .soft) },
                         services: services)
    }

    /// shop (2 lbs, zones a/b) → queue (q1, q2: rack r2, zones a/b) and db (3 replicas, minHealthy 2:
    /// two in zone a, one in zone b); cache soft.
    static let shop = inventory(
        hosts: [("lb1", ["zone": "a", "rack": "r1"]), ("lb2", ["zone": "b", "rack": "r3"]), ("q1", ["zone": "a", "rack": "r2"]),
                ("q2", ["zone": "b", "rack": "r2"]), ("db1", ["zone": "a", "rack": "r1"]), ("db2", ["zone": "a", "rack": "r4"]),
                ("db3", ["zone": "b", "rack": "r3"]), ("c1", ["zone": "a", "rack": "r1"]), ("c2", ["zone": "b", "rack": "r3"])],
        [("shop", ["lb1", "lb2"]), ("queue", ["q1", "q2"]), ("db", ["db1", "db2", "db3"]), ("cache", ["c1", "c2"])],
        minHealthy: ["db": 2], entries: ["shop"], hard: [("shop", "queue"), ("shop", "db")], soft: [("shop", "cache")])

    @Test("a queue whose two instances share a rack, a database over two zones with minHealthy 2: domain SPOFs no host shows")
    func domainSPOFs() {
        let r = SPOFAnalysis.analyze(Self.shop)
        #expect(r.spofs.map(\.component) == ["rack r2", "zone a"], "\(r.spofs)")
        #expect(r.spofs.allSatisfy { $0.kind == .sharedDomain && $0.cuts == ["shop"] })
        let rack = r.spofs[0]
        #expect(rack.reasons.first == "rack r2 (q1, q2) holds 2 of 2 instances of queue")
        #expect(rack.reasons.contains("shop → queue: 0 of 2 instances left (minHealthy 1; lost on q1, q2)"), "\(rack.reasons)")
        #expect(rack.domain == FailureDomain(kind: "rack", value: "r2") && rack.hosts == ["q1", "q2"])
        let zone = r.spofs[1]
        #expect(zone.reasons.contains("shop → db: 1 of 3 instances left (minHealthy 2; lost on db1, db2)"), "\(zone.reasons)")
        // No host alone does any of it.
        #expect(!r.spofs.contains { $0.kind == .sharedHost || $0.kind == .singleInstance })
        let queue = r.redundant.first { $0.service == "queue" }, db = r.redundant.first { $0.service == "db" }, cache = r.redundant.first { $0.service == "cache" }
        #expect(queue?.survivesOneLoss == true && queue?.survivesDomainLoss == false && queue?.note.contains("does not survive rack r2 (holds 2 of 2, minHealthy 1)") == true)
        #expect(db?.survivesDomainLoss == false && db?.note.contains("zone a (holds 2 of 3, minHealthy 2)") == true, "\(String(describing: db))")
        #expect(cache?.survivesDomainLoss == true)
        #expect(r.domains == ["rack:r1", "rack:r2", "rack:r3", "rack:r4", "zone:a", "zone:b"])
    }

    @Test("a domain explained by one host is not repeated; hosts without domains give no domain verdict")
    func domainOnlyWhenMore() {
        let inv = Self.inventory(hosts: [("lb", ["zone": "a"]), ("w1", ["zone": "a"]), ("w2", ["zone": "b"])], [("lb", ["lb"]), ("web", ["w1", "w2"])],
                                 entries: ["lb"], hard: [("lb", "web")])
        let r = SPOFAnalysis.analyze(inv)
        #expect(r.spofs.map(\.component) == ["service lb"], "zone a cuts lb, but host lb already does: \(r.spofs)")
        let plain = SPOFAnalysis.analyze(SPOFAnalysisTests.inventory([("web", ["h1", "h2"])], entries: ["web"]))
        #expect(plain.redundant.first?.survivesDomainLoss == nil && plain.domains.isEmpty)
    }

    @Test("what-if: any combination at once, each entry point with the path that explains it")
    func whatIf() throws {
        let model = SPOFModel(Self.shop)
        let zoneB = SPOFWhatIf.evaluate(model, failures: [try SPOFFailure.parse("zone:b", in: Self.shop)])
        // Zone b leaves lb1, q1, db1+db2 (minHealthy 2) and c1: every service keeps enough.
        #expect(zoneB.worst == .up && zoneB.entries.first?.health == .up && zoneB.servicesDown.isEmpty, "\(zoneB)")
        let zoneA = SPOFWhatIf.evaluate(model, failures: [.domain(FailureDomain(kind: "zone", value: "a"))])
        #expect(zoneA.worst == .down && zoneA.entries[0].why == ["shop → db: 1 of 3 instances left (minHealthy 2; lost on db1, db2)"], "\(zoneA)")
        #expect(zoneB.hosts == ["c2", "db3", "lb2", "q2"])
        let mixed = SPOFWhatIf.evaluate(model, failures: [.host("db3"), .service("cache")])
        #expect(mixed.worst == .degraded && mixed.entries[0].why == ["shop ⇢ cache: 0 of 2 instances left (minHealthy 1; lost on c1, c2)"], "\(mixed)")
        #expect(mixed.servicesDown == ["cache"] && mixed.servicesDegraded == ["shop"])
        let down = SPOFWhatIf.evaluate(model, failures: [.host("db1"), .host("db3")])
        #expect(down.worst == .down && down.entries[0].why == ["shop → db: 1 of 3 instances left (minHealthy 2; lost on db1, db3)"])
        #expect(down.lost == ["2 of 3 instances of db"])
        let none = SPOFWhatIf.evaluate(model, failures: [.host("lb1")])
        #expect(none.worst == .up && none.entries[0].why.isEmpty)
    }

    @Test("failures are parsed against the inventory with errors that name what exists")
    func parse() throws {
        #expect(try SPOFFailure.parse("host:db1", in: Self.shop) == .host("db1"))
        #expect(try SPOFFailure.parse("host:10.0.0.5", in: Self.shop) == .host("db1"), "a host by its address")
        #expect(try SPOFFailure.parse("rack=r2", in: Self.shop) == .domain(FailureDomain(kind: "rack", value: "r2")))
        #expect(try SPOFFailure.parse("service:queue", in: Self.shop) == .service("queue"))
        for (bad, says) in [("db1", "is not a failure: write KIND:NAME"), ("host:db9", "No host 'db9'"), ("zone:c", "Values of zone: a, b"),
                            ("power:p1", "Domain kinds in the inventory: rack, zone"), ("service:queu", "Did you mean 'queue'?"), (":x", "KIND:NAME")] {
            #expect(throws: ChaosError.self) { try SPOFFailure.parse(bad, in: Self.shop) }
            do { _ = try SPOFFailure.parse(bad, in: Self.shop) } catch { #expect(error.message.contains(says), "\(bad): \(error.message)") }
        }
    }

    @Test("N-2: a pair that takes the entry down though neither member does alone is found only by --all-pairs")
    func allPairs() throws {
        let model = SPOFModel(Self.shop)
        // No single host takes shop down...
        for h in Self.shop.hosts { #expect(SPOFWhatIf.evaluate(model, failures: [.host(h.name)]).worst != .down, "\(h.name)") }
        let hosts = try #require(SPOFWhatIf.candidates(model, over: "host"))
        let r = SPOFWhatIf.allPairs(model, over: "host", base: [], candidates: hosts)
        #expect(r.pairsEvaluated == 36)
        let only = r.pairs.filter { !$0.onlyTogether.isEmpty }.map { $0.pair.joined(separator: "+") }
        #expect(only == ["host:db1+host:db2", "host:db1+host:db3", "host:db2+host:db3", "host:lb1+host:lb2", "host:q1+host:q2"], "\(only)")
        #expect(r.pairs.contains { $0.pair == ["host:c1", "host:c2"] && $0.cuts.isEmpty && $0.degrades == ["shop"] }, "the soft cache: degraded only")
        // Over zones on top of a failed rack: every zone now cuts (the queue is gone already), none only together.
        let zones = try #require(SPOFWhatIf.candidates(model, over: "zone"))
        let z = SPOFWhatIf.allPairs(model, over: "zone", base: [.domain(FailureDomain(kind: "rack", value: "r2"))], candidates: zones)
        #expect(z.pairsEvaluated == 1 && z.pairs.count == 1 && z.pairs[0].onlyTogether.isEmpty && z.base == ["rack:r2"])
        #expect(SPOFWhatIf.candidates(model, over: "power") == nil)
    }

    @Test("a cyclic map settles; a failure of everything takes every entry down")
    func cycles() {
        let inv = Self.inventory(hosts: [("a", ["zone": "x"]), ("b", ["zone": "y"])], [("front", ["a", "b"]), ("back", ["a", "b"])],
                                 entries: ["front"], hard: [("front", "back"), ("back", "front")])
        let model = SPOFModel(inv)
        #expect(SPOFWhatIf.evaluate(model, failures: [.domain(FailureDomain(kind: "zone", value: "x"))]).worst == .up)
        let all = SPOFWhatIf.evaluate(model, failures: [.domain(FailureDomain(kind: "zone", value: "x")), .domain(FailureDomain(kind: "zone", value: "y"))])
        #expect(all.worst == .down && !all.entries[0].why.isEmpty)
    }
}
