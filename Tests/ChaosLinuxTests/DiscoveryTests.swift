import ChaosCore
import ChaosLinux
import Glibc
import Testing

/// The host's view for map discovery: the kernel's socket tables parsed exactly, owners found, a
/// window that remembers short-lived connections within bounds, and a real snapshot of real sockets.
@Suite("Discovery: listeners and connections from /proc")
struct DiscoveryTests {
    static let tcp = """
      sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
       0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
       1: 1500500A:1F90 1600500A:D431 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1
       2: 1500500A:A1B2 1500500A:18EB 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1
       3: 1500500A:A1B3 1500500A:18EB 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000
    """
    static let tcp6 = """
      sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
       0: 00000000000000000000000000000000:18EB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0
       1: 0000000000000000FFFF00001500500A:18EB 0000000000000000FFFF00001600500A:C350 01 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 20 4 30 10 -1
       2: 000080FE00000000FF00000001000000:0035 B80D0120000000000000000002000000:E000 01 00000000:00000000 00:00000000 00000000     0        0 2003 1 0000000000000000 20 4 30 10 -1
    """

    @Test("socket tables: addresses in the kernel's byte order, IPv4-mapped IPv6 as IPv4, RFC 5952 IPv6, states and inodes")
    func parse() {
        let rows = SocketTables.parse(Self.tcp, proto: "tcp")
        #expect(rows.count == 4)
        #expect(rows[0] == .init(proto: "tcp", localAddress: "0.0.0.0", localPort: 8080, remoteAddress: "0.0.0.0", remotePort: 0, state: "0A", inode: 1001))
        #expect(rows[0].isListening && !rows[0].isEstablished)
        #expect(rows[1].localAddress == "10.80.0.21" && rows[1].remoteAddress == "10.80.0.22" && rows[1].remotePort == 54321 && rows[1].isEstablished)
        #expect(!rows[3].isEstablished && rows[3].isRecentlyClosed, "TIME_WAIT is not a live connection, but a recent one")
        let six = SocketTables.parse(Self.tcp6, proto: "tcp")
        #expect(six[0].localAddress == "::" && six[0].localPort == 6379 && six[0].isListening)
        #expect(six[1].localAddress == "10.80.0.21" && six[1].remoteAddress == "10.80.0.22", "mapped addresses read as IPv4")
        #expect(six[2].localAddress == "fe80::ff:0:1" && six[2].remoteAddress == "2001:db8::2", "\(six[2])")
        #expect(SocketTables.parse("header\n garbage line\n 0: zz:yy", proto: "tcp").isEmpty)
    }

    @Test("the systemd service of a process comes from its cgroup, v2 and v1, system and user")
    func units() {
        #expect(SocketTables.unit(fromCgroup: "0::/system.slice/redis-server.service\n") == "redis-server.service")
        #expect(SocketTables.unit(fromCgroup: "0::/user.slice/user-0.slice/user@0.service/app.slice/web.service\n") == "web.service")
        #expect(SocketTables.unit(fromCgroup: "12:cpu:/\n1:name=systemd:/system.slice/haproxy.service\n0::/\n") == "haproxy.service")
        #expect(SocketTables.unit(fromCgroup: "0::/user.slice/user-1000.slice/session-3.scope\n") == nil)
    }

    @Test("assembled view: a connection to one of our listeners is incoming, the rest outgoing; owners attached")
    func assemble() {
        let rows = SocketTables.parse(Self.tcp, proto: "tcp") + SocketTables.parse(Self.tcp6, proto: "tcp")
        let redis = HostDiscovery.Owner(pid: 7, process: "redis-server", unit: "redis-server.service")
        let app = HostDiscovery.Owner(pid: 9, process: "python3")
        let view = DiscoveryProbe.assemble(rows, owners: [1001: app, 1002: app, 1003: app, 2001: redis, 2002: redis], now: 1000)
        #expect(view.listeners.map { "\($0.port) \($0.owner.name)" } == ["6379 redis-server.service", "8080 python3"])
        let byInode = Dictionary(uniqueKeysWithValues: view.connections.map { ("\($0.localPort)->\($0.remotePort)", $0) })
        #expect(byInode["8080->54321"]?.direction == .incoming)
        #expect(byInode["41394->6379"]?.direction == .outgoing && byInode["41394->6379"]?.servicePort == 6379)
        #expect(byInode["6379->50000"]?.direction == .incoming && byInode["6379->50000"]?.owner.unit == "redis-server.service")
    }

    @Test("a snapshot has one entry per conversation, however many sockets it holds, and at most `limit` of them (the busiest), counting the rest")
    func conversations() {
        let server = HostDiscovery.Owner(pid: 7, process: "redis-server")
        // Three clients' sockets from 10.0.0.2 and one from 10.0.0.3 to our 6379; one TIME_WAIT from 10.0.0.4.
        var rows = [SocketTables.Row(proto: "tcp", localAddress: "10.0.0.1", localPort: 6379, remoteAddress: "0.0.0.0", remotePort: 0, state: "0A", inode: 1)]
        rows += (0..<3).map { SocketTables.Row(proto: "tcp", localAddress: "10.0.0.1", localPort: 6379, remoteAddress: "10.0.0.2", remotePort: 50000 + $0, state: "01", inode: UInt64(10 + $0)) }
        rows.append(.init(proto: "tcp", localAddress: "10.0.0.1", localPort: 6379, remoteAddress: "10.0.0.3", remotePort: 50100, state: "01", inode: 20))
        rows.append(.init(proto: "tcp", localAddress: "10.0.0.1", localPort: 6379, remoteAddress: "10.0.0.4", remotePort: 50200, state: "06", inode: 0))
        let owners: [UInt64: HostDiscovery.Owner] = [1: server, 10: server, 11: server, 12: server, 20: server]
        let view = DiscoveryProbe.assemble(rows, owners: owners, now: 5)
        #expect(view.connections.map { "\($0.remoteAddress) \($0.seen) \($0.owner.pid ?? -1)" } == ["10.0.0.2 3 7", "10.0.0.3 1 7", "10.0.0.4 1 -1"], "\(view.connections)")
        #expect(view.omitted == 0 && view.connections.allSatisfy { $0.direction == .incoming })
        let capped = DiscoveryProbe.assemble(rows, owners: owners, now: 5, limit: 1)
        #expect(capped.connections.map(\.remoteAddress) == ["10.0.0.2"] && capped.omitted == 2)
    }

    @Test("the window counts a conversation once however many local ports it uses, forgets what it has not seen for a window, and stays bounded")
    func window() {
        func snapshot(at: Int64, _ conns: [(String, Int, Int)]) -> HostDiscovery {
            HostDiscovery(at: at, windowMs: 0, listeners: [], connections: conns.map { remote, localPort, remotePort in
                .init(proto: "tcp", direction: .outgoing, localAddress: "10.0.0.1", localPort: localPort, remoteAddress: remote, remotePort: remotePort,
                      owner: .init(pid: 1, process: "app"), firstSeen: at, lastSeen: at)
            })
        }
        var w = ConnectionWindow(windowMs: 60_000, limit: 3)
        w.add(snapshot(at: 0, [("10.0.0.2", 40000, 6379)]))
        w.add(snapshot(at: 1000, [("10.0.0.2", 40001, 6379), ("10.0.0.3", 40002, 5432)]))
        var view = w.view(latest: snapshot(at: 1000, []))
        #expect(view.connections.count == 2)
        #expect(view.connections.first { $0.remotePort == 6379 }?.seen == 2, "a new local port is the same conversation")
        #expect(view.windowMs == 60_000)
        w.add(snapshot(at: 70_000, [("10.0.0.4", 40003, 80)]))
        view = w.view(latest: snapshot(at: 70_000, []))
        #expect(view.connections.map(\.remoteAddress) == ["10.0.0.4"], "not seen for a window: forgotten")
        w.add(snapshot(at: 71_000, (5...9).map { ("10.0.0.\($0)", 41000 + $0, 80) }))
        #expect(w.count == 3, "bounded")
    }

    @Test("a real snapshot finds this process's listener and both ends of a connection to it, with its pid")
    func realSnapshot() throws {
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(server) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        try #require(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(server, $0, len) } } == 0)
        try #require(listen(server, 4) == 0)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(server, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        try #require(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, len) } } == 0)
        let accepted = accept(server, nil, nil)
        defer { close(accepted) }

        let view = DiscoveryProbe.snapshot()
        let me = getpid()
        let listener = view.listeners.first { $0.proto == "tcp" && $0.port == port }
        #expect(listener?.owner.pid == me, "\(String(describing: listener))")
        let ours = view.connections.filter { $0.owner.pid == me && ($0.localPort == port || $0.remotePort == port) }
        #expect(ours.contains { $0.direction == .incoming && $0.localPort == port }, "the accepted end: \(ours)")
        #expect(ours.contains { $0.direction == .outgoing && $0.remotePort == port && $0.remoteAddress == "127.0.0.1" }, "the client end: \(ours)")
    }
}
