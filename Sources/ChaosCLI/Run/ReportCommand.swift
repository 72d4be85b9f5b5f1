import ArgumentParser
import ChaosCore
import ChaosRun
import Foundation

/// The report formats (rendered by ChaosReport in chaos-remote).
enum ReportFormatName: String, ExpressibleByArgument, CaseIterable, Sendable { case text, md, html, junit, json }

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render stored runs: text, Markdown, HTML (one self-contained file with a timeline), JUnit XML or JSON.",
        discussion: """
        Examples:
          chaos report r-3f9a2c1b
          chaos report r-3f9a2c1b -o html --file kill-db.html
          chaos report --experiment kill-db-primary --since 7d -o junit --file chaos-junit.xml
          chaos report --last 10 -o md
          PGPASSWORD=... chaos report --store postgres://chaos@db.example/chaos --last 5 -o html --file last5.html
        """
    )
    @Argument(help: ArgumentHelp("Run ids (see 'chaos verdicts'); none: the runs the filters select.", valueName: "run")) var runs: [String] = []
    @Option(name: [.customShort("o"), .long], help: "Output format: text, md, html, junit or json.") var output: ReportFormatName?
    @Option(help: .hidden) var format: ReportFormatName?
    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file")) var file: String?
    @Option(help: .hidden) var out: String?
    @Option(help: "Only runs of this experiment (without run ids).") var experiment: String?
    @Option(help: ArgumentHelp("Only runs that started within this long (without run ids).", valueName: "duration")) var since: ChaosDuration?
    @Option(help: "The newest this many runs (without run ids; default 1).") var last: Int?
    @Option(help: "A title for several runs.") var title: String?
    @Option(help: ArgumentHelp("Where runs are stored (env CHAOS_STORE_DIR; default STATE_DIR/runs).", valueName: "dir")) var storeDir: String?
    @Option(help: ArgumentHelp("Read the PostgreSQL store that several controllers share instead (its password from the URL or PGPASSWORD).", valueName: "postgres-url")) var store: String?
    @Option(help: ArgumentHelp("Where the fault ledger lives (env CHAOS_STATE_DIR).", valueName: "dir")) var stateDir: String?

    /// `--format` and `--out` were the names before `-o/--output` meant a format everywhere.
    var chosenFormat: ReportFormatName { output ?? format ?? .text }
    var global: GlobalOptions { (try? GlobalOptions.parse(stateDir.map { ["--state-dir", $0] } ?? [])) ?? GlobalOptions() }

    func validate() throws {
        if !runs.isEmpty && (experiment != nil || since != nil || last != nil) { throw ValidationError("Give run ids or filters (--experiment, --since, --last), not both.") }
        if let last, last < 1 { throw ValidationError("--last must be at least 1.") }
        if output != nil && format != nil { throw ValidationError("Give -o/--output (--format is its old name), not both.") }
        if file != nil && out != nil { throw ValidationError("Give --file (--out is its old name), not both.") }
    }

    func run() async throws {
        let code: Int32
        do { code = try await render() } catch { code = Console.report(error, format: chosenFormat == .json ? .json : .table) }
        try finish(code)
    }

    private func render() async throws(ChaosError) -> Int32 {
        let services = try RunServices.required()
        let (store, dir, close) = try await RunServices.runStore(url: self.store, storeDir: storeDir, global: global)
        let selected: [RunRecord]
        do { selected = try await select(store, dir) } catch {
            await close()
            throw error
        }
        await close()
        return try write(services.render(selected, chosenFormat.rawValue, title), count: selected.count)
    }

    private func select(_ store: any RunStoring, _ dir: String) async throws(ChaosError) -> [RunRecord] {
        var selected: [RunRecord] = []
        if runs.isEmpty {
            let limit = last ?? (experiment != nil || since != nil ? 100 : 1)
            selected = try await store.runs(RunFilter(experiment: experiment, since: since.map { Int64(Date().timeIntervalSince1970 * 1000) - $0.milliseconds }, limit: limit)).reversed()
            if selected.isEmpty { throw ChaosError("run.none", "No stored runs match in \(dir). Run one with 'chaos run FILE', or check --store-dir.") }
        } else {
            for id in runs {
                guard let r = try await store.run(id) else {
                    throw ChaosError("run.unknown", "No run '\(id)' in \(dir). List them with 'chaos verdicts'.")
                }
                selected.append(r)
            }
        }
        return selected
    }

    private func write(_ text: String, count: Int) throws(ChaosError) -> Int32 {
        if let out = file ?? out {
            do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
                throw ChaosError("report.io", "Cannot write '\(out)': \(error.localizedDescription).")
            }
            Console.err("Wrote \(chosenFormat.rawValue) report of \(count) run\(count == 1 ? "" : "s") to \(out).")
        } else {
            Console.out(text)
        }
        return 0
    }
}
