import ChaosCore
import ChaosStore
import Foundation
import Logging
import PostgresNIO

/// Runs, fires, values and the audit log in PostgreSQL: the same contract as ``SQLiteRunStore``
/// (the store tests run against both). The verdict log stays a file on the controller that ran the
/// run (`STATE_DIR/runs/verdicts.jsonl`): a run's line is appended by whichever controller saves it
/// first (the `logged` column), so every run is in exactly one controller's log.
extension PostgresStore: RunStoring, FireStoring, AuditStoring {
    static let runColumns = "run_id, experiment, file, host, fault_kind, target, status, started_at, ended_at, verdict, journal"

    public func save(_ run: RunRecord) async throws(ChaosError) {
        let json = try StoredRun.encode(run)
        let logger = self.logger
        let log = self.verdictLog
        let line = VerdictLine(run)
        let failure: ChaosError? = try await bounded("save run '\(run.runID)'") { [client] in
            try await client.withTransaction(logger: logger) { conn -> ChaosError? in
                let rows = try await conn.query("""
                    INSERT INTO chaos_runs AS r (run_id, experiment, file, host, fault_kind, target, status, outcome, started_at, ended_at, verdict, journal)
                    VALUES (\(run.runID), \(run.experiment), \(run.file), \(run.host), \(run.faultKind.rawValue), \(run.target), \(run.status.rawValue),
                            \(run.verdict.outcome.rawValue), \(run.startedAt), \(run.endedAt), \(json.verdict), \(json.journal))
                    ON CONFLICT (run_id) DO UPDATE SET experiment = EXCLUDED.experiment, file = EXCLUDED.file, host = EXCLUDED.host,
                        fault_kind = EXCLUDED.fault_kind, target = EXCLUDED.target, status = EXCLUDED.status, outcome = EXCLUDED.outcome,
                        started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at, verdict = EXCLUDED.verdict, journal = EXCLUDED.journal
                    RETURNING r.logged
                    """, logger: logger)
                var logged = true
                for try await value in rows.decode(Bool.self) { logged = value }
                guard !logged, let log else { return nil }
                // Inside the transaction (the row is locked): two savers of one run cannot both log it.
                do throws(ChaosError) { try log.append(line) } catch { return error }
                try await conn.query("UPDATE chaos_runs SET logged = true WHERE run_id = \(run.runID)", logger: logger)
                return nil
            }
        }
        if let failure {
            throw ChaosError(failure.code, "Run '\(run.runID)' is saved, but its verdict line is not: \(failure.message)", exit: failure.exit)
        }
    }

    public func run(_ id: String) async throws(ChaosError) -> RunRecord? {
        try await runs(PostgresQuery(unsafeSQL: "SELECT \(Self.runColumns) FROM chaos_runs WHERE run_id = $1", binds: Self.binds([id])), "read run '\(id)'").first
    }

    public func runs(_ filter: RunFilter) async throws(ChaosError) -> [RunRecord] {
        var conditions: [String] = []
        var values: [any PostgresDynamicTypeEncodable & Sendable] = []
        if let e = filter.experiment { values.append(e); conditions.append("experiment = $\(values.count)") }
        if let o = filter.outcome { values.append(o.rawValue); conditions.append("outcome = $\(values.count)") }
        if let s = filter.since { values.append(s); conditions.append("started_at >= $\(values.count)") }
        var sql = "SELECT \(Self.runColumns) FROM chaos_runs"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY started_at DESC, run_id DESC"
        if filter.limit > 0 { values.append(filter.limit); sql += " LIMIT $\(values.count)" }
        return try await runs(PostgresQuery(unsafeSQL: sql, binds: Self.binds(values)), "list runs")
    }

    private func runs(_ query: PostgresQuery, _ what: String) async throws(ChaosError) -> [RunRecord] {
        let logger = self.logger
        typealias Columns = (String, String, String?, String?, String, String, String, Int64, Int64, String, String)
        let rows: [Columns] = try await bounded(what) { [client] in
            var out: [Columns] = []
            for try await row in try await client.query(query, logger: logger).decode(Columns.self) { out.append(row) }
            return out
        }
        var out: [RunRecord] = []
        for c in rows {
            do {
                out.append(try StoredRun.decode(runID: c.0, experiment: c.1, file: c.2, host: c.3, faultKind: c.4, target: c.5, status: c.6,
                                                startedAt: c.7, endedAt: c.8, verdict: c.9, journal: c.10))
            } catch {
                throw .internalError("store.corrupt", "Run '\(c.0)' in the PostgreSQL store \(url) cannot be read: \(error.message). Delete its row from chaos_runs.")
            }
        }
        return out
    }

    static func binds(_ values: [any PostgresDynamicTypeEncodable & Sendable]) -> PostgresBindings {
        var b = PostgresBindings(capacity: values.count)
        for v in values { b.append(v) }
        return b
    }

    // MARK: Fires and values

    static let fireColumns = "experiment, scheduled_ms, target, groups::text, trigger, state, reason, run_id, decided_ms"

    public func record(_ fire: FireRecord) async throws(ChaosError) { try await record(all: [fire]) }

    public func record(all fires: [FireRecord]) async throws(ChaosError) {
        guard !fires.isEmpty else { return }
        let logger = self.logger
        try await bounded("record \(fires.count == 1 ? "fire '\(fires[0].experiment)'" : "\(fires.count) fires")") { [client] in
            try await client.withTransaction(logger: logger) { conn in
                for f in fires {
                    try await conn.query("""
                        INSERT INTO chaos_fires (experiment, scheduled_ms, target, groups, trigger, state, reason, run_id, decided_ms)
                        VALUES (\(f.experiment), \(f.scheduledMs), \(f.target), \(StoredRun.groups(f.groups))::jsonb, \(f.trigger.rawValue),
                                \(f.state.rawValue), \(f.reason), \(f.runID), \(f.decidedMs))
                        ON CONFLICT (experiment, scheduled_ms) DO UPDATE SET target = EXCLUDED.target, groups = EXCLUDED.groups,
                            trigger = EXCLUDED.trigger, state = EXCLUDED.state, reason = EXCLUDED.reason, run_id = EXCLUDED.run_id,
                            decided_ms = EXCLUDED.decided_ms
                        """, logger: logger)
                }
            }
        }
    }

    public func fires(sinceMs: Int64) async throws(ChaosError) -> [FireRecord] {
        try await fires(PostgresQuery(unsafeSQL: "SELECT \(Self.fireColumns) FROM chaos_fires WHERE scheduled_ms >= $1 ORDER BY scheduled_ms, experiment",
                                      binds: Self.binds([sinceMs])))
    }

    public func fires(in state: FireRecord.State) async throws(ChaosError) -> [FireRecord] {
        try await fires(PostgresQuery(unsafeSQL: "SELECT \(Self.fireColumns) FROM chaos_fires WHERE state = $1 ORDER BY scheduled_ms, experiment",
                                      binds: Self.binds([state.rawValue])))
    }

    private func fires(_ query: PostgresQuery) async throws(ChaosError) -> [FireRecord] {
        let logger = self.logger
        typealias Columns = (String, Int64, String, String, String, String, String?, String?, Int64)
        let rows: [Columns] = try await bounded("list fires") { [client] in
            var out: [Columns] = []
            for try await row in try await client.query(query, logger: logger).decode(Columns.self) { out.append(row) }
            return out
        }
        var out: [FireRecord] = []
        for c in rows {
            guard let trigger = PlannedFire.Trigger(rawValue: c.4), let state = FireRecord.State(rawValue: c.5), let groups = StoredRun.groups(from: c.3) else {
                throw ChaosError("store.corrupt", "A fire record of '\(c.0)' in the PostgreSQL store \(url) cannot be read. Delete its row from chaos_fires.")
            }
            out.append(FireRecord(experiment: c.0, scheduledMs: c.1, target: c.2, groups: groups, trigger: trigger, state: state,
                                  reason: c.6, runID: c.7, decidedMs: c.8))
        }
        return out
    }

    public func value(_ key: String) async throws(ChaosError) -> String? {
        let logger = self.logger
        return try await bounded("read '\(key)'") { [client] in
            for try await v in try await client.query("SELECT value FROM chaos_values WHERE key = \(key)", logger: logger).decode(String.self) { return v }
            return nil
        }
    }

    public func setValue(_ value: String, for key: String) async throws(ChaosError) {
        let logger = self.logger
        try await bounded("write '\(key)'") { [client] in
            try await client.query("""
                INSERT INTO chaos_values (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                """, logger: logger)
        }
    }

    // MARK: Audit

    public func append(_ entry: AuditEntry) async throws(ChaosError) {
        let logger = self.logger
        try await bounded("append to the audit log") { [client] in
            try await client.query("INSERT INTO chaos_audit (at, who, action, detail) VALUES (\(entry.at), \(entry.who), \(entry.action), \(entry.detail))",
                                   logger: logger)
        }
    }

    public func auditEntries(limit: Int) async throws(ChaosError) -> [AuditEntry] {
        let logger = self.logger
        return try await bounded("read the audit log") { [client] in
            var out: [AuditEntry] = []
            let rows = try await client.query("SELECT at, who, action, detail FROM chaos_audit ORDER BY id DESC LIMIT \(limit)", logger: logger)
            for try await (at, who, action, detail) in rows.decode((Int64, String, String, String).self) {
                out.append(AuditEntry(at: at, who: who, action: action, detail: detail))
            }
            return out
        }
    }
}
