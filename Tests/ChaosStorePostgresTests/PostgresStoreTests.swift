import ChaosCore
import ChaosStorePostgres
import ChaosTesting
import Foundation
import Testing

@Suite("PostgreSQL URLs")
struct PostgresURLTests {
    @Test("host, port, database, user, password, socket directory, sslmode; the password never shows")
    func parse() throws {
        let tcp = try PostgresURL.parse("postgres://chaos:s3cret@db.example:6432/chaos?sslmode=require")
        #expect(tcp.host == "db.example" && tcp.port == 6432 && tcp.user == "chaos" && tcp.password == "s3cret" && tcp.database == "chaos" && tcp.requireTLS)
        #expect(!tcp.description.contains("s3cret") && tcp.description == "postgres://chaos@db.example:6432/chaos")
        let socket = try PostgresURL.parse("postgresql://chaos@/chaos?host=/run/postgresql")
        #expect(socket.socketPath == "/run/postgresql/.s.PGSQL.5432" && socket.host == nil)
        for (bad, says) in [("mysql://x@h/db", "is not a PostgreSQL URL"), ("postgres://h/db", "names no user"), ("postgres://u@h/", "names no database"),
                            ("postgres://u@h/db?host=relative", "socket directory"), ("postgres://u@h/db?sslmode=maybe", "sslmode"),
                            ("postgres://u@h/db?pool=3", "Unknown parameter 'pool'"), ("postgres://u@/db", "names no host"),
                            ("postgres://u:pw@h:99999999/db", "1-65535")] {
            do { _ = try PostgresURL.parse(bad); Issue.record("accepted \(bad)") } catch {
                #expect(error.message.contains(says) && !error.message.contains(":pw@"), "\(bad): \(error.message)")
            }
        }
    }
}

/// The shared store on a real PostgreSQL 15: schema, leadership with epochs, fires claimed once.
@Suite("The PostgreSQL store: leadership and fires", .serialized, .enabled(if: PostgresLab.unavailable == nil, "needs root and PostgreSQL 15 (apt install postgresql-15)"))
final class PostgresStoreTests {
    let lab: PostgresLab
    /// A database of its own for each test, on the process's shared server (the test that kills
    /// PostgreSQL starts a server of its own).
    let url: String
    let database: String
    init() throws {
        lab = try PostgresLab.shared()
        (url, database) = try lab.freshDatabaseNamed()
    }

    func open() async throws -> PostgresStore { try await Self.open(url) }
    func psql(_ sql: String) throws -> String { try lab.psql(sql, database: database) }
    static func open(_ url: String) async throws -> PostgresStore { try await PostgresStore.open(try PostgresURL.parse(url), deadline: .seconds(3)) }

    static func fire(_ experiment: String, at ms: Int64) -> FireRecord {
        FireRecord(experiment: experiment, scheduledMs: ms, target: "app", groups: ["apps"], trigger: .cron, state: .started, reason: nil, runID: "r-\(ms)", decidedMs: ms)
    }

    @Test("two controllers opening the store at once migrate it once")
    func migrations() async throws {
        let url = self.url
        async let a = Self.open(url)
        async let b = Self.open(url)
        let (x, y) = try await (a, b)
        await x.close(); await y.close()
        #expect(try psql("SELECT string_agg(version::text, ',') FROM chaos_schema") == "1,2")
    }

    @Test("one leader at a time: the lease is kept by renewing, taken over with a higher epoch when it runs out, handed over at once on release")
    func leadership() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        #expect(try await store.leader() == nil)
        let a1 = try #require(try await store.acquireLeadership("a#1", ttl: .milliseconds(1500)))
        #expect(a1.holder == "a#1" && a1.epoch == 1 && !a1.isExpired)
        let b1 = try #require(try await store.acquireLeadership("b#1", ttl: .milliseconds(1500)))
        #expect(b1.holder == "a#1" && b1.epoch == 1, "b stands by while a's lease runs")
        let a2 = try #require(try await store.acquireLeadership("a#1", ttl: .milliseconds(1500)))
        #expect(a2.holder == "a#1" && a2.epoch == 1 && a2.expiresMs > a1.expiresMs, "renewing keeps the epoch")
        try await Task.sleep(for: .milliseconds(1700))
        let b2 = try #require(try await store.acquireLeadership("b#1", ttl: .seconds(30)))
        #expect(b2.holder == "b#1" && b2.epoch == 2, "a's lease ran out: b leads with a higher epoch")
        let a3 = try #require(try await store.acquireLeadership("a#1", ttl: .seconds(30)))
        #expect(a3.holder == "b#1", "a woke up: it does not get the lead back")
        try await store.releaseLeadership("b#1")
        let a4 = try #require(try await store.acquireLeadership("a#1", ttl: .seconds(30)))
        #expect(a4.holder == "a#1" && a4.epoch == 3, "b stepped down: a leads at once, with a new epoch")
    }

    @Test("twenty controllers asking at the same moment: exactly one leads")
    func race() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let results = try await withThrowingTaskGroup(of: LeaderRecord?.self) { group in
            for i in 0..<20 { group.addTask { try await store.acquireLeadership("c\(i)#x", ttl: .seconds(30)) } }
            var all: [LeaderRecord?] = []
            for try await r in group { all.append(r) }
            return all
        }
        let holders = Set(results.compactMap { $0?.holder })
        #expect(holders.count == 1 && results.allSatisfy { $0?.epoch == 1 }, "\(results)")
    }

    @Test("a fire is claimed once, only by the leader at its epoch; a leader that lost the lead claims nothing")
    func claims() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let lead = try #require(try await store.acquireLeadership("a#1", ttl: .milliseconds(1200)))
        let fires = [Self.fire("kill-app", at: 1000), Self.fire("kill-db", at: 1000)]
        #expect(try await store.claim(fires, holder: "a#1", epoch: lead.epoch).count == 2)
        #expect(try await store.claim(fires + [Self.fire("kill-app", at: 2000)], holder: "a#1", epoch: lead.epoch).map(\.scheduledMs) == [2000],
                "claimed before: left as it is")
        do { _ = try await store.claim([Self.fire("x", at: 1)], holder: "b#1", epoch: lead.epoch); Issue.record("b does not lead") } catch {
            #expect(error.code == "controller.notLeader")
        }
        try await Task.sleep(for: .milliseconds(1400))
        _ = try await store.acquireLeadership("b#1", ttl: .seconds(30))
        do { _ = try await store.claim([Self.fire("kill-app", at: 3000)], holder: "a#1", epoch: lead.epoch); Issue.record("a lost the lead") } catch {
            #expect(error.code == "controller.notLeader")
        }
        #expect(try psql("SELECT count(*) FROM chaos_fires") == "3")
        #expect(try psql("SELECT string_agg(DISTINCT holder || '@' || epoch, ',') FROM chaos_fires") == "a#1@1")
    }

    @Test("PostgreSQL down: every operation fails within its deadline with a clear error; back up, the store works again")
    func down() async throws {
        let lab = try PostgresLab()
        defer { lab.stop() }
        let store = try await Self.open(lab.url)
        defer { Task { await store.close() } }
        _ = try await store.acquireLeadership("a#1", ttl: .seconds(30))
        try lab.kill()
        let started = ContinuousClock.now
        do { _ = try await store.acquireLeadership("a#1", ttl: .seconds(30)); Issue.record("the store is down") } catch {
            #expect(["store.timeout", "store.postgres"].contains(error.code) && error.message.contains("postgres://chaos@"), "\(error)")
            #expect(!error.message.contains("password"))
        }
        #expect(ContinuousClock.now - started < .seconds(10), "bounded")
        try lab.start()
        var back: LeaderRecord?
        for _ in 0..<20 where back == nil {
            back = try? await store.acquireLeadership("a#1", ttl: .seconds(30))
            if back == nil { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(back?.holder == "a#1", "the store answers again after PostgreSQL restarts")
    }
}
