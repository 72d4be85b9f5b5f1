import ArgumentParser
import ChaosCore
import ChaosRun
import Foundation

struct SPOFVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Prove the analysis: run the SPOF plan as a game day and report each component as proven, beside the prediction.",
        discussion: """
        Analyses the inventory, plans the experiments ('chaos spof plan'), and runs them one by one \
        through the hosts' agents, as 'chaos gameday' does (validated first, probes watched, faults \
        reverted, every run stored and logged). Before each experiment it waits (up to --settle) \
        until every instance on the map runs again and the entry points answer, because the \
        prediction assumes a whole system; if it does not become whole, the experiment is not run \
        and its component is inconclusive.

        Each component is then reported as:
          confirmed SPOF        an outage longer than --max-outage, no recovery within \
        --recover-within, or lost availability
          redundant — survived  the run passed; with the failover time (the longest time an entry \
        point was seen failing)
          degraded              up throughout but slower: the entry points' p95 latency at least \
        --slowdown times the steady state's (and 50 ms more)
          inconclusive          not run, or the run could not tell (e.g. not in steady state before)
        beside the prediction, with every disagreement explained: a component predicted redundant \
        that caused an outage is a hidden SPOF; one predicted a SPOF that survived means the map \
        misses a standby.

        The report (HTML, or Markdown for a .md file) puts prediction and proof side by side, then \
        every run's timeline; a JSON copy is written beside it, and the map as proven (Graphviz DOT: \
        confirmed SPOFs red, survivors green with their failover time, disagreements dashed).

        Exit status: 0 every component proven as predicted; 1 a disagreement (or, with \
        --fail-on-spof, a confirmed SPOF); 2 an inconclusive component or a game day stopped early.

        Examples:
          chaos spof verify --inventory /run/chaos-sandbox/inventory.yaml
          chaos spof verify --inventory deploy/inventory.yaml --only spof-haproxy --only redundancy-redis-db
          chaos spof verify --inventory deploy/inventory.yaml --max-outage 5s --report spof.html --output json
        """
    )
    @Option(help: ArgumentHelp("The inventory file (its 'services' are the map).", valueName: "file")) var inventory: String
    @Option(help: ArgumentHelp("Run only these planned experiments (by name, e.g. spof-haproxy) or components (e.g. 'service web'); repeat for more.", valueName: "name")) var only: [String] = []
    @Option(name: .customLong("for"), help: ArgumentHelp("How long each reversible fault is held, as --for of a one-off (default 30s).", valueName: "duration")) var holdFor: String?
    /// `--hold` was the name before `--for` meant the same everywhere.
    @Option(help: .hidden) var hold: String?
    var heldFor: String { holdFor ?? hold ?? "30s" }
    @Option(help: ArgumentHelp("The longest outage an entry point may show and still count as surviving.", valueName: "duration")) var maxOutage: String = "10s"
    @Option(help: ArgumentHelp("How soon the entry points must recover.", valueName: "duration")) var recoverWithin: String = "30s"
    @Option(name: .customLong("domain-kind"), help: ArgumentHelp("Plan whole-domain experiments only for these kinds of the hosts' 'domains' (repeatable; default every kind, e.g. zone and rack).", valueName: "kind")) var domainKinds: [String] = []
    @Option(help: ArgumentHelp("A run that passed counts as degraded when the entry points' p95 latency grew this many times.", valueName: "factor")) var slowdown: Double = 2
    @Option(help: ArgumentHelp("How long each run observes the steady state before its fault.", valueName: "duration")) var gate: ChaosDuration = .seconds(5)
    @Option(help: ArgumentHelp("Before each experiment, wait up to this long for every instance to run and the entry points to answer.", valueName: "duration")) var settle: ChaosDuration = .seconds(90)
    @Option(help: ArgumentHelp("Where to write the report: .html, or .md for Markdown (default STORE_DIR/spof-TIME.html); a .json copy and a .dot diagram go beside it.", valueName: "file")) var report: String?
    @Flag(help: "Exit 1 when any SPOF is confirmed, even as predicted (for pipelines that must stay SPOF-free).") var failOnSpof = false
    @Option(help: ArgumentHelp("Where runs are stored (env CHAOS_STORE_DIR; default STATE_DIR/runs).", valueName: "dir")) var storeDir: String?
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard slowdown > 1 else { throw ValidationError("--slowdown must be more than 1 (e.g. 2: twice as slow).") }
    }

    func run() async throws {
        let code: Int32
        do { code = try await verify() } catch { code = Console.report(error, format: global.output) }
        try finish(code)
    }

    struct Output: Encodable {
        var inventory: String
        var summary: String
        var entries: [SPOFProof.Entry]
        var counts: [String: Int]
        var disagreements: Int
        var inconclusive: Int
        var stoppedEarly: Bool
        var report: String
        /// The map as proven (Graphviz DOT).
        var diagram: String
        var runs: [VerdictLine]
        var notes: [String]
    }

    private func verify() async throws(ChaosError) -> Int32 {
        let services = try RunServices.required()
        guard let inv = try Context(global: global).loadInventory(inventory) else { throw .usage("spof.noInventory", "Give the inventory: --inventory FILE.") }
        let analysis = SPOFAnalysis.analyze(inv)
        var (planned, notes) = SPOFPlan.experiments(inv, analysis, hold: try SPOFPlanCommand.duration(heldFor, "--for"),
                                                    maxOutage: try SPOFPlanCommand.duration(maxOutage, "--max-outage"),
                                                    recoverWithin: try SPOFPlanCommand.duration(recoverWithin, "--recover-within"),
                                                    domainKinds: domainKinds.isEmpty ? nil : domainKinds)
        notes += analysis.notes
        if !only.isEmpty {
            let known = planned.flatMap { [$0.experiment.name, $0.component] }
            for o in only where !known.contains(o) {
                let hint = Spelling.closest(to: o, in: known).map { " Did you mean '\($0)'?" } ?? ""
                throw .usage("spof.only", "--only '\(o)' names no planned experiment or component.\(hint) Planned: \(planned.map(\.experiment.name).joined(separator: ", ")).")
            }
            planned = planned.filter { only.contains($0.experiment.name) || only.contains($0.component) }
        }
        guard !planned.isEmpty else {
            throw .usage("spof.nothingPlanned", "Nothing to verify: the analysis planned no experiment." + (notes.isEmpty ? "" : " " + notes.joined(separator: "; ")))
        }
        // The same check as 'spof plan': every experiment run must be a valid file.
        for p in planned { _ = try SPOFPlanCommand.checkedYAML(p, inventory: inventory, file: "\(p.experiment.name).yaml") }

        let fleet = inv.hosts.contains { $0.agent != nil } ? try AgentFleet.open(inv, global: global) : nil
        let check = InstanceCheck(inventory: inv, environment: .command(global, services: services), fleet: fleet)
        let settle = self.settle
        Console.err("spof verify: \(planned.count) experiment\(planned.count == 1 ? "" : "s") on \(inv.services.count) services; each waits for a whole system first (up to \(settle))")
        let played = await Gameday(inventory: inv, gate: gate, settle: settle, storeDir: storeDir, global: global, services: services, fleet: fleet,
                                   ready: { await check.waitWhole(limit: settle) })
            .play(planned.map { (file: nil, experiment: $0.experiment) })
        await fleet?.close()

        let records = Dictionary(played.ran.map { ($0.index, $0.record) }, uniquingKeysWith: { a, _ in a })
        let entries = planned.enumerated().map { i, p in
            SPOFProof.classify(component: p.component, experiment: p.experiment.name, predicted: p.prediction, record: records[i],
                               notRun: played.notRun[i] ?? (played.stoppedEarly ? "the game day stopped early" : nil), slowdown: slowdown)
        }
        let proof = SPOFProof.Report(entries: entries)
        let runs = played.ran.map(\.record)
        let path = report ?? RunServices.storeDirectory(storeDir, global: global) + "/spof-\(Int64(Date().timeIntervalSince1970)).html"
        let title = "SPOF proof: \(URL(fileURLWithPath: inventory).lastPathComponent)"
        let base = path.hasSuffix(".html") || path.hasSuffix(".md") ? String(path[..<path.lastIndex(of: ".")!]) : path
        let jsonPath = base + ".json", dotPath = base + ".dot"
        let output = Output(inventory: inventory, summary: proof.summary, entries: entries, counts: proof.counts,
                            disagreements: proof.disagreements, inconclusive: proof.inconclusive, stoppedEarly: played.stoppedEarly,
                            report: path, diagram: dotPath, runs: runs.map(VerdictLine.init), notes: notes)
        do {
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
            try services.renderSPOF(proof, runs, path.hasSuffix(".md") ? "md" : "html", title).write(toFile: path, atomically: true, encoding: .utf8)
            try Console.jsonText(output).write(toFile: jsonPath, atomically: true, encoding: .utf8)
            try SPOFDiagram.dot(inv, analysis, proof: proof).write(toFile: dotPath, atomically: true, encoding: .utf8)
        } catch {
            Console.err("warning: could not write the report '\(path)': \(error.localizedDescription)")
        }
        if global.output == .json {
            Console.json(output)
        } else {
            var lines = ["Prediction and proof (\(inventory)):"]
            lines.append(Console.table(["COMPONENT", "PREDICTED", "PROVEN", "AGREES", "MEASURED"],
                                       proof.rows.dropFirst().map { Array($0.prefix(5)) }))
            let explained = entries.filter { $0.note != nil }
            if !explained.isEmpty {
                lines.append("")
                lines += explained.map { "\($0.agrees == false ? "DISAGREES" : $0.proven == .inconclusive ? "inconclusive" : "note")  \($0.component): \($0.note!)" }
            }
            lines.append("")
            lines.append(proof.summary + (played.stoppedEarly ? "; the game day stopped early" : ""))
            for n in notes { lines.append("note: \(n)") }
            lines.append("Report: \(path) (JSON: \(jsonPath); the map as proven: dot -Tsvg \(dotPath) -o spof.svg)")
            Console.out(lines.joined(separator: "\n"))
        }
        if proof.disagreements > 0 || (failOnSpof && (proof.counts[SPOFProof.Proven.confirmedSPOF.rawValue] ?? 0) > 0) { return 1 }
        return proof.inconclusive > 0 || played.stoppedEarly ? 2 : 0
    }
}

/// Whether every instance on the map runs now: each instance is looked up where it runs (through
/// its host's agent, which resolves the selector as for a fault, injecting nothing): a process by
/// its selector, a unit by its running processes.
struct InstanceCheck {
    let inventory: Inventory
    let environment: RunEnvironment
    let fleet: AgentFleet?

    /// The instances not running, for people (`web on app1 (app1: No process listens on TCP port 8080...)`); empty when whole.
    func missing() async -> [String] {
        var out: [String] = []
        for s in inventory.services {
            for i in s.instances {
                guard let p = i.process ?? i.unit.map({ ProcessSelector(unit: $0) }) else { continue }
                let probe = Experiment(name: "instance-check", target: TargetSpec(host: i.host, process: p), fault: FaultSpec(type: .processKill, with: FaultParameters()))
                do {
                    let (driver, owned) = try await RunPreparation.faultDriver(probe, inventory: inventory, environment: environment, fleet: fleet)
                    if fleet == nil { await owned?.close() }
                    if driver.blast.matched == 0 { out.append("\(s.name) on \(i.host): not running") }
                } catch {
                    out.append("\(s.name) on \(i.host) (\(error.message))")
                }
            }
        }
        return out
    }

    /// Waits until every instance runs; nil then, else what still is missing after `limit`.
    func waitWhole(limit: ChaosDuration) async -> String? {
        let deadline = Date().addingTimeInterval(Double(limit.milliseconds) / 1000)
        var announced = false
        while true {
            let missing = await missing()
            if missing.isEmpty { return nil }
            if Date() >= deadline || Task.isCancelled {
                return "the system was not whole after \(limit) (\(missing.joined(separator: "; "))): the prediction assumes every instance runs"
            }
            if !announced { Console.err("   waiting up to \(limit) for every instance to run (\(missing.joined(separator: "; ")))"); announced = true }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
