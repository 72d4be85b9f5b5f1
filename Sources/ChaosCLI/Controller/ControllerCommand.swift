import ArgumentParser
import ChaosCore
import Foundation

struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Run experiments on their schedules, through the agents, and keep every verdict.",
        discussion: """
        Loads the experiments of the configured directory (and reloads them when a file changes: an \
        invalid file is reported with its errors and skipped whole), looks at the clock every tick, \
        and starts what its schedule makes due (see 'chaos schedule preview'): each run as with \
        'chaos run --inventory', its fault through the target's agent on a renewed lease, its verdict \
        stored with the fire that started it.

        Restart-safe: every fire is recorded before its run starts. After a crash, a run that was in \
        progress is stored as interrupted (its agent reverted the fault when the lease ran out), is \
        not started again, and the schedule carries on; fires missed by more than the grace are \
        recorded as missed, not run late. SIGTERM reverts the faults in progress and stops.

        Examples:
          chaos controller --config /etc/chaos/controller.yaml
          chaos schedule preview /etc/chaos/experiments --inventory /etc/chaos/inventory.yaml --days 7
        """
    )
    @Option(help: ArgumentHelp("The configuration file.", valueName: "file")) var config: String = "/etc/chaos/controller.yaml"
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let code: Int32
        do { code = try await serve() } catch { code = Console.report(error, format: global.output) }
        try finish(code)
    }

    private func serve() async throws(ChaosError) -> Int32 {
        let services = try RunServices.required()
        guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
            throw .usage("controller.noConfig", "Cannot read the configuration '\(config)'. Write one (docs/operations.md, deploy/controller.example.yaml) or pass --config FILE.")
        }
        let (loaded, problems) = ControllerConfiguration.load(text, file: config)
        guard let c = loaded else {
            throw .usage("controller.badConfig", "The configuration is not valid:\n" + problems.map(\.description).joined(separator: "\n"))
        }
        var g = global
        g.identity = g.identity ?? c.identity
        g.pkiDir = g.pkiDir ?? c.pkiDir
        return try await Controller(config: c, services: services, global: g).run()
    }
}
