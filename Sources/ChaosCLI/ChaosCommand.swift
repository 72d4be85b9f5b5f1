import ArgumentParser
import ChaosCore
import ChaosPOSIX

/// The `chaos` command line.
public struct ChaosCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Find and prove single points of failure: inject faults, revert them on time, judge the outcome.",
        discussion: """
        Faults act on this host, or, with --inventory, on another host through its agent (mutual TLS). Every reversible fault is written to a durable ledger before the host \
        is touched and is reverted at its deadline, even if chaos is killed (a detached guardian does it).

        Examples:
          chaos kill --name redis-server --count 1
          chaos pause --port 6379 --for 30s
          chaos stop --unit nginx.service --for 1m
          chaos disk fill --path /var/lib/redis --used 95 --for 2m
          chaos inject process.signal --set signal=HUP --name nginx
          chaos kill --target db-primary --inventory deploy/inventory.yaml --dry-run
          chaos pause --target db-primary --inventory deploy/inventory.yaml --for 30s --identity alice
          chaos status --inventory deploy/inventory.yaml
          chaos halt --inventory deploy/inventory.yaml --reason "incident 4711"
          chaos validate experiments/*.yaml deploy/inventory.yaml
        """,
        version: chaosVersion,
        // Internal helpers (the guardian, stress workers, the delay relay, the packet engine) are hidden commands.
        subcommands: [GuardianCommand.self, StressWorkerCommand.self, RelayCommand.self, NetQueueCommand.self],
        groupedSubcommands: [
            CommandGroup(name: "Fault", subcommands: [
                KillCommand.self, PauseCommand.self, StopCommand.self, DiskCommand.self, StressCommand.self, NetCommand.self, InjectCommand.self,
            ]),
            CommandGroup(name: "Experiment", subcommands: [
                ValidateCommand.self, RunCommand.self, GamedayCommand.self, ScheduleCommand.self, ControllerCommand.self, SPOFCommand.self, MapCommand.self,
                VerdictsCommand.self, ReportCommand.self,
            ]),
            CommandGroup(name: "Operation", subcommands: [
                StatusCommand.self, RevertCommand.self, HaltCommand.self, ResumeCommand.self, AgentLauncher.self, CapabilitiesCommand.self,
            ]),
            CommandGroup(name: "Setup", subcommands: [CertsCommand.self, SchemaCommand.self, ManualCommand.self]),
        ]
    )
    public init() {}
}

/// Ends a command with `status` (ArgumentParser treats 0 as success).
func finish(_ status: Int32) throws {
    if status != 0 { throw ExitCode(status) }
}

/// The executable's entry point.
public enum ChaosMain {
    /// Unblocks every signal on the main thread before any other thread exists, so all threads inherit
    /// an empty mask: a parent may leave signals blocked (Foundation's Process does), and chaos must
    /// receive SIGINT/SIGTERM to revert, and its helpers must die of SIGKILL/SIGTERM as they should.
    public static func resetSignalMask() { ThisProcess.unblockAllSignals() }

    /// Parses the command line and runs the command, as `ChaosCommand.main()` would; but in `chaos`,
    /// a command that ``RemoteCommands`` sends to `chaos-remote` is handed to it first (exec, with the
    /// same arguments), before it does anything.
    public static func run() async {
        do {
            var command = try await ChaosCommand.asyncParseAsRoot()
            if !RemoteServices.installed, let rule = RemoteCommands.rule(for: command) {
                do {
                    try Sibling.exec("chaos-remote", Array(CommandLine.arguments.dropFirst()),
                                     missing: "chaos-remote is where \(rule.when) runs (it \(rule.why)): install it beside chaos (swift build --product chaos-remote).")
                } catch {
                    throw ExitCode(Console.report(error, format: RemoteCommands.output(of: command)))
                }
            }
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            CommandLineErrors.exit(error, args: Array(CommandLine.arguments.dropFirst()))
        }
    }
}
