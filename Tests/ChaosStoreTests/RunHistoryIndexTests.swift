import ChaosCore
import ChaosStore
import Foundation
import Testing

/// The history (`chaos verdicts`, the dashboard) lists the newest runs that match, with a limit. At a
/// million runs that is fast only when SQLite walks an index in the listing's order and stops at the
/// limit; sorting every run of an experiment (or of a verdict) first took 0.1-1.5 s (bench/store.sh).
/// Without `ANALYZE` (chaos never runs it) the plan does not depend on the number of rows, so a small
/// store shows the plan of a big one.
@Suite("SQLiteRunStore: the history's queries use their indexes")
struct RunHistoryIndexTests {
    /// The filters of `chaos verdicts` and of the dashboard's pages.
    static let filters: [(String, RunFilter)] = [
        ("chaos verdicts", RunFilter(limit: 50)),
        ("chaos verdicts --experiment X --since 30d", RunFilter(experiment: "web", since: 1_000, limit: 50)),
        ("chaos verdicts --experiment X", RunFilter(experiment: "web", limit: 50)),
        ("chaos verdicts --status failed", RunFilter(outcome: .failed, limit: 50)),
        ("chaos verdicts --status failed --since 30d", RunFilter(outcome: .failed, since: 1_000, limit: 50)),
        ("chaos verdicts --since 1d", RunFilter(since: 1_000, limit: 50)),
        ("/runs?experiment=X&outcome=failed&since=30", RunFilter(experiment: "web", outcome: .failed, since: 1_000, limit: 100)),
    ]

    /// Whether `plan` sorts every matching run (a temporary B-tree for the whole ORDER BY) or reads
    /// the table without an index.
    static func sortsOrScans(_ plan: [String]) -> Bool {
        plan.contains { $0.hasPrefix("USE TEMP B-TREE FOR ORDER BY") || $0 == "SCAN runs" }
    }

    @Test("every filter walks an index in the listing's order: no scan of runs, no sort of all matches")
    func plans() throws {
        try withTemporaryDirectory { dir in
            let store = try SQLiteRunStore(directory: dir)
            for i in 0..<20 { try store.save(makeRun("r-\(i)", experiment: i % 2 == 0 ? "web" : "db", startedAt: 1_000 * Int64(i))) }
            for (name, filter) in Self.filters {
                let plan = try store.queryPlan(filter)
                #expect(!Self.sortsOrScans(plan), "\(name): \(plan)")
                #expect(plan.contains { $0.contains("USING INDEX") || $0.contains("USING COVERING INDEX") }, "\(name): \(plan)")
            }
            #expect(try store.queryPlan(RunFilter(experiment: "web", since: 1_000, limit: 50)).contains { $0.contains("runs_on_experiment_startedAt") })
            #expect(try store.queryPlan(RunFilter(outcome: .failed, limit: 50)).contains { $0.contains("runs_on_outcome_startedAt") })
        }
    }

    @Test("the dashboard's menu of experiment names: every name once, sorted, from the index (not by reading runs)")
    func experimentNames() async throws {
        let dir = NSTemporaryDirectory() + "chaos-store-tests-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let store = try SQLiteRunStore(directory: dir)
            #expect(try await store.experimentNames() == [])
            // 600 runs of "web" after one of "zone-a": the old menu read only the latest 500 runs.
            try store.save(makeRun("r-z", experiment: "zone-a", startedAt: 1))
            for i in 0..<600 { try store.save(makeRun("r-w\(i)", experiment: "web", startedAt: 10 + Int64(i))) }
            try store.save(makeRun("r-d", experiment: "db", startedAt: 5))
            #expect(try await store.experimentNames() == ["db", "web", "zone-a"])
            let generic: any RunStoring = store
            #expect(try await generic.experimentNames() == ["db", "web", "zone-a"], "the store's own query, through the protocol")
        }
    }

    @Test("a store of the previous schema gets the indexes when opened, and keeps its runs")
    func migratesAnOlderStore() throws {
        try withTemporaryDirectory { dir in
            var runs: [RunRecord] = []
            for i in 0..<12 {
                let experiment = i % 3 == 0 ? "web" : "db"
                let shape: RunShape = i % 4 == 0 ? .failing : .passing
                runs.append(makeRun("r-\(i)", experiment: experiment, startedAt: 1_000 * Int64(i), shape: shape))
            }
            let filter = RunFilter(experiment: "web", since: 2_000, limit: 50)
            do {
                let old = try SQLiteRunStore(directory: dir, schemaUpTo: "v3: audit log")
                for run in runs { try old.save(run) }
                // The test would not tell anything if the old schema already listed in order.
                #expect(Self.sortsOrScans(try old.queryPlan(filter)))
            }
            let store = try SQLiteRunStore(directory: dir)
            let plan = try store.queryPlan(filter)
            #expect(!Self.sortsOrScans(plan) && plan.contains { $0.contains("runs_on_experiment_startedAt") }, "\(plan)")
            #expect(try store.runs(filter).map(\.runID) == ["r-9", "r-6", "r-3"])
            #expect(try store.runs(RunFilter(outcome: .failed, limit: 0)).map(\.runID) == ["r-8", "r-4", "r-0"])
            #expect(try store.runs(RunFilter(limit: 0)) == runs.reversed())
        }
    }
}
