import ChaosCore
import ChaosLinux
import ChaosTesting
import Foundation
import Glibc
import Testing

/// The controller against the sandbox (deploy/sandbox/sandbox): scheduled fires through the agents,
/// a controller SIGKILLed mid-fault, a blackout, a halt from the dashboard. Its own sandbox (prefix
/// chsbxc), so that it runs beside ``SandboxTests`` (scripts/test.sh): these tests mostly wait for
/// the scheduled minute.
@Suite("The controller drives the sandbox cluster", .serialized, .sharedSandbox(.controllers), Requirements.integration("/usr/bin/curl", "/usr/bin/python3", "/usr/sbin/ip", "/usr/sbin/nft", "/usr/sbin/tc", "/usr/sbin/haproxy", "/usr/bin/redis-server", "/usr/bin/redis-sentinel", "/usr/bin/chromium", "/usr/bin/chromedriver"))
struct SandboxControllerTests {
    /// App replica processes stopped (paused) now.
    static func pausedApps(_ dir: String) -> [Int32] {
        ["app1", "app2"].flatMap { h in
            ((try? NetworkLab.exec(["/usr/sbin/ip", "netns", "pids", SandboxTests.ns(dir, h)], timeout: 10).stdout) ?? "").split(separator: "\n").compactMap { Int32($0) }
        }.filter { Harness.state($0) == "T" }
    }

    /// A controller test's experiment directory (beside the sandbox's), holding `yaml` as `file`.
    static func experiments(_ dir: String, _ file: String, _ yaml: String) throws -> String {
        let exp = dir + ".experiments"
        try FileManager.default.createDirectory(atPath: exp, withIntermediateDirectories: true)
        try yaml.write(toFile: exp + "/" + file, atomically: true, encoding: .utf8)
        return exp
    }

    /// The controller's log so far.
    static func controllerLog(_ dir: String) -> String { (try? String(contentsOfFile: dir + "/controller.out.2", encoding: .utf8)) ?? "" }

    @Test("the controller fires a scheduled experiment through the agents; SIGKILLed mid-fault, the agent reverts at lease end and the restarted controller stores the run as interrupted, never repeats the fire, and carries on")
    func controller() throws {
        try SandboxTests.withSandbox(in: .controllers) { dir in
            let exp = try Self.experiments(dir, "pause-app.yaml", """
            apiVersion: chaos/v1
            kind: Experiment
            name: pause-app-every-minute
            target: app
            fault: {type: process.pause, duration: 20s}
            probes:
              - {name: site, type: http, url: "http://10.80.0.10/health", interval: 500ms, timeout: 500ms}
            schedule: {cron: "* * * * *", workdays: [mon, tue, wed, thu, fri, sat, sun], hours: "00:00-24:00"}

            """)
            try "apiVersion: chaos/v1\nkind: Experiment\nname: broken\n".write(toFile: exp + "/broken.yaml", atomically: true, encoding: .utf8)
            let config = dir + ".controller.yaml"
            try """
            inventory: \(dir)/inventory.yaml
            experiments: \(exp)
            stateDir: \(dir).cstate
            identity: {name: controller, pkiDir: \(dir)/pki}
            schedule: {tick: 1s, grace: 5m}
            gate: 2s

            """.write(toFile: config, atomically: true, encoding: .utf8)
            let argv = ["netns", "exec", SandboxTests.ns(dir, "client"), Harness.chaos, "controller", "--config", config]
            var controller = try SandboxTests.spawn("/usr/sbin/ip", argv, output: dir + "/controller.out")
            defer { kill(controller, SIGKILL); var st: Int32 = 0; waitpid(controller, &st, WNOHANG) }

            // The first fire comes at the next minute (a fresh controller does not run what was due before it).
            let started = Harness.waitUntil(timeout: 80) { Self.controllerLog(dir).contains("starting 'pause-app-every-minute'") }
            try #require(started, "no fire within 80 s:\n\(Self.controllerLog(dir))")
            #expect(Self.controllerLog(dir).contains("skipped \(exp)/broken.yaml (invalid, not loaded)"), "an invalid file is reported and skipped")
            let runID = try #require(Self.controllerLog(dir).split(separator: "\n").first { $0.contains("starting 'pause-app") }?.split(separator: " ").last.map(String.init))
            let stopped = { Self.pausedApps(dir) }
            #expect(Harness.waitUntil(timeout: 15) { !stopped().isEmpty }, "an app replica is paused by the scheduled run")

            // SIGKILL the controller mid-fault: the agent reverts when the 9 s lease runs out.
            kill(controller, SIGKILL)
            var status: Int32 = 0
            waitpid(controller, &status, 0)
            let killedAt = Date()
            #expect(Harness.waitUntil(timeout: 15) { stopped().isEmpty }, "the agent resumed the paused replica at lease end")
            let resumedAfter = Date().timeIntervalSince(killedAt)
            print("[sandbox] controller SIGKILLed mid-fault: the agent reverted \(resumedAfter) s later")
            #expect(resumedAfter < 12)

            // Restarted: the run is stored as interrupted, the fire is not started again, the schedule goes on.
            try? FileManager.default.removeItem(atPath: dir + "/controller.out.2")
            controller = try SandboxTests.spawn("/usr/sbin/ip", argv, output: dir + "/controller.out")
            #expect(Harness.waitUntil(timeout: 20) { Self.controllerLog(dir).contains(": interrupted (the controller stopped during the run") })
            let next = Harness.waitUntil(timeout: 75) { Self.controllerLog(dir).contains("starting 'pause-app-every-minute'") }
            #expect(next, "the next minute's fire starts: \(Self.controllerLog(dir))")
            let starts = Self.controllerLog(dir).split(separator: "\n").filter { $0.contains("starting 'pause-app") }
            #expect(starts.count == 1 && !starts[0].hasSuffix(runID), "one new fire, not the interrupted one again: \(starts)")
            // SIGTERM: the run in progress reverts at once and is stored; the controller exits 0.
            #expect(Harness.waitUntil(timeout: 15) { !stopped().isEmpty })
            kill(controller, SIGTERM)
            let end = Date().addingTimeInterval(20)
            while waitpid(controller, &status, WNOHANG) == 0 {
                if Date() > end { Issue.record("the controller did not stop within 20 s of SIGTERM"); kill(controller, SIGKILL) }
                usleep(50_000)
            }
            #expect(status == 0, "exit status \(status)")
            #expect(stopped().isEmpty, "SIGTERM reverted the pause before the controller exited")
            let verdicts = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", SandboxTests.ns(dir, "client"), Harness.chaos, "verdicts", "--store-dir", dir + ".cstate/runs", "--output", "json"],
                                               env: ["CHAOS_STATE_DIR": dir + ".state"], timeout: 30)
            let runs = ((try? JSONSerialization.jsonObject(with: Data(verdicts.stdout.utf8))) as? [String: Any])?["runs"] as? [[String: Any]] ?? []
            #expect(runs.contains { $0["runID"] as? String == runID && $0["status"] as? String == "interrupted" }, "\(verdicts.stdout)")
            #expect(runs.count == 2 && runs.allSatisfy { $0["status"] as? String == "interrupted" }, "\(verdicts.stdout)")
            let left = try SandboxTests.sandbox(["leftovers"], dir: dir)
            #expect(left.status == 0, "\(left.stdout)")
        }
    }

    @Test("a blackout that begins during a scheduled run halts it: reverted at once, stored aborted with the reason")
    func controllerBlackout() throws {
        try SandboxTests.withSandbox(in: .controllers) { dir in
            var fire = (Date().timeIntervalSince1970 / 60).rounded(.up) * 60
            if fire - Date().timeIntervalSince1970 < 8 { fire += 60 }
            let iso = ISO8601DateFormatter()
            let from = iso.string(from: Date(timeIntervalSince1970: fire + 8)), to = iso.string(from: Date(timeIntervalSince1970: fire + 600))
            let exp = try Self.experiments(dir, "pause.yaml", """
            apiVersion: chaos/v1
            kind: Experiment
            name: pause-app-before-freeze
            target: app
            fault: {type: process.pause, duration: 40s}
            probes:
              - {name: site, type: http, url: "http://10.80.0.10/health", interval: 500ms, timeout: 500ms}
            schedule:
              cron: "* * * * *"
              workdays: [mon, tue, wed, thu, fri, sat, sun]
              hours: "00:00-24:00"
              blackouts: [{from: "\(from)", to: "\(to)", reason: freeze}]

            """)
            let config = dir + ".controller.yaml"
            try "inventory: \(dir)/inventory.yaml\nexperiments: \(exp)\nstateDir: \(dir).cstate\nidentity: {name: controller, pkiDir: \(dir)/pki}\nschedule: {tick: 1s}\ngate: 2s\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            let controller = try SandboxTests.spawn("/usr/sbin/ip", ["netns", "exec", SandboxTests.ns(dir, "client"), Harness.chaos, "controller", "--config", config], output: dir + "/controller.out")
            defer { kill(controller, SIGKILL); var st: Int32 = 0; waitpid(controller, &st, WNOHANG) }
            let ended = Harness.waitUntil(timeout: 140) { Self.controllerLog(dir).contains("run r-") && Self.controllerLog(dir).contains("(aborted)") }
            #expect(ended, "\(Self.controllerLog(dir))")
            let halted = Date().timeIntervalSince1970
            print("[sandbox] blackout at +8 s: the run ended \(halted - fire) s after it started (its fault was 40 s)")
            #expect(halted - fire < 20, "halted when the blackout began, not at the fault's end")
            let verdicts = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", SandboxTests.ns(dir, "client"), Harness.chaos, "report", "--last", "1", "-o", "json",
                                                "--store-dir", dir + ".cstate/runs"], env: ["CHAOS_STATE_DIR": dir + ".state"], timeout: 30)
            #expect(verdicts.stdout.contains("halted: blackout (freeze) began"), "\(verdicts.stdout.prefix(2000))")
            let left = try SandboxTests.sandbox(["leftovers"], dir: dir)
            #expect(left.status == 0, "\(left.stdout)")
        }
    }

    @Test("halt from the dashboard (headless Chromium) during a scheduled run: reverted within a second, the run stored aborted, the next fire blocked until 'chaos resume --controller', then the next one runs to its verdict; audit, webhooks and metrics record it")
    func controllerHaltDashboard() throws {
        try SandboxTests.withSandbox(in: .controllers) { dir in
            let exp = try Self.experiments(dir, "pause.yaml", """
            apiVersion: chaos/v1
            kind: Experiment
            name: pause-app-halted
            target: app
            fault: {type: process.pause, duration: 20s}
            probes:
              - {name: site, type: http, url: "http://10.80.0.10/health", interval: 500ms, timeout: 500ms}
            expect: {recoverWithin: 10s}
            schedule: {cron: "* * * * *", workdays: [mon, tue, wed, thu, fri, sat, sun], hours: "00:00-24:00"}

            """)
            func token(_ name: String) throws -> (token: String, sha256: String) {
                let r = try NetworkLab.exec([Harness.chaos, "controller", "token", "--name", name, "--output", "json"], timeout: 30)
                let o = try #require((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: String], "\(r.stdout) \(r.stderr)")
                return (o["token"] ?? "", o["sha256"] ?? "")
            }
            let alice = try token("sre-alice"), bot = try token("ci-bot")
            let hooks = dir + "/hooks.jsonl"
            let receiver = try SandboxTests.spawn("/usr/sbin/ip", ["netns", "exec", SandboxTests.ns(dir, "client"), "/usr/bin/python3", "-c", """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                    with open(sys.argv[1], 'ab') as f: f.write(self.path.encode() + b' ' + body + b'\\n')
                    self.send_response(204); self.end_headers()
                def log_message(self, *a): pass
            http.server.HTTPServer(('127.0.0.1', 18080), H).serve_forever()
            """, hooks], output: dir + "/hooks.out")
            defer { kill(receiver, SIGKILL); var st: Int32 = 0; waitpid(receiver, &st, WNOHANG) }
            let config = dir + ".controller.yaml"
            try """
            inventory: \(dir)/inventory.yaml
            experiments: \(exp)
            stateDir: \(dir).cstate
            identity: {name: controller, pkiDir: \(dir)/pki}
            schedule: {tick: 1s}
            gate: 2s
            api:
              listen: 127.0.0.1:17434
              plaintext: true
              tokens: [{name: sre-alice, sha256: \(alice.sha256), role: operator}, {name: ci-bot, sha256: \(bot.sha256), role: operator}]
            notify:
              - {url: "http://127.0.0.1:18080/json"}
              - {url: "http://127.0.0.1:18080/slack", format: slack, events: [halt]}

            """.write(toFile: config, atomically: true, encoding: .utf8)
            let controller = try SandboxTests.spawn("/usr/sbin/ip", ["netns", "exec", SandboxTests.ns(dir, "client"), Harness.chaos, "controller", "--config", config], output: dir + "/controller.out")
            defer { kill(controller, SIGKILL); var st: Int32 = 0; waitpid(controller, &st, WNOHANG) }
            let stopped = { Self.pausedApps(dir) }
            try #require(Harness.waitUntil(timeout: 80) { Self.controllerLog(dir).contains("starting 'pause-app-halted'") }, "no fire: \(Self.controllerLog(dir))")
            try #require(Harness.waitUntil(timeout: 15) { !stopped().isEmpty }, "an app replica is paused")
            #expect(Self.controllerLog(dir).contains("victim app") && Self.controllerLog(dir).contains("group apps: 2/2 healthy, minHealthy 1"),
                    "the victim host is chosen among the target's hosts, with the group's health asked: \(Self.controllerLog(dir))")
            let paused = stopped()

            // The dashboard, in headless Chromium, halts through its button.
            let shots = Harness.root + "/.build/artifacts/dashboard"
            let browser = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", SandboxTests.ns(dir, "client"), "/usr/bin/python3", Harness.root + "/Tests/browser/dashboard.py",
                                               "http://127.0.0.1:17434", alice.token, shots, paused.map(String.init).joined(separator: ",")], timeout: 120)
            print("[sandbox] dashboard: \(browser.stdout) \(browser.stderr.suffix(1500))")
            let result = try #require((try? JSONSerialization.jsonObject(with: Data(browser.stdout.utf8))) as? [String: Any], "\(browser.stderr)")
            for c in result["checks"] as? [[String: Any]] ?? [] { #expect(c["ok"] as? Bool == true, "\(c["name"] ?? "") \(c["detail"] ?? "")") }
            #expect((result["errors"] as? [String] ?? ["?"]).isEmpty, "browser console errors: \(result["errors"] ?? "")")
            #expect((result["screenshots"] as? [String])?.count == 8)
            let reverted = try #require(result["haltRevertedMs"] as? Int, "the paused replica never ran again after the halt")
            print("[sandbox] halt from the dashboard: the page answered in \(result["haltAnsweredMs"] ?? "?") ms, the replica ran again \(reverted) ms after the click")
            #expect(reverted < 1000, "a halt reverts within one second")
            #expect(stopped().isEmpty)

            // Halted: the next minute's fire is recorded as skipped, nothing starts.
            let blocked = Harness.waitUntil(timeout: 75) { Self.controllerLog(dir).contains("skipped 'pause-app-halted'") && Self.controllerLog(dir).contains("chaos is halted (by sre-alice") }
            #expect(blocked, "the next fire is blocked while halted: \(Self.controllerLog(dir))")
            #expect(Self.controllerLog(dir).components(separatedBy: "starting 'pause-app-halted'").count == 2, "nothing else started")
            #expect(stopped().isEmpty)

            // Resume through the CLI with another token; the audit log has both, with who.
            let resume = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", SandboxTests.ns(dir, "client"), Harness.chaos, "resume", "--controller", "http://127.0.0.1:17434", "--token", bot.token],
                                             env: ["CHAOS_PKI_DIR": dir + "/pki"], timeout: 30)
            #expect(resume.status == 0, "\(resume.stdout) \(resume.stderr)")
            let audit = try NetworkLab.exec(["/usr/bin/curl", "-s", "-H", "Authorization: Bearer \(bot.token)", "http://127.0.0.1:17434/api/v1/audit"].withNetns(SandboxTests.ns(dir, "client")), timeout: 10)
            #expect(audit.stdout.contains("\"who\":\"sre-alice (operator, token)\"") && audit.stdout.contains("\"action\":\"halt\"") && audit.stdout.contains("\"who\":\"ci-bot (operator, token)\""), "\(audit.stdout)")
            let overview = try NetworkLab.exec(["/usr/bin/curl", "-s", "-H", "Authorization: Bearer \(bot.token)", "http://127.0.0.1:17434/api/v1/overview"].withNetns(SandboxTests.ns(dir, "client")), timeout: 10)
            let agents = ((try? JSONSerialization.jsonObject(with: Data(overview.stdout.utf8))) as? [String: Any])?["agents"] as? [String: Any]
            #expect(agents?["total"] as? Int == 7 && agents?["reachable"] as? Int == agents?["total"] as? Int, "every sandbox agent answers the controller's poll: \(overview.stdout.prefix(800))")
            let metrics = try NetworkLab.exec(["/usr/bin/curl", "-s", "-H", "Authorization: Bearer \(bot.token)", "http://127.0.0.1:17434/metrics"].withNetns(SandboxTests.ns(dir, "client")), timeout: 10)
            #expect(metrics.stdout.contains("chaos_controller_halts_total 1"), "\(metrics.stdout)")
            #expect(metrics.stdout.contains("chaos_controller_halted 0"), "\(metrics.stdout)")
            #expect(metrics.stdout.contains("chaos_controller_runs_total{verdict="), "\(metrics.stdout)")
            // Per experiment, for the shipped alerts and dashboard (deploy/prometheus).
            for name in ["chaos_controller_build_info{version=", "chaos_controller_experiment_runs_total{experiment=", "chaos_controller_experiment_last_outcome{experiment=",
                         "chaos_controller_experiment_last_run_timestamp_seconds{experiment="] {
                #expect(metrics.stdout.contains(name), "missing \(name)")
            }

            // Webhooks: the start, the halt (JSON and Slack), the verdict of the aborted run, the resume.
            #expect(Harness.waitUntil(timeout: 10) { ((try? String(contentsOfFile: hooks, encoding: .utf8)) ?? "").contains("\"kind\":\"resume\"") })
            let posted = (try? String(contentsOfFile: hooks, encoding: .utf8)) ?? ""
            #expect(posted.contains("/json {") && posted.contains("\"kind\":\"run.started\"") && posted.contains("\"kind\":\"halt\""), "\(posted)")
            #expect(posted.contains("\"kind\":\"run.verdict\"") && posted.contains("\"status\":\"aborted\""), "\(posted)")
            #expect(posted.contains("/slack {\"text\":\"chaos: HALTED: by sre-alice: dashboard test\"}"), "\(posted)")

            // Resumed: the next fire starts, runs to the end and stores its verdict (and posts it).
            let completed = Harness.waitUntil(timeout: 150) {
                Self.controllerLog(dir).split(separator: "\n").contains { $0.contains("of 'pause-app-halted': ") && $0.contains("(completed)") }
            }
            #expect(completed, "after the resume a fire runs to its verdict: \(Self.controllerLog(dir))")
            let runs = try NetworkLab.exec(["/usr/bin/curl", "-s", "-H", "Authorization: Bearer \(bot.token)", "http://127.0.0.1:17434/api/v1/runs"].withNetns(SandboxTests.ns(dir, "client")), timeout: 10)
            let stored = ((try? JSONSerialization.jsonObject(with: Data(runs.stdout.utf8))) as? [String: Any])?["runs"] as? [[String: Any]] ?? []
            #expect(stored.map { $0["status"] as? String ?? "?" }.sorted() == ["aborted", "completed"], "\(runs.stdout.prefix(500))")
            #expect(Harness.waitUntil(timeout: 10) { ((try? String(contentsOfFile: hooks, encoding: .utf8)) ?? "").contains("\"status\":\"completed\"") })
            let left = try SandboxTests.sandbox(["leftovers"], dir: dir)
            #expect(left.status == 0, "\(left.stdout)")
        }
    }
}

private extension Array where Element == String {
    func withNetns(_ ns: String) -> [String] { ["/usr/sbin/ip", "netns", "exec", ns] + self }
}
