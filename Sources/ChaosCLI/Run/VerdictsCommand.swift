import ArgumentParser
import ChaosCore
import ChaosEngine
import ChaosRun

struct VerdictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verdicts",
        abstract: "List stored runs and their verdicts, newest first.",
        discussion: """
        Examples:
          chaos verdicts
          chaos verdicts --experiment kill-db-primary --since 7d
          chaos verdicts --status failed --output json
          PGPASSWORD=... chaos verdicts --store postgres://chaos@db.example/chaos --since 1d
        The append-only log of every verdict is STORE_DIR/verdicts.jsonl (one JSON object per line).
        """
    )
    @Option(help: "Only this experiment (its name).") var experiment: String?
    @Option(help: "Only this verdict: passed, failed or inconclusive.") var status: String?
    @Option(help: ArgumentHelp("Only runs that started within this long, e.g. 7d, 12h.", valueName: "duration")) var since: ChaosDuration?
    @Option(help: "At most this many runs.") var limit: Int = 50
    @Option(help: ArgumentHelp("Where runs are stored (env CHAOS_STORE_DIR; default STATE_DIR/runs).", valueName: "dir")) var storeDir: String?
    @Option(help: ArgumentHelp("Read the PostgreSQL store that several controllers share instead (its password from the URL or PGPASSWORD).", valueName: "postgres-url")) var store: String?
    @OptionGroup var local: LocalOptions
    var global: GlobalOptions { local.global }

    func validate() throws {
        if let status, Verdict.Outcome(rawValue: status) == nil { throw ValidationError("--status must be passed, failed or inconclusive.") }
        if limit < 1 { throw ValidationError("--limit must be at least 1.") }
    }

    func run() async throws {
        let code: Int32
        do { code = try await list() } catch { code = Console.report(error, format: global.output) }
        try finish(code)
    }

    private func list() async throws(ChaosError) -> Int32 {
        let (store, name, close) = try await RunServices.runStore(url: self.store, storeDir: storeDir, global: global)
        let filter = RunFilter(experiment: experiment, outcome: status.flatMap(Verdict.Outcome.init(rawValue:)),
                               since: since.map { SystemWallClock().now() - $0.milliseconds }, limit: limit)
        let runs: [RunRecord]
        do { runs = try await store.runs(filter) } catch {
            await close()
            throw error
        }
        await close()
        if global.output == .json { Console.json(["runs": runs.map(VerdictLine.init)]); return 0 }
        if runs.isEmpty { Console.out("No runs stored\(experiment.map { " for '\($0)'" } ?? "") in \(name)."); return 0 }
        Console.out(Console.table(["RUN", "STARTED", "EXPERIMENT", "VERDICT", "STATUS", "TTR", "OUTAGE", "REASON"], runs.map { r in
            [r.runID, Console.dateTime(r.startedAt), r.experiment, r.verdict.outcome.rawValue, r.status.rawValue,
             r.verdict.figures.timeToRecoverMs.map(Verdict.seconds) ?? "n/a", Verdict.seconds(r.verdict.figures.longestOutageMs),
             r.verdict.reasons.first ?? ""]
        }))
        return 0
    }
}
