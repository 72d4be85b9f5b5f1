public import ChaosCore
internal import GRDB

/// Runs in SQLite (`DIR/chaos.sqlite`, WAL) and their verdicts in the append-only log beside it
/// (`DIR/verdicts.jsonl`).
///
/// Every save is final: the run driver saves a run once, at its end (completed, aborted, interrupted
/// or failed). A run saved again replaces the stored one, and its verdict line is appended only the
/// first time (the `logged` column). The append happens inside the write transaction, so two savers
/// of one run cannot both log it; should chaos crash between the fsync of the line and the commit, a
/// later save of that run would log it a second time (at least once, never lost).
public final class SQLiteRunStore: RunStoring {
    /// The store directory.
    public let directory: String
    /// `DIR/chaos.sqlite`.
    public let databasePath: String
    /// The verdict log, `DIR/verdicts.jsonl`.
    public let log: VerdictLog
    private let pool: DatabasePool

    /// Opens the store in `directory`, creating the directory (0700) and the database if needed, and
    /// migrating the database to the current schema.
    /// - Throws: `store.io` when the directory or the database cannot be created, opened or migrated;
    ///   `store.newer` when a newer chaos wrote the database.
    public convenience init(directory: String) throws(ChaosError) {
        try self.init(directory: directory, schemaUpTo: nil)
    }

    /// Opens the store in `directory` migrated up to the migration named `schemaUpTo` (nil: all of
    /// them): a store as an older chaos left it, for tests of the migrations.
    package init(directory: String, schemaUpTo last: String?) throws(ChaosError) {
        try StoreFiles.makeDirectory(directory)
        self.directory = directory
        self.databasePath = directory + "/chaos.sqlite"
        self.log = VerdictLog(path: directory + "/verdicts.jsonl")
        self.pool = try Self.openDatabase(databasePath)
        try StoreSchema.migrate(pool, path: databasePath, upTo: last)
    }

    /// Creates the store directory (0700) if needed, for a verdict log without a database.
    /// - Returns: `directory`.
    public static func prepareDirectory(_ directory: String) throws(ChaosError) -> String {
        try StoreFiles.makeDirectory(directory)
        return directory
    }

    /// Saves (or replaces) `run`, and appends its ``VerdictLine`` to the verdict log unless it is
    /// already there.
    /// - Throws: `store.io` when the run cannot be saved, or when it was saved but its line could
    ///   not be appended (saving it again retries the line).
    public func save(_ run: RunRecord) throws(ChaosError) {
        let arguments = try RunRows.values(run)
        let line = VerdictLine(run)
        let log = self.log
        let logFailure: ChaosError? = try write("save run '\(run.runID)' in") { db in
            try RunRows.upsert(arguments, db)
            guard try RunRows.isUnlogged(run.runID, db) else { return nil }
            if let failure = Self.append(line, to: log) { return failure }
            try RunRows.markLogged(run.runID, db)
            return nil
        }
        if let logFailure {
            throw ChaosError(logFailure.code, "Run '\(run.runID)' is saved, but its verdict line is not: \(logFailure.message)", exit: logFailure.exit)
        }
    }

    /// The run `id`, or nil when there is none.
    /// - Throws: `store.io` when the database cannot be read; `store.corrupt` when the run cannot be decoded.
    public func run(_ id: String) throws(ChaosError) -> RunRecord? {
        let row = try read("read run '\(id)' from") { db in
            try Row.fetchOne(db, sql: "SELECT \(RunRows.columns) FROM runs WHERE runID = ?", arguments: [id])
        }
        guard let row else { return nil }
        return try RunRows.record(row, path: databasePath)
    }

    /// The runs `filter` selects, newest first (by `startedAt`), at most `filter.limit` of them
    /// (a limit of 0 or less lists them all).
    /// - Throws: `store.io` when the database cannot be read; `store.corrupt` when a run cannot be decoded.
    public func runs(_ filter: RunFilter) throws(ChaosError) -> [RunRecord] {
        let query = RunRows.query(filter)
        let rows = try read("list runs from") { db in try Row.fetchAll(db, sql: query.sql, arguments: query.arguments) }
        var out: [RunRecord] = []
        for row in rows { out.append(try RunRows.record(row, path: databasePath)) }
        return out
    }

    /// The names of the experiments with stored runs, sorted: one seek in the (experiment, startedAt)
    /// index per name (a loose index scan), not a read of every run.
    public func experimentNames() async throws(ChaosError) -> [String] {
        try read("list the experiments of") { db in
            try String.fetchAll(db, sql: """
                WITH RECURSIVE names(name) AS (
                  SELECT min(experiment) FROM runs
                  UNION ALL
                  SELECT (SELECT min(experiment) FROM runs WHERE experiment > name) FROM names WHERE name IS NOT NULL
                )
                SELECT name FROM names WHERE name IS NOT NULL
                """)
        }
    }

    /// How SQLite runs the query of `filter` (the detail column of `EXPLAIN QUERY PLAN`, one line a
    /// step), for tests and benchmarks that check the history uses its indexes.
    package func queryPlan(_ filter: RunFilter) throws(ChaosError) -> [String] {
        let query = RunRows.query(filter)
        return try read("explain a query of") { db in
            // EXPLAIN does not check that this connection's copy of the schema is current (a query
            // does, and prepares itself again): read the schema first, so a migration made since
            // this connection opened is seen.
            _ = try Row.fetchAll(db, sql: "SELECT name FROM sqlite_master")
            return try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query.sql, arguments: query.arguments).map { $0["detail"] as String }
        }
    }

    // MARK: Database access

    private static func openDatabase(_ path: String) throws(ChaosError) -> DatabasePool {
        var configuration = Configuration()
        configuration.label = "chaos.store"
        // Another chaos process (a one-off beside a scheduled run) may be writing: wait for it.
        configuration.busyMode = .timeout(10)
        do { return try DatabasePool(path: path, configuration: configuration) } catch {
            throw StoreError.database("open", path, error)
        }
    }

    /// `log.append(line)`, its error as a value (for use inside a database closure).
    private static func append(_ line: VerdictLine, to log: VerdictLog) -> ChaosError? {
        do { try log.append(line) } catch { return error }
        return nil
    }

    func write<T>(_ what: String, _ updates: (Database) throws -> T) throws(ChaosError) -> T {
        do { return try pool.write(updates) } catch { throw StoreError.database(what, databasePath, error) }
    }

    func read<T>(_ what: String, _ value: (Database) throws -> T) throws(ChaosError) -> T {
        do { return try pool.read(value) } catch { throw StoreError.database(what, databasePath, error) }
    }
}
