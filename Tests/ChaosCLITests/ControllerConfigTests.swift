@testable import ChaosCLI
import ChaosCore
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
