import ChaosCore
import ChaosStore
import Foundation
import Logging
import PostgresNIO

extension PostgresStore: ControllerCoordinating {
    /// Takes the lead, or keeps it, for `ttl`: granted when nobody leads, the lease of the leader ran
    /// out, or `holder` leads already (then the epoch stays; otherwise it grows by one). One
    /// statement, so two controllers asking at once cannot both win. Returns the leader after the
    /// attempt: `holder` when granted, the other one when not (nil: nobody ever led).
    public func acquireLeadership(_ holder: String, ttl: ChaosDuration) async throws(ChaosError) -> LeaderRecord? {
        let logger = self.logger
        let seconds = Double(ttl.milliseconds) / 1000
        return try await bounded("take the lead") { [client] in
            let granted = try await client.query("""
                INSERT INTO chaos_leader AS l (id, holder, epoch, since, expires_at)
                VALUES (1, \(holder), 1, now(), now() + make_interval(secs => \(seconds)))
                ON CONFLICT (id) DO UPDATE SET
                    epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > now() THEN l.epoch ELSE l.epoch + 1 END,
                    since = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > now() THEN l.since ELSE now() END,
                    holder = EXCLUDED.holder,
                    expires_at = EXCLUDED.expires_at
                WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()
                RETURNING \(unescaped: Self.leaderColumns)
                """, logger: logger)
            for try await row in granted.decode((String, Int64, Int64, Int64, Int64).self) { return LeaderRecord(row) }
            return try await Self.readLeader(client, logger)
        }
    }

    /// The leader now, as the store says.
    public func leader() async throws(ChaosError) -> LeaderRecord? {
        let logger = self.logger
        return try await bounded("read the leader") { [client] in try await Self.readLeader(client, logger) }
    }

    /// Steps down at once (a graceful stop), so a standby takes over without waiting for the lease.
    public func releaseLeadership(_ holder: String) async throws(ChaosError) {
        let logger = self.logger
        try await bounded("step down") { [client] in
            try await client.query("UPDATE chaos_leader SET expires_at = now() WHERE id = 1 AND holder = \(holder) AND expires_at > now()", logger: logger)
        }
    }

    static let leaderColumns = """
        holder, epoch, (extract(epoch FROM since) * 1000)::bigint, (extract(epoch FROM expires_at) * 1000)::bigint, (extract(epoch FROM now()) * 1000)::bigint
        """

    static func readLeader(_ client: PostgresClient, _ logger: Logger) async throws -> LeaderRecord? {
        let rows = try await client.query("SELECT \(unescaped: leaderColumns) FROM chaos_leader WHERE id = 1", logger: logger)
        for try await row in rows.decode((String, Int64, Int64, Int64, Int64).self) { return LeaderRecord(row) }
        return nil
    }

    /// Records `fires` as started by `holder` at `epoch`, in one transaction that first checks that
    /// `holder` still leads at that epoch (the leader row is locked, so a takeover waits for it).
    /// A fire recorded before, by anyone, is left as it is: each fire is claimed once.
    /// - Returns: the fires claimed now.
    /// - Throws: `controller.notLeader` when `holder` no longer leads at `epoch`: nothing is recorded.
    public func claim(_ fires: [FireRecord], holder: String, epoch: Int64) async throws(ChaosError) -> [FireRecord] {
        let logger = self.logger
        return try await bounded("claim fires") { [client] in
            try await client.withTransaction(logger: logger) { conn in
                let lead = try await conn.query("""
                    SELECT epoch FROM chaos_leader WHERE id = 1 AND holder = \(holder) AND epoch = \(epoch) AND expires_at > now() FOR UPDATE
                    """, logger: logger)
                var leads = false
                for try await _ in lead.decode(Int64.self) { leads = true }
                guard leads else {
                    throw ChaosError("controller.notLeader", "This controller no longer leads (epoch \(epoch)); nothing was claimed.")
                }
                var claimed: [FireRecord] = []
                for f in fires {
                    let groups = StoredRun.groups(f.groups)
                    let rows = try await conn.query("""
                        INSERT INTO chaos_fires (experiment, scheduled_ms, target, groups, trigger, state, reason, run_id, decided_ms, holder, epoch)
                        VALUES (\(f.experiment), \(f.scheduledMs), \(f.target), \(groups)::jsonb, \(f.trigger.rawValue), \(f.state.rawValue),
                                \(f.reason), \(f.runID), \(f.decidedMs), \(holder), \(epoch))
                        ON CONFLICT (experiment, scheduled_ms) DO NOTHING
                        RETURNING experiment
                        """, logger: logger)
                    for try await _ in rows.decode(String.self) { claimed.append(f) }
                }
                return claimed
            }
        }
    }
}

extension PostgresStore {
    public func heartbeat(_ me: ControllerPeer) async throws(ChaosError) {
        let logger = self.logger
        try await bounded("record this controller's heartbeat") { [client] in
            try await client.query("""
                INSERT INTO chaos_controllers (holder, api, role, version, started_ms, seen_at)
                VALUES (\(me.holder), \(me.api), \(me.role), \(me.version), \(me.startedMs), now())
                ON CONFLICT (holder) DO UPDATE SET api = EXCLUDED.api, role = EXCLUDED.role, version = EXCLUDED.version, seen_at = now()
                """, logger: logger)
        }
    }

    public func peers(withinMs: Int64) async throws(ChaosError) -> [ControllerPeer] {
        let logger = self.logger
        return try await bounded("list the controllers") { [client] in
            let rows = try await client.query("""
                SELECT holder, api, role, version, started_ms, (extract(epoch FROM seen_at) * 1000)::bigint,
                       (extract(epoch FROM now() - seen_at) * 1000)::bigint
                FROM chaos_controllers WHERE seen_at > now() - make_interval(secs => \(Double(withinMs) / 1000)) ORDER BY holder
                """, logger: logger)
            var out: [ControllerPeer] = []
            for try await (holder, api, role, version, started, seen, age) in rows.decode((String, String?, String, String, Int64, Int64, Int64).self) {
                out.append(ControllerPeer(holder: holder, api: api, role: role, version: version, startedMs: started, seenMs: seen, ageMs: age))
            }
            return out
        }
    }
}

extension LeaderRecord {
    init(_ row: (String, Int64, Int64, Int64, Int64)) {
        self.init(holder: row.0, epoch: row.1, sinceMs: row.2, expiresMs: row.3, nowMs: row.4)
    }
}
