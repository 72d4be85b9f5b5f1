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
}
