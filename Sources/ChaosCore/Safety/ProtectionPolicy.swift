/// Which processes and units chaos refuses to touch, and why. Pure.
///
/// Always refused: PID 1, the caller itself and its ancestors (your shell, your SSH session), and
/// kernel threads. Refused unless `allowProtected` (`--force`): the deny list (sshd, the service
/// manager, the journal, D-Bus, chaos's own agent and guardians).
public struct ProtectionPolicy: Sendable {
    public var deniedNames: Set<String>
    public var deniedUnitPrefixes: [String]
    public var allowProtected: Bool

    /// Process names (`/proc/PID/comm`, cut at 15 bytes by the kernel) refused unless `--force`: remote
    /// access, the service manager, logging, D-Bus, the network and clock daemons (the processes of the
    /// `systemd-` units below, whose names are cut: `systemd-network` is systemd-networkd), and chaos.
    public static let defaultDeniedNames: Set<String> = [
        "sshd", "systemd", "init", "systemd-journal", "systemd-logind", "dbus-daemon", "dbus-broker",
        "systemd-network", "systemd-resolve", "systemd-timesyn", "NetworkManager", "wpa_supplicant",
        "chaos", "chaos-agent",
    ]
    /// Unit name prefixes refused unless `--force`.
    public static let defaultDeniedUnitPrefixes = [
        "ssh.service", "sshd.service", "ssh.socket", "dbus.service", "dbus-broker.service", "dbus.socket", "systemd-",
        "NetworkManager.service", "wpa_supplicant.service", "chaos-agent",
        "init.scope", "-.slice", "user@", "getty@", "serial-getty@",
    ]

    public init(deniedNames: Set<String> = ProtectionPolicy.defaultDeniedNames,
                deniedUnitPrefixes: [String] = ProtectionPolicy.defaultDeniedUnitPrefixes, allowProtected: Bool = false) {
        self.deniedNames = deniedNames
        self.deniedUnitPrefixes = deniedUnitPrefixes
        self.allowProtected = allowProtected
    }

    /// Why one process may not be touched.
    public struct Refusal: Hashable, Sendable, Codable, CustomStringConvertible {
        public var pid: Int32
        public var name: String
        public var reason: String
        /// Whether `--force` lifts it.
        public var overridable: Bool
        public var description: String { "\(pid) (\(name)): \(reason)" }
    }

    /// The refusals for `victims`; empty means all may be hit.
    /// - Parameters:
    ///   - victims: the processes about to be hit.
    ///   - table: the process table, for the caller's ancestry.
    ///   - caller: the pid of the chaos process.
    public func refusals(for victims: [ProcessEntry], table: ProcessTable, caller: Int32) -> [Refusal] {
        let ancestors = Set(table.ancestry(of: caller))
        var out: [Refusal] = []
        for v in victims {
            let reason: (String, Bool)?
            if v.pid == 1 { reason = ("PID 1 is the init process; killing or stopping it takes the host down", false) }
            else if v.pid == caller { reason = ("this is chaos itself", false) }
            else if ancestors.contains(v.pid) { reason = ("this is an ancestor of chaos (your shell or session)", false) }
            else if v.isKernelThread { reason = ("this is a kernel thread", false) }
            else if let role = chaosRole(v) { reason = ("this is chaos's own \(role) process", true) }
            else if deniedNames.contains(v.name) { reason = ("'\(v.name)' is on the deny list", true) }
            else { reason = nil }
            if let (text, overridable) = reason, !(overridable && allowProtected) {
                out.append(Refusal(pid: v.pid, name: v.name, reason: text, overridable: overridable))
            }
        }
        return out
    }

    /// Whether `unit` is on the deny list (and `--force` was not given).
    public func refuses(unit: String) -> Bool {
        !allowProtected && deniedUnitPrefixes.contains(where: { unit.hasPrefix($0) })
    }

    /// chaos's own agent, guardians and stress workers.
    func isChaosProcess(_ p: ProcessEntry) -> Bool { chaosRole(p) != nil }

    /// What a chaos process is (`agent`, `guardian`, `stress helper`), recognised by its argv whatever its
    /// name; `nil` for every other process.
    func chaosRole(_ p: ProcessEntry) -> String? {
        guard let argv0 = p.cmdline.first, p.cmdline.count > 1 else { return nil }
        let base = argv0.split(separator: "/").last.map(String.init) ?? argv0
        guard base == "chaos" || base == "chaos-agent" else { return nil }
        switch p.cmdline[1] {
        case "agent": return "agent"
        case "_guardian": return "guardian"
        case "_stress": return "stress helper"
        default: return nil
        }
    }
}
