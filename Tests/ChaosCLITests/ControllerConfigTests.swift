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
        #expect(api.tokens == [.init(name: "alice", sha256: sha)])
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
}
