/// Which processes on a host a target means. Exactly one selector field is set.
///
/// - `pid`: one process id.
/// - `pidfile`: a file holding a pid (first line), as daemons write them.
/// - `name`: the exact process name (`/proc/PID/comm`, 15 characters at most in the kernel).
/// - `match`: a regular expression searched in the full command line (arguments joined by spaces).
/// - `port`: the process listening on this TCP port.
/// - `unit`: a systemd unit's processes (its cgroup); `user: true` for the user's service manager.
public struct ProcessSelector: Hashable, Sendable, Codable, CustomStringConvertible {
    public var pid: Int32?
    public var pidfile: String?
    public var name: String?
    public var match: String?
    public var port: Int?
    public var unit: String?
    /// With `unit`: use the calling user's service manager instead of the system one.
    public var user: Bool?

    public init(pid: Int32? = nil, pidfile: String? = nil, name: String? = nil, match: String? = nil,
                port: Int? = nil, unit: String? = nil, user: Bool? = nil) {
        self.pid = pid; self.pidfile = pidfile; self.name = name; self.match = match
        self.port = port; self.unit = unit; self.user = user
    }

    /// The selector field names, in the order documented.
    public static let fieldNames = ["pid", "pidfile", "name", "match", "port", "unit"]

    /// How many selector fields are set; valid selectors have exactly one.
    public var setCount: Int {
        [pid != nil, pidfile != nil, name != nil, match != nil, port != nil, unit != nil].filter { $0 }.count
    }

    /// The systemd manager to ask when `unit` is set.
    public var scope: SystemdScope { user == true ? .user : .system }

    public var description: String {
        if let pid { return "pid \(pid)" }
        if let pidfile { return "pidfile '\(pidfile)'" }
        if let name { return "name '\(name)'" }
        if let match { return "command line matching '\(match)'" }
        if let port { return "listener on TCP port \(port)" }
        if let unit { return "\(scope == .user ? "user " : "")unit '\(unit)'" }
        return "no selector"
    }
}

/// Which systemd service manager: the system's (PID 1) or the calling user's.
public enum SystemdScope: String, Hashable, Sendable, Codable {
    case system, user
}

/// How many of the matched processes (or hosts) to hit.
///
/// With neither `count` nor `percent`, every match is hit. With both, the smaller result wins.
/// `percent` rounds up (1 % of 3 processes hits 1), so a positive percent never selects nothing.
public struct Selection: Hashable, Sendable, Codable {
    public var count: Int?
    public var percent: Double?
    /// Choose at random (the default) rather than the oldest processes first.
    public var random: Bool?

    public init(count: Int? = nil, percent: Double? = nil, random: Bool? = nil) {
        self.count = count; self.percent = percent; self.random = random
    }

    /// How many of `available` matches this selection takes.
    public func size(of available: Int) -> Int {
        guard available > 0 else { return 0 }
        var n = available
        if let count { n = min(n, max(0, count)) }
        if let percent {
            let p = min(100, max(0, percent))
            let byPercent = p == 0 ? 0 : Int((Double(available) * p / 100).rounded(.up))
            n = min(n, min(available, byPercent))
        }
        return n
    }

    /// Picks the members to hit from `candidates` (already in oldest-first order).
    /// - Parameter rng: the source of randomness, injected so tests are repeatable.
    public func choose<T>(from candidates: [T], using rng: inout some RandomNumberGenerator) -> [T] {
        let n = size(of: candidates.count)
        if random ?? true {
            return Array(candidates.shuffled(using: &rng).prefix(n))
        }
        return Array(candidates.prefix(n))
    }
}
