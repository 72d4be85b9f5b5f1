@testable import ChaosRun
import ChaosCore
import ChaosProbes
import Foundation
import Testing

/// The controller's guard before each injection, with real `command` probes as the groups' health
/// checks (`/usr/bin/test -e DIR/{host}.up`): which host is hit, and when nothing may be.
@Suite("Victims: at random among the target's hosts, never taking a group below minHealthy (asked live)")
struct VictimPickerTests {
    let dir = NSTemporaryDirectory() + "chaos-victims-\(UUID().uuidString.prefix(8))"

    func inventory(minHealthy: Int, health: Bool) -> Inventory {
        var probe = ProbeSpec(name: "up", type: .command, timeout: .seconds(10))
        probe.command = ["/usr/bin/test", "-e", dir + "/{host}.up"]
        return Inventory(hosts: ["app1", "app2", "app3"].map { Inventory.Host(name: $0, address: "10.9.0.\($0.suffix(1))", tags: ["app"]) },
                         targets: [Inventory.Target(name: "app", tags: ["app"], process: ProcessSelector(name: "python3"))],
                         groups: [Inventory.Group(name: "apps", members: ["app"], minHealthy: minHealthy, health: health ? probe : nil)])
    }

    func experiment() -> Experiment {
        Experiment(name: "kill-app", target: TargetSpec(ref: "app"), fault: FaultSpec(type: .processKill, with: FaultParameters()))
    }

    func up(_ hosts: [String]) throws {
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for h in hosts { FileManager.default.createFile(atPath: "\(dir)/\(h).up", contents: nil) }
    }

    func pick(_ inv: Inventory) async throws(ChaosError) -> VictimPicker.Pick {
        let probes = Probes()
        defer { Task { await probes.shutdown() } }
        return try await VictimPicker.pick(experiment(), inventory: inv, ctx: HostContext(stateDir: dir), probes: probes)
    }

    @Test("every host of the target gets picked over many runs; the pick pins the run to it with the target's process")
    func random() async throws {
        try up(["app1", "app2", "app3"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var seen = Set<String>()
        for _ in 0..<40 {
            let p = try await pick(inventory(minHealthy: 1, health: true))
            seen.insert(p.experiment.target.host ?? "?")
            #expect(p.experiment.target.ref == nil && p.experiment.target.process == ProcessSelector(name: "python3"))
            #expect(p.note.contains("group apps: 3/3 healthy, minHealthy 1"), "\(p.note)")
        }
        #expect(seen == ["app1", "app2", "app3"])
    }

    @Test("with only minHealthy members healthy, only an already unhealthy host may be hit")
    func unhealthyFirst() async throws {
        try up(["app1", "app2"])  // app3 is down now
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for _ in 0..<15 {
            let p = try await pick(inventory(minHealthy: 2, health: true))
            #expect(p.experiment.target.host == "app3", "\(p.note)")
        }
    }

    @Test("refused, with the group's numbers, when every pick would take the group below minHealthy")
    func refused() async throws {
        try up(["app1", "app2", "app3"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        await #expect(throws: ChaosError.self) { _ = try await pick(inventory(minHealthy: 3, health: true)) }
        do { _ = try await pick(inventory(minHealthy: 3, health: true)) } catch {
            #expect(error.code == "safety.minHealthy")
            #expect(error.message.contains("group 'apps' would go below minHealthy 3 (3 of 3 healthy now)"), "\(error.message)")
        }
        // Without a health probe every member counts as healthy: 3 − 1 ≥ 2 is allowed, 3 − 1 ≥ 3 is not.
        _ = try await pick(inventory(minHealthy: 2, health: false))
        await #expect(throws: ChaosError.self) { _ = try await pick(inventory(minHealthy: 3, health: false)) }
    }

    @Test("a whole failure domain: allowed when every group keeps minHealthy without all its hosts, refused with the numbers when not")
    func domain() async throws {
        try up(["app1", "app2", "app3"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var inv = inventory(minHealthy: 1, health: true)
        inv.hosts[0].domains = ["zone": "a"]; inv.hosts[1].domains = ["zone": "a"]; inv.hosts[2].domains = ["zone": "b"]
        let zone = Experiment(name: "zone-a", target: TargetSpec(domain: "zone:a"), fault: FaultSpec(type: .networkBlackhole, duration: .seconds(30), with: FaultParameters()))
        let probes = Probes()
        defer { Task { await probes.shutdown() } }
        let ok = try await VictimPicker.pick(zone, inventory: inv, ctx: HostContext(stateDir: dir), probes: probes)
        #expect(ok.experiment.target.domain == "zone:a" && ok.note.hasPrefix("every host of zone:a: app1, app2") && ok.note.contains("group apps: 3/3 healthy"), "\(ok.note)")
        try up(["app1", "app2"])   // app3, the only one left in zone b, is down: the group would have none
        do {
            _ = try await VictimPicker.pick(zone, inventory: inv, ctx: HostContext(stateDir: dir), probes: probes)
            Issue.record("the group would be left with no healthy member")
        } catch {
            #expect(error.code == "safety.minHealthy" && error.message.contains("on every host of zone:a"), "\(error.message)")
        }
    }
}

@Suite("Run ids")
struct RunIDTests {
    @Test("r- and 12 hex digits, no two alike among 100,000 (8 digits collided about once per 100,000 runs)")
    func shapeAndSpread() {
        let ids = (0..<100_000).map { _ in RunDriver.newRunID() }
        #expect(ids.allSatisfy { $0.count == 14 && $0.hasPrefix("r-") && $0.dropFirst(2).allSatisfy { $0.isHexDigit && !$0.isUppercase } })
        #expect(Set(ids).count == ids.count)
    }
}
