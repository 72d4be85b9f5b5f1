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
        #expect(report.spofs.map(\.component) == ["rack r2", "service haproxy"] && report.entryPoints == ["haproxy"])
        #expect(report.spofs.first?.reasons.first == "rack r2 (app1, app2) holds 2 of 2 instances of shop", "\(report.spofs)")
        #expect(report.domains == ["rack:r1", "rack:r2", "rack:r3", "rack:r4", "zone:a", "zone:b", "zone:c"])
        #expect(report.redundant.map(\.service) == ["shop", "redis-db", "sentinel"] && report.redundant.allSatisfy(\.survivesOneLoss))
        #expect(report.redundant.map(\.survivesDomainLoss) == [false, true, true], "\(report.redundant)")
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
        targets: [{name: db-primary, host: h1, process: {port: 5432}}]
        services:
          - name: web
            minHealthy: 3
            instances: [{host: h2, unit: web.service, process: {port: 80}}]
            target: db-prmary

        """.write(toFile: bad, atomically: true, encoding: .utf8)
        let v = try Harness.run(["spof", "analyze", "--inventory", bad], state: state)
        #expect(v.status == 64)
        let text = v.stdout + v.stderr
        #expect(text.contains("bad.yaml:8:24: services[0].instances[0].host: no host is named 'h2'; did you mean 'h1'?"), "\(text)")
        #expect(text.contains("bad.yaml:9:13: services[0].target: no target is named 'db-prmary'; did you mean 'db-primary'?"), "\(text)")
        #expect(text.contains("services[0].instances[0]: gives both a process and a unit"), "\(text)")
        #expect(text.contains("bad.yaml:7:5: services[0].minHealthy: 3 is more than the 1 instance; use at most 1"), "\(text)")
    }

    @Test("spof whatif: a zone, a host and a service at once; N-2 over racks; exit 1 when an entry point goes down; bad failures are usage errors")
    func whatIf() throws {
        let state = Harness.stateDir()
        let a = try Harness.run(["spof", "whatif", "--inventory", Self.example, "--fail", "zone:a"], state: state)
        #expect(a.status == 1 && a.stdout.contains("If zone:a fails:") && a.stdout.contains("hosts lost: app1, db1, lb1"), "\(a.stdout)\(a.stderr)")
        #expect(a.stdout.contains("haproxy      DOWN   haproxy: 0 of 1 instance left (minHealthy 1; lost on lb1)"), "\(a.stdout)")
        let b = try Harness.run(["spof", "whatif", "--inventory", Self.example, "--fail", "zone:b", "--fail", "host:db3", "--output", "json"], state: state)
        #expect(b.status == 0, "zone b and db3 leave db1, app1, lb1 and one sentinel: \(b.stdout)\(b.stderr)")
        let json = try #require((try? JSONSerialization.jsonObject(with: Data(b.stdout.utf8))) as? [String: Any])
        let scenario = try #require(json["scenario"] as? [String: Any])
        #expect(scenario["worst"] as? String == "degraded" && scenario["failures"] as? [String] == ["zone:b", "host:db3"], "\(scenario)")
        let pairs = try Harness.run(["spof", "whatif", "--inventory", Self.example, "--all-pairs", "rack", "--output", "json"], state: state)
        let pj = try #require((try? JSONSerialization.jsonObject(with: Data(pairs.stdout.utf8))) as? [String: Any])
        let report = try #require(pj["allPairs"] as? [String: Any])
        #expect(report["pairsEvaluated"] as? Int == 6 && report["over"] as? String == "rack", "\(report)")
        for (args, says) in [(["--fail", "zone:q"], "No host is in zone:q. Values of zone: a, b, c."), (["--fail", "lb1"], "is not a failure"),
                             ([], "Say what fails"), (["--all-pairs", "power"], "'power' is neither")] {
            let r = try Harness.run(["spof", "whatif", "--inventory", Self.example] + args, state: state)
            #expect(r.status == 64 && r.stderr.contains(says), "\(args): \(r.stderr)")
        }
    }

    @Test("map discover and diff refuse bad flags and files before asking any agent; diff --from compares a saved discovery offline (exit 1 on disagreement)")
    func mapInputs() throws {
        let state = Harness.stateDir()
        for (args, says) in [(["map", "discover", "--inventory", Self.example, "--watch", "2h"], "--watch takes 1s to 1h"),
                             (["map", "discover", "--inventory", Self.example, "--watch", "10s", "--every", "0s"], "--every must be at least 1s"),
                             (["map", "discover", "--inventory", Self.example, "--watch", "5s", "--every", "10s"], "--every must not be longer than --watch")] {
            let r = try Harness.run(args, state: state)
            #expect(r.status == 64 && r.stderr.contains(says), "\(args): \(r.stderr)")
        }
        let garbage = state + "/garbage.json"
        try "{\"map\": [1, 2]}".write(toFile: garbage, atomically: true, encoding: .utf8)
        let bad = try Harness.run(["map", "diff", "--inventory", Self.example, "--from", garbage], state: state)
        #expect(bad.status == 64 && bad.stderr.contains("is not the JSON of 'chaos map discover --output json'"), "\(bad.stderr)")
        // A saved discovery that shows only the load balancer and one app: the rest of the map is missing or stale.
        let saved = state + "/seen.json"
        try #"""
        {"errors": {}, "map": {"services": [{"name": "haproxy", "proto": "tcp", "port": 80, "instances": [{"host": "lb1", "unit": "haproxy.service"}]},
                                            {"name": "shop", "proto": "tcp", "port": 8000, "instances": [{"host": "app1", "unit": "app.service"}, {"host": "app2", "unit": "app.service"}]}],
                               "dependencies": [{"from": "haproxy", "to": "shop", "connections": 12, "fromHosts": ["lb1"], "peers": false}],
                               "external": [], "missing": [], "windowMs": 60000}}
        """#.write(toFile: saved, atomically: true, encoding: .utf8)
        let diff = try Harness.run(["map", "diff", "--inventory", Self.example, "--from", saved, "--output", "json"], state: state)
        #expect(diff.status == 1, "\(diff.stdout)\(diff.stderr)")
        let json = try #require((try? JSONSerialization.jsonObject(with: Data(diff.stdout.utf8))) as? [String: Any])
        let findings = ((json["report"] as? [String: Any])?["findings"] as? [[String: Any]] ?? []).map { "\($0["kind"] as? String ?? ""): \($0["subject"] as? String ?? "")" }
        #expect(json["agrees"] as? Bool == false && findings.contains { $0.hasPrefix("missing_instance: service redis-db on db") }, "\(findings)")
    }

    @Test("spof plan writes experiments that chaos validate accepts, one per finding and per claimed redundancy")
    func plan() throws {
        let state = Harness.stateDir()
        let out = try Harness.run(["spof", "plan", "--inventory", Self.example, "--out", state + "/plan", "--output", "json", "--domain-kind", "zone"], state: state)
        #expect(out.status == 0, "\(out.stderr)")
        let json = try #require((try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [String: Any])
        let written = json["experiments"] as? [[String: Any]] ?? []
        #expect(written.map { $0["experiment"] as? String ?? "" } == ["spof-haproxy", "redundancy-shop", "redundancy-redis-db", "redundancy-sentinel",
                                                                       "domain-zone-a", "domain-zone-b", "domain-zone-c"])
        #expect(written.map { $0["prediction"] as? String ?? "" }.suffix(3) == ["spof", "redundant", "redundant"], "zone a holds the only load balancer")
        let files = written.compactMap { $0["file"] as? String }
        let v = try Harness.run(["validate"] + files, state: state)
        #expect(v.status == 0 && v.stdout.components(separatedBy: ": ok (Experiment").count - 1 == 7, "\(v.stdout)")
        let zone = try String(contentsOfFile: files[4], encoding: .utf8)
        #expect(zone.contains("domain: zone:a") && zone.contains("type: network.blackhole") && zone.contains("(lb1, app1, db1)"), "\(zone)")
        let all = try Harness.run(["spof", "plan", "--inventory", Self.example, "--out", state + "/all", "--output", "json"], state: state)
        let allJSON = try #require((try? JSONSerialization.jsonObject(with: Data(all.stdout.utf8))) as? [String: Any])
        #expect((allJSON["experiments"] as? [[String: Any]])?.count == 11, "every zone and every rack: \(all.stdout)")
        let text = try String(contentsOfFile: files[0], encoding: .utf8)
        #expect(text.hasPrefix("# Generated by 'chaos spof plan") && text.contains("type: systemd.stop") && text.contains("name: entry-haproxy"), "\(text)")
        let db = try String(contentsOfFile: files[2], encoding: .utf8)
        #expect(db.contains("target: db-primary") || db.contains("ref: db-primary"), "the service's target picks the primary: \(db)")
        let bad = try Harness.run(["spof", "plan", "--inventory", Self.example, "--out", state + "/plan", "--for", "0s"], state: state)
        #expect(bad.status == 64 && bad.stderr.contains("--for '0s' is not a duration of at least 1s"), "\(bad.stderr)")
    }

    @Test("spof verify refuses what it cannot run, before touching anything: an unknown --only (with a suggestion), a slowdown of 1, an inventory without entry points")
    func verifyRefuses() throws {
        let state = Harness.stateDir()
        let only = try Harness.run(["spof", "verify", "--inventory", Self.example, "--only", "spof-haprxy"], state: state)
        #expect(only.status == 64 && only.stderr.contains("--only 'spof-haprxy' names no planned experiment or component. Did you mean 'spof-haproxy'?"), "\(only.stderr)")
        let slow = try Harness.run(["spof", "verify", "--inventory", Self.example, "--slowdown", "1"], state: state)
        #expect(slow.status == 64 && slow.stderr.contains("--slowdown must be more than 1"), "\(slow.stderr)")
        let bare = state + "/bare.yaml"
        try "apiVersion: chaos/v1\nkind: Inventory\nhosts: [{name: h1, address: 10.0.0.1}]\nservices: [{name: s, instances: [{host: h1, process: {name: s}}]}]\n"
            .write(toFile: bare, atomically: true, encoding: .utf8)
        let none = try Harness.run(["spof", "verify", "--inventory", bare], state: state)
        #expect(none.status == 64 && none.stderr.contains("Nothing to verify") && none.stderr.contains("no entry point"), "\(none.stderr)")
        #expect(!FileManager.default.fileExists(atPath: state + "/runs/verdicts.jsonl"), "nothing ran")
    }
}
