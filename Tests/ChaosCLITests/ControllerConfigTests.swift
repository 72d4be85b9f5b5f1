@testable import ChaosCLI
import ChaosCore
import ChaosRun
import Foundation
import Testing

@Suite("controller.yaml")
struct ControllerConfigTests {
    @Test("the example in deploy/ reads, with its values; defaults fill the rest")
    func example() throws {
        let text = try String(contentsOfFile: Harness.root + "/deploy/controller.example.yaml", encoding: .utf8)
        let (c, problems) = ControllerConfiguration.load(text, file: "controller.example.yaml")
        #expect(problems.isEmpty, "\(problems)")
        let config = try #require(c)
        #expect(config.inventory == "/etc/chaos/inventory.yaml" && config.experiments == "/etc/chaos/experiments")
        #expect(config.storeDir == "/var/lib/chaos-controller/runs")
        let api = try #require(config.api)
        #expect(api.access.contains(.init(certificate: "alice", role: .operator)) && api.access.contains(.init(certificate: "grafana", role: .viewer)))
        #expect(api.tokens.contains { $0.role == .viewer && $0.expiresAt != nil })
        let (d, _) = ControllerConfiguration.load("inventory: /x.yaml\n", file: "c.yaml")
        #expect(d?.grace == .seconds(300) && d?.tick == .seconds(10) && d?.identity == "controller" && d?.seed == 0)
    }

    @Test("every problem is reported with its line, column and field")
    func problems() {
        let (c, problems) = ControllerConfiguration.load("""
        kind: ControllerConfig
        experiments: /etc/chaos/experiments
        schedule: {grace: 5, tik: 10s}
        gate: 100ms
        """, file: "c.yaml")
        #expect(c == nil)
        let text = problems.map(\.description)
        #expect(text.contains { $0.hasPrefix("c.yaml:3:") && $0.contains("schedule.grace:") }, "\(text)")
        #expect(text.contains { $0.contains("schedule.tik: unknown field") }, "\(text)")
        #expect(text.contains { $0.contains("gate:") }, "\(text)")
        #expect(text.contains { $0.contains("inventory") }, "the inventory is required: \(text)")
    }

    @Test("api and notify: listen address, tokens by SHA-256, TLS files, plaintext on loopback only, webhooks")
    func apiAndNotify() throws {
        let sha = String(repeating: "ab", count: 32)
        let (c, problems) = ControllerConfiguration.load("""
        inventory: /x.yaml
        api:
          listen: "[::1]:9000"
          plaintext: true
          tokens: [{name: alice, sha256: \(sha)}]
        notify:
          - {url: https://hooks.example.com/x, format: slack, events: [run.verdict, halt]}
          - {url: http://10.0.0.5/hook}
        """, file: "c.yaml")
        #expect(problems.isEmpty, "\(problems)")
        let api = try #require(c?.api)
        #expect(api.address == "::1" && api.port == 9000 && api.plaintext)
        #expect(api.tokens == [.init(name: "alice", sha256: sha)], "a token without a role is a viewer and does not expire")
        #expect(api.access.isEmpty && api.sessionLifetime == .seconds(12 * 3600))
        #expect(c?.notify == [WebhookSpec(url: "https://hooks.example.com/x", format: .slack, events: [.verdict, .halt]),
                              WebhookSpec(url: "http://10.0.0.5/hook")])
        let (bad, p2) = ControllerConfiguration.load("""
        inventory: /x.yaml
        api:
          listen: nowhere
          plaintext: true
          tokens: [{name: bob, sha256: 1234}, {sha256: \(sha)}]
        notify:
          - {url: ftp://x, format: teams, events: [boom]}
        """, file: "c.yaml")
        #expect(bad == nil)
        let text = p2.map(\.description)
        #expect(text.contains { $0.hasPrefix("c.yaml:3:") && $0.contains("api.listen") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("c.yaml:4:") && $0.contains("api.plaintext") && $0.contains("loopback") }, "\(text)")
        #expect(text.contains { $0.contains("api.tokens[0].sha256") }, "\(text)")
        #expect(text.contains { $0.contains("api.tokens[1]") && $0.contains("name") }, "\(text)")
        #expect(text.contains { $0.contains("notify[0].url") }, "\(text)")
        #expect(text.contains { $0.contains("notify[0].format") }, "\(text)")
        #expect(text.contains { $0.contains("notify[0].events[0]") }, "\(text)")
    }

    @Test("api.access and token roles and expiry: read with their values; an unknown role, a bad date, a certificate listed twice at line:col")
    func roles() throws {
        let sha = String(repeating: "ab", count: 32)
        let (c, problems) = ControllerConfiguration.load("""
        inventory: /x.yaml
        api:
          access:
            - {certificate: alice, role: operator}
            - {certificate: root, role: admin}
            - {certificate: grafana, role: viewer}
          tokens:
            - {name: bob, sha256: \(sha), role: operator, expires: "2027-01-31T00:00:00Z"}
            - {name: dash, sha256: \(sha), expires: 2027-02-01}
          sessionLifetime: 1h
        """, file: "c.yaml")
        #expect(problems.isEmpty, "\(problems)")
        let api = try #require(c?.api)
        #expect(api.access == [.init(certificate: "alice", role: .operator), .init(certificate: "root", role: .admin), .init(certificate: "grafana", role: .viewer)])
        #expect(api.tokens == [.init(name: "bob", sha256: sha, role: .operator, expiresAt: 1_801_353_600_000),
                               .init(name: "dash", sha256: sha, role: .viewer, expiresAt: 1_801_440_000_000)])
        #expect(api.sessionLifetime == .seconds(3600))

        let (bad, p2) = ControllerConfiguration.load("""
        inventory: /x.yaml
        api:
          access:
            - {certificate: alice, role: operater}
            - {certificate: bob}
            - {certificate: carol, role: viewer}
            - {certificate: carol, role: admin}
          tokens:
            - {name: bob, sha256: \(sha), role: root, expires: soon}
          sessionLifetime: 5s
        """, file: "c.yaml")
        #expect(bad == nil)
        let text = p2.map(\.description)
        #expect(text.contains { $0.hasPrefix("c.yaml:4:34: api.access[0].role: 'operater' is not allowed; did you mean 'operator'? Allowed: 'viewer', 'operator', 'admin'") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("c.yaml:5:") && $0.contains("api.access[1].role: is required") && $0.contains("viewer, operator, admin") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("c.yaml:7:") && $0.contains("api.access[3].certificate: 'carol' is listed twice") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("c.yaml:9:") && $0.contains("api.tokens[0].role: 'root' is not allowed") && $0.contains("'viewer', 'operator', 'admin'") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("c.yaml:9:") && $0.contains("api.tokens[0].expires: 'soon' is not a date or date-time; write e.g. '2027-01-31T00:00:00Z'") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("c.yaml:10:") && $0.contains("api.sessionLifetime") }, "\(text)")
    }

    @Test("chaos controller token --role --expires prints the config line with role and expiry; bad values are usage errors")
    func tokenCommand() throws {
        let out = try Harness.run(["controller", "token", "--name", "alice", "--role", "operator", "--expires", "2030-06-01"], state: Harness.stateDir())
        #expect(out.status == 0, "\(out.stderr)")
        let line = try #require(out.stdout.components(separatedBy: "\n").first { $0.hasPrefix("  - {name: alice, sha256: ") })
        #expect(line.hasSuffix(", role: operator, expires: \"2030-06-01T00:00:00Z\"}"), "\(line)")
        // The printed line is valid controller.yaml.
        let (c, problems) = ControllerConfiguration.load("inventory: /x.yaml\napi:\n  tokens:\n" + line + "\n", file: "c.yaml")
        #expect(problems.isEmpty, "\(problems)")
        #expect(c?.api?.tokens.first?.role == .operator && c?.api?.tokens.first?.expiresAt == 1_906_502_400_000)

        let json = try Harness.run(["controller", "token", "--name", "grafana", "--expires", "30d", "--output", "json"], state: Harness.stateDir())
        let o = try #require((try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8))) as? [String: String], "\(json.stdout)")
        #expect(o["role"] == "viewer")
        let expires = try #require(o["expires"].flatMap { ControllerConfiguration.expiry($0) })
        let in30d = Int64(Date().timeIntervalSince1970 * 1000) + 30 * 86_400_000
        #expect(abs(expires - in30d) < 120_000, "\(o)")
        #expect(try ControllerTokenCommand.expiry("12h", now: Date(timeIntervalSince1970: 0)) == "1970-01-01T12:00:00Z")

        let badRole = try Harness.run(["controller", "token", "--name", "x", "--role", "root"], state: Harness.stateDir())
        #expect(badRole.status == 64 && badRole.stderr.contains("--role 'root' is not a role. Use one of: viewer, operator, admin."), "\(badRole.stderr)")
        let past = try Harness.run(["controller", "token", "--name", "x", "--expires", "2001-01-01"], state: Harness.stateDir())
        #expect(past.status == 64 && past.stderr.contains("is in the past"), "\(past.stderr)")
        let nonsense = try Harness.run(["controller", "token", "--name", "x", "--expires", "soon"], state: Harness.stateDir())
        #expect(nonsense.status == 64 && nonsense.stderr.contains("is neither a duration nor a date"), "\(nonsense.stderr)")
    }
}

@Suite("controller.yaml: a shared PostgreSQL store")
struct ControllerStoreConfigTests {
    @Test("store: the URL, a password file and the lease; the password never shows; bad values at line:col")
    func store() throws {
        let (c, problems) = ControllerConfiguration.load("""
        inventory: /x.yaml
        store: {postgres: "postgres://chaos@db.example:6432/chaos?sslmode=require", passwordFile: /etc/chaos/pg, lease: 9s}
        """, file: "c.yaml")
        #expect(problems.isEmpty, "\(problems)")
        let settings = try #require(c).settings
        #expect(settings.shared == SharedStoreSettings(url: "postgres://chaos@db.example:6432/chaos?sslmode=require", lease: .seconds(9)))
        #expect(settings.name == "controller")
        let (none, _) = ControllerConfiguration.load("inventory: /x.yaml\n", file: "c.yaml")
        #expect(try #require(none).settings.shared == nil, "SQLite stays the default")

        let (bad, found) = ControllerConfiguration.load("""
        inventory: /x.yaml
        store:
          postgres: "mysql://root:hunter2@db/chaos"
          lease: 1s
          pasword: x
        """, file: "c.yaml")
        #expect(bad == nil)
        let text = found.map(\.description)
        #expect(text.contains { $0.hasPrefix("c.yaml:3:13: store.postgres:") && $0.contains("is not a PostgreSQL URL") && !$0.contains("hunter2") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("c.yaml:4:") && $0.contains("store.lease") }, "\(text)")
        #expect(text.contains { $0.contains("store.pasword: unknown field") }, "\(text)")
        let (long, tooLong) = ControllerConfiguration.load("inventory: /x.yaml\nstore: {postgres: \"postgres://u@h/db\", lease: 1h}\n", file: "c.yaml")
        #expect(long == nil && tooLong.contains { $0.description.contains("store.lease") && $0.description.contains("use 5s to 60s") }, "\(tooLong)")
        let (noURL, missing) = ControllerConfiguration.load("inventory: /x.yaml\nstore: {lease: 10s}\n", file: "c.yaml")
        #expect(noURL == nil && missing.contains { $0.description.contains("postgres") }, "\(missing)")
    }

    @Test("the password file is read at start; an unreadable one is a clear error")
    func passwordFile() throws {
        let dir = Harness.stateDir()
        try "s3cret\n".write(toFile: dir + "/pw", atomically: true, encoding: .utf8)
        let (c, _) = ControllerConfiguration.load("inventory: /x.yaml\nstore: {postgres: \"postgres://u@h/db\", passwordFile: \(dir)/pw}\n", file: "c.yaml")
        #expect(try #require(c).settingsWithSecrets().shared?.password == "s3cret")
        let (d, _) = ControllerConfiguration.load("inventory: /x.yaml\nstore: {postgres: \"postgres://u@h/db\", passwordFile: \(dir)/none}\n", file: "c.yaml")
        #expect(throws: ChaosError.self) { try #require(d).settingsWithSecrets() }
    }

    @Test("chaos controller status on a SQLite store: none runs (exit 1), then one holds it (exit 0); JSON")
    func statusSQLite() throws {
        let state = Harness.stateDir()
        let dir = state + "/ctl"
        try FileManager.default.createDirectory(atPath: dir + "/exp", withIntermediateDirectories: true)
        try "apiVersion: chaos/v1\nkind: Inventory\nhosts:\n  - {name: h1, address: 127.0.0.1}\n".write(toFile: dir + "/inv.yaml", atomically: true, encoding: .utf8)
        try "experiments: \(dir)/exp\ninventory: \(dir)/inv.yaml\nstateDir: \(dir)/state\nschedule: {tick: 1s}\n".write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let none = try Harness.run(["controller", "status", "--config", dir + "/c.yaml"], state: state)
        #expect(none.status == 1 && none.stdout.contains("no controller runs on the SQLite store"), "\(none.stdout) \(none.stderr)")
        let first = try Harness.start(["controller", "--config", dir + "/c.yaml"], state: state)
        defer { Harness.cleanup(first.process) }
        #expect(Harness.waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: dir + "/state/runs/controller.lock") })
        let running = try Harness.run(["controller", "status", "--config", dir + "/c.yaml", "--output", "json"], state: state)
        #expect(running.status == 0 && running.stdout.contains("\"role\" : \"single\"") && running.stdout.contains("pid \(first.process.processIdentifier)"),
                "\(running.stdout) \(running.stderr)")
        // A second controller on the same SQLite store would run every fire twice: refused, naming the first.
        let second = try Harness.run(["controller", "--config", dir + "/c.yaml"], state: state, timeout: 30)
        #expect(second.status == 64 && second.stderr.contains("Another controller (pid \(first.process.processIdentifier)) uses the store"), "\(second.stderr)")
    }
}
