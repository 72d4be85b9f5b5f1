import ArgumentParser
import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosLinux
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
        let experiment = try Self.load(file)
        let ctx = Context(global: global)
        let prepared = try await Self.prepare(experiment, file: file, inventory: try ctx.loadInventory(inventory), gate: gate,
                                              global: global, services: services)
        if dryRun || experiment.safety.dryRun {
            let status = await DryRun(driver: prepared.driver).run()
            await prepared.close()
            return status
        }
        let record = await prepared.driver.run()
        await prepared.close()
        Self.store(record, storeDir: storeDir, global: global, services: services)
        RunSummary.print(record, format: global.output, services: services)
        return record.exitStatus
    }

    /// A run ready to go, and what to close after it.
    struct Prepared {
        var driver: RunDriver
        var close: @Sendable () async -> Void
    }

    /// Checks an experiment (probes, blast radius), places its fault (here or through an agent) and
    /// makes its probes. Nothing is injected yet.
    /// - Parameters:
    ///   - fleet: a session to the agents to use (and leave open) instead of opening one.
    ///   - probes: a probe factory to use (and leave open) instead of making one.
    static func prepare(_ experiment: Experiment, file: String?, inventory: Inventory?, gate: ChaosDuration, global: GlobalOptions,
                        services: RunServices.Installed, fleet shared: AgentFleet? = nil,
                        probes sharedProbes: (any ProbeFactory)? = nil) async throws(ChaosError) -> Prepared {
        guard !experiment.probes.isEmpty else {
            throw .usage("run.noProbes", "'\(file ?? experiment.name)' has no probes: a run needs at least one to judge the system. Add e.g. 'probes: [{name: web, type: http, url: http://...}]'.")
        }
        let ctx = Context(global: global)
        let (driver, fleet) = try await Self.driver(experiment, inventory: inventory, ctx: ctx, global: global, fleet: shared)
        if let why = experiment.safety.refusal(victims: driver.blast.victims, matched: driver.blast.matched) {
            await fleet?.close()
            throw ChaosError("safety.blastRadius", "Refusing to run '\(experiment.name)': \(why). Narrow the target (count, percent) or raise the limit.")
        }
        let factory = sharedProbes ?? services.probes()
        let owned = sharedProbes == nil
        let closeProbes: @Sendable () async -> Void = { if owned { await factory.shutdown() } }
        var runners: [any ProbeRunner] = []
        do { for p in experiment.probes { runners.append(try factory.runner(for: p)) } } catch {
            await closeProbes(); await fleet?.close()
            throw error
        }
        var runDriver = RunDriver(experiment: experiment, file: file, fault: driver, probes: runners, output: global.output)
        runDriver.gate = gate
        return Prepared(driver: runDriver, close: { await closeProbes(); await fleet?.close() })
    }

    /// Stores a finished run; a store that fails is a warning (the verdict is still printed).
    static func store(_ record: RunRecord, storeDir: String?, global: GlobalOptions, services: RunServices.Installed) {
        do {
            try services.store(RunServices.storeDirectory(storeDir, global: global)).save(record)
        } catch {
            Console.err("warning: the run could not be stored: \(error.message)")
        }
    }

    /// Reads and validates an experiment file.
    static func load(_ path: String) throws(ChaosError) -> Experiment {
        guard case .experiment(let e) = try Context.loadDocument(path, kind: "Experiment") else {
            throw .internalError("experiment.kind", "'\(path)' was read as an experiment but is not one.")
        }
        return e
    }

    static func agentDriver(_ fleet: AgentFleet, _ host: Inventory.Host, _ request: InjectRequest) async -> Result<any FaultDriver, ChaosError> {
        do { return .success(try await AgentFaultDriver(agent: try fleet.client(host), request: request)) } catch { return .failure(error) }
    }

    /// The fault driver: through the target's agent when the inventory places it on another host.
    static func driver(_ e: Experiment, inventory: Inventory?, ctx: Context, global: GlobalOptions,
                       fleet shared: AgentFleet? = nil) async throws(ChaosError) -> (any FaultDriver, AgentFleet?) {
        var network = FaultRequest.Network(controlPorts: [Environment.value("CHAOS_CONTROL_PORT").flatMap(Int.init) ?? 7433])
        network.remotes = try AddressResolver.resolve(e.fault.with.to ?? [], inventory: inventory)
        if e.fault.type == .networkPartition {
            network.sideA = network.remotes
            network.sideB = try AddressResolver.resolve(e.fault.with.and ?? [], inventory: inventory)
            network.oneWay = e.fault.with.mode == "oneway"
        }
        if let inventory, e.target.ref != nil || e.target.host != nil,
           case .remote(let host, let agentTarget) = try await ctx.resolver(inventory: inventory).placement(e.target, for: e.fault.type) {
            let fleet: AgentFleet
            if let shared { fleet = shared.lent() } else { fleet = try AgentFleet.open(inventory, global: global) }
            let request = InjectRequest(runID: nil, idempotencyKey: "run/\(UUID().uuidString.lowercased())", lease: e.fault.duration == nil ? nil : RemoteOneOff.lease,
                                            fault: e.fault, target: agentTarget, to: network.remotes.isEmpty ? nil : network.remotes,
                                            between: network.sideA.isEmpty ? nil : network.sideA, and: network.sideB.isEmpty ? nil : network.sideB)
            switch await Self.agentDriver(fleet, host, request) {
            case .success(let d): return (d, fleet)
            case .failure(let e):
                await fleet.close()
                throw e
            }
        }
        await ctx.recoverLeftovers()
        if e.fault.type == .networkPartition {
            network.localAddresses = Array(LocalIdentity.names(hostname: ctx.host.facts.hostname).filter { AddressText.family(of: $0) != 0 })
        }
        return (try await LocalFaultDriver(ctx: ctx, spec: e.fault, target: e.target, inventory: inventory, network: network,
                                           force: e.safety.allowProtected), nil)
    }
}

/// `--dry-run`: the gate and the probes, and the planned fault; nothing injected.
struct DryRun {
    let driver: RunDriver

    func run() async -> Int32 {
        let recorder = RunRecorder()
        let loops = ProbeLoops.start(driver.probes, recorder: recorder)
        try? await Task.sleep(for: .milliseconds(driver.gate.milliseconds))
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
