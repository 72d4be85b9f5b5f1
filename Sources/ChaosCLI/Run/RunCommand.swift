import ArgumentParser
import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosLinux
import ChaosRun
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an experiment: steady state, fault, observation, revert, recovery, verdict.",
        discussion: """
        The run observes the probes for the gate (default 5 s): if the steady state does not hold, \
        nothing is injected and the verdict is inconclusive. Then it injects the fault (through the \
        target's agent with --inventory, else on this host), confirms it, watches the stop conditions, \
        reverts at the end of the fault's duration (or at once on a stop condition or Ctrl-C), and \
        watches the recovery for up to expect.recoverWithin. The verdict is computed from the journal \
        and stored with it (see 'chaos verdicts' and 'chaos report').

        Exit status: 0 passed, 1 failed, 2 inconclusive, aborted or interrupted, 64 invalid file.

        Examples:
          chaos run experiments/examples/process-pause.yaml
          chaos run experiments/examples/process-kill.yaml --inventory deploy/inventory.example.yaml
          chaos run experiments/examples/process-pause.yaml --dry-run
          chaos run experiments/examples/process-pause.yaml --output json > run.json
        """
    )
    @Argument(help: ArgumentHelp("The experiment file (YAML or JSON).", valueName: "file")) var file: String
    @Option(help: ArgumentHelp("Inventory file: targets by name, run through their host's agent.", valueName: "file")) var inventory: String?
    @Flag(help: "Observe the steady state and show the planned fault; inject nothing.") var dryRun = false
    @Option(help: ArgumentHelp("How long to observe the steady state before the fault.", valueName: "duration")) var gate: ChaosDuration = .seconds(5)
    @Option(help: ArgumentHelp("Where runs are stored (env CHAOS_STORE_DIR; default STATE_DIR/runs).", valueName: "dir")) var storeDir: String?
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let status: Int32
        do { status = try await execute() } catch { status = Console.report(error, format: global.output) }
        try finish(status)
    }

    private func execute() async throws(ChaosError) -> Int32 {
        let services = try RunServices.required()
        let experiment = try DocumentFiles.experiment(file)
        let ctx = Context(global: global)
        let prepared = try await RunPreparation.prepare(experiment, file: file, inventory: try ctx.loadInventory(inventory), gate: gate,
                                                        environment: .command(global, services: services))
        if dryRun || experiment.safety.dryRun {
            let status = await DryRun(driver: prepared.driver).run()
            await prepared.close()
            return status
        }
        let record = await prepared.driver.run()
        await prepared.close()
        await RunServices.keep(record, storeDir: storeDir, settings: global.settings, services: services)
        RunSummary.print(record, format: global.output, services: services)
        return record.exitStatus
    }
}

/// `--dry-run`: the gate and the probes, and the planned fault; nothing injected.
struct DryRun {
    let driver: RunDriver

    func run() async -> Int32 {
        let recorder = RunRecorder()
        let loops = ProbeLoops.start(driver.probes, recorder: recorder, clock: driver.clock)
        try? await driver.clock.sleep(milliseconds: driver.gate.milliseconds)
        for l in loops { l.cancel() }
        for l in loops { await l.value }
        let (a, n) = await recorder.availability(.before)
        let met = a.map { $0 >= driver.experiment.expect.availabilityBefore } ?? false
        struct Plan: Encodable { var experiment: String; var host: String?; var target: String; var actions: [String]; var steadyState: Double?; var observations: Int; var gateMet: Bool }
        let plan = Plan(experiment: driver.experiment.name, host: driver.fault.host, target: driver.fault.target, actions: driver.fault.actions,
                        steadyState: a, observations: n, gateMet: met)
        if driver.output == .json { Console.json(plan) } else {
            var lines = ["Dry run of '\(driver.experiment.name)': nothing was injected."]
            lines.append("  fault: \(driver.experiment.fault.type) on \(driver.fault.target)\(driver.fault.host.map { " (host \($0), through its agent)" } ?? "")")
            lines += driver.fault.actions.map { "    - \($0)" }
            lines.append("  steady state: \(Verdict.pct(a)) available over \(n) observations in \(driver.gate) (\(Verdict.pct(driver.experiment.expect.availabilityBefore)) required): \(met ? "met" : "NOT met, a run would inject nothing")")
            Console.out(lines.joined(separator: "\n"))
        }
        return met ? 0 : 2
    }
}

/// The verdict of a finished run on the terminal (the text report), or the whole record as JSON.
enum RunSummary {
    static func print(_ r: RunRecord, format: OutputFormat, services: RunServices.Installed) {
        if format == .json { Console.json(r); return }
        Console.out(services.render([r], "text", nil))
        Console.err("Stored as \(r.runID): 'chaos report \(r.runID) --format html -o report.html' draws its timeline.")
    }
}
