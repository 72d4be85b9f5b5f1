/// What one host shows of the architecture, read from the kernel (no packet capture, no payload):
/// who listens where, and who talks to whom. The agent serves it at `GET /v1/discovery`; `chaos map
/// discover` joins the hosts' views into a map of services and dependencies.
public struct HostDiscovery: Codable, Sendable, Hashable {
    /// When the view was taken (ms since the epoch).
    public var at: Int64
    /// How long connections were watched for (0 for a single snapshot).
    public var windowMs: Int64
    public var listeners: [Listener]
    /// One entry per conversation (process, direction, remote address, service port); `seen` counts
    /// its sockets (and, over a watch, its samples).
    public var connections: [Connection]
    /// Conversations (and listeners) left out to keep the answer bounded (the least busy first).
    public var omitted: Int

    public init(at: Int64, windowMs: Int64, listeners: [Listener], omitted: Int = 0, connections: [Connection]) {
        self.at = at; self.windowMs = windowMs; self.listeners = listeners; self.connections = connections; self.omitted = omitted
    }

    enum CodingKeys: String, CodingKey { case at, windowMs, listeners, connections, omitted }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(at: try c.decode(Int64.self, forKey: .at), windowMs: try c.decode(Int64.self, forKey: .windowMs),
                  listeners: try c.decode([Listener].self, forKey: .listeners), omitted: try c.decodeIfPresent(Int.self, forKey: .omitted) ?? 0,
                  connections: try c.decode([Connection].self, forKey: .connections))
    }

    /// The process (and systemd unit) holding a socket.
    public struct Owner: Codable, Sendable, Hashable {
        public var pid: Int32?
        /// The kernel's process name (`/proc/PID/comm`).
        public var process: String?
        /// The systemd service whose cgroup holds the process (`redis-server.service`).
        public var unit: String?
        public init(pid: Int32? = nil, process: String? = nil, unit: String? = nil) { self.pid = pid; self.process = process; self.unit = unit }
        /// The name a map groups by: the unit, else the process name, else "unknown".
        public var name: String { unit ?? process ?? "unknown" }
    }

    public struct Listener: Codable, Sendable, Hashable {
        /// `tcp` or `udp`.
        public var proto: String
        public var address: String
        public var port: Int
        public var owner: Owner
        public init(proto: String, address: String, port: Int, owner: Owner) { self.proto = proto; self.address = address; self.port = port; self.owner = owner }
    }

    public struct Connection: Codable, Sendable, Hashable {
        public enum Direction: String, Codable, Sendable, Hashable {
            /// This host's process connected out (the local port is not one it listens on).
            case outgoing
            /// A remote connected to one of this host's listeners.
            case incoming
        }
        public var proto: String
        public var direction: Direction
        public var localAddress: String
        public var localPort: Int
        public var remoteAddress: String
        public var remotePort: Int
        public var owner: Owner
        /// Sockets of this conversation seen, summed over the snapshots of a watch.
        public var seen: Int
        public var firstSeen: Int64
        public var lastSeen: Int64
        public init(proto: String, direction: Direction, localAddress: String, localPort: Int, remoteAddress: String, remotePort: Int,
                    owner: Owner, seen: Int = 1, firstSeen: Int64, lastSeen: Int64) {
            self.proto = proto; self.direction = direction; self.localAddress = localAddress; self.localPort = localPort
            self.remoteAddress = remoteAddress; self.remotePort = remotePort; self.owner = owner; self.seen = seen
            self.firstSeen = firstSeen; self.lastSeen = lastSeen
        }
        /// The service end of the conversation: the remote end for outgoing, ours for incoming.
        public var servicePort: Int { direction == .outgoing ? remotePort : localPort }
    }
}

/// What `POST /v1/discovery/watch` answers: the watch now running on the agent.
public struct DiscoveryWatchStatus: Codable, Sendable, Hashable {
    public var watchingSince: Int64
    public var watchingUntil: Int64
    public var everyMs: Int64
    public init(watchingSince: Int64, watchingUntil: Int64, everyMs: Int64) {
        self.watchingSince = watchingSince; self.watchingUntil = watchingUntil; self.everyMs = everyMs
    }
}
