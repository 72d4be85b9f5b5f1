import ChaosTesting
import Foundation
import Glibc
import Testing

/// A real Prometheus (Debian's) with the shipped deploy/prometheus configuration, rewritten only for
/// targets, ports, intervals and file paths, scraping a real agent and a real controller over TLS
/// with the observer identity `chaos certs issue --observer prometheus` makes. All three run in one
/// network namespace (a lab host): the agent at 192.0.2.10:7433, the controller at 192.0.2.20:7434,
/// Prometheus at 127.0.0.1:9090; nothing listens on the machine's own interfaces.
@Suite("A real Prometheus scrapes a real agent and controller with the shipped configuration", .serialized,
       .enabled(if: Harness.integration && FileManager.default.isExecutableFile(atPath: PrometheusPack.prometheus) && PrometheusPack.hasPromtool,
                "needs root, CHAOS_INTEGRATION=1, prometheus and python3 with PyYAML (apt install prometheus python3-yaml)"))
struct PrometheusScrapeTests {
    typealias P = PrometheusPack

    /// The lab host and what runs in it.
    final class Stack {
        let lab = NetworkLab("prom")
        let dir = Harness.stateDir()
        var pki: String { dir + "/pki" }
        var prometheus: Process?
        var agent: Process?
        var controller: Process?

        init() throws {
            try lab.addHost("mon")
            for address in ["192.0.2.10/32", "192.0.2.20/32"] {
                try lab.run("mon", ["/usr/sbin/ip", "addr", "add", address, "dev", "lo"])
            }
        }

        /// A GET against Prometheus's HTTP API (parameters URL-encoded), decoded.
        func api(_ path: String, form: [String: String] = [:]) throws -> [String: Any] {
            var argv = ["/usr/bin/curl", "-sS", "-G", "--max-time", "10"]
            for (k, v) in form.sorted(by: { $0.key < $1.key }) { argv += ["--data-urlencode", "\(k)=\(v)"] }
            let r = try lab.run("mon", argv + ["http://127.0.0.1:9090" + path])
            guard r.status == 0, let json = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
                return ["status": "curl", "error": "curl \(path): \(r.status) \(r.stdout) \(r.stderr)"]
            }
            return json
        }

        /// An instant query: its result vector (empty on error; the error in `error`).
        func query(_ expr: String) throws -> (vector: [[String: Any]], error: String?) {
            let json = try api("/api/v1/query", form: ["query": expr])
            guard json["status"] as? String == "success" else { return ([], "\(json["errorType"] ?? "") \(json["error"] ?? json)") }
            let data = json["data"] as? [String: Any] ?? [:]
            return (data["result"] as? [[String: Any]] ?? [], nil)
        }

        /// The value of a one-series result, or nil.
        func value(_ expr: String) throws -> Double? {
            let r = try query(expr)
            guard r.vector.count == 1, let v = r.vector[0]["value"] as? [Any], v.count == 2, let s = v[1] as? String else { return nil }
            return Double(s)
        }

        /// The scrape targets' health and last errors, for messages.
        func targets() -> String {
            guard let json = try? api("/api/v1/targets"), let data = json["data"] as? [String: Any] else { return "(no targets answer)" }
            return (data["activeTargets"] as? [[String: Any]] ?? []).map {
                "\(($0["labels"] as? [String: String])?["job"] ?? "?") \($0["scrapeUrl"] ?? "?"): \($0["health"] ?? "?") \($0["lastError"] ?? "")"
            }.joined(separator: "; ")
        }

        /// curl inside the lab against the agent, with the controller's certificate.
        func agentCall(_ method: String, _ path: String, _ body: String? = nil) throws -> (status: Int, body: String) {
            var argv = ["/usr/bin/curl", "-sS", "--max-time", "10", "--cacert", pki + "/ca.pem",
                        "--cert", pki + "/controller.pem", "--key", pki + "/controller-key.pem", "-X", method, "-w", "\n%{http_code}"]
            if let body { argv += ["-H", "content-type: application/json", "--data-binary", body] }
            let r = try lab.run("mon", argv + ["https://192.0.2.10:7433" + path])
            let lines = r.stdout.components(separatedBy: "\n")
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }

        func log(_ name: String) -> String { (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? "" }

        /// Stops what it started, by pid: SIGTERM, then SIGKILL after 10 s.
        func stop(_ p: Process?) {
            guard let p, p.isRunning else { return }
            kill(p.processIdentifier, SIGTERM)
            if !Harness.waitUntil(timeout: 10, { !p.isRunning }) { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
        }

        deinit {
            stop(prometheus)
            stop(controller)
            stop(agent)
            lab.destroy()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    @Test("up == 1 for both jobs, the agent's metrics of the contract are there with their types, the rules are loaded, every dashboard query runs")
    func scrape() throws {
        let s = try Stack()
        let state = s.dir + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        for args in [["certs", "init", "--pki-dir", s.pki],
                     ["certs", "issue", "--agent", "db1", "--san", "192.0.2.10", "--pki-dir", s.pki],
                     ["certs", "issue", "--controller", "--san", "192.0.2.20", "--pki-dir", s.pki]] {
            let out = try Harness.run(args, state: state)
            try #require(out.status == 0, "chaos \(args.joined(separator: " ")): \(out.stderr)")
        }
        // Prometheus's identity, as the README makes it: read-only (OU=observer), client auth only.
        let observerDir = s.dir + "/prometheus-identity"
        try FileManager.default.createDirectory(atPath: observerDir, withIntermediateDirectories: true)
        let identity = (cert: observerDir + "/prometheus.pem", key: observerDir + "/prometheus-key.pem")
        let observer = try Harness.run(["certs", "issue", "--observer", "prometheus", "--pki-dir", s.pki, "--out", observerDir], state: state)
        #expect(observer.status == 0, "chaos certs issue --observer prometheus: \(observer.stderr)")
        if observer.status != 0 {
            // Without the observer role (not built yet), an operator certificate keeps the rest of the test meaningful.
            let op = try Harness.run(["certs", "issue", "--operator", "prometheus", "--pki-dir", s.pki, "--out", observerDir], state: state)
            try #require(op.status == 0, "\(op.stderr)")
        } else {
            let show = try Harness.run(["certs", "show", identity.cert, "--output", "json"], state: state)
            #expect(show.stdout.contains("OU=observer") || show.stdout.contains("\"observer\""), "the observer certificate's subject: \(show.stdout)")
        }

        // The agent, with its default policy (the observer may only read).
        try """
        apiVersion: chaos/v1
        kind: AgentConfig
        name: db1
        listen: {address: 192.0.2.10, port: 7433}
        tls: {certificate: \(s.pki)/db1.pem, key: \(s.pki)/db1-key.pem, ca: \(s.pki)/ca.pem}
        stateDir: \(state)/agent

        """.write(toFile: s.dir + "/agent.yaml", atomically: true, encoding: .utf8)
        s.agent = try s.lab.start("mon", [Harness.chaos, "agent", "--config", s.dir + "/agent.yaml"], env: ["CHAOS_STATE_DIR": state], log: s.dir + "/agent.log")

        // The controller, with its API where Prometheus scrapes it; no experiments.
        try FileManager.default.createDirectory(atPath: s.dir + "/experiments", withIntermediateDirectories: true)
        let inventory = s.dir + "/inventory.yaml"
        try """
        apiVersion: chaos/v1
        kind: Inventory
        hosts:
          - {name: db1, address: 192.0.2.10, agent: "https://192.0.2.10:7433"}

        """.write(toFile: inventory, atomically: true, encoding: .utf8)
        try """
        apiVersion: chaos/v1
        kind: ControllerConfig
        experiments: \(s.dir)/experiments
        inventory: \(inventory)
        stateDir: \(state)/controller
        identity: {name: controller, pkiDir: \(s.pki)}
        schedule: {tick: 1s}
        api:
          listen: 192.0.2.20:7434

        """.write(toFile: s.dir + "/controller.yaml", atomically: true, encoding: .utf8)
        s.controller = try s.lab.start("mon", [Harness.chaos, "controller", "--config", s.dir + "/controller.yaml"], env: ["CHAOS_STATE_DIR": state], log: s.dir + "/controller.log")

        // Prometheus: the shipped configuration with the targets made from the inventory by the
        // shipped script, its TLS files, ports and intervals rewritten, nothing else.
        let prom = s.dir + "/prometheus"
        let targets = try P.exec([P.python, P.dir + "/inventory-to-targets", inventory])
        try #require(targets.status == 0, "\(targets.stderr)")
        let config = try P.rewrittenConfig([
            ("/etc/prometheus/chaos/ca.pem", s.pki + "/ca.pem"),
            ("/etc/prometheus/chaos/prometheus.pem", identity.cert),
            ("/etc/prometheus/chaos/prometheus-key.pem", identity.key),
            ("scrape_interval: 30s", "scrape_interval: 1s"),
            ("scrape_timeout: 10s", "scrape_timeout: 1s"),
            ("evaluation_interval: 30s", "evaluation_interval: 1s"),
            ("controller.staging:7434", "192.0.2.20:7434"),
        ])
        try P.layout(config, targets: targets.stdout, in: prom)
        let check = try P.exec([P.promtool, "check", "config", prom + "/prometheus.yml"])
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        s.prometheus = try s.lab.start("mon", [P.prometheus, "--config.file=" + prom + "/prometheus.yml", "--storage.tsdb.path=" + prom + "/data",
                                              "--web.listen-address=127.0.0.1:9090"], log: s.dir + "/prometheus.log")

        // Both jobs up (bounded).
        let up = Harness.waitUntil(timeout: 60) {
            (try? s.value(#"up{job="chaos-agent"}"#)) == 1 && (try? s.value(#"up{job="chaos-controller"}"#)) == 1
        }
        try #require(up, "up{job=chaos-agent} and up{job=chaos-controller} should be 1: \(s.targets())\nprometheus: \(s.log("prometheus.log").suffix(2000))\nagent: \(s.log("agent.log").suffix(1500))\ncontroller: \(s.log("controller.log").suffix(1500))")
        // The host label comes from the inventory.
        #expect(try s.query(#"up{job="chaos-agent", host="db1", instance="192.0.2.10:7433"}"#).vector.count == 1)

        // A fault held through the agent: Prometheus sees it in place, by kind and host, as the
        // dashboard's "active faults by kind and host" asks for it.
        let victim = try Harness.victim(seconds: 120)
        defer { Harness.cleanup(victim) }
        let pause = #"{"idempotencyKey":"prom-1","lease":"60s","fault":{"type":"process.pause","duration":"60s"},"target":{"process":{"pid":\#(victim.processIdentifier)}}}"#
        let injected = try s.agentCall("POST", "/v1/faults", pause)
        try #require(injected.status == 201, "inject: \(injected.status) \(injected.body)")
        let faultID = (try? JSONSerialization.jsonObject(with: Data(injected.body.utf8)) as? [String: Any])?["id"] as? String ?? ""
        let byKindAndHost = #"sum by (host, kind) (chaos_agent_faults_active{instance=~".*"}) > 0"#
        let seen = Harness.waitUntil(timeout: 20) {
            guard let r = try? s.query(byKindAndHost), r.vector.count == 1 else { return false }
            let m = r.vector[0]["metric"] as? [String: String] ?? [:]
            return m["host"] == "db1" && m["kind"] == "process.pause"
        }
        let active = (try? s.query("chaos_agent_faults_active > 0").vector) ?? []
        #expect(seen, "one active fault, process.pause on db1: \(active)")
        #expect(try s.value(#"sum(chaos_agent_faults_active{host="db1"})"#) == 1)
        let reverted = try s.agentCall("DELETE", "/v1/faults/" + faultID)
        #expect(reverted.status == 200, "revert \(faultID): \(reverted.status) \(reverted.body)")
        _ = Harness.waitUntil(timeout: 10) { (try? s.value(#"sum(chaos_agent_faults_reverted_total{kind="process.pause"})"#)) ?? 0 >= 1 }

        // Every agent metric of the contract is there, with its type.
        for (name, type) in P.agentMetrics.sorted(by: { $0.key < $1.key }) {
            let series = type == "histogram" ? name + "_bucket" : name
            let r = try s.query(#"{__name__="\#(series)", job="chaos-agent"}"#)
            #expect(r.error == nil && !r.vector.isEmpty, "\(series) is not scraped from the agent")
            let meta = try s.api("/api/v1/metadata", form: ["metric": name])
            let types = ((meta["data"] as? [String: Any])?[name] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            #expect(types.contains(type), "\(name) should be a \(type): \(types)")
        }
        for kind in ["chaos_agent_faults_injected_total", "chaos_agent_faults_reverted_total"] {
            #expect((try s.value(#"sum(\#(kind){kind="process.pause"})"#) ?? 0) >= 1, "\(kind){kind=process.pause}")
        }
        #expect(try s.query(#"chaos_agent_build_info{version!=""} == 1"#).vector.count == 1, "chaos_agent_build_info{version} 1")
        #expect(try s.value("chaos_agent_halted") == 0)
        // The certificate's expiry in seconds since the epoch, about 90 days ahead (`chaos certs issue`'s default).
        if let expiry = try s.value("chaos_agent_certificate_expiry_timestamp_seconds") {
            let days = (expiry - Date().timeIntervalSince1970) / 86400
            #expect(days > 80 && days < 100, "the agent's certificate expires in \(days) days?")
        } else {
            Issue.record("no chaos_agent_certificate_expiry_timestamp_seconds")
        }
        #expect(try s.query(#"chaos_agent_http_request_duration_seconds_count{method="POST", status="201"} >= 1"#).vector.count == 1,
                "the injection's request duration, by method and status")
        #expect(try s.query(#"chaos_agent_http_request_duration_seconds_count{method="GET", status="200"} >= 1"#).vector.count == 1,
                "the scrapes' request durations")
        // The controller's, the ones that exist without any run.
        for name in ["chaos_controller_leader", "chaos_controller_epoch", "chaos_controller_halted", "chaos_controller_build_info"] {
            #expect(!(try s.query(#"{__name__="\#(name)", job="chaos-controller"}"#).vector.isEmpty), "\(name) is not scraped from the controller")
        }
        #expect(try s.value(#"max(chaos_controller_leader)"#) == 1, "alone on SQLite, the controller leads")

        // The rules are loaded and evaluate without errors.
        let rulesFile = try #require(try P.yaml(P.dir + "/rules/chaos.rules.yml") as? [String: Any])
        let shippedGroups = rulesFile["groups"] as? [[String: Any]] ?? []
        let rules = try s.api("/api/v1/rules")
        let groups = (rules["data"] as? [String: Any])?["groups"] as? [[String: Any]] ?? []
        #expect(Set(groups.compactMap { $0["name"] as? String }) == Set(shippedGroups.compactMap { $0["name"] as? String }), "\(rules)")
        let loaded = groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }
        #expect(loaded.count == shippedGroups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }.count)
        _ = Harness.waitUntil(timeout: 10) {
            let g = ((try? s.api("/api/v1/rules"))?["data"] as? [String: Any])?["groups"] as? [[String: Any]] ?? []
            return g.first { $0["name"] as? String == "chaos.alerts" }.map { ($0["rules"] as? [[String: Any]] ?? []).allSatisfy { $0["health"] as? String == "ok" } } ?? false
        }
        for rule in (((try s.api("/api/v1/rules"))["data"] as? [String: Any])?["groups"] as? [[String: Any]] ?? []).flatMap({ $0["rules"] as? [[String: Any]] ?? [] }) {
            #expect(rule["health"] as? String != "err", "\(rule["name"] ?? ""): \(rule["lastError"] ?? "")")
        }
        #expect(try s.value("job:chaos_agents_up:sum") == 1)
        // Nothing is wrong here, so nothing fires (an expiry exported in the wrong unit would).
        let firing = try s.query(#"ALERTS{alertstate="firing"}"#).vector
        #expect(firing.isEmpty, "\(firing)")

        // Every dashboard query runs against the real Prometheus.
        for e in P.expressions(of: try P.dashboard()) {
            let r = try s.query(P.substituted(e.expr))
            #expect(r.error == nil, "\(e.place): \(r.error ?? "")")
        }
        // Stopped by pid; it shuts down cleanly.
        s.stop(s.prometheus)
        #expect(s.prometheus?.terminationStatus == 0, "\(s.log("prometheus.log").suffix(1000))")
    }
}
