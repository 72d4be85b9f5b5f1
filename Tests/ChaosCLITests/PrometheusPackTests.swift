import ArgumentParser
@testable import ChaosCLI
import ChaosTesting
import Foundation
import Glibc
import Testing

/// The Prometheus/Grafana pack in deploy/prometheus, and the metric contract it is written against.
enum PrometheusPack {
    static let dir = Harness.root + "/deploy/prometheus"
    static let promtool = "/usr/bin/promtool"
    static let prometheus = "/usr/bin/prometheus"
    static let python: String = ProcessInfo.processInfo.environment["CHAOS_PYTHON"] ?? "/usr/bin/python3"
    static var hasPromtool: Bool { FileManager.default.isExecutableFile(atPath: promtool) && FileManager.default.isExecutableFile(atPath: python) }

    /// The agent's `/metrics` (name: Prometheus type).
    static let agentMetrics: [String: String] = [
        "chaos_agent_build_info": "gauge",
        "chaos_agent_halted": "gauge",
        "chaos_agent_certificate_expiry_timestamp_seconds": "gauge",
        "chaos_agent_faults_active": "gauge",
        "chaos_agent_faults_injected_total": "counter",
        "chaos_agent_faults_reverted_total": "counter",
        "chaos_agent_faults_failed_total": "counter",
        "chaos_agent_lease_expiries_total": "counter",
        "chaos_agent_http_request_duration_seconds": "histogram",
    ]
    /// The controller's `/metrics` that existed before the pack (docs/operations.md).
    static let controllerMetrics: [String: String] = [
        "chaos_controller_runs_total": "counter",
        "chaos_controller_fires_total": "counter",
        "chaos_controller_faults_active": "gauge",
        "chaos_controller_schedule_lag_seconds": "gauge",
        "chaos_controller_halts_total": "counter",
        "chaos_controller_halted": "gauge",
        "chaos_controller_leader": "gauge",
        "chaos_controller_epoch": "gauge",
    ]
    /// The controller's metrics added for the pack.
    static let newControllerMetrics: [String: String] = [
        "chaos_controller_experiment_runs_total": "counter",
        "chaos_controller_experiment_last_outcome": "gauge",
        "chaos_controller_experiment_recovery_seconds": "gauge",
        "chaos_controller_experiment_last_run_timestamp_seconds": "gauge",
        "chaos_controller_build_info": "gauge",
    ]
    static var contract: [String: String] { agentMetrics.merging(controllerMetrics) { a, _ in a }.merging(newControllerMetrics) { a, _ in a } }

    /// Every series name the contract allows in a query: histograms with their `_bucket`, `_sum` and
    /// `_count`, and Prometheus's own `up`.
    static var allowedSeries: Set<String> {
        var names: Set<String> = ["up"]
        for (name, type) in contract {
            if type == "histogram" { names.formUnion([name + "_bucket", name + "_sum", name + "_count"]) } else { names.insert(name) }
        }
        return names
    }

    /// Runs argv (no shell) and returns its outcome.
    static func exec(_ argv: [String], timeout: TimeInterval = 60) throws -> NetworkLab.Result {
        try NetworkLab.exec(argv, timeout: timeout)
    }

    /// A YAML file as JSON values (through PyYAML: the test target has no YAML reader of its own).
    static func yaml(_ path: String) throws -> Any {
        let r = try exec([python, "-c", "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)", path])
        try #require(r.status == 0, "cannot read \(path) as YAML: \(r.stderr)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    }

    static func regex(_ pattern: String) -> NSRegularExpression { try! NSRegularExpression(pattern: pattern) }
    static func replacing(_ text: String, _ pattern: String, with template: String) -> String {
        let ns = text as NSString
        return regex(pattern).stringByReplacingMatches(in: text, range: NSRange(location: 0, length: ns.length), withTemplate: template)
    }

    static let keywords: Set<String> = ["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "atan2"]

    /// The series names a PromQL expression reads: identifiers outside strings, label matchers,
    /// ranges and grouping clauses that are not functions, aggregations or keywords.
    static func seriesNames(in expr: String) -> Set<String> {
        var s = expr
        s = replacing(s, #""(?:[^"\\]|\\.)*""#, with: "\"\"")
        s = replacing(s, #"'(?:[^'\\]|\\.)*'"#, with: "''")
        s = replacing(s, #"\{[^}]*\}"#, with: " ")
        s = replacing(s, #"\[[^\]]*\]"#, with: " ")
        s = replacing(s, #"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"#, with: " ")
        let ns = s as NSString
        let matches = regex(#"(?<![A-Za-z0-9_:.])[A-Za-z_:][A-Za-z0-9_:]*(?![A-Za-z0-9_:])(?!\s*\()"#)
            .matches(in: s, range: NSRange(location: 0, length: ns.length))
        return Set(matches.map { ns.substring(with: $0.range) }.filter { !keywords.contains($0.lowercased()) })
    }

    /// Grafana's variables replaced by values PromQL accepts ($__interval and friends by a duration,
    /// dashboard variables by a regex matching everything).
    static func substituted(_ expr: String) -> String {
        var s = replacing(expr, #"\$\{?__[A-Za-z_]+\}?"#, with: "5m")
        s = replacing(s, #"\$\{?[A-Za-z_][A-Za-z0-9_]*(:[A-Za-z]+)?\}?"#, with: ".*")
        return s
    }

    /// Where a dashboard expression is, and the expression.
    struct Expression { var place: String; var expr: String }

    /// Every PromQL expression of the dashboard: panel targets, annotations, and the selectors of the
    /// variables' `label_values(SELECTOR, label)`.
    static func expressions(of dashboard: [String: Any]) -> [Expression] {
        var found: [Expression] = []
        for panel in dashboard["panels"] as? [[String: Any]] ?? [] {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                found.append(Expression(place: "panel \(panel["id"] ?? "?") '\(panel["title"] ?? "")' \(target["refId"] ?? "?")", expr: target["expr"] as? String ?? ""))
            }
        }
        for a in (dashboard["annotations"] as? [String: Any])?["list"] as? [[String: Any]] ?? [] {
            if let expr = a["expr"] as? String { found.append(Expression(place: "annotation '\(a["name"] ?? "")'", expr: expr)) }
        }
        for v in (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? [] {
            let q = (v["query"] as? [String: Any])?["query"] as? String ?? v["query"] as? String ?? ""
            let m = regex(#"^label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\)$"#)
            let ns = q as NSString
            if let hit = m.firstMatch(in: q, range: NSRange(location: 0, length: ns.length)) {
                found.append(Expression(place: "variable \(v["name"] ?? "")", expr: ns.substring(with: hit.range(at: 1))))
            } else {
                found.append(Expression(place: "variable \(v["name"] ?? "")", expr: q))
            }
        }
        return found
    }

    static func dashboard() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/grafana/chaos-dashboard.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "the dashboard is a JSON object")
    }

    static func rules() throws -> [[String: Any]] {
        let file = try #require(try yaml(dir + "/rules/chaos.rules.yml") as? [String: Any])
        return (file["groups"] as? [[String: Any]] ?? []).flatMap { $0["rules"] as? [[String: Any]] ?? [] }
    }

    /// A copy of the shipped configuration with only these strings replaced (each must be in it, so
    /// the copy cannot silently drift from what users get).
    static func rewrittenConfig(_ replacements: [(String, String)]) throws -> String {
        var text = try String(contentsOfFile: dir + "/prometheus.yml", encoding: .utf8)
        for (from, to) in replacements {
            try #require(text.contains(from), "the shipped prometheus.yml no longer contains '\(from)'")
            text = text.replacingOccurrences(of: from, with: to)
        }
        return text
    }

    /// The TLS files the shipped configuration names.
    static let tlsFiles = ["/etc/prometheus/chaos/ca.pem", "/etc/prometheus/chaos/prometheus.pem", "/etc/prometheus/chaos/prometheus-key.pem"]

    /// A directory laid out as the configuration expects: prometheus.yml, rules/, targets/.
    static func layout(_ config: String, targets: String, in root: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/rules", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/targets", withIntermediateDirectories: true)
        try config.write(toFile: root + "/prometheus.yml", atomically: true, encoding: .utf8)
        for f in ["chaos.rules.yml", "chaos.rules.test.yml"] {
            try fm.copyItem(atPath: dir + "/rules/" + f, toPath: root + "/rules/" + f)
        }
        try targets.write(toFile: root + "/targets/chaos-agents.yml", atomically: true, encoding: .utf8)
    }
}

@Suite("The Prometheus and Grafana pack (deploy/prometheus) passes promtool and matches the metric contract",
       .enabled(if: PrometheusPack.hasPromtool, "needs promtool and python3 with PyYAML (apt install prometheus python3-yaml)"))
struct PrometheusPackTests {
    typealias P = PrometheusPack

    @Test("promtool check config passes on the shipped prometheus.yml (TLS files pointed at temporary files)")
    func checkConfig() throws {
        let root = Harness.stateDir()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var replacements: [(String, String)] = []
        for f in P.tlsFiles {
            let local = root + "/pki/" + URL(fileURLWithPath: f).lastPathComponent
            try FileManager.default.createDirectory(atPath: root + "/pki", withIntermediateDirectories: true)
            try "placeholder\n".write(toFile: local, atomically: true, encoding: .utf8)
            replacements.append((f, local))
        }
        let example = try String(contentsOfFile: P.dir + "/targets/chaos-agents.example.yml", encoding: .utf8)
        try P.layout(try P.rewrittenConfig(replacements), targets: example, in: root)
        let r = try P.exec([P.promtool, "check", "config", root + "/prometheus.yml"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("SUCCESS: 1 rule files found") && r.stdout.contains("16 rules found"), "\(r.stdout)")
        // The jobs and their TLS are what the dashboard and the rules expect.
        let config = try #require(try P.yaml(P.dir + "/prometheus.yml") as? [String: Any])
        let jobs = config["scrape_configs"] as? [[String: Any]] ?? []
        #expect(Set(jobs.compactMap { $0["job_name"] as? String }) == ["chaos-agent", "chaos-controller"])
        for job in jobs {
            #expect(job["scheme"] as? String == "https", "\(job["job_name"] ?? "")")
            let tls = job["tls_config"] as? [String: String] ?? [:]
            #expect(tls["ca_file"] == P.tlsFiles[0] && tls["cert_file"] == P.tlsFiles[1] && tls["key_file"] == P.tlsFiles[2], "\(tls)")
        }
        #expect(config["rule_files"] as? [String] == ["rules/chaos.rules.yml"])
    }

    @Test("promtool check rules and promtool test rules pass")
    func checkAndTestRules() throws {
        let check = try P.exec([P.promtool, "check", "rules", P.dir + "/rules/chaos.rules.yml"])
        #expect(check.status == 0 && check.stdout.contains("SUCCESS"), "\(check.stdout)\n\(check.stderr)")
        let test = try P.exec([P.promtool, "test", "rules", P.dir + "/rules/chaos.rules.test.yml"], timeout: 120)
        #expect(test.status == 0 && test.stdout.contains("SUCCESS"), "\(test.stdout)\n\(test.stderr)")
    }

    @Test("every alert has a severity, a summary, a description and a runbook hint, and a unit test where it fires and one where it does not")
    func alertsAreDocumentedAndTested() throws {
        let alerts = try P.rules().filter { $0["alert"] != nil }
        let names = alerts.compactMap { $0["alert"] as? String }
        #expect(Set(names).isSuperset(of: ["ChaosAgentDown", "ChaosAgentHaltedLong", "ChaosControllerHaltedLong", "ChaosAgentCertificateExpiringSoon",
                                           "ChaosAgentCertificateExpired", "ChaosExperimentFailing", "ChaosNoControllerLeading", "ChaosScheduleLagHigh"]), "\(names)")
        for alert in alerts {
            let name = alert["alert"] as? String ?? "?"
            let labels = alert["labels"] as? [String: String] ?? [:]
            #expect(["critical", "warning", "info"].contains(labels["severity"] ?? ""), "\(name): severity \(labels["severity"] ?? "missing")")
            let annotations = alert["annotations"] as? [String: String] ?? [:]
            for key in ["summary", "description", "runbook"] {
                #expect(!(annotations[key] ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(name): annotation \(key)")
            }
        }
        let tests = try #require(try P.yaml(P.dir + "/rules/chaos.rules.test.yml") as? [String: Any])
        var fires: Set<String> = [], quiet: Set<String> = []
        for test in tests["tests"] as? [[String: Any]] ?? [] {
            for case_ in test["alert_rule_test"] as? [[String: Any]] ?? [] {
                guard let name = case_["alertname"] as? String else { continue }
                if (case_["exp_alerts"] as? [Any] ?? []).isEmpty { quiet.insert(name) } else { fires.insert(name) }
            }
        }
        for name in names {
            #expect(fires.contains(name), "no test in chaos.rules.test.yml where \(name) fires")
            #expect(quiet.contains(name), "no test in chaos.rules.test.yml where \(name) stays quiet")
        }
    }

    @Test("the dashboard has what Grafana needs to import it anywhere")
    func dashboardStructure() throws {
        let d = try P.dashboard()
        #expect(!(d["title"] as? String ?? "").isEmpty && !(d["uid"] as? String ?? "").isEmpty)
        #expect((d["schemaVersion"] as? Int ?? 0) >= 36)
        let inputs = d["__inputs"] as? [[String: Any]] ?? []
        #expect(inputs.contains { $0["name"] as? String == "DS_PROMETHEUS" && $0["type"] as? String == "datasource" && $0["pluginId"] as? String == "prometheus" },
                "__inputs declares DS_PROMETHEUS: \(inputs)")
        let panels = d["panels"] as? [[String: Any]] ?? []
        #expect(panels.count >= 10)
        let ids = panels.compactMap { $0["id"] as? Int }
        #expect(ids.count == panels.count && Set(ids).count == ids.count, "every panel has a unique integer id: \(ids)")
        var cells: [String: Int] = [:]
        for panel in panels {
            let id = panel["id"] as? Int ?? -1
            #expect(!(panel["title"] as? String ?? "").isEmpty && !(panel["type"] as? String ?? "").isEmpty, "panel \(id): title and type")
            let g = panel["gridPos"] as? [String: Int] ?? [:]
            let (x, y, w, h) = (g["x"] ?? -1, g["y"] ?? -1, g["w"] ?? 0, g["h"] ?? 0)
            #expect(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24, "panel \(id): gridPos \(g)")
            // No two panels on the same grid cell.
            for cx in max(x, 0)..<max(x + w, max(x, 0)) {
                for cy in max(y, 0)..<max(y + h, max(y, 0)) {
                    if let other = cells["\(cx),\(cy)"] { Issue.record("panels \(other) and \(id) overlap at \(cx),\(cy)") }
                    cells["\(cx),\(cy)"] = id
                }
            }
            #expect((panel["datasource"] as? [String: String])?["uid"] == "${DS_PROMETHEUS}", "panel \(id): datasource")
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty, "panel \(id): targets")
            let refs = targets.compactMap { $0["refId"] as? String }
            #expect(refs.count == targets.count && Set(refs).count == refs.count, "panel \(id): unique refIds")
            for t in targets {
                #expect(!(t["expr"] as? String ?? "").isEmpty, "panel \(id): every target has an expr")
                #expect((t["datasource"] as? [String: String])?["uid"] == "${DS_PROMETHEUS}", "panel \(id): target datasource")
            }
        }
        // Every ${DS_...} the file refers to is an input, so Grafana asks for it on import.
        let text = try String(contentsOfFile: P.dir + "/grafana/chaos-dashboard.json", encoding: .utf8)
        let declared = Set(inputs.compactMap { $0["name"] as? String })
        let ns = text as NSString
        for m in P.regex(#"\$\{(DS_[A-Z0-9_]+)\}"#).matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            #expect(declared.contains(ns.substring(with: m.range(at: 1))), "\(ns.substring(with: m.range)) is not in __inputs")
        }
        let variables = ((d["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(Set(variables).isSuperset(of: ["instance", "experiment"]), "\(variables)")
        // The panels the issue asks for.
        let titles = panels.compactMap { $0["title"] as? String }
        for wanted in ["Verdicts over time", "Resilience score", "Time to recover", "Active faults by kind and host", "Agents up", "Halted",
                       "Certificate expiry", "Controller leader and epoch", "Schedule lag"] {
            #expect(titles.contains { $0.hasPrefix(wanted) }, "no panel '\(wanted)': \(titles)")
        }
    }

    @Test("the dashboard passes a JSON Schema of what a Grafana import needs (python3 jsonschema)",
          .enabled(if: (try? PrometheusPack.exec([PrometheusPack.python, "-c", "import jsonschema"]).status) == 0, "needs python3-jsonschema"))
    func dashboardSchema() throws {
        let schema = #"""
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "required": ["__inputs", "title", "uid", "schemaVersion", "panels", "templating", "time"],
          "properties": {
            "__inputs": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["name", "type", "pluginId"],
              "properties": {"name": {"type": "string", "pattern": "^DS_"}, "type": {"const": "datasource"}, "pluginId": {"const": "prometheus"}}}},
            "title": {"type": "string", "minLength": 1},
            "uid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"},
            "id": {"type": "null"},
            "schemaVersion": {"type": "integer", "minimum": 36},
            "time": {"type": "object", "required": ["from", "to"]},
            "templating": {"type": "object", "required": ["list"], "properties": {"list": {"type": "array", "items": {
              "type": "object", "required": ["name", "type", "datasource", "query"],
              "properties": {"name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}, "type": {"enum": ["query", "custom", "interval", "datasource", "constant", "textbox"]}}}}}},
            "panels": {"type": "array", "minItems": 1, "items": {"type": "object",
              "required": ["id", "type", "title", "gridPos", "datasource", "targets"],
              "properties": {
                "id": {"type": "integer", "minimum": 1},
                "type": {"enum": ["stat", "timeseries", "table", "state-timeline", "bargauge", "gauge", "text", "row"]},
                "gridPos": {"type": "object", "required": ["x", "y", "w", "h"], "properties": {
                  "x": {"type": "integer", "minimum": 0, "maximum": 23}, "y": {"type": "integer", "minimum": 0},
                  "w": {"type": "integer", "minimum": 1, "maximum": 24}, "h": {"type": "integer", "minimum": 1}}},
                "datasource": {"type": "object", "required": ["type", "uid"], "properties": {"type": {"const": "prometheus"}, "uid": {"const": "${DS_PROMETHEUS}"}}},
                "targets": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["refId", "expr"],
                  "properties": {"refId": {"type": "string", "minLength": 1}, "expr": {"type": "string", "minLength": 1}}}},
                "fieldConfig": {"type": "object", "required": ["defaults", "overrides"]}
              }}}
          }
        }
        """#
        let root = Harness.stateDir()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try schema.write(toFile: root + "/schema.json", atomically: true, encoding: .utf8)
        let script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
        for e in errors: print("/".join(map(str, e.path)), e.message)
        sys.exit(1 if errors else 0)
        """
        let r = try P.exec([P.python, "-c", script, root + "/schema.json", P.dir + "/grafana/chaos-dashboard.json"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
    }

    @Test("every dashboard expression is valid PromQL (promtool check rules on them as recording rules)")
    func dashboardPromQL() throws {
        let exprs = P.expressions(of: try P.dashboard())
        #expect(exprs.count >= 20)
        var lines = ["groups:", "  - name: dashboard", "    rules:"]
        for (i, e) in exprs.enumerated() {
            let expr = P.substituted(e.expr)
            #expect(!expr.contains("$"), "\(e.place): a Grafana variable left in \(expr)")
            // JSON strings are valid YAML scalars.
            let quoted = String(decoding: try JSONSerialization.data(withJSONObject: [expr], options: [.withoutEscapingSlashes]), as: UTF8.self).dropFirst().dropLast()
            lines.append("      - record: dashboard:expression_\(i)")
            lines.append("        expr: \(quoted)")
        }
        let root = Harness.stateDir()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: root + "/dashboard.rules.yml", atomically: true, encoding: .utf8)
        let r = try P.exec([P.promtool, "check", "rules", root + "/dashboard.rules.yml"])
        #expect(r.status == 0 && r.stdout.contains("\(exprs.count) rules found"), "\(r.stdout)\n\(r.stderr)\n\(exprs.map { "\($0.place): \($0.expr)" }.joined(separator: "\n"))")
        // And the check itself finds a broken expression.
        try "groups:\n  - name: x\n    rules:\n      - record: x:y\n        expr: sum(rate(chaos_agent_halted[5m])\n".write(toFile: root + "/broken.yml", atomically: true, encoding: .utf8)
        #expect(try P.exec([P.promtool, "check", "rules", root + "/broken.yml"]).status != 0)
    }

    @Test("every metric the dashboard and the rules read is in the contract (or recorded by the rules); the dashboard shows every new one")
    func metricNamesFollowTheContract() throws {
        // The extractor itself.
        #expect(P.seriesNames(in: #"histogram_quantile(0.99, sum by (le) (rate(chaos_agent_http_request_duration_seconds_bucket{instance=~"a|b"}[5m]))) > bool 1 or on (job) up offset 5m"#)
                == ["chaos_agent_http_request_duration_seconds_bucket", "up"])
        #expect(P.seriesNames(in: #"x:y:z / ignoring (kind) group_left (host) foo_total{kind="a b"} and 14 * 86400 unless time() - 1e3"#) == ["x:y:z", "foo_total"])

        let rules = try P.rules()
        let recorded = Set(rules.compactMap { $0["record"] as? String })
        let allowed = P.allowedSeries.union(recorded)
        var used: [String: String] = [:]
        for rule in rules {
            let expr = rule["expr"] as? String ?? ""
            for name in P.seriesNames(in: expr) { used[name] = "rule \(rule["record"] ?? rule["alert"] ?? "?")" }
        }
        var dashboardNames: Set<String> = []
        for e in P.expressions(of: try P.dashboard()) {
            for name in P.seriesNames(in: P.substituted(e.expr)) {
                used[name] = e.place
                dashboardNames.insert(name)
            }
        }
        for (name, place) in used.sorted(by: { $0.key < $1.key }) {
            let known = allowed.contains(name)
            #expect(known, "\(place) reads '\(name)', which is neither in the metric contract nor recorded by chaos.rules.yml")
        }
        for (name, type) in P.agentMetrics.merging(P.newControllerMetrics, uniquingKeysWith: { a, _ in a }) {
            let shown = type == "histogram" ? dashboardNames.contains { $0.hasPrefix(name + "_") } : dashboardNames.contains(name)
            #expect(shown, "the dashboard does not show \(name)")
        }
        // The documentation of the controller's metrics names the same ones.
        let operations = try String(contentsOfFile: Harness.root + "/docs/operations.md", encoding: .utf8)
        for name in P.controllerMetrics.keys { #expect(operations.contains(name), "docs/operations.md no longer lists \(name)") }
    }

    @Test("every chaos command the README, prometheus.yml and the alerts' annotations show parses with the real parser")
    func commandsParse() throws {
        var texts = [try String(contentsOfFile: P.dir + "/README.md", encoding: .utf8), try String(contentsOfFile: P.dir + "/prometheus.yml", encoding: .utf8)]
        for rule in try P.rules() {
            texts += (rule["annotations"] as? [String: String] ?? [:]).values.map { P.replacing($0, #"\{\{[^}]*\}\}"#, with: "db1") }
        }
        var lines: [String] = []
        for text in texts {
            let ns = text as NSString
            // `chaos ...` in backticks, and the lines of sh blocks.
            lines += P.regex(#"`(chaos [^`\n]+)`"#).matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range(at: 1)) }
            for block in text.components(separatedBy: "```sh\n").dropFirst() {
                lines += (block.components(separatedBy: "```").first ?? "").components(separatedBy: "\n").filter { $0.hasPrefix("chaos ") }
            }
        }
        #expect(lines.count >= 10, "\(lines)")
        for line in Set(lines) {
            let args = line.split(separator: " ").dropFirst().map(String.init)
            do {
                _ = try ChaosCommand.parseAsRoot(args)
            } catch where ChaosCommand.exitCode(for: error) == .success {
            } catch {
                Issue.record("'\(line)' does not parse: \(ChaosCommand.message(for: error))")
            }
        }
    }

    @Test("inventory-to-targets makes the file_sd targets from an inventory; the shipped example is what it makes of the example inventory")
    func inventoryToTargets() throws {
        let made = try P.exec([P.python, P.dir + "/inventory-to-targets", Harness.root + "/deploy/inventory.example.yaml"])
        #expect(made.status == 0, "\(made.stderr)")
        let example = try String(contentsOfFile: P.dir + "/targets/chaos-agents.example.yml", encoding: .utf8)
        func body(_ s: String) -> [String] { s.components(separatedBy: "\n").filter { !$0.hasPrefix("#") } }
        #expect(body(made.stdout) == body(example), "regenerate targets/chaos-agents.example.yml:\n\(made.stdout)")
        let root = Harness.stateDir()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try """
        apiVersion: chaos/v1
        kind: Inventory
        hosts:
          - {name: db1, address: 10.0.0.31, agent: "https://10.0.0.31:7433"}
          - {name: v6, address: "fd00::1", agent: "https://[fd00::1]"}
          - {name: bare, address: 10.0.0.40}
        """.write(toFile: root + "/inv.yaml", atomically: true, encoding: .utf8)
        let out = try P.exec([P.python, P.dir + "/inventory-to-targets", root + "/inv.yaml"])
        #expect(out.status == 0, "\(out.stderr)")
        try out.stdout.write(toFile: root + "/targets.yml", atomically: true, encoding: .utf8)
        let groups = try #require(try P.yaml(root + "/targets.yml") as? [[String: Any]])
        #expect(groups.map { $0["targets"] as? [String] ?? [] } == [["10.0.0.31:7433"], ["[fd00::1]:7433"]])
        #expect(groups.map { ($0["labels"] as? [String: String])?["host"] ?? "" } == ["db1", "v6"])
        #expect(out.stdout.contains("# Hosts without an agent: bare"))
        // And promtool takes the result as a file_sd file.
        var replacements: [(String, String)] = []
        for f in P.tlsFiles {
            let local = root + "/" + URL(fileURLWithPath: f).lastPathComponent
            try "placeholder\n".write(toFile: local, atomically: true, encoding: .utf8)
            replacements.append((f, local))
        }
        try P.layout(try P.rewrittenConfig(replacements), targets: out.stdout, in: root + "/prom")
        let check = try P.exec([P.promtool, "check", "config", root + "/prom/prometheus.yml"])
        #expect(check.status == 0, "\(check.stdout)\n\(check.stderr)")
    }
}
