/// Joins the hosts' own views (``HostDiscovery``, from each agent) into a map of services and
/// dependencies, and writes it as a draft of the inventory's `services` and `dependencies`. Pure.
///
/// - A **service** is a listening program (its systemd unit, else its process name) on one port,
///   grouped across hosts: `redis-server` on 6379 on db1, db2 and db3 is one service with three
///   instances. Loopback-only listeners and the agent's own port are left out. Two services with the
///   same program name get the port in their name (`python3-8080`).
/// - A **dependency** is an outgoing connection from a process of one host to a service's port on
///   a host of the inventory (matched by address): from the service the connecting process serves
///   (the one whose listener it holds), or from a **client** (a process that only connects out) named
///   after its program. Connections between instances of one service (replication, gossip) are kept
///   as peer links. Connections to addresses outside the inventory are listed as external.
/// - A connection only the **serving** side saw (closed by a reset on the client, or between two
///   samples: the server's TIME_WAIT remembers it for a minute) comes from the client host's only
///   service when it runs one, else from an `unidentified` client on that host.
public enum MapDiscovery {
    public struct Instance: Codable, Sendable, Hashable {
        public var host: String
        public var unit: String?
        public var process: String?
        public var pid: Int32?
        public init(host: String, unit: String? = nil, process: String? = nil, pid: Int32? = nil) {
            self.host = host; self.unit = unit; self.process = process; self.pid = pid
        }
    }

    public struct Service: Codable, Sendable, Hashable {
        public var name: String
        public var proto: String
        /// The listening port; nil for a client that only connects out.
        public var port: Int?
        public var instances: [Instance]
    }

    public struct Dependency: Codable, Sendable, Hashable {
        public var from: String
        public var to: String
        /// Connections seen (summed over the hosts' snapshots or watches).
        public var connections: Int
        /// The hosts the connections came from.
        public var fromHosts: [String]
        /// Between instances of one service.
        public var peers: Bool
    }

    public struct External: Codable, Sendable, Hashable {
        public var from: String
        public var address: String
        public var port: Int
        public var connections: Int
        public init(from: String, address: String, port: Int, connections: Int) {
            self.from = from; self.address = address; self.port = port; self.connections = connections
        }
    }

    public struct Map: Codable, Sendable, Hashable {
        public var services: [Service]
        public var dependencies: [Dependency]
        public var external: [External]
        /// Hosts whose view was missing (agent unreachable).
        public var missing: [String]
        /// The longest window a host's connections were watched over (0: single snapshots).
        public var windowMs: Int64
        public init(services: [Service], dependencies: [Dependency], external: [External], missing: [String], windowMs: Int64 = 0) {
            self.services = services; self.dependencies = dependencies; self.external = external; self.missing = missing; self.windowMs = windowMs
        }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(services: try c.decode([Service].self, forKey: .services), dependencies: try c.decode([Dependency].self, forKey: .dependencies),
                      external: try c.decode([External].self, forKey: .external), missing: try c.decode([String].self, forKey: .missing),
                      windowMs: try c.decodeIfPresent(Int64.self, forKey: .windowMs) ?? 0)
        }
    }

    /// The client named for connections whose process cannot be told.
    public static let unidentified = "unidentified"

    /// Processes of chaos itself, never part of the map.
    static let ownProcesses: Set<String> = ["chaos-agent", "chaos", "chaos-remote"]

    public static func join(hosts: [Inventory.Host], views: [String: HostDiscovery], controlPorts: Set<Int> = [7433]) -> Map {
        struct Key: Hashable { var program: String; var proto: String; var port: Int }
        func program(_ o: HostDiscovery.Owner) -> String {
            if let unit = o.unit { return unit.hasSuffix(".service") ? String(unit.dropLast(8)) : unit }
            return o.process ?? "unknown"
        }
        func isLoopback(_ a: String) -> Bool { a.hasPrefix("127.") || a == "::1" }
        func isOwn(_ o: HostDiscovery.Owner) -> Bool { o.process.map(ownProcesses.contains) ?? false }

        // Services: listeners grouped by program, protocol and port.
        var instances: [Key: [Instance]] = [:]
        var servedBy: [String: [Int32: Key]] = [:]        // host → pid → the service it listens for
        for host in hosts {
            guard let view = views[host.name] else { continue }
            for l in view.listeners where !isLoopback(l.address) && !controlPorts.contains(l.port) && !isOwn(l.owner) {
                let key = Key(program: program(l.owner), proto: l.proto, port: l.port)
                let instance = Instance(host: host.name, unit: l.owner.unit, process: l.owner.process, pid: l.owner.pid)
                if !(instances[key] ?? []).contains(where: { $0.host == host.name }) { instances[key, default: []].append(instance) }
                if let pid = l.owner.pid, servedBy[host.name]?[pid] == nil { servedBy[host.name, default: [:]][pid] = key }
            }
        }
        let byProgram = Dictionary(grouping: instances.keys, by: \.program)
        func name(_ k: Key) -> String {
            let base = sanitize(k.program)
            return (byProgram[k.program]?.count ?? 0) > 1 ? "\(base)-\(k.port)" : base
        }

        // Who on a host made a connection whose process is gone: its only service, else unidentified.
        let programs = Dictionary(grouping: instances.flatMap { k, i in i.map { ($0.host, k) } }, by: \.0).mapValues { Set($0.map(\.1)) }
        var clients: [String: [Instance]] = [:]
        func sourceOf(_ host: String) -> String {
            if let only = programs[host], only.count == 1, let k = only.first { return name(k) }
            if !(clients[unidentified] ?? []).contains(where: { $0.host == host }) { clients[unidentified, default: []].append(Instance(host: host)) }
            return unidentified
        }

        // Dependencies.
        var address: [String: String] = [:]
        for h in hosts { address[h.address] = h.name }
        var edges: [String: Dependency] = [:]
        var external: [String: External] = [:]
        for host in hosts {
            guard let view = views[host.name] else { continue }
            for c in view.connections where c.direction == .outgoing && !isOwn(c.owner) && !controlPorts.contains(c.remotePort) {
                let source: String
                if let pid = c.owner.pid, let key = servedBy[host.name]?[pid] {
                    source = name(key)
                } else if c.owner.pid == nil {
                    // Closed (TIME_WAIT): no process any more. The host's only service, if it runs one.
                    source = sourceOf(host.name)
                } else {
                    source = sanitize(program(c.owner))
                    let i = Instance(host: host.name, unit: c.owner.unit, process: c.owner.process, pid: c.owner.pid)
                    if !(clients[source] ?? []).contains(where: { $0.host == host.name }) { clients[source, default: []].append(i) }
                }
                let targetHost = isLoopback(c.remoteAddress) ? host.name : address[c.remoteAddress]
                guard let targetHost else {
                    let k = "\(source)|\(c.remoteAddress)|\(c.remotePort)"
                    external[k, default: External(from: source, address: c.remoteAddress, port: c.remotePort, connections: 0)].connections += c.seen
                    continue
                }
                guard let key = instances.keys.first(where: { $0.proto == c.proto && $0.port == c.remotePort && instances[$0]?.contains { $0.host == targetHost } == true }) else { continue }
                let target = name(key)
                let k = "\(source)→\(target)"
                var d = edges[k] ?? Dependency(from: source, to: target, connections: 0, fromHosts: [], peers: source == target)
                d.connections += c.seen
                if !d.fromHosts.contains(host.name) { d.fromHosts.append(host.name) }
                edges[k] = d
            }
        }
        // Conversations only the serving side saw (the client's end was closed with a reset, or
        // closed between samples; the server's TIME_WAIT remembers it): from the client host's only
        // service when it runs one, else from an unidentified client there.
        var counted = Set<String>()                       // client host → server host:port, seen from the client's side
        for host in hosts {
            guard let view = views[host.name] else { continue }
            for c in view.connections where c.direction == .outgoing {
                if let to = isLoopback(c.remoteAddress) ? host.name : address[c.remoteAddress] { counted.insert("\(host.name)>\(to):\(c.remotePort)") }
            }
        }
        for host in hosts {
            guard let view = views[host.name] else { continue }
            for c in view.connections where c.direction == .incoming && !controlPorts.contains(c.localPort) && !isLoopback(c.remoteAddress) {
                guard let client = address[c.remoteAddress], client != host.name, views[client] != nil,
                      !counted.contains("\(client)>\(host.name):\(c.localPort)"),
                      let key = instances.keys.first(where: { $0.proto == c.proto && $0.port == c.localPort && instances[$0]?.contains { $0.host == host.name } == true })
                else { continue }
                let source = sourceOf(client)
                let target = name(key)
                var d = edges["\(source)→\(target)"] ?? Dependency(from: source, to: target, connections: 0, fromHosts: [], peers: source == target)
                d.connections += c.seen
                if !d.fromHosts.contains(client) { d.fromHosts.append(client) }
                edges["\(source)→\(target)"] = d
            }
        }
        var services = instances.map { k, i in Service(name: name(k), proto: k.proto, port: k.port, instances: i.sorted { $0.host < $1.host }) }
        for (n, i) in clients where !services.contains(where: { $0.name == n }) {
            services.append(Service(name: n, proto: "tcp", port: nil, instances: i.sorted { $0.host < $1.host }))
        }
        return Map(services: services.sorted { $0.name < $1.name },
                   dependencies: edges.values.map { var d = $0; d.fromHosts.sort(); return d }.sorted { ($0.from, $0.to) < ($1.from, $1.to) },
                   external: external.values.sorted { ($0.from, $0.address, $0.port) < ($1.from, $1.address, $1.port) },
                   missing: hosts.map(\.name).filter { views[$0] == nil },
                   windowMs: views.values.map(\.windowMs).max() ?? 0)
    }

    /// Letters, digits, '-', '_' and '.'; anything else becomes '-'.
    static func sanitize(_ s: String) -> String {
        let out = String(s.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "-" })
        return out.isEmpty ? "unknown" : out
    }

    /// The map as a draft of the inventory's `services` and `dependencies` (YAML), with comments
    /// saying what was observed. Peer links and external addresses are comments: the inventory has no
    /// field for them.
    public static func inventoryYAML(_ map: Map) -> String {
        var lines = ["# Discovered by 'chaos map discover' from the agents' views (listeners and connections)."]
        if !map.missing.isEmpty { lines.append("# No view from: \(map.missing.joined(separator: ", ")) (agent unreachable): their services and links are missing.") }
        lines.append("services:")
        for s in map.services {
            lines.append("  - name: \(s.name)")
            lines.append("    # observed: \(s.port.map { "\(s.proto) port \($0)" } ?? "a client: connects out, listens on no port") on \(s.instances.map(\.host).joined(separator: ", "))")
            lines.append("    instances:")
            for i in s.instances {
                if let unit = i.unit { lines.append("      - {host: \(i.host), unit: \(unit)}") }
                else if let port = s.port { lines.append("      - {host: \(i.host), process: {port: \(port)}}") }
                else { lines.append("      - {host: \(i.host), process: {name: \(sanitize(i.process ?? "unknown"))}}") }
            }
        }
        let links = map.dependencies.filter { !$0.peers }
        lines.append(links.isEmpty ? "dependencies: []" : "dependencies:")
        for d in links {
            lines.append("  # observed: \(d.connections) connection(s) from \(d.fromHosts.joined(separator: ", ")); hard or soft is for you to say")
            lines.append("  - {from: \(d.from), to: \(d.to), kind: hard}")
        }
        for d in map.dependencies where d.peers {
            lines.append("# peers: the instances of \(d.from) talk to each other (\(d.connections) connection(s) from \(d.fromHosts.joined(separator: ", "))): replication or gossip")
        }
        for e in map.external {
            lines.append("# external: \(e.from) connects to \(e.address):\(e.port) (\(e.connections) connection(s)), outside the inventory")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Graphviz DOT of the map: services as boxes (with their hosts), dependencies as arrows, peer
    /// links dashed.
    public static func dot(_ map: Map) -> String {
        func q(_ s: String) -> String { "\"" + String(s.map { $0 == "\"" ? "'" : $0 }) + "\"" }
        var lines = ["digraph discovered {", "  rankdir=LR;", "  node [shape=box];"]
        for s in map.services {
            let label = "\(s.name)\\n\(s.port.map { ":\($0) " } ?? "")\(s.instances.map(\.host).joined(separator: ", "))"
            lines.append("  \(q(s.name)) [label=\(q(label))\(s.port == nil ? ", style=rounded" : "")];")
        }
        for d in map.dependencies {
            lines.append("  \(q(d.from)) -> \(q(d.to)) [label=\(q(String(d.connections)))\(d.peers ? ", style=dashed, dir=both" : "")];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
