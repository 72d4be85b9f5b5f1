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
        "sshd", "sshd-session", "sshd-auth", "systemd", "init", "systemd-journal", "systemd-logind", "dbus-daemon", "dbus-broker",
        "dbus-broker-lau", "systemd-network", "systemd-resolve", "systemd-timesyn", "systemd-udevd", "systemd-userdbd",
        "NetworkManager", "wpa_supplicant", "agetty", "login", "polkitd",
        "chaos", "chaos-agent", "chaos-remote",
    ]
    /// Unit name prefixes refused unless `--force`: remote access (the socket and every per-connection
    /// `sshd@….service` too), D-Bus and the names it activates units under (`dbus-org.freedesktop.login1.service`
    /// is systemd-logind), systemd's own units, logins and sessions, chaos.
    public static let defaultDeniedUnitPrefixes = [
        "ssh.service", "sshd.service", "ssh.socket", "sshd.socket", "ssh@", "sshd@", "sshd-", "ssh-",
        "dbus.service", "dbus-broker.service", "dbus.socket", "dbus-org.", "systemd-",
        "NetworkManager", "wpa_supplicant.service", "polkit.service", "chaos-agent", "chaos-controller", "chaos.",
        "init.scope", "-.slice", "user@", "user-", "user.slice", "system.slice", "machine.slice", "session-",
        "getty@", "serial-getty@", "container-getty@", "console-getty", "autovt@",
    ]
    /// Unit types refused unless `--force`: stopping a slice stops everything in it, a scope is a login
    /// session or a machine, a target pulls down every unit bound to it, and mounts, swaps and devices
    /// are the host's storage. chaos stops services (and sockets, timers, paths).
    public static let deniedUnitTypes = [".slice", ".scope", ".target", ".mount", ".automount", ".swap", ".device"]

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

    /// Whether `unit` is on the deny list (and `--force` was not given). `unit` as written, and its
    /// canonical name (systemd takes `sshd` for `sshd.service`); check the name systemd resolves an alias
    /// to as well (``refusal(unit:)`` for each name).
    public func refuses(unit: String) -> Bool { refusal(unit: unit) != nil }

    /// Why `unit` may not be touched, or `nil`.
    public func refusal(unit: String) -> String? {
        guard !allowProtected else { return nil }
        let name = Self.canonicalUnitName(unit)
        if let type = Self.deniedUnitTypes.first(where: { name.hasSuffix($0) }) {
            return "'\(unit)' is a \(type.dropFirst()) unit; chaos stops services, sockets, timers and paths, never slices, scopes (sessions), targets, mounts, swaps or devices"
        }
        if deniedUnitPrefixes.contains(where: { name.hasPrefix($0) || unit.hasPrefix($0) }) {
            return "unit '\(unit)' is protected (remote access, D-Bus, systemd's own units, logins and the chaos agent are never touched by default)"
        }
        return nil
    }

    /// `nginx` → `nginx.service`, as systemd reads a name without a type suffix.
    public static func canonicalUnitName(_ unit: String) -> String {
        let suffixes = [".service", ".socket", ".target", ".timer", ".path", ".slice", ".scope", ".mount", ".automount", ".swap", ".device"]
        return suffixes.contains(where: { unit.hasSuffix($0) }) ? unit : unit + ".service"
    }

    /// chaos's own agent, guardians and stress workers.
    func isChaosProcess(_ p: ProcessEntry) -> Bool { chaosRole(p) != nil }

    /// The names chaos's executables go by.
    public static let chaosExecutables: Set<String> = ["chaos", "chaos-agent", "chaos-remote"]

    /// What a chaos process is (`agent`, `guardian`, `stress helper`, `delay relay`, `controller`...),
    /// recognised by its executable (`/proc/PID/exe`) or its argv[0], whatever its name: `nil` for every
    /// other process.
    func chaosRole(_ p: ProcessEntry) -> String? {
        func base(_ path: String) -> String {
            var b = path.split(separator: "/").last.map(String.init) ?? path
            if b.hasSuffix(" (deleted)") { b.removeLast(" (deleted)".count) }
            return b
        }
        let byExe = p.executable.map { Self.chaosExecutables.contains(base($0)) } ?? false
        let byArgv = p.cmdline.first.map { Self.chaosExecutables.contains(base($0)) } ?? false
        guard byExe || byArgv else { return nil }
        switch p.cmdline.count > 1 ? p.cmdline[1] : "" {
        case "agent": return "agent"
        case "controller": return "controller"
        case "_guardian": return "guardian"
        case "_stress": return "stress helper"
        case "_relay": return "delay relay"
        case "_netqueue": return "packet engine"
        default: return base(p.executable ?? p.cmdline.first ?? "chaos") == "chaos-agent" ? "agent" : "command"
        }
    }
}
