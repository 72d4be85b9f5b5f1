import ChaosCore
import Testing

/// Known-answer maps: the sandbox's architecture as its hosts would report it, joined into services
/// and dependencies without reading the inventory's `services`.
@Suite("Map discovery: joining the hosts' views")
struct MapDiscoveryTests {
    static let hosts: [Inventory.Host] = [("lb", "10.80.0.10"), ("app1", "10.80.0.11"), ("app2", "10.80.0.12"),
                                          ("db1", "10.80.0.21"), ("db2", "10.80.0.22"), ("db3", "10.80.0.23")].map { Inventory.Host(name: $0.0, address: $0.1) }

    static func owner(_ pid: Int32, _ process: String, unit: String? = nil) -> HostDiscovery.Owner { .init(pid: pid, process: process, unit: unit) }
    static func out(_ o: HostDiscovery.Owner, from: String, to: String, _ port: Int, seen: Int = 1) -> HostDiscovery.Connection {
        .init(proto: "tcp", direction: .outgoing, localAddress: from, localPort: 40000 + port % 1000, remoteAddress: to, remotePort: port, owner: o,
              seen: seen, firstSeen: 0, lastSeen: 0)
    }

    /// The sandbox: haproxy → two apps → Redis (primary db1, replicas db2, db3) with a sentinel on each
    /// db host; the agent listens on 7433 everywhere; one app also calls an outside API.
    static var views: [String: HostDiscovery] {
        let agent = owner(50, "chaos-agent")
        func view(_ listeners: [HostDiscovery.Listener], _ connections: [HostDiscovery.Connection]) -> HostDiscovery {
            HostDiscovery(at: 0, windowMs: 60_000, listeners: listeners + [.init(proto: "tcp", address: "0.0.0.0", port: 7433, owner: agent)], connections: connections)
        }
        var v: [String: HostDiscovery] = [:]
        let haproxy = owner(10, "haproxy", unit: "haproxy.service")
        v["lb"] = view([.init(proto: "tcp", address: "10.80.0.10", port: 80, owner: haproxy)],
                       [out(haproxy, from: "10.80.0.10", to: "10.80.0.11", 8080, seen: 30), out(haproxy, from: "10.80.0.10", to: "10.80.0.12", 8080, seen: 30)])
        for (h, a) in [("app1", "10.80.0.11"), ("app2", "10.80.0.12")] {
            let app = owner(20, "python3")
            var conns = [out(app, from: a, to: "10.80.0.21", 6379, seen: 30)]
            conns += ["10.80.0.21", "10.80.0.22", "10.80.0.23"].map { out(app, from: a, to: $0, 26379, seen: 10) }
            if h == "app1" { conns.append(out(app, from: a, to: "198.51.100.7", 443, seen: 2)) }
            // The local health check of the app, over loopback: not a dependency of another service.
            v[h] = view([.init(proto: "tcp", address: a, port: 8080, owner: app), .init(proto: "tcp", address: "127.0.0.1", port: 9999, owner: app)], conns)
        }
        for (h, a) in [("db1", "10.80.0.21"), ("db2", "10.80.0.22"), ("db3", "10.80.0.23")] {
            let redis = owner(30, "redis-server"), sentinel = owner(31, "redis-sentinel")
            var conns = ["10.80.0.21", "10.80.0.22", "10.80.0.23"].map { out(sentinel, from: a, to: $0, 6379, seen: 5) }
            conns += ["10.80.0.21", "10.80.0.22", "10.80.0.23"].filter { $0 != a }.map { out(sentinel, from: a, to: $0, 26379, seen: 5) }
            if h != "db1" { conns.append(out(redis, from: a, to: "10.80.0.21", 6379, seen: 3)) }
            conns.append(out(agent, from: a, to: "10.80.0.1", 7433))
            v[h] = view([.init(proto: "tcp", address: a, port: 6379, owner: redis), .init(proto: "tcp", address: a, port: 26379, owner: sentinel)], conns)
        }
        return v
    }

    @Test("the sandbox's map: haproxy → apps → Redis, the apps' and Redis's links to the sentinels, replication as peers, an outside API as external; chaos itself and loopback left out")
    func sandbox() {
        let map = MapDiscovery.join(hosts: Self.hosts, views: Self.views)
        #expect(map.services.map(\.name) == ["haproxy", "python3", "redis-sentinel", "redis-server"])
        #expect(map.services.first { $0.name == "redis-server" }?.instances.map(\.host) == ["db1", "db2", "db3"])
        #expect(map.services.first { $0.name == "haproxy" }?.instances.first?.unit == "haproxy.service")
        let edges = map.dependencies.map { "\($0.from)→\($0.to)\($0.peers ? " (peers)" : "") \($0.connections)" }
        #expect(edges == ["haproxy→python3 60", "python3→redis-sentinel 60", "python3→redis-server 60",
                          "redis-sentinel→redis-sentinel (peers) 30", "redis-sentinel→redis-server 45", "redis-server→redis-server (peers) 6"], "\(edges)")
        #expect(map.external == [.init(from: "python3", address: "198.51.100.7", port: 443, connections: 2)])
        #expect(map.missing.isEmpty)

        let yaml = MapDiscovery.inventoryYAML(map)
        #expect(yaml.contains("  - {from: haproxy, to: python3, kind: hard}"))
        #expect(yaml.contains("      - {host: lb, unit: haproxy.service}"))
        #expect(yaml.contains("      - {host: db2, process: {port: 6379}}"))
        #expect(yaml.contains("# peers: the instances of redis-server talk to each other"))
        #expect(!yaml.contains("chaos-agent") && !yaml.contains("7433") && !yaml.contains("9999"))
        let dot = MapDiscovery.dot(map)
        #expect(dot.contains("\"haproxy\" -> \"python3\"") && dot.contains("style=dashed"))
    }

    @Test("a host without a view is named; a process that only connects out is a client; one program on two ports gets two names")
    func partial() {
        var views = Self.views
        views["db3"] = nil
        let cron = HostDiscovery.Owner(pid: 77, process: "backup.sh")
        views["app2"]?.connections.append(Self.out(cron, from: "10.80.0.12", to: "10.80.0.21", 6379))
        views["app2"]?.listeners.append(.init(proto: "tcp", address: "0.0.0.0", port: 9100, owner: .init(pid: 20, process: "python3")))
        let map = MapDiscovery.join(hosts: Self.hosts, views: views)
        #expect(map.missing == ["db3"])
        #expect(map.services.contains { $0.name == "backup.sh" && $0.port == nil && $0.instances.map(\.host) == ["app2"] })
        #expect(map.dependencies.contains { $0.from == "backup.sh" && $0.to == "redis-server" })
        #expect(map.services.contains { $0.name == "python3-8080" } && map.services.contains { $0.name == "python3-9100" })
        #expect(MapDiscovery.inventoryYAML(map).contains("# No view from: db3"))
    }

    @Test("a conversation only the serving side saw (a health check closed with a reset, a TIME_WAIT) comes from the client host's only service, else from an unidentified client")
    func serverSideOnly() {
        var views = Self.views
        views["lb"]?.connections = []
        for (h, a) in [("app1", "10.80.0.11"), ("app2", "10.80.0.12")] {
            views[h]?.connections.append(.init(proto: "tcp", direction: .incoming, localAddress: a, localPort: 8080, remoteAddress: "10.80.0.10",
                                               remotePort: 51000, owner: .init(), seen: 4, firstSeen: 0, lastSeen: 0))
        }
        // db1 runs two services, so who on it called app1 cannot be told.
        views["app1"]?.connections.append(.init(proto: "tcp", direction: .incoming, localAddress: "10.80.0.11", localPort: 8080, remoteAddress: "10.80.0.21",
                                                remotePort: 52000, owner: .init(), seen: 1, firstSeen: 0, lastSeen: 0))
        let map = MapDiscovery.join(hosts: Self.hosts, views: views)
        let edges = map.dependencies.map { "\($0.from)→\($0.to) \($0.connections) \($0.fromHosts.joined(separator: ","))" }
        #expect(edges.contains("haproxy→python3 8 lb"), "\(edges)")
        #expect(edges.contains("unidentified→python3 1 db1"), "\(edges)")
        #expect(map.services.contains { $0.name == "unidentified" && $0.port == nil && $0.instances.map(\.host) == ["db1"] })
        // Seen from both sides: counted once, from the client's.
        let both = MapDiscovery.join(hosts: Self.hosts, views: Self.views.merging(["app1": views["app1"]!]) { _, new in new })
        #expect(both.dependencies.first { $0.from == "haproxy" }?.connections == 60, "\(both.dependencies)")
    }
}
