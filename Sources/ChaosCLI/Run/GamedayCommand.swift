import ArgumentParser
import ChaosCore
import ChaosEngine
import ChaosRun
import Foundation

struct GamedayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gameday",
        abstract: "Run a suite of experiments in order and end with a verdict table, a resilience score and one HTML report.",
        discussion: """
        Every file in DIR (*.yaml, *.json, by name) is validated first: if any is invalid, nothing runs. \
        Then each experiment runs as with 'chaos run'. Before each one, chaos waits (up to --settle) \
        until the experiment's probes succeed three times in a row, so the system can recover from the \
        previous experiment; each run's own gate still decides (a system that has not recovered makes \
        the run inconclusive, with nothing injected). A revert that failed (a fault may still be in \
        place) or an interruption stops the game day; a fault that could not be injected is recorded \
        and the game day goes on. Every verdict is stored and appended to the JSONL verdict log.

        The resilience score is the share of experiments that passed, weighted by each experiment's \
        'weight' (default 1); inconclusive ones, and those not run, count as not passed (an unknown is \
        not resilience).

        Exit status: 0 all passed, 1 any failed, 2 otherwise (inconclusive, aborted, interrupted).

        Examples:
          chaos gameday experiments/sandbox --inventory /run/chaos-sandbox/inventory.yaml
          chaos gameday experiments/sandbox --inventory deploy/inventory.yaml --report gameday.html --output json
        """
    )
    @Argument(help: ArgumentHelp("The directory of experiment files.", valueName: "dir")) var dir: String
    @Option(help: ArgumentHelp("Inventory file: targets by name, run through their host's agent.", valueName: "file")) var inventory: String?
    @Option(help: ArgumentHelp("Where to write the combined HTML report (default: STORE_DIR/gameday-TIME.html).", valueName: "file")) var report: String?
    @Option(help: ArgumentHelp("How long each run observes the steady state before its fault.", valueName: "duration")) var gate: ChaosDuration = .seconds(5)
    @Option(help: ArgumentHelp("Before each experiment, wait up to this long for its probes to succeed (the system recovering from the previous one); 0s: do not wait.", valueName: "duration")) var settle: ChaosDuration = .seconds(60)
    @Option(help: ArgumentHelp("Where runs are stored (env CHAOS_STORE_DIR; default STATE_DIR/runs).", valueName: "dir")) var storeDir: String?
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let code: Int32
        do { code = try await play() } catch { code = Console.report(error, format: global.output) }
        try finish(code)
    }

    struct Result: Encodable { var runs: [VerdictLine]; var score: Double; var report: String; var stoppedEarly: Bool }

    private func play() async throws(ChaosError) -> Int32 {
        let services = try RunServices.required()
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }.sorted().map { "\(dir)/\($0)" }
        guard !files.isEmpty else { throw .usage("gameday.empty", "No experiment files (*.yaml, *.json) in '\(dir)'.") }
        var experiments: [(String, Experiment)] = []
        var problems: [String] = []
        for f in files {
            do { experiments.append((f, try DocumentFiles.experiment(f))) } catch { problems.append(error.message) }
        }
        guard problems.isEmpty else {
            throw .usage("gameday.invalid", "Nothing was run: \(problems.count) of \(files.count) files are not valid.\n" + problems.joined(separator: "\n"))
        }
        let inv = try Context(global: global).loadInventory(inventory)
        let played = await Gameday(inventory: inv, gate: gate, settle: settle, storeDir: storeDir, global: global, services: services)
            .play(experiments.map { (file: $0.0, experiment: $0.1) })
        let ran = played.ran, stoppedEarly = played.stoppedEarly
        let records = ran.map(\.record)
        let passedIndices = Set(ran.filter { $0.record.verdict.outcome == .passed && $0.record.status == .completed }.map(\.index))
        let passed = passedIndices.count
        let score = GamedayScore.of(experiments.enumerated().map { ($0.element.1.weight, passedIndices.contains($0.offset)) })
        let path = report ?? RunServices.storeDirectory(storeDir, global: global) + "/gameday-\(Int64(Date().timeIntervalSince1970)).html"
        let title = "Game day: \(URL(fileURLWithPath: dir).lastPathComponent) — resilience score \(Verdict.pct(score))"
        do { try services.render(records, "html", title).write(toFile: path, atomically: true, encoding: .utf8) } catch {
            Console.err("warning: could not write the report '\(path)': \(error.localizedDescription)")
        }
        if global.output == .json {
            Console.json(Result(runs: records.map(VerdictLine.init), score: score, report: path, stoppedEarly: stoppedEarly))
        } else {
            Console.out(Console.table(["EXPERIMENT", "VERDICT", "STATUS", "TTR", "OUTAGE", "REASON"], records.map { r in
                [r.experiment, r.verdict.outcome.rawValue, r.status.rawValue, r.verdict.figures.timeToRecoverMs.map(Verdict.seconds) ?? "n/a",
                 Verdict.seconds(r.verdict.figures.longestOutageMs), r.verdict.reasons.first ?? ""]
            }))
            Console.out("Resilience score: \(Verdict.pct(score)) (\(passed) of \(experiments.count) experiments passed)\(stoppedEarly ? "; stopped early" : "")")
            Console.out("Report: \(path)")
        }
        if records.contains(where: { $0.verdict.outcome == .failed }) { return 1 }
        return passed == experiments.count ? 0 : 2
    }
}

/// Runs experiments in order as a game day: before each, waits for whatever `ready` asks for, then
/// (bounded) for its probes' steady state, runs it, stores it. A revert that failed or an
/// interruption stops it; a fault that could not be injected does not.
struct Gameday {
    var inventory: Inventory?
    var gate: ChaosDuration
    var settle: ChaosDuration
    var storeDir: String?
    var global: GlobalOptions
    var services: RunServices.Installed
    /// Agents to use (and leave open) instead of a session per run.
    var fleet: AgentFleet? = nil
    /// Asked before each experiment, before the steady-state wait: a reason not to run it (it is then
    /// recorded as not run), or nil.
    var ready: (() async -> String?)? = nil

    struct Played {
        var ran: [(index: Int, record: RunRecord)] = []
        /// Experiments not run, by index, with why.
        var notRun: [Int: String] = [:]
        var stoppedEarly = false
    }

    func play(_ experiments: [(file: String?, experiment: Experiment)]) async -> Played {
        let environment = RunEnvironment.command(global, services: services)
        var played = Played()
        for (i, (file, experiment)) in experiments.enumerated() {
            Console.err("== [\(i + 1)/\(experiments.count)] \(experiment.name)\(file.map { " (\($0))" } ?? "")")
            if let ready, let why = await ready() {
                Console.err("   not run: \(why)")
                played.notRun[i] = why
                continue
            }
            if settle.milliseconds > 0,
               !(await SteadyStateWait.until(experiment, limit: settle, services: services, clock: environment.clock, progress: { Console.err("   \($0)") })) {
                Console.err("   the steady state did not come back within \(settle); running anyway (its gate decides)")
            }
            let record: RunRecord
            do {
                let prepared = try await RunPreparation.prepare(experiment, file: file, inventory: inventory, gate: gate, environment: environment, fleet: fleet)
                record = await prepared.driver.run()
                await prepared.close()
            } catch {
                Console.err("   not run: \(error.message)")
                played.notRun[i] = error.message
                continue
            }
            await RunServices.keep(record, storeDir: storeDir, settings: global.settings, services: services)
            played.ran.append((i, record))
            Console.err("   \(record.verdict.outcome.rawValue.uppercased()) (\(record.status.rawValue)): \(record.verdict.reasons.first ?? "")")
            // A fault that may still be in place (its revert failed) or an operator's Ctrl-C ends the
            // game day; a fault that could not be injected (and was cleaned up) does not.
            if record.status == .interrupted || record.journal.events.contains(where: { $0.kind == .revertFailed }) {
                Console.err("== stopping the game day: '\(experiment.name)' ended \(record.status.rawValue)")
                played.stoppedEarly = true
                break
            }
        }
        return played
    }
}

/// The resilience score of a game day: the weighted share of experiments that passed, in percent.
enum GamedayScore {
    static func of(_ runs: [(weight: Double, passed: Bool)]) -> Double {
        let total = runs.reduce(0) { $0 + $1.weight }
        guard total > 0 else { return 0 }
        return runs.filter(\.passed).reduce(0) { $0 + $1.weight } * 100 / total
    }
}
