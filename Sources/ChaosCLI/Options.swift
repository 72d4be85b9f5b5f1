import ArgumentParser
import ChaosCore

extension ChaosDuration: ExpressibleByArgument {
    public init?(argument: String) {
        guard let d = try? ChaosDuration.parse(argument) else { return nil }
        self = d
    }
    public static var defaultCompletionKind: CompletionKind { .default }
}

extension ByteSize: ExpressibleByArgument {
    public init?(argument: String) {
        guard let s = try? ByteSize.parse(argument) else { return nil }
        self = s
    }
}

extension SignalName: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

/// `table` for people, `json` for scripts.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable { case table, json }

/// Options every command that acts on the host shares.
public struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: table or json.")
    public var output: OutputFormat = .table

    @Option(name: .long, help: ArgumentHelp("Where the fault ledger lives (env CHAOS_STATE_DIR).", valueName: "dir"))
    public var stateDir: String?

    @Option(help: ArgumentHelp("With --inventory: your certificate for the agents, PKI_DIR/NAME.pem and NAME-key.pem (env CHAOS_IDENTITY; default: your login name).", valueName: "name"))
    public var identity: String?

    @Option(help: ArgumentHelp("With --inventory: where your certificate and the CA (ca.pem) are (env CHAOS_PKI_DIR; default /etc/chaos/pki).", valueName: "dir"))
    public var pkiDir: String?

    public init() {}

    /// `--state-dir`, else `CHAOS_STATE_DIR`, else `/var/lib/chaos`.
    var resolvedStateDir: String {
        stateDir ?? Environment.value("CHAOS_STATE_DIR") ?? "/var/lib/chaos"
    }
}

/// How a one-off command finds its victims on this host.
public struct TargetOptions: ParsableArguments {
    @Option(help: "The process with this id.") var pid: Int32?
    @Option(help: ArgumentHelp("The process whose id is in this file.", valueName: "path")) var pidfile: String?
    @Option(help: "Processes with this exact name (/proc/PID/comm).") var name: String?
    @Option(help: ArgumentHelp("Processes whose full command line matches this regular expression.", valueName: "regex")) var match: String?
    @Option(help: "The process listening on this TCP port.") var port: Int?
    @Option(help: ArgumentHelp("A systemd unit (its processes).", valueName: "unit")) var unit: String?
    @Flag(help: "With --unit: the user's service manager instead of the system's.") var user = false
    @Option(help: ArgumentHelp("A named target from the inventory.", valueName: "name")) var target: String?
    @Option(help: ArgumentHelp("Inventory file (YAML or JSON) for --target and --host.", valueName: "file")) var inventory: String?
    @Option(help: ArgumentHelp("An inventory host: run there, through its agent (this host: locally).", valueName: "name")) var host: String?
    @Option(help: "Hit at most this many of the matches.") var count: Int?
    @Option(help: ArgumentHelp("Hit this percent of the matches (rounded up).", valueName: "percent")) var percent: Double?
    @Flag(help: "Take the oldest matches instead of a random choice.") var oldest = false

    public init() {}

    var selectorCount: Int { [pid != nil, pidfile != nil, name != nil, match != nil, port != nil, unit != nil].filter { $0 }.count }

    public func validate() throws {
        if selectorCount > 1 { throw ValidationError("Give only one of --pid, --pidfile, --name, --match, --port and --unit.") }
        if target != nil && selectorCount > 0 { throw ValidationError("--target takes its process from the inventory; drop --pid/--name/... or drop --target.") }
        if target != nil && inventory == nil { throw ValidationError("--target needs --inventory FILE.") }
        if user && unit == nil && target == nil { throw ValidationError("--user only applies to --unit.") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1.") }
        if let percent, !(percent > 0 && percent <= 100) { throw ValidationError("--percent must be above 0 and at most 100.") }
        if let port, !(1...65535).contains(port) { throw ValidationError("--port must be 1-65535.") }
        if let match, (try? Regex(match)) == nil { throw ValidationError("--match '\(match)' is not a valid regular expression.") }
    }

    /// The target as the model describes it.
    var spec: TargetSpec {
        let selector: ProcessSelector? = selectorCount == 0 ? nil
            : ProcessSelector(pid: pid, pidfile: pidfile, name: name, match: match, port: port, unit: unit, user: user ? true : nil)
        return TargetSpec(ref: target, host: host, process: selector, selection: Selection(count: count, percent: percent, random: !oldest))
    }
}

/// Where a host-wide fault runs: this host, or another inventory host through its agent.
public struct HostOptions: ParsableArguments {
    @Option(help: ArgumentHelp("An inventory host: run there, through its agent (this host: locally).", valueName: "name")) var host: String?
    @Option(help: ArgumentHelp("Inventory file, with --host.", valueName: "file")) var inventory: String?
    public init() {}
    public func validate() throws {
        if host != nil && inventory == nil { throw ValidationError("--host needs --inventory FILE.") }
    }
}

/// How long a reversible fault is held, and whether this command waits for the end.
public struct HoldOptions: ParsableArguments {
    @Option(name: .customLong("for"), help: ArgumentHelp("How long, with a unit: 500ms, 30s, 2m.", valueName: "duration"))
    var duration: ChaosDuration
    @Flag(help: "Return after injecting; the detached guardian reverts at the deadline.")
    var detach = false
    public init() {}
}

/// Options of faults that change the host and undo it later.
public struct SafetyOptions: ParsableArguments {
    @Flag(help: "Show the victims and exactly what would be done; change nothing.") var dryRun = false
    @Flag(help: "Allow protected processes and units (sshd, the service manager, the chaos agent).") var force = false
    public init() {}
}

enum Environment {
    static func value(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        let s = String(cString: v)
        return s.isEmpty ? nil : s
    }
}

#if canImport(Glibc)
import Glibc
#endif
