package import ChaosCore
package import Foundation
internal import GRDB

/// Runs as rows of the `runs` table: the columns one filters on, and the verdict and the journal as
/// JSON (sorted keys).
enum RunRows {
    static let columns = "runID, experiment, file, host, faultKind, target, status, outcome, startedAt, endedAt, verdict, journal"

    /// The values of `run`'s columns, in the order of ``columns``.
    static func values(_ run: RunRecord) throws(ChaosError) -> StatementArguments {
        let json = try StoredRun.encode(run)
        let values: [(any DatabaseValueConvertible)?] = [
            run.runID, run.experiment, run.file, run.host, run.faultKind.rawValue, run.target, run.status.rawValue,
            run.verdict.outcome.rawValue, run.startedAt, run.endedAt, json.verdict, json.journal,
        ]
        return StatementArguments(values)
    }

    /// Inserts `run`, or replaces every column of the stored one but `logged`.
    static func upsert(_ arguments: StatementArguments, _ db: Database) throws {
        let names = columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let updates = names.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        let marks = Array(repeating: "?", count: names.count).joined(separator: ", ")
        try db.execute(sql: "INSERT INTO runs (\(columns)) VALUES (\(marks)) ON CONFLICT(runID) DO UPDATE SET \(updates)",
                       arguments: arguments)
    }

    /// Whether run `id`'s line is not yet in the verdict log.
    static func isUnlogged(_ id: String, _ db: Database) throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT logged FROM runs WHERE runID = ?", arguments: [id]) == 0
    }

    static func markLogged(_ id: String, _ db: Database) throws {
        try db.execute(sql: "UPDATE runs SET logged = 1 WHERE runID = ?", arguments: [id])
    }

    /// The query of `filter`: newest first (ties by runID), at most `filter.limit` (0 or less: all).
    static func query(_ filter: RunFilter) -> (sql: String, arguments: StatementArguments) {
        var conditions: [String] = []
        var values: [(any DatabaseValueConvertible)?] = []
        if let experiment = filter.experiment { conditions.append("experiment = ?"); values.append(experiment) }
        if let outcome = filter.outcome { conditions.append("outcome = ?"); values.append(outcome.rawValue) }
        if let since = filter.since { conditions.append("startedAt >= ?"); values.append(since) }
        var sql = "SELECT \(columns) FROM runs"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY startedAt DESC, runID DESC"
        if filter.limit > 0 { sql += " LIMIT ?"; values.append(filter.limit) }
        return (sql, StatementArguments(values))
    }

    /// The run of `row` (selected with ``columns``).
    /// - Throws: `store.corrupt` when a column or the JSON does not decode.
    static func record(_ row: Row, path: String) throws(ChaosError) -> RunRecord {
        let id = (try? row.decode(String.self, forColumn: "runID")) ?? "?"
        do {
            return try decodeRecord(row)
        } catch let error as ChaosError {
            throw StoreError.corrupt(id, path, error.message)
        } catch {
            throw StoreError.corrupt(id, path, "\(error)")
        }
    }

    private static func decodeRecord(_ row: Row) throws -> RunRecord {
        func text(_ column: String) throws -> String { try row.decode(String.self, forColumn: column) }
        return try StoredRun.decode(runID: try text("runID"), experiment: try text("experiment"),
                                    file: try row.decode(String?.self, forColumn: "file"), host: try row.decode(String?.self, forColumn: "host"),
                                    faultKind: try text("faultKind"), target: try text("target"), status: try text("status"),
                                    startedAt: try row.decode(Int64.self, forColumn: "startedAt"), endedAt: try row.decode(Int64.self, forColumn: "endedAt"),
                                    verdict: try text("verdict"), journal: try text("journal"))
    }
}

/// A run as the columns of a store (SQLite or PostgreSQL): the verdict and the journal as JSON.
package enum StoredRun {
    /// The run of the columns.
    /// - Throws: `store.corrupt` (a message without the run or the store; the caller adds them)
    ///   when a value is unknown or the JSON does not decode.
    package static func decode(runID: String, experiment: String, file: String?, host: String?, faultKind: String, target: String, status: String,
                               startedAt: Int64, endedAt: Int64, verdict: String, journal: String) throws(ChaosError) -> RunRecord {
        func json<T: Decodable>(_ type: T.Type, _ text: String, _ column: String) throws(ChaosError) -> T {
            guard let value = StoreJSON.decode(type, from: Data(text.utf8)) else { throw ChaosError("store.corrupt", "its \(column) is not valid JSON") }
            return value
        }
        guard let kind = FaultKind(rawValue: faultKind) else { throw ChaosError("store.corrupt", "unknown fault kind '\(faultKind)'") }
        guard let runStatus = RunStatus(rawValue: status) else { throw ChaosError("store.corrupt", "unknown status '\(status)'") }
        return RunRecord(runID: runID, experiment: experiment, file: file, host: host, faultKind: kind, target: target, status: runStatus,
                         startedAt: startedAt, endedAt: endedAt, verdict: try json(Verdict.self, verdict, "verdict"),
                         journal: try json(Journal.self, journal, "journal"))
    }

    /// The verdict and the journal of `run` as JSON text (sorted keys).
    package static func encode(_ run: RunRecord) throws(ChaosError) -> (verdict: String, journal: String) {
        let verdict = try StoreJSON.encode(run.verdict, what: "the verdict of run '\(run.runID)'")
        let journal = try StoreJSON.encode(run.journal, what: "the journal of run '\(run.runID)'")
        return (String(decoding: verdict, as: UTF8.self), String(decoding: journal, as: UTF8.self))
    }

    /// A fire's groups as JSON text, and back.
    package static func groups(_ groups: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(groups)) ?? Data("[]".utf8), as: UTF8.self)
    }
    package static func groups(from text: String) -> [String]? { try? JSONDecoder().decode([String].self, from: Data(text.utf8)) }
}
