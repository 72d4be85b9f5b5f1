/// An inventory file (`kind: Inventory`): the hosts of a cluster, named targets, redundancy groups
/// and the dependencies between them.
public struct Inventory: Hashable, Sendable, Codable {
    public var hosts: [Host]
    public var targets: [Target]
    public var groups: [Group]
    public var dependencies: [Dependency]
    /// The architecture map for SPOF analysis: services, their instances, entry points.
    public var services: [Service]

    public init(hosts: [Host] = [], targets: [Target] = [], groups: [Group] = [], dependencies: [Dependency] = [], services: [Service] = []) {
        self.hosts = hosts; self.targets = targets; self.groups = groups; self.dependencies = dependencies; self.services = services
    }

    /// A service of the architecture: its instances (each on a host, with its process or unit), how
    /// many must be up for it to work, and whether users reach it directly (an entry point).
    public struct Service: Hashable, Sendable, Codable {
        public var name: String
        public var description: String?
        public var instances: [Instance]
        /// Instances that must be up for the service to work (default 1: any one will do).
        public var minHealthy: Int
        /// Set for a user-facing entry point: how users' success is observed.
        public var entry: ProbeSpec?
        /// The inventory target that picks which instance to hit when proving it (e.g. one whose
        /// resolver names the current primary); without it, the first instance.
        public var target: String?
        public init(name: String, description: String? = nil, instances: [Instance], minHealthy: Int = 1, entry: ProbeSpec? = nil, target: String? = nil) {
            self.name = name; self.description = description; self.instances = instances; self.minHealthy = minHealthy; self.entry = entry
            self.target = target
        }
        public var isEntryPoint: Bool { entry != nil }
    }

    /// One instance of a service: on a host, as a process or a systemd unit.
    public struct Instance: Hashable, Sendable, Codable {
        public var host: String
        public var process: ProcessSelector?
        public var unit: String?
        public init(host: String, process: ProcessSelector? = nil, unit: String? = nil) { self.host = host; self.process = process; self.unit = unit }
    }

    /// A machine with an agent.
    public struct Host: Hashable, Sendable, Codable {
        public var name: String
        /// IP address or DNS name.
        public var address: String
        /// The agent's base URL, e.g. `https://10.0.0.11:7433`.
        public var agent: String?
        public var tags: [String]
        /// The failure domains the host belongs to, by kind: `zone: a`, `rack: r12`, `power: pdu-3`,
        /// or any key. Each value is failed as one unit by SPOF analysis and what-if.
        public var domains: [String: String]
        public init(name: String, address: String, agent: String? = nil, tags: [String] = [], domains: [String: String] = [:]) {
            self.name = name; self.address = address; self.agent = agent; self.tags = tags; self.domains = domains
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

    /// Every failure domain the hosts name, as `key:value`, sorted; with `kind`, only that key's.
    public func domains(kind: String? = nil) -> [FailureDomain] {
        Set(hosts.flatMap { h in h.domains.filter { kind == nil || $0.key == kind }.map { FailureDomain(kind: $0.key, value: $0.value) } }).sorted()
    }
    /// The hosts in a failure domain, in inventory order.
    public func hosts(in domain: FailureDomain) -> [Host] { hosts.filter { $0.domains[domain.kind] == domain.value } }
}

/// One value of a failure domain: `zone:b`, `rack:r12`. Every host carrying it fails together.
public struct FailureDomain: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var kind: String
    public var value: String
    public init(kind: String, value: String) { self.kind = kind; self.value = value }
    /// `zone:b`.
    public var description: String { "\(kind):\(value)" }
    public static func < (a: FailureDomain, b: FailureDomain) -> Bool { (a.kind, a.value) < (b.kind, b.value) }
    /// Parses `zone:b` (also `zone=b`); nil without a separator or with an empty side.
    public init?(parsing text: String) {
        guard let i = text.firstIndex(where: { $0 == ":" || $0 == "=" }) else { return nil }
        let k = String(text[..<i]), v = String(text[text.index(after: i)...])
        guard !k.isEmpty, !v.isEmpty else { return nil }
        self.init(kind: k, value: v)
    }
    /// Keys a domain may not use: they name the other kinds of failure in what-if (`host:db1`).
    public static let reservedKinds: Set<String> = ["host", "service", "instance"]
    /// A domain value: letters (any case), digits, '-', '_' and '.', at most 63.
    public static func isValidValue(_ v: String) -> Bool {
        !v.isEmpty && v.count <= 63 && v.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) }
    }
}

// MARK: File format coding

/// Inventories encode as the file format, `apiVersion` and `kind` included, so JSON written by chaos can
/// be read again as an inventory file; decoding takes the same shape, with the file's defaults.
extension Inventory {
    enum CodingKeys: String, CodingKey { case apiVersion, kind, hosts, targets, groups, dependencies, services }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try checkHeader(c, apiVersion: .apiVersion, kind: .kind, expected: "Inventory")
        self.init(hosts: try c.decode([Host].self, forKey: .hosts),
                  targets: try c.decodeIfPresent([Target].self, forKey: .targets) ?? [],
                  groups: try c.decodeIfPresent([Group].self, forKey: .groups) ?? [],
                  dependencies: try c.decodeIfPresent([Dependency].self, forKey: .dependencies) ?? [],
                  services: try c.decodeIfPresent([Service].self, forKey: .services) ?? [])
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(chaosAPIVersion, forKey: .apiVersion)
        try c.encode("Inventory", forKey: .kind)
        try c.encode(hosts, forKey: .hosts)
        try c.encode(targets, forKey: .targets)
        try c.encode(groups, forKey: .groups)
        try c.encode(dependencies, forKey: .dependencies)
        if !services.isEmpty { try c.encode(services, forKey: .services) }
    }
}

extension Inventory.Host {
    enum CodingKeys: String, CodingKey { case name, address, agent, tags, domains }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name), address: try c.decode(String.self, forKey: .address),
                  agent: try c.decodeIfPresent(String.self, forKey: .agent), tags: try c.decodeIfPresent([String].self, forKey: .tags) ?? [],
                  domains: try c.decodeIfPresent([String: String].self, forKey: .domains) ?? [:])
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(address, forKey: .address)
        try c.encodeIfPresent(agent, forKey: .agent)
        try c.encode(tags, forKey: .tags)
        if !domains.isEmpty { try c.encode(domains, forKey: .domains) }
    }
}

extension Inventory.Resolver {
    enum CodingKeys: String, CodingKey { case command, timeout }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(command: try c.decode([String].self, forKey: .command),
                  timeout: try c.decodeIfPresent(ChaosDuration.self, forKey: .timeout) ?? .seconds(5))
    }
}

extension Inventory.Dependency {
    enum CodingKeys: String, CodingKey { case from, to, kind }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(from: try c.decode(String.self, forKey: .from), to: try c.decode(String.self, forKey: .to),
                  kind: try c.decodeIfPresent(Strength.self, forKey: .kind) ?? .hard)
    }
}


extension Inventory {
    /// The hosts a named target may land on, known without running anything: its fixed host, or every
    /// host carrying all its tags; nil for a target resolved at run time (or unknown). Used for
    /// per-group spacing.
    public func candidateHosts(forTarget name: String) -> [String]? {
        guard let t = targets.first(where: { $0.name == name }) else { return nil }
        if let h = t.host { return [h] }
        if let tags = t.tags { return hosts.filter { Set(tags).isSubset(of: $0.tags) }.map(\.name) }
        return nil
    }
}
