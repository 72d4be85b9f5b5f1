import ChaosCore
internal import GRDB

/// The schema of `chaos.sqlite`, as migrations: each runs once, in order, recorded by GRDB in the
/// database itself, so opening a store again (or from another process) migrates nothing twice.
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: runs") { db in
            try db.create(table: "runs") { t in
                t.primaryKey("runID", .text)
                t.column("experiment", .text).notNull().indexed()
                t.column("file", .text)
                t.column("host", .text)
                t.column("faultKind", .text).notNull()
                t.column("target", .text).notNull()
                t.column("status", .text).notNull()
                t.column("outcome", .text).notNull().indexed()
                t.column("startedAt", .integer).notNull().indexed()
                t.column("endedAt", .integer).notNull()
                t.column("verdict", .jsonText).notNull()
                t.column("journal", .jsonText).notNull()
                // 1 once the run's line is in the verdict log: a run saved again is not logged twice.
                t.column("logged", .integer).notNull().defaults(to: 0)
            }
        }
        migrator.registerMigration("v2: controller fires and values") { db in
            try db.create(table: "fires") { t in
                t.column("experiment", .text).notNull()
                t.column("scheduledMs", .integer).notNull().indexed()
                t.column("target", .text).notNull()
                t.column("groups", .jsonText).notNull()
                t.column("trigger", .text).notNull()
                t.column("state", .text).notNull().indexed()
                t.column("reason", .text)
                t.column("runID", .text)
                t.column("decidedMs", .integer).notNull()
                t.primaryKey(["experiment", "scheduledMs"])
            }
            try db.create(table: "controller_values") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("v3: audit log") { db in
            try db.create(table: "audit") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .integer).notNull()
                t.column("who", .text).notNull()
                t.column("action", .text).notNull()
                t.column("detail", .text).notNull()
            }
        }
        migrator.registerMigration("v4: run history indexes") { db in
            // The history (`chaos verdicts`, the dashboard's pages) filters on the experiment or the
            // verdict, often with a start time, and lists newest first (ties by runID) with a limit.
            // With an index per column, SQLite took every run of the experiment (or of the verdict,
            // most of them for `passed`) and sorted them all to return the 50 newest: 0.08-1.5 s at a
            // million runs (bench/store.sh). These indexes are read backwards, in the order of the
            // listing, and stop at the limit. They replace the single-column ones they start with.
            try db.create(index: "runs_on_experiment_startedAt", on: "runs", columns: ["experiment", "startedAt", "runID"])
            try db.create(index: "runs_on_outcome_startedAt", on: "runs", columns: ["outcome", "startedAt", "runID"])
            try db.drop(index: "runs_on_experiment")
            try db.drop(index: "runs_on_outcome")
        }
        return migrator
    }

    /// Brings the database at `path` up to date.
    /// - Throws: `store.newer` when a newer chaos has migrated it further than this one knows;
    ///   `store.io` when a migration fails.
    static func migrate(_ writer: some DatabaseWriter, path: String, upTo last: String? = nil) throws(ChaosError) {
        let migrator = Self.migrator
        let superseded: Bool
        do { superseded = try writer.read { db in try migrator.hasBeenSuperseded(db) } } catch {
            throw StoreError.database("read the schema of", path, error)
        }
        if superseded {
            throw ChaosError("store.newer", "The run store '\(path)' was written by a newer version of chaos. Upgrade chaos, or choose another --store-dir.")
        }
        do {
            if let last { try migrator.migrate(writer, upTo: last) } else { try migrator.migrate(writer) }
        } catch {
            throw StoreError.database("migrate", path, error)
        }
    }
}

/// The errors of the database.
enum StoreError {
    /// `store.io` for a failed database operation (or the `ChaosError` it threw, unchanged).
    static func database(_ what: String, _ path: String, _ error: any Error) -> ChaosError {
        if let error = error as? ChaosError { return error }
        let database = error as? DatabaseError
        let why = database.map { $0.message ?? "\($0.resultCode)" } ?? "\(error)"
        let damaged = database.map { [.SQLITE_NOTADB, .SQLITE_CORRUPT].contains($0.resultCode) } ?? false
        let advice = damaged
            ? "Move the file aside (chaos then starts a new store; the verdict log beside it is kept) or choose another --store-dir."
            : "Check --store-dir, free space and permissions, and that no other process holds it locked."
        return ChaosError("store.io", "Cannot \(what) the run store '\(path)': \(why). \(advice)")
    }

    /// `store.corrupt` for a stored run that cannot be read back.
    static func corrupt(_ runID: String, _ path: String, _ why: String) -> ChaosError {
        .internalError("store.corrupt", "Run '\(runID)' in the run store '\(path)' cannot be read: \(why). Delete the run with sqlite3, or move the store aside.")
    }
}
