import ChaosCore
import Foundation
import Testing

@Suite("chaos spof analyze")
struct SPOFCommandTests {
    static let example = Harness.root + "/deploy/inventory.example.yaml"

    @Test("the example inventory: the single load balancer is the SPOF, the redundant tiers survive; JSON and a DOT diagram Graphviz draws")
    func analyze() throws {
        let state = Harness.stateDir()
        let table = try Harness.run(["spof", "analyze", "--inventory", Self.example, "--dot", state + "/spof.dot"], state: state)
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("service haproxy  single_instance  haproxy  one instance (on lb1); haproxy is an entry point"), "\(table.stdout)")
        #expect(table.stdout.contains("redis-db  3          1    yes"), "\(table.stdout)")
        let json = try Harness.run(["spof", "analyze", "--inventory", Self.example, "--output", "json"], state: state)
        let report = try JSONDecoder().decode(SPOFAnalysis.Report.self, from: Data(json.stdout.utf8))
        #expect(report.spofs.map(\.component) == ["service haproxy"] && report.entryPoints == ["haproxy"])
        #expect(report.redundant.map(\.service) == ["shop", "redis-db", "sentinel"] && report.redundant.allSatisfy(\.survivesOneLoss))
        let dot = try String(contentsOfFile: state + "/spof.dot", encoding: .utf8)
        #expect(dot.contains("\"haproxy\" [label=") && dot.contains("xlabel=\"SPOF\"") && dot.contains("\"shop\" -> \"sentinel\" [style=dashed"))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/dot") {
            let svg = try Harness.run(["spof", "analyze", "--inventory", Self.example, "--dot", "-"], state: state)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/dot")
            p.arguments = ["-Tsvg", "-o", state + "/spof.svg", state + "/spof.dot"]
            try p.run(); p.waitUntilExit()
            #expect(p.terminationStatus == 0 && svg.stdout.hasPrefix("digraph spof {"))
            #expect(((try? String(contentsOfFile: state + "/spof.svg", encoding: .utf8)) ?? "").contains("<svg"))
        }
    }

    @Test("an inventory without services says so; a bad services section is reported with positions")
    func problems() throws {
        let state = Harness.stateDir()
        let bare = state + "/bare.yaml"
        try "apiVersion: chaos/v1\nkind: Inventory\nhosts: [{name: h1, address: 10.0.0.1}]\n".write(toFile: bare, atomically: true, encoding: .utf8)
        let out = try Harness.run(["spof", "analyze", "--inventory", bare], state: state)
        #expect(out.status == 0 && out.stdout.contains("note: the inventory has no 'services': nothing to analyse"), "\(out.stdout)")
        let bad = state + "/bad.yaml"
        try """
        apiVersion: chaos/v1
        kind: Inventory
        hosts: [{name: h1, address: 10.0.0.1}]
        services:
          - name: web
            minHealthy: 3
            instances: [{host: h2, unit: web.service, process: {port: 80}}]

        """.write(toFile: bad, atomically: true, encoding: .utf8)
        let v = try Harness.run(["spof", "analyze", "--inventory", bad], state: state)
        #expect(v.status == 64)
        let text = v.stdout + v.stderr
        #expect(text.contains("bad.yaml:7:24: services[0].instances[0].host: no host is named 'h2'; did you mean 'h1'?"), "\(text)")
        #expect(text.contains("services[0].instances[0]: gives both a process and a unit"), "\(text)")
        #expect(text.contains("bad.yaml:6:5: services[0].minHealthy: 3 is more than the 1 instance; use at most 1"), "\(text)")
    }
}
