import ChaosCore
import ChaosStore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The controller's store on PostgreSQL, shared by every controller of a team: one leads at a time
/// (``acquireLeadership(_:ttl:)``), and a fire is claimed in the same transaction that checks the
/// leadership (``claim(_:holder:epoch:)``), so no fire starts twice across controllers. Everything
/// has a deadline: a store that does not answer is an error in bounded time, never a hang.
public final class PostgresStore: Sendable {
    public let url: PostgresURL
    let client: PostgresClient
    let running: Task<Void, Never>
    let logger = Logger(label: "chaos.store.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    /// How long one store operation may take.
    public let deadline: Duration
    /// Where this controller appends the verdict lines of the runs it saves (nil: nowhere).
    public let verdictLog: VerdictLog?

    /// Connects (lazily, as the pool does) and brings the schema up to date.
    /// - Parameter verdictLog: where the verdict lines of the runs this process saves go.
    public static func open(_ url: PostgresURL, deadline: Duration = .seconds(5), verdictLog: VerdictLog? = nil) async throws(ChaosError) -> PostgresStore {
        let store = PostgresStore(url, deadline: deadline, verdictLog: verdictLog)
        do { try await store.migrate() } catch {
            await store.close()
            throw error
        }
        return store
    }

    init(_ url: PostgresURL, deadline: Duration, verdictLog: VerdictLog?) {
        self.url = url
        self.deadline = deadline
        self.verdictLog = verdictLog
        var config: PostgresClient.Configuration
        if let socket = url.socketPath {
            config = .init(unixSocketPath: socket, username: url.user, password: url.password, database: url.database)
        } else {
            config = .init(host: url.host ?? "localhost", port: url.port, username: url.user, password: url.password, database: url.database,
                           tls: url.requireTLS ? .require(.makeClientConfiguration()) : .disable)
        }
        config.options.maximumConnections = 4
        config.options.connectTimeout = .seconds(3)
        let client = PostgresClient(configuration: config)
        self.client = client
        running = Task { await client.run() }
    }

    public func close() async {
        running.cancel()
        _ = await running.value
    }

    // MARK: Deadlines and errors

    /// Runs `body` within the store's deadline; a PostgreSQL error or a timeout becomes a `ChaosError`.
    /// At the deadline the caller gets its error at once and `body` is cancelled: a task group would
    /// wait for `body` to finish, and a query on a connection whose peer vanished (PostgreSQL
    /// killed, a partition just healed) may not notice cancellation for a long time. Seen as a
    /// controller that hung for good in the failover trials.
    @discardableResult
    func bounded<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws(ChaosError) -> T {
        let deadline = self.deadline
        typealias Waiting = CheckedContinuation<Result<T, any Error>, Never>
        // The first result wins (the work's or the timer's); whichever of it and the waiter comes
        // second hands it over.
        let outcome = Mutex<(result: Result<T, any Error>?, waiting: Waiting?)>((nil, nil))
        let finish: @Sendable (Result<T, any Error>) -> Void = { result in
            let waiting = outcome.withLock { state -> Waiting? in
                guard state.result == nil else { return nil }
                state.result = result
                defer { state.waiting = nil }
                return state.waiting
            }
            waiting?.resume(returning: result)
        }
        let work = Task { do { finish(.success(try await body())) } catch { finish(.failure(error)) } }
        let timer = Task {
            try? await Task.sleep(for: deadline)
            finish(.failure(ChaosError("store.timeout", "")))
        }
        let result = await withCheckedContinuation { (c: Waiting) in
            let ready = outcome.withLock { state -> Result<T, any Error>? in
                if let r = state.result { return r }
                state.waiting = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
        work.cancel()
        timer.cancel()
        do { return try result.get() } catch {
            throw Self.mapped(error, what: what, url: url, deadline: deadline)
        }
    }

    static func mapped(_ error: any Error, what: String, url: PostgresURL, deadline: Duration) -> ChaosError {
        if let error = error as? ChaosError, error.code == "store.timeout" {
            return ChaosError("store.timeout", "The PostgreSQL store \(url) did not answer within \(deadline) (\(what)). Check that it runs and is reachable.")
        }
        if let error = error as? ChaosError { return error }
        if let error = error as? PostgresTransactionError {
            // Our own refusal inside a transaction (rolled back) comes out unchanged.
            if let mine = error.closureError as? ChaosError { return mine }
            let cause = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
            return ChaosError("store.postgres", "The PostgreSQL store \(url) failed to \(what): \((cause as? PSQLError).map(Self.describe) ?? cause.map { "\($0)" } ?? "a transaction failed").")
        }
        if let error = error as? PSQLError {
            return ChaosError("store.postgres", "The PostgreSQL store \(url) failed to \(what): \(Self.describe(error)).")
        }
        return ChaosError("store.postgres", "The PostgreSQL store \(url) failed to \(what): \(error).")
    }

    static func describe(_ error: PSQLError) -> String {
        if let message = error.serverInfo?[.message] { return message }
        return "\(error.code)"
    }

    // MARK: Schema

    /// The migrations, in order; each runs once, recorded in `chaos_schema`, under an advisory lock
    /// so controllers starting together do not race.
    static let migrations: [(version: Int, sql: [String])] = [
        (1, [
            """
            CREATE TABLE chaos_leader (
                id smallint PRIMARY KEY CHECK (id = 1),
                holder text NOT NULL,
                epoch bigint NOT NULL,
                since timestamptz NOT NULL,
                expires_at timestamptz NOT NULL)
            """,
            """
            CREATE TABLE chaos_fires (
                experiment text NOT NULL,
                scheduled_ms bigint NOT NULL,
                target text NOT NULL,
                groups jsonb NOT NULL,
                trigger text NOT NULL,
                state text NOT NULL,
                reason text,
                run_id text,
                decided_ms bigint NOT NULL,
                holder text,
                epoch bigint,
                PRIMARY KEY (experiment, scheduled_ms))
            """,
            "CREATE INDEX chaos_fires_state ON chaos_fires (state)",
            "CREATE INDEX chaos_fires_scheduled ON chaos_fires (scheduled_ms)",
        ]),
        (2, [
            """
            CREATE TABLE chaos_runs (
                run_id text PRIMARY KEY,
                experiment text NOT NULL,
                file text,
                host text,
                fault_kind text NOT NULL,
                target text NOT NULL,
                status text NOT NULL,
                outcome text NOT NULL,
                started_at bigint NOT NULL,
                ended_at bigint NOT NULL,
                verdict text NOT NULL,
                journal text NOT NULL,
                logged boolean NOT NULL DEFAULT false)
            """,
            "CREATE INDEX chaos_runs_experiment ON chaos_runs (experiment, started_at DESC)",
            "CREATE INDEX chaos_runs_started ON chaos_runs (started_at DESC)",
            "CREATE INDEX chaos_runs_outcome ON chaos_runs (outcome)",
            "CREATE TABLE chaos_values (key text PRIMARY KEY, value text NOT NULL)",
            "CREATE TABLE chaos_audit (id bigserial PRIMARY KEY, at bigint NOT NULL, who text NOT NULL, action text NOT NULL, detail text NOT NULL)",
            """
            CREATE TABLE chaos_controllers (
                holder text PRIMARY KEY,
                api text,
                role text NOT NULL,
                version text NOT NULL,
                started_ms bigint NOT NULL,
                seen_at timestamptz NOT NULL)
            """,
        ]),
    ]

    func migrate() async throws(ChaosError) {
        let logger = self.logger
        let migrations = Self.migrations
        try await bounded("bring its schema up to date") { [client] in
            try await client.withTransaction(logger: logger) { conn in
                // 0x63686173 = "chas": one lock for every chaos controller of this database.
                try await conn.query("SELECT pg_advisory_xact_lock(1667785075)", logger: logger)
                try await conn.query("CREATE TABLE IF NOT EXISTS chaos_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", logger: logger)
                var applied = Set<Int>()
                for try await v in try await conn.query("SELECT version FROM chaos_schema", logger: logger).decode(Int.self) { applied.insert(v) }
                if let newest = applied.max(), newest > (migrations.last?.version ?? 0) {
                    throw ChaosError("store.newer", "The PostgreSQL store was migrated by a newer chaos (schema v\(newest)). Upgrade this controller.")
                }
                for m in migrations where !applied.contains(m.version) {
                    for statement in m.sql { try await conn.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                    try await conn.query("INSERT INTO chaos_schema (version) VALUES (\(m.version))", logger: logger)
                }
            }
        }
    }
}
