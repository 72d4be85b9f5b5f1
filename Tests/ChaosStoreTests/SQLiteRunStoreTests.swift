import ChaosCore
import ChaosStore
import Foundation
import Glibc
import Testing

@Suite("SQLiteRunStore: runs in SQLite, verdicts in the log")
struct SQLiteRunStoreTests {
    @Test("the fixtures turn out as intended")
    func fixtureShapes() {
        #expect(makeRun("a").verdict.outcome == .passed)
        #expect(makeRun("b", shape: .failing).verdict.outcome == .failed)
        #expect(makeRun("c", shape: .inconclusive).verdict.outcome == .inconclusive)
    }

    @Test("save then run(id) gives back the same record; an unknown id gives nil")
    func roundTrip() throws {
        try withTemporaryDirectory { dir in
            let store = try SQLiteRunStore(directory: dir)
            var run = makeRun("r-1", shape: .failing)
            run.host = "web-1"
            try store.save(run)
            #expect(try store.run("r-1") == run)
            #expect(try store.run("r-2") == nil)
        }
    }

    @Test("a new store directory is created with mode 0700, parents included")
    func directoryMode() throws {
        try withTemporaryDirectory { dir in
            let store = try SQLiteRunStore(directory: dir + "/a/b")
            var info = stat()
            #expect(stat(store.directory, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o700)
            #expect(FileManager.default.fileExists(atPath: dir + "/a/b/chaos.sqlite"))
        }
    }

    @Test("runs(filter): newest first, by experiment, outcome, since, and limit")
    func filters() throws {
        try withTemporaryDirectory { dir in
            let store = try SQLiteRunStore(directory: dir)
            let runs = [
                makeRun("r-1", experiment: "web", startedAt: 1_000_000, shape: .passing),
                makeRun("r-2", experiment: "db", startedAt: 2_000_000, shape: .failing),
                makeRun("r-3", experiment: "web", startedAt: 3_000_000, shape: .failing),
                makeRun("r-4", experiment: "web", startedAt: 4_000_000, shape: .inconclusive),
                makeRun("r-5", experiment: "db", startedAt: 5_000_000, shape: .passing),
            ]
            for run in runs.shuffled() { try store.save(run) }
            func ids(_ filter: RunFilter) throws -> [String] { try store.runs(filter).map(\.runID) }
            #expect(try ids(RunFilter()) == ["r-5", "r-4", "r-3", "r-2", "r-1"])
            #expect(try store.runs(RunFilter()) == runs.reversed())
            #expect(try ids(RunFilter(experiment: "web")) == ["r-4", "r-3", "r-1"])
            #expect(try ids(RunFilter(outcome: .failed)) == ["r-3", "r-2"])
            #expect(try ids(RunFilter(outcome: .inconclusive)) == ["r-4"])
            #expect(try ids(RunFilter(since: 3_000_000)) == ["r-5", "r-4", "r-3"])
            #expect(try ids(RunFilter(limit: 2)) == ["r-5", "r-4"])
            #expect(try ids(RunFilter(limit: 0)).count == 5)
            #expect(try ids(RunFilter(experiment: "web", outcome: .failed, since: 2_000_000, limit: 10)) == ["r-3"])
            #expect(try ids(RunFilter(experiment: "nope")) == [])
        }
    }

    @Test("saving a run twice replaces it and logs its verdict line once")
    func resave() throws {
        try withTemporaryDirectory { dir in
            let store = try SQLiteRunStore(directory: dir)
            let first = makeRun("r-1", status: .interrupted)
            var second = first
            second.target = "nginx-2"
            try store.save(first)
            try store.save(second)
            #expect(try store.run("r-1") == second)
            #expect(try store.runs(RunFilter()).count == 1)
            let log = try store.log.read()
            #expect(log.lines == [VerdictLine(first)] && log.skipped == 0)
            #expect(store.log.path == dir + "/verdicts.jsonl")
        }
    }

    @Test("each saved run adds one line to the log, in order")
    func logsEachRun() throws {
        try withTemporaryDirectory { dir in
            let store = try SQLiteRunStore(directory: dir)
            let runs = (1...3).map { makeRun("r-\($0)", startedAt: Int64($0) * 1000) }
            for run in runs { try store.save(run) }
            #expect(try store.log.read().lines == runs.map(VerdictLine.init))
        }
    }

    @Test("concurrent saves, of one run and of others, log each run exactly once")
    func concurrentSaves() throws {
        try withTemporaryDirectory { dir in
            let store = try SQLiteRunStore(directory: dir)
            let other = try SQLiteRunStore(directory: dir)  // a second connection pool, as another process would have
            let failures = Failures()
            DispatchQueue.concurrentPerform(iterations: 16) { i in
                let target = i.isMultiple(of: 2) ? store : other
                do { try target.save(makeRun(i < 8 ? "same" : "r-\(i)")) } catch { failures.add("\(error)") }
            }
            #expect(failures.all.isEmpty)
            let ids = try store.log.read().lines.map(\.runID)
            #expect(ids.sorted() == (["same"] + (8..<16).map { "r-\($0)" }).sorted())
        }
    }

    @Test("a store opened again on the same directory sees earlier runs; migrating again is harmless")
    func persistence() throws {
        try withTemporaryDirectory { dir in
            let run = makeRun("r-1")
            do {
                let store = try SQLiteRunStore(directory: dir)
                try store.save(run)
            }
            let again = try SQLiteRunStore(directory: dir)
            #expect(try again.run("r-1") == run)
            try again.save(run)  // already logged by the first instance
            let third = try SQLiteRunStore(directory: dir)
            #expect(try third.runs(RunFilter()) == [run])
            #expect(try third.log.read().lines.count == 1)
        }
    }

    @Test("a store directory that cannot be created is a store.io error naming it")
    func unusableDirectory() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: dir + "/file", contents: Data()))
            let error = #expect(throws: ChaosError.self) { try SQLiteRunStore(directory: dir + "/file/store") }
            #expect(error?.code == "store.io")
            #expect(error?.message.contains(dir + "/file") == true)
            #expect(error?.message.contains("--store-dir") == true)
        }
    }

    @Test("a database file that is not SQLite is a store.io error naming it")
    func notADatabase() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let garbage = Data(repeating: 0x41, count: 4096)
            #expect(FileManager.default.createFile(atPath: dir + "/chaos.sqlite", contents: garbage))
            let error = #expect(throws: ChaosError.self) { try SQLiteRunStore(directory: dir) }
            #expect(error?.code == "store.io")
            #expect(error?.message.contains(dir + "/chaos.sqlite") == true)
        }
    }
}

/// Errors collected from concurrent work.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [String] = []
    func add(_ error: String) { lock.withLock { errors.append(error) } }
    var all: [String] { lock.withLock { errors } }
}
