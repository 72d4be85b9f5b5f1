import ChaosCore
import ChaosStore
import ChaosStorePostgres
import ChaosTesting
import Foundation
import Testing

/// The same tests against both controller stores: the embedded SQLite one and the PostgreSQL one
/// that several controllers share (a real PostgreSQL 15 the tests start; skipped without one).
@Suite("The controller's store contract, on SQLite and on PostgreSQL", .serialized)
struct StoreContractTests {
    typealias Store = RunStoring & FireStoring & AuditStoring

    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }

    /// A new empty store of `kind` with its verdict log in `dir`, and how to close it.
    static func open(_ kind: Kind, _ dir: String) async throws -> (store: any Store, log: VerdictLog, close: @Sendable () async -> Void)? {
        switch kind {
        case .sqlite:
            let s = try SQLiteRunStore(directory: dir)
            return (s, s.log, {})
        case .postgres:
            guard PostgresLab.unavailable == nil else { return nil }
            let url = try PostgresLab.shared().freshDatabase()
            let log = VerdictLog(path: try SQLiteRunStore.prepareDirectory(dir) + "/verdicts.jsonl")
            let s = try await PostgresStore.open(try PostgresURL.parse(url), deadline: .seconds(20), verdictLog: log)
            return (s, log, { await s.close() })
        }
    }

    func with(_ kind: Kind, _ body: (any Store, VerdictLog) async throws -> Void) async throws {
        let dir = NSTemporaryDirectory() + "chaos-contract-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard let (store, log, close) = try await Self.open(kind, dir) else {
            print("skipped on \(kind): \(PostgresLab.unavailable ?? "")")
            return
        }
        do { try await body(store, log) } catch {
            await close()
            throw error
        }
        await close()
    }

    @Test("runs: round trip, unknown id, newest first, every filter, replace keeps one, the verdict line once", arguments: Kind.allCases)
    func runs(_ kind: Kind) async throws {
        try await with(kind) { store, log in
            var first = makeRun("r-1", experiment: "web", startedAt: 1_000_000, shape: .passing)
            first.host = "web-1"
            let runs = [
                first,
                makeRun("r-2", experiment: "db", startedAt: 2_000_000, shape: .failing),
                makeRun("r-3", experiment: "web", startedAt: 3_000_000, shape: .failing),
                makeRun("r-4", experiment: "web", startedAt: 4_000_000, shape: .inconclusive),
                makeRun("r-5", experiment: "db", startedAt: 5_000_000, shape: .passing),
                // Same start as r-5: ties go by run id, newest (highest) first.
                makeRun("r-6", experiment: "db", startedAt: 5_000_000, shape: .passing),
            ]
            for run in runs.shuffled() { try await store.save(run) }
            #expect(try await store.run("r-1") == first)
            #expect(try await store.run("nope") == nil)
            func ids(_ filter: RunFilter) async throws -> [String] { try await store.runs(filter).map(\.runID) }
            #expect(try await store.runs(RunFilter()) == runs.reversed())
            #expect(try await ids(RunFilter(experiment: "web")) == ["r-4", "r-3", "r-1"])
            #expect(try await ids(RunFilter(outcome: .failed)) == ["r-3", "r-2"])
            #expect(try await ids(RunFilter(since: 3_000_000)) == ["r-6", "r-5", "r-4", "r-3"])
            #expect(try await ids(RunFilter(limit: 2)) == ["r-6", "r-5"])
            #expect(try await ids(RunFilter(limit: 0)).count == 6)
            #expect(try await ids(RunFilter(experiment: "web", outcome: .failed, since: 2_000_000, limit: 10)) == ["r-3"])
            // A quote, a NUL-free oddity and SQL in a filter value are values, not SQL.
            #expect(try await ids(RunFilter(experiment: "web' OR '1'='1")) == [])

            var again = runs[1]
            again.status = .aborted
            try await store.save(again)
            #expect(try await store.run("r-2")?.status == .aborted)
            #expect(try await store.runs(RunFilter(limit: 0)).count == 6)
            let lines = try log.read().lines.map(\.runID)
            #expect(lines.sorted() == runs.map(\.runID).sorted(), "each run logged once: \(lines)")
        }
    }

    @Test("fires: record, replace, by state, since, several at once; values; the audit log newest first", arguments: Kind.allCases)
    func firesValuesAudit(_ kind: Kind) async throws {
        try await with(kind) { store, _ in
            func fire(_ e: String, _ at: Int64, _ state: FireRecord.State, runID: String? = nil, reason: String? = nil) -> FireRecord {
                FireRecord(experiment: e, scheduledMs: at, target: "app", groups: ["apps", "web"], trigger: .cron, state: state, reason: reason, runID: runID, decidedMs: at + 5)
            }
            try await store.record(fire("kill", 1_000, .started, runID: "r-1"))
            try await store.record(fire("kill", 2_000, .skipped, reason: "blackout (freeze)"))
            try await store.record(all: [fire("pause", 1_500, .missed), fire("stop", 3_000, .started, runID: "r-3")])
            #expect(try await store.fires(in: .started).map(\.runID) == ["r-1", "r-3"])
            try await store.record(fire("kill", 1_000, .finished, runID: "r-1", reason: "passed"))
            #expect(try await store.fires(in: .started).map(\.runID) == ["r-3"])
            let all = try await store.fires(sinceMs: 0)
            #expect(all.map(\.experiment) == ["kill", "pause", "kill", "stop"])
            #expect(all[0] == fire("kill", 1_000, .finished, runID: "r-1", reason: "passed"))
            #expect(all[2].reason == "blackout (freeze)" && all[2].groups == ["apps", "web"])
            #expect(try await store.fires(sinceMs: 2_000).count == 2)
            try await store.record(all: [])

            #expect(try await store.value("halt") == nil)
            try await store.setValue("{\"halted\":true}", for: "halt")
            try await store.setValue("{\"halted\":false}", for: "halt")
            #expect(try await store.value("halt") == "{\"halted\":false}")

            for i in 1...5 { try await store.append(AuditEntry(at: Int64(i), who: "alice (operator, certificate)", action: i % 2 == 0 ? "resume" : "halt", detail: "#\(i) ünïcode ✓")) }
            let entries = try await store.auditEntries(limit: 3)
            #expect(entries.map(\.at) == [5, 4, 3])
            #expect(entries[0].detail == "#5 ünïcode ✓")
        }
    }
}
