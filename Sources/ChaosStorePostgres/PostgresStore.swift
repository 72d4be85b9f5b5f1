import ChaosCore
import Foundation
import Logging
import PostgresNIO

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

    /// Connects (lazily, as the pool does) and brings the schema up to date.
    public static func open(_ url: PostgresURL, deadline: Duration = .seconds(5)) async throws(ChaosError) -> PostgresStore {
        let store = PostgresStore(url, deadline: deadline)
        do { try await store.migrate() } catch {
            await store.close()
            throw error
        }
        return store
    }

    init(_ url: PostgresURL, deadline: Duration) {
        self.url = url
        self.deadline = deadline
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
    func bounded<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws(ChaosError) -> T {
        let deadline = self.deadline
        do {
            return try await withThrowingTaskGroup(of: T.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    throw ChaosError("store.timeout", "")
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch let error as ChaosError where error.code == "store.timeout" {
            throw ChaosError("store.timeout", "The PostgreSQL store \(url) did not answer within \(deadline) (\(what)). Check that it runs and is reachable.")
        } catch let error as ChaosError {
            throw error
        } catch let error as PostgresTransactionError {
            // Our own refusal inside a transaction (rolled back) comes out unchanged.
            if let mine = error.closureError as? ChaosError { throw mine }
            let cause = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
            throw ChaosError("store.postgres", "The PostgreSQL store \(url) failed to \(what): \((cause as? PSQLError).map(Self.describe) ?? cause.map { "\($0)" } ?? "a transaction failed").")
        } catch let error as PSQLError {
            throw ChaosError("store.postgres", "The PostgreSQL store \(url) failed to \(what): \(Self.describe(error)).")
        } catch {
            throw ChaosError("store.postgres", "The PostgreSQL store \(url) failed to \(what): \(error).")
        }
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
