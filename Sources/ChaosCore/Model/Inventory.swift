/// An inventory file (`kind: Inventory`): the hosts of a cluster, named targets, redundancy groups
/// and the dependencies between them.
public struct Inventory: Hashable, Sendable, Codable {
    public var hosts: [Host]
    public var targets: [Target]
    public var groups: [Group]
    public var dependencies: [Dependency]

    public init(hosts: [Host] = [], targets: [Target] = [], groups: [Group] = [], dependencies: [Dependency] = []) {
        self.hosts = hosts; self.targets = targets; self.groups = groups; self.dependencies = dependencies
    }

    /// A machine with an agent.
    public struct Host: Hashable, Sendable, Codable {
        public var name: String
        /// IP address or DNS name.
        public var address: String
        /// The agent's base URL, e.g. `https://10.0.0.11:7433`.
        public var agent: String?
        public var tags: [String]
        public init(name: String, address: String, agent: String? = nil, tags: [String] = []) {
            self.name = name; self.address = address; self.agent = agent; self.tags = tags
        }
    }

    /// A named thing to hit: where (a fixed host, hosts by tag, or a host resolved at run time) and what
    /// (a process selector).
    public struct Target: Hashable, Sendable, Codable {
        public var name: String
        public var description: String?
        /// A fixed host name.
        public var host: String?
        /// Every host carrying all these tags.
        public var tags: [String]?
        /// A command whose first output word names the host (a host name or address) at run time.
        public var resolve: Resolver?
        public var process: ProcessSelector?
        public init(name: String, description: String? = nil, host: String? = nil, tags: [String]? = nil,
                    resolve: Resolver? = nil, process: ProcessSelector? = nil) {
            self.name = name; self.description = description; self.host = host; self.tags = tags
            self.resolve = resolve; self.process = process
        }
    }

    /// Finds a host at run time, for targets that move (a database primary after failover).
    public struct Resolver: Hashable, Sendable, Codable {
        /// argv of the command; never run through a shell.
        public var command: [String]
        public var timeout: ChaosDuration
        public init(command: [String], timeout: ChaosDuration = .seconds(5)) { self.command = command; self.timeout = timeout }
    }

    /// A redundancy group: members that back each other up.
    public struct Group: Hashable, Sendable, Codable {
        public var name: String
        /// Host or target names.
        public var members: [String]
        /// Never take the group below this many healthy members.
        public var minHealthy: Int
        /// How to check one member; `{host}` and `{address}` are replaced by the member's.
        public var health: ProbeSpec?
        public init(name: String, members: [String], minHealthy: Int, health: ProbeSpec? = nil) {
            self.name = name; self.members = members; self.minHealthy = minHealthy; self.health = health
        }
    }

    /// `from` needs `to`; a `soft` dependency degrades service rather than breaking it.
    public struct Dependency: Hashable, Sendable, Codable {
        public enum Strength: String, Hashable, Sendable, Codable { case hard, soft }
        public var from: String
        public var to: String
        public var kind: Strength
        public init(from: String, to: String, kind: Strength = .hard) { self.from = from; self.to = to; self.kind = kind }
    }

    /// The host named `name` or with address `name`.
    public func host(named name: String) -> Host? {
        hosts.first(where: { $0.name == name }) ?? hosts.first(where: { $0.address == name })
    }
    /// The target named `name`.
    public func target(named name: String) -> Target? { targets.first(where: { $0.name == name }) }
}
