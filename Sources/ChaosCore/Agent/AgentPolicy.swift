
/// Who is calling the agent: the role and name from a client certificate (OU and CN), or `local`
/// for the plaintext loopback / unix-socket mode.
public struct Caller: Hashable, Sendable, Codable, CustomStringConvertible {
    public var role: String
    public var name: String
    public init(role: String, name: String) { self.role = role; self.name = name }
    public static let local = Caller(role: "local", name: "local")
    public var description: String { "\(role):\(name)" }
}

/// The agent's local policy: what may be done on this host, whatever the caller says. Pure.
///
/// ```yaml
/// policy:
///   allow: [process.*, network.*, disk.fill]   # kinds or area.*; default: every kind
///   maxDuration: 10m
///   maxDurations: {disk.fill: 2m}
///   denyProcesses: [postgres]                  # added to the built-in deny list
///   protectedPorts: [22]                       # never cut by network faults (the agent's own always)
///   diskFill: {paths: [/srv, /var/lib/redis], maxPercent: 95}   # where fills may go, and how full
///   permissions:
///     - {role: controller, actions: [read, inject, revert, renew, halt, resume, preview]}
///     - {role: operator, names: [alice], actions: [read, revert, halt, resume]}
/// ```
///
/// Without `permissions`, least privilege: the controller may do everything; operators may read,
/// preview, revert and halt (the actions that make a host safer), but not inject, renew or resume
/// until this host's configuration says so.
public struct AgentPolicy: Hashable, Sendable, Codable {
    public enum Action: String, CaseIterable, Hashable, Sendable, Codable { case read, inject, revert, renew, halt, resume, preview }

    /// Who may do what.
    public struct Permission: Hashable, Sendable, Codable {
        public var role: String
        /// Certificate names (CN) allowed; `nil` means every name of the role.
        public var names: [String]?
        public var actions: Set<Action>
        public init(role: String, names: [String]? = nil, actions: Set<Action>) { self.role = role; self.names = names; self.actions = actions }
    }

    public var allow: [String]
    public var maxDuration: ChaosDuration
    public var maxDurations: [String: ChaosDuration]
    public var denyProcesses: [String]
    public var protectedPorts: [Int]
    public var diskFill: DiskFill
    public var permissions: [Permission]

    /// Where disk fills may go and how full they may leave a filesystem.
    public struct DiskFill: Hashable, Sendable, Codable {
        /// Directories fills may be made in (symbolic links resolved before the check); `nil` for any.
        public var paths: [String]?
        public var maxPercent: Double
        public init(paths: [String]? = nil, maxPercent: Double = 100) { self.paths = paths; self.maxPercent = maxPercent }
    }

    /// Least privilege: the controller does everything; operators only what makes a host safer.
    public static let defaultPermissions = [
        Permission(role: "controller", actions: Set(Action.allCases)),
        Permission(role: "operator", actions: [.read, .preview, .revert, .halt]),
        // A read-only identity (Prometheus): /metrics, health and the list of faults.
        Permission(role: "observer", actions: [.read]),
    ]

    public init(allow: [String] = ["*"], maxDuration: ChaosDuration = .seconds(600), maxDurations: [String: ChaosDuration] = [:],
                denyProcesses: [String] = [], protectedPorts: [Int] = [], diskFill: DiskFill = DiskFill(),
                permissions: [Permission] = AgentPolicy.defaultPermissions) {
        self.allow = allow; self.maxDuration = maxDuration; self.maxDurations = maxDurations
        self.denyProcesses = denyProcesses; self.protectedPorts = protectedPorts; self.diskFill = diskFill; self.permissions = permissions
    }

    /// Why `caller` may not do `action`, or `nil` when allowed. The local caller may do everything.
    public func refusal(_ caller: Caller, _ action: Action) -> String? {
        if caller == .local { return nil }
        let ok = permissions.contains { p in
            p.role == caller.role && (p.names?.contains(caller.name) ?? true) && p.actions.contains(action)
        }
        return ok ? nil : "'\(caller)' may not \(action.rawValue) on this agent (see 'policy.permissions' in the agent's configuration)"
    }

    /// Why this fault may not run here, or `nil`.
    public func refusal(_ fault: FaultSpec) -> String? {
        let kind = fault.type.rawValue
        let area = kind.split(separator: ".").first.map(String.init) ?? kind
        guard allow.contains(where: { $0 == "*" || $0 == kind || $0 == "\(area).*" }) else {
            return "fault '\(kind)' is not allowed on this host (allowed: \(allow.joined(separator: ", ")))"
        }
        if let d = fault.duration {
            let limit = maxDurations[kind] ?? maxDuration
            if d > limit { return "\(kind) for \(d) is longer than this host allows (\(limit))" }
        }
        return nil
    }

    /// The protection policy for targets: the built-in deny list plus this host's.
    public var protection: ProtectionPolicy {
        var p = ProtectionPolicy()
        p.deniedNames.formUnion(denyProcesses)
        return p
    }
}
