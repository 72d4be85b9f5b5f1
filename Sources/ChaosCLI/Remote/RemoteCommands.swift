import ArgumentParser
public import ChaosCore
import ChaosPOSIX
public import ChaosRun
import Synchronization

/// The commands `chaos` runs in `chaos-remote`, and why: the one list.
///
/// `chaos` links neither NIO and TLS, nor SQLite, nor the controller's HTTP stack, so that a one-off
/// fault on this host starts fast (bench/README.md, "chaos or chaos-remote": everything linked adds
/// 2–4 ms to every start). `ChaosMain.run` parses the command line and, in `chaos`, execs
/// `chaos-remote` beside it with the same arguments (same pid, terminal and signals) when a rule of
/// ``table`` matches the parsed command. Nothing else decides: the services those commands need are
/// installed in `chaos-remote` only (``RemoteServices``), and asking for them in `chaos` is a bug here.
enum RemoteCommands {
    /// One reason to run in `chaos-remote`.
    struct Rule: Sendable {
        /// What on the command line sends a command there (`chaos run`, `--inventory with --target`...).
        let when: String
        /// What it does that only `chaos-remote` can (`needs the run store`...).
        let why: String
        let matches: @Sendable (any ParsableCommand) -> Bool
    }

    static let table: [Rule] = [
        command(RunCommand.self, "chaos run", why: "needs probes, the run store (SQLite) and the report renderers"),
        command(GamedayCommand.self, "chaos gameday", why: "needs probes, the run store and the HTML report"),
        command(VerdictsCommand.self, "chaos verdicts", why: "needs the run store"),
        command(ReportCommand.self, "chaos report", why: "needs the run store and the report renderers"),
        command(SPOFVerifyCommand.self, "chaos spof verify", why: "needs agents, probes, the run store and the report renderers"),
        command(ControllerServeCommand.self, "chaos controller [serve]", why: "needs the controller's HTTPS API, dashboard, metrics and webhooks, agents and the run store"),
        rule(ControllerStatusCommand.self, "chaos controller status", why: "reads the controllers' store (PostgreSQL or SQLite)") { _ in true },
        command(CertsServeCommand.self, "chaos certs serve", why: "serves enrolment over HTTPS"),
        command(CertsEnrolCommand.self, "chaos certs enrol", why: "asks the enrolment server, over HTTPS"),
        command(MapDiscoverCommand.self, "chaos map discover", why: "asks the inventory's agents, over mutual TLS"),
        rule(MapDiffCommand.self, "chaos map diff (not with --from)", why: "asks the inventory's agents, over mutual TLS") { $0.from == nil },
        command(HaltCommand.self, "chaos halt", why: "asks the agents or the controller, over mutual TLS"),
        command(ResumeCommand.self, "chaos resume", why: "asks the agents or the controller, over mutual TLS"),
        option("a fault command with --inventory and --target or --host", why: "runs the fault through that host's agent, over mutual TLS") { (o: any PlacementOptions) in
            o.inventory != nil && (o.target != nil || o.host != nil)
        },
        option("status or revert with --inventory", why: "asks the inventory's agents, over mutual TLS") { (o: FleetOptions) in
            o.inventory != nil
        },
        option("a fault command with --observe (not with --dry-run)", why: "watches the service with an HTTP probe and stores the verdict, as chaos run does") { (o: SafetyOptions) in
            o.observe.observe != nil && !o.dryRun
        },
    ]

    /// The first rule that sends `command` to `chaos-remote`, or `nil` when it runs here.
    static func rule(for command: any ParsableCommand) -> Rule? {
        table.first { $0.matches(command) }
    }

    /// A rule for every use of a command.
    private static func command<C: ParsableCommand>(_ type: C.Type, _ when: String, why: String) -> Rule {
        Rule(when: when, why: why) { $0 is C }
    }

    /// A rule for the uses of a command that `test` picks.
    private static func rule<C: ParsableCommand>(_ type: C.Type, _ when: String, why: String, _ test: @escaping @Sendable (C) -> Bool) -> Rule {
        Rule(when: when, why: why) { ($0 as? C).map(test) ?? false }
    }

    /// A rule for every command that carries an option group of type `G`, when `test` says so of its values.
    private static func option<G>(_ when: String, why: String, _ test: @escaping @Sendable (G) -> Bool) -> Rule {
        Rule(when: when, why: why) { command in groups(of: command).contains { ($0 as? G).map(test) ?? false } }
    }

    /// The values of `command`'s option groups (`@OptionGroup var target: TargetOptions`...).
    private static func groups(of command: any ParsableCommand) -> [Any] {
        Mirror(reflecting: command).children.compactMap { ($0.value as? any OptionGroupValue)?.groupValue }
    }

    /// The `--output` of `command`, for reporting a failed exec the way the command would have.
    static func output(of command: any ParsableCommand) -> OutputFormat {
        groups(of: command).lazy.compactMap { ($0 as? GlobalOptions)?.output ?? ($0 as? LocalOptions)?.output }.first ?? .table
    }
}

/// Where a fault runs: here, or on an inventory host through its agent (`--inventory` with `--host` or
/// `--target`). The option groups of the fault commands say it the same way.
protocol PlacementOptions {
    var inventory: String? { get }
    var host: String? { get }
    var target: String? { get }
}

extension TargetOptions: PlacementOptions {}
extension HostOptions: PlacementOptions {}
extension NetworkOptions: PlacementOptions {}

/// An `@OptionGroup`'s parsed value, whatever its type.
private protocol OptionGroupValue { var groupValue: Any { get } }
extension OptionGroup: OptionGroupValue { fileprivate var groupValue: Any { wrappedValue } }

/// What `chaos-remote` links and `chaos` does not: the agent client and the run services (probes, the
/// run store, the report renderers, the controller's face). The one registry: `chaos-remote`
/// installs both at start; `chaos` has neither and hands the commands that need them over before
/// they run (``RemoteCommands``).
public enum RemoteServices {
    private static let current = Mutex<(agents: any AgentConnector, run: RunServices.Installed, enrolment: EnrolmentTransport?)?>(nil)

    /// Installs the services; call once, before the command runs.
    public static func install(agents: any AgentConnector, run: RunServices.Installed, enrolment: EnrolmentTransport? = nil) {
        current.withLock { $0 = (agents, run, enrolment) }
    }

    /// HTTPS for `chaos certs serve` and `chaos certs enrol`.
    /// - Throws: `internal.notRemote` in `chaos`.
    static func enrolment() throws(ChaosError) -> EnrolmentTransport {
        guard let transport = current.withLock({ $0?.enrolment }) else { throw notRemote("serve or request enrolment over HTTPS") }
        return transport
    }

    /// Whether this executable has them (`chaos-remote`).
    static var installed: Bool { current.withLock { $0 != nil } }

    /// The agent client.
    /// - Throws: `internal.notRemote` in `chaos`: the command is missing from ``RemoteCommands/table``.
    static func agents() throws(ChaosError) -> any AgentConnector {
        guard let services = current.withLock({ $0 }) else { throw notRemote("talk to agents") }
        return services.agents
    }

    /// Probes, the run store, the renderers, the controller's face.
    /// - Throws: `internal.notRemote` in `chaos`: the command is missing from ``RemoteCommands/table``.
    static func run() throws(ChaosError) -> RunServices.Installed {
        guard let services = current.withLock({ $0 }) else { throw notRemote("run experiments, keep verdicts or render reports") }
        return services.run
    }

    private static func notRemote(_ what: String) -> ChaosError {
        .internalError("internal.notRemote", "'chaos \(CommandLine.arguments.dropFirst().joined(separator: " "))' needs to \(what), which only chaos-remote can, but it ran in chaos: RemoteCommands.table misses it. This is a bug in chaos; please report it. Meanwhile, run chaos-remote (beside chaos) with the same arguments.")
    }
}

/// The executables installed beside this one.
enum Sibling {
    /// Replaces this process with `name` (from this executable's directory) and `arguments`; returns
    /// only by throwing.
    static func exec(_ name: String, _ arguments: [String], missing: String) throws(ChaosError) -> Never {
        let path = ThisProcess.sibling(name)
        guard POSIXFiles.isExecutable(path) else {
            throw ChaosError("install.missing", "The executable '\(path)' is missing. \(missing)")
        }
        let failure = ThisProcess.replace(with: path, arguments: arguments)
        throw ChaosError("install.exec", "Could not start '\(path)': \(failure.reason).")
    }
}
