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
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.")
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

/// The options of commands that never talk to agents: the output format and the state directory, and
/// not `--identity`/`--pki-dir`, which would do nothing there.
public struct LocalOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.")
    public var output: OutputFormat = .table

    @Option(name: .long, help: ArgumentHelp("Where chaos keeps its state (env CHAOS_STATE_DIR).", valueName: "dir"))
    public var stateDir: String?

    public init() {}

    /// The same choices as the full options, for code that takes those.
    var global: GlobalOptions {
        let args = ["--output", output.rawValue] + (stateDir.map { ["--state-dir", $0] } ?? [])
        // Parsing our own two valid options cannot fail.
        return (try? GlobalOptions.parse(args)) ?? GlobalOptions()
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
        if let match, let problem = BoundedRegex.validate(match) { throw ValidationError("--match '\(match)' is not a valid regular expression: \(problem).") }
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
    @Option(help: ArgumentHelp("An inventory target (e.g. db-primary): run on the host it is on now, through its agent.", valueName: "name")) var target: String?
    @Option(help: ArgumentHelp("Inventory file, with --host or --target.", valueName: "file")) var inventory: String?
    public init() {}
    public func validate() throws {
        if host != nil && inventory == nil { throw ValidationError("--host needs --inventory FILE.") }
        if target != nil && inventory == nil { throw ValidationError("--target needs --inventory FILE.") }
        if target != nil && host != nil { throw ValidationError("Give --host or --target, not both.") }
    }

    /// Where to run: an inventory target's host, an inventory host, or here.
    var placement: TargetSpec { target.map { TargetSpec(ref: $0) } ?? TargetSpec(host: host) }
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
    @OptionGroup(title: "Verdict") var observe: ObserveOptions
    public init() {}
}

/// `--observe URL`: watch a health endpoint around the fault and end with a verdict, as `chaos run` does.
public struct ObserveOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Watch this http(s) URL before, during and after the fault, and end with a verdict (exit 0 passed, 1 failed, 2 inconclusive).", valueName: "url"))
    var observe: String?
    @Option(name: .customLong("expect"), parsing: .singleValue, help: ArgumentHelp("With --observe: the accepted HTTP statuses (default 200-399), e.g. 200 or 200-299.", valueName: "status"))
    var expectStatus: [String] = []
    @Option(help: ArgumentHelp("With --observe: the service must be back within this long after the revert (or the kill).", valueName: "duration"))
    var recoverWithin: ChaosDuration = .seconds(30)
    @Option(help: ArgumentHelp("With --observe: how often to observe.", valueName: "duration"))
    var observeEvery: ChaosDuration = .seconds(1)
    public init() {}

    public func validate() throws {
        if let observe, !(observe.hasPrefix("http://") || observe.hasPrefix("https://")) {
            throw ValidationError("--observe takes an http:// or https:// URL, e.g. http://10.0.0.10/healthz.")
        }
        if observe == nil && !expectStatus.isEmpty { throw ValidationError("--expect only applies with --observe URL.") }
        for s in expectStatus where StatusRange(s) == nil { throw ValidationError("--expect '\(s)' is not a status or range (e.g. 200 or 200-299).") }
    }

    /// The probe of the one-off's run.
    var probe: ProbeSpec? {
        guard let observe else { return nil }
        var tolerance = Tolerance()
        if !expectStatus.isEmpty { tolerance.status = expectStatus.compactMap(StatusRange.init) }
        var p = ProbeSpec(name: "observe", type: .http, interval: observeEvery, timeout: min(observeEvery, .seconds(2)), tolerance: tolerance)
        p.url = observe
        return p
    }
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
