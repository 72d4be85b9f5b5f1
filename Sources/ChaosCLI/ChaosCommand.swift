import ArgumentParser
import ChaosCore
import Glibc

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
          chaos disk fill --path /var/lib/redis --percent 95 --for 2m
          chaos kill --target db-primary --inventory deploy/inventory.yaml --dry-run
          chaos pause --target db-primary --inventory deploy/inventory.yaml --for 30s --identity alice
          chaos status --inventory deploy/inventory.yaml
          chaos halt --inventory deploy/inventory.yaml --reason "incident 4711"
          chaos validate experiments/*.yaml deploy/inventory.yaml
        """,
        version: "0.1.0",
        subcommands: [
            ValidateCommand.self, RunCommand.self, GamedayCommand.self, ScheduleCommand.self, ControllerCommand.self, SPOFCommand.self, VerdictsCommand.self, ReportCommand.self, KillCommand.self, PauseCommand.self, StopCommand.self, DiskCommand.self, StressCommand.self, NetCommand.self, CapabilitiesCommand.self, AgentLauncher.self,
            StatusCommand.self, RevertCommand.self, HaltCommand.self, ResumeCommand.self, GuardianCommand.self, StressWorkerCommand.self, RelayCommand.self,
            CertsCommand.self,
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
    public static func resetSignalMask() {
        var empty = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, nil)
    }

    public static func run() async { await ChaosCommand.main() }
}
