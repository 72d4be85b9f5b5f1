import ChaosCore
import ChaosPOSIX

/// Takes this host's view of the architecture from /proc: every listening TCP/UDP socket and every
/// established connection, each with the process (and systemd service) holding it, and the TCP
/// connections closed in the last minute (TIME_WAIT and the closing states: a health check's, a
/// cron job's), whose process the kernel no longer knows. One pass over the
/// four socket tables and one over `/proc/*/fd`; nothing is captured, no payload is read.
public enum DiscoveryProbe {
    /// A snapshot now.
    public static func snapshot(root: String = "/proc", now: Int64 = Epoch.milliseconds()) -> HostDiscovery {
        var rows: [SocketTables.Row] = []
        for (file, proto) in [("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp")] {
            if let text = POSIXFiles.readText("\(root)/net/\(file)", limit: 64 << 20) { rows += SocketTables.parse(text, proto: proto) }
        }
        let wanted = Set(rows.filter { $0.isListening || $0.isEstablished }.map(\.inode)).subtracting([0])
        let owners = socketOwners(wanted, root: root)
        return assemble(rows, owners: owners, now: now)
    }

    /// Builds the view from parsed rows and an inode → owner map. Pure.
    public static func assemble(_ rows: [SocketTables.Row], owners: [UInt64: HostDiscovery.Owner], now: Int64, limit: Int = 10_000) -> HostDiscovery {
        var listeners: [HostDiscovery.Listener] = []
        var listening = Set<String>()
        var seen = Set<String>()
        for r in rows where r.isListening && seen.insert("\(r.proto)/\(r.localAddress)/\(r.localPort)").inserted {
            listeners.append(.init(proto: r.proto, address: r.localAddress, port: r.localPort, owner: owners[r.inode] ?? .init()))
            listening.insert("\(r.proto)/\(r.localPort)")
        }
        // One entry per conversation (process, direction, remote address, service port), `seen` the
        // sockets it holds: a server with 50,000 clients on 200 hosts answers with 200 entries.
        var conversations: [String: HostDiscovery.Connection] = [:]
        for r in rows where r.isEstablished || r.isRecentlyClosed {
            let incoming = listening.contains("\(r.proto)/\(r.localPort)")
            let owner = owners[r.inode] ?? .init()
            let key = "\(owner.pid ?? -1)|\(incoming)|\(r.proto)|\(r.remoteAddress)|\(incoming ? r.localPort : r.remotePort)"
            if conversations[key] != nil { conversations[key]!.seen += 1; continue }
            conversations[key] = .init(proto: r.proto, direction: incoming ? .incoming : .outgoing, localAddress: r.localAddress, localPort: r.localPort,
                                       remoteAddress: r.remoteAddress, remotePort: r.remotePort, owner: owner, firstSeen: now, lastSeen: now)
        }
        // Bounded: the busiest `limit` conversations; the rest are counted, not listed.
        var connections = conversations.values.sorted { ($1.seen, $0.owner.name, $0.remoteAddress, $0.servicePort) < ($0.seen, $1.owner.name, $1.remoteAddress, $1.servicePort) }
        let omitted = max(0, connections.count - limit)
        if omitted > 0 { connections.removeLast(omitted) }
        listeners.sort { ($0.proto, $0.port, $0.address) < ($1.proto, $1.port, $1.address) }
        let extraListeners = max(0, listeners.count - limit)
        if extraListeners > 0 { listeners.removeLast(extraListeners) }
        return HostDiscovery(at: now, windowMs: 0, listeners: listeners, omitted: omitted + extraListeners, connections: connections)
    }

    /// Which process holds each socket inode (`/proc/PID/fd/N -> socket:[INODE]`), with its name and
    /// systemd service. Processes that vanish or cannot be read are skipped.
    static func socketOwners(_ inodes: Set<UInt64>, root: String) -> [UInt64: HostDiscovery.Owner] {
        guard !inodes.isEmpty else { return [:] }
        var out: [UInt64: HostDiscovery.Owner] = [:]
        // A process in another network namespace holds none of the sockets of ours (the tables are
        // per namespace): one readlink instead of one per descriptor. Unknown namespaces are scanned.
        let ours = POSIXFiles.readLink("\(root)/self/ns/net")
        for name in POSIXFiles.list(root) {
            guard let pid = Int32(name) else { continue }
            if let ours, let theirs = POSIXFiles.readLink("\(root)/\(pid)/ns/net"), theirs != ours { continue }
            var owner: HostDiscovery.Owner?
            for fd in POSIXFiles.list("\(root)/\(pid)/fd") {
                guard let link = POSIXFiles.readLink("\(root)/\(pid)/fd/\(fd)"), link.hasPrefix("socket:["),
                      let inode = UInt64(link.dropFirst(8).dropLast()), inodes.contains(inode), out[inode] == nil else { continue }
                if owner == nil {
                    let comm = POSIXFiles.readText("\(root)/\(pid)/comm")?.trimmingWhitespace()
                    let unit = POSIXFiles.readText("\(root)/\(pid)/cgroup").flatMap(SocketTables.unit(fromCgroup:))
                    owner = HostDiscovery.Owner(pid: pid, process: comm, unit: unit)
                }
                out[inode] = owner
            }
        }
        return out
    }
}

/// Connections seen over a window, from repeated snapshots, so short-lived connections show up too.
/// Bounded: at most `limit` distinct conversations (owner, direction, remote address, service port);
/// past it the one seen longest ago is forgotten. Pure.
public struct ConnectionWindow: Sendable {
    public let windowMs: Int64
    public let limit: Int
    private var entries: [String: HostDiscovery.Connection] = [:]

    public init(windowMs: Int64, limit: Int = 10_000) { self.windowMs = windowMs; self.limit = limit }

    public var count: Int { entries.count }

    /// Adds a snapshot's connections, and forgets those not seen within the window.
    public mutating func add(_ snapshot: HostDiscovery) {
        for c in snapshot.connections {
            // One conversation per owner, direction, remote host and service port: a client's changing
            // local ports do not make new entries.
            let key = "\(c.owner.name)|\(c.direction.rawValue)|\(c.proto)|\(c.remoteAddress)|\(c.direction == .outgoing ? c.remotePort : c.localPort)"
            if var old = entries[key] {
                old.seen += c.seen
                old.lastSeen = max(old.lastSeen, c.lastSeen)
                old.owner = c.owner
                entries[key] = old
            } else {
                entries[key] = c
            }
        }
        let oldest = snapshot.at - windowMs
        entries = entries.filter { $0.value.lastSeen >= oldest }
        if entries.count > limit {
            for (key, _) in entries.sorted(by: { $0.value.lastSeen < $1.value.lastSeen }).prefix(entries.count - limit) { entries[key] = nil }
        }
    }

    /// The latest snapshot's listeners with every conversation of the window.
    public func view(latest: HostDiscovery) -> HostDiscovery {
        HostDiscovery(at: latest.at, windowMs: windowMs, listeners: latest.listeners, omitted: latest.omitted,
                      connections: entries.values.sorted { ($0.owner.name, $0.remoteAddress, $0.servicePort) < ($1.owner.name, $1.remoteAddress, $1.servicePort) })
    }
}
