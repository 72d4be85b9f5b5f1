import ChaosCore
import Testing

/// The written map beside the discovered one, on the sandbox's shape (MapDiscoveryTests.views).
@Suite("Map diff: the written map beside the hosts' view")
struct MapDiffTests {
    static func instance(_ host: String, port: Int) -> Inventory.Instance { .init(host: host, process: ProcessSelector(port: port)) }

    /// The sandbox's hand-written map (deploy/sandbox/sandbox write_inventory).
    static var written: Inventory {
        var inv = Inventory(hosts: MapDiscoveryTests.hosts)
        inv.services = [
            .init(name: "haproxy", instances: [instance("lb", port: 80)], entry: SPOFAnalysisTests.probe),
            .init(name: "web", instances: [instance("app1", port: 8080), instance("app2", port: 8080)]),
            .init(name: "redis-db", instances: ["db1", "db2", "db3"].map { instance($0, port: 6379) }),
            .init(name: "sentinels", instances: ["db1", "db2", "db3"].map { instance($0, port: 26379) }),
        ]
        inv.dependencies = [.init(from: "haproxy", to: "web"), .init(from: "web", to: "redis-db"), .init(from: "web", to: "sentinels")]
        return inv
    }
    static var discovered: MapDiscovery.Map { MapDiscovery.join(hosts: MapDiscoveryTests.hosts, views: MapDiscoveryTests.views) }

    @Test("the sandbox's written map: every written dependency is observed; the sentinels' links to Redis are the one undeclared")
    func sandbox() {
        let r = MapDiff.compare(Self.written, Self.discovered)
        #expect(r.matched == ["haproxy": ["haproxy"], "web": ["python3"], "redis-db": ["redis-server"], "sentinels": ["redis-sentinel"]])
        #expect(!r.findings.contains { $0.kind == .staleDependency }, "no written dependency is missing: \(r.findings)")
        #expect(r.findings.map(\.subject) == ["sentinels → redis-db"], "\(r.findings)")
        #expect(r.findings.first?.kind == .undeclaredDependency && r.findings.first?.detail.contains("observed 45 connections from db1, db2, db3") == true)
        #expect(r.disagreements == 1)
    }

    @Test("a dependency removed from the written map is named; one written but never seen is stale")
    func removedAndStale() {
        var inv = Self.written
        inv.dependencies.removeAll { $0.from == "web" && $0.to == "redis-db" }
        inv.dependencies.append(.init(from: "haproxy", to: "sentinels", kind: .soft))
        let r = MapDiff.compare(inv, Self.discovered)
        #expect(r.findings.contains { $0.kind == .undeclaredDependency && $0.subject == "web → redis-db" }, "\(r.findings)")
        let stale = r.findings.first { $0.kind == .staleDependency }
        #expect(stale?.subject == "haproxy → sentinels" && stale?.detail.contains("in the 1m watched") == true, "\(String(describing: stale))")
    }

    @Test("instances: one written where nothing listens, one running where the map does not say, two 'redundant' ones on one host")
    func instances() {
        var inv = Self.written
        inv.hosts.append(.init(name: "db4", address: "10.80.0.24"))
        inv.services[2].instances.append(Self.instance("db4", port: 6379))          // nothing there
        inv.services[1].instances = [Self.instance("app1", port: 8080)]              // app2 runs it too
        inv.services[3].instances.append(Self.instance("db1", port: 26379))          // two sentinels on db1
        var views = MapDiscoveryTests.views
        views["db4"] = HostDiscovery(at: 0, windowMs: 0, listeners: [], connections: [])
        let r = MapDiff.compare(inv, MapDiscovery.join(hosts: inv.hosts, views: views))
        let kinds = r.findings.map { "\($0.kind.rawValue): \($0.subject)" }
        #expect(kinds.contains("missing_instance: service redis-db on db4"), "\(kinds)")
        #expect(kinds.contains("unlisted_instance: service web on app2"), "\(kinds)")
        #expect(kinds.contains("shared_host: service sentinels on db1"), "\(kinds)")
    }

    @Test("what cannot be told is not a disagreement: a host without a view, instances by pid, services nobody talks to")
    func unknowns() {
        var views = MapDiscoveryTests.views
        views["db3"] = nil
        views["lb"]?.listeners.append(.init(proto: "tcp", address: "0.0.0.0", port: 22, owner: .init(pid: 5, process: "sshd", unit: "ssh.service")))
        var inv = Self.written
        inv.services.append(.init(name: "batch", instances: [.init(host: "app1", process: ProcessSelector(pid: 4242))]))
        let r = MapDiff.compare(inv, MapDiscovery.join(hosts: MapDiscoveryTests.hosts, views: views))
        #expect(r.missingHosts == ["db3"])
        #expect(!r.findings.contains { $0.subject.hasSuffix("on db3") }, "\(r.findings)")
        #expect(r.findings.contains { $0.kind == .unmappedService && $0.subject == "ssh" && !$0.disagrees })
        #expect(r.notes.contains { $0.contains("service batch: 1 instance is given by pid") }, "\(r.notes)")
        #expect(r.notes.contains { $0.contains("no view from db3") })
    }

    @Test("a service given by unit or process name is matched too")
    func byUnitAndName() {
        var inv = Self.written
        inv.services[0].instances = [.init(host: "lb", unit: "haproxy.service")]
        inv.services[1].instances = ["app1", "app2"].map { Inventory.Instance(host: $0, process: ProcessSelector(name: "python3")) }
        let r = MapDiff.compare(inv, Self.discovered)
        #expect(r.matched["haproxy"] == ["haproxy"] && r.matched["web"] == ["python3"], "\(r.matched)")
        #expect(r.disagreements == 1)
    }
}
