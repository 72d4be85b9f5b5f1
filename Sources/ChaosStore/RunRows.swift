import ChaosCore
import Foundation
internal import GRDB

/// Runs as rows of the `runs` table: the columns one filters on, and the verdict and the journal as
/// JSON (sorted keys).
enum RunRows {
    static let columns = "runID, experiment, file, host, faultKind, target, status, outcome, startedAt, endedAt, verdict, journal"

    /// The values of `run`'s columns, in the order of ``columns``.
    static func values(_ run: RunRecord) throws(ChaosError) -> StatementArguments {
        let verdict = try StoreJSON.encode(run.verdict, what: "the verdict of run '\(run.runID)'")
        let journal = try StoreJSON.encode(run.journal, what: "the journal of run '\(run.runID)'")
        let values: [(any DatabaseValueConvertible)?] = [
            run.runID, run.experiment, run.file, run.host, run.faultKind.rawValue, run.target, run.status.rawValue,
            run.verdict.outcome.rawValue, run.startedAt, run.endedAt,
            String(decoding: verdict, as: UTF8.self), String(decoding: journal, as: UTF8.self),
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
        func json<T: Decodable>(_ type: T.Type, _ column: String) throws -> T {
            guard let value = StoreJSON.decode(type, from: Data(try text(column).utf8)) else {
                throw ChaosError("store.corrupt", "its \(column) is not valid JSON")
            }
            return value
        }
        guard let kind = FaultKind(rawValue: try text("faultKind")) else { throw ChaosError("store.corrupt", "unknown fault kind") }
        guard let status = RunStatus(rawValue: try text("status")) else { throw ChaosError("store.corrupt", "unknown status") }
        return RunRecord(runID: try text("runID"), experiment: try text("experiment"),
                         file: try row.decode(String?.self, forColumn: "file"), host: try row.decode(String?.self, forColumn: "host"),
                         faultKind: kind, target: try text("target"), status: status,
                         startedAt: try row.decode(Int64.self, forColumn: "startedAt"),
                         endedAt: try row.decode(Int64.self, forColumn: "endedAt"),
                         verdict: try json(Verdict.self, "verdict"), journal: try json(Journal.self, "journal"))
    }
}
