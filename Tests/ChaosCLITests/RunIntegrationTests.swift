import ChaosCore
import ChaosLinux
import ChaosTesting
import Foundation
import Glibc
import Testing

/// `chaos run` end to end with real software: a real haproxy in front of real HTTP backends, each a
/// network namespace on one bridge; the run observes the load balancer from a client host.
@Suite("Experiment runs and their verdicts, with haproxy", .serialized, Requirements.integration("/usr/bin/curl", "/usr/bin/python3", "/usr/sbin/haproxy"))
struct RunIntegrationTests {
    final class Cluster: @unchecked Sendable {
        let lab = NetworkLab("run")
        let dir = Harness.stateDir()
        var processes: [Process] = []
        var backends: [String: Process] = [:]

        /// A load balancer on 10.79.0.10:8080 over `webs` backends (web1, web2...), and a client host.
        init(webs: Int) throws {
            var hosts = [(name: "lb", address: "10.79.0.10/24"), (name: "client", address: "10.79.0.2/24")]
            for i in 1...webs { hosts.append((name: "web\(i)", address: "10.79.0.\(10 + i)/24")) }
            try lab.bridge(hosts)
            for i in 1...webs { try startBackend(i) }
            let servers = (1...webs).map { "  server web\($0) 10.79.0.\(10 + $0):8000 check inter 200 fall 1 rise 1" }.joined(separator: "\n")
            try """
            global
              log stderr format raw local0 emerg
            defaults
              mode http
              timeout connect 300ms
              timeout client 5s
              timeout server 5s
              retries 2
              option redispatch
            frontend fe
              bind 10.79.0.10:8080
              default_backend be
            backend be
              option httpchk GET /
            \(servers)

            """.write(toFile: dir + "/haproxy.cfg", atomically: true, encoding: .utf8)
            processes.append(try lab.start("lb", ["/usr/sbin/haproxy", "-db", "-f", dir + "/haproxy.cfg"]))
            let up = Harness.waitUntil(timeout: 15) { (try? self.get()) == 200 }
            if !up {
                let probe = try? lab.run("client", ["/usr/bin/curl", "-sv", "--max-time", "1", "http://10.79.0.10:8080/"])
                let cfg = (try? String(contentsOfFile: dir + "/haproxy.cfg", encoding: .utf8)) ?? ""
                try #require(up, "haproxy does not answer (running: \(processes.last?.isRunning ?? false)): \(probe?.stderr ?? "")\n\(cfg)")
            }
        }

        /// A backend: python3's http.server in web\(i), its pid in dir/web\(i).pid.
        func startBackend(_ i: Int) throws {
            let p = try lab.start("web\(i)", ["/usr/bin/python3", "-m", "http.server", "8000", "--bind", "10.79.0.\(10 + i)", "--directory", dir])
            backends["web\(i)"] = p
            try "\(p.processIdentifier)\n".write(toFile: dir + "/web\(i).pid", atomically: true, encoding: .utf8)
            let up = Harness.waitUntil(timeout: 10) {
                (try? self.lab.run("client", ["/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", "http://10.79.0.\(10 + i):8000/"]).stdout) == "200"
            }
            try #require(up, "backend web\(i) does not answer")
        }

        /// The load balancer's HTTP status as the client sees it (0: no answer).
        func get() throws -> Int {
            Int(try lab.run("client", ["/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", "http://10.79.0.10:8080/"]).stdout) ?? 0
        }

        func experiment(_ name: String, fault: String, expect: String = "") throws -> String {
            let path = dir + "/\(name).yaml"
            try """
            apiVersion: chaos/v1
            kind: Experiment
            name: \(name)
            target: {process: {pidfile: \(dir)/web1.pid}}
            fault: \(fault)
            probes:
              - {name: lb, type: http, url: "http://10.79.0.10:8080/", interval: 250ms, timeout: 250ms}
            expect: {maxOutage: 2s, recoverWithin: 10s\(expect)}
            """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        /// `chaos run` on the client host.
        func run(_ file: String, extra: [String] = []) throws -> NetworkLab.Result {
            try lab.run("client", [Harness.chaos, "run", file, "--gate", "2s", "--output", "json"] + extra,
                        env: ["CHAOS_STATE_DIR": dir + "/state"], timeout: 120)
        }

        func start(_ file: String) throws -> Process {
            try lab.start("client", [Harness.chaos, "run", file, "--gate", "2s"], env: ["CHAOS_STATE_DIR": dir + "/state"])
        }

        deinit {
            for p in processes + Array(backends.values) where p.isRunning { kill(p.processIdentifier, SIGKILL) }
            lab.destroy()
        }
    }

    static func verdict(_ r: NetworkLab.Result) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)\n\(r.stderr)")
    }

    @Test("two backends behind haproxy: killing one passes")
    func redundantPasses() throws {
        let c = try Cluster(webs: 2)
        let r = try c.run(try c.experiment("kill-one-web", fault: "{type: process.kill}"))
        let json = try Self.verdict(r)
        let verdict = try #require(json["verdict"] as? [String: Any], "\(json) \(r.stderr)")
        #expect(verdict["outcome"] as? String == "passed", "\(verdict)\n\(r.stderr)")
        #expect(r.status == 0)
        #expect(Harness.isDead(c.backends["web1"]!.processIdentifier), "the backend really was killed")
        #expect(json["status"] as? String == "completed")
        // The stored run: listed, and rendered as one self-contained HTML file and as JUnit.
        let runID = try #require(json["runID"] as? String)
        let env = ["CHAOS_STATE_DIR": c.dir + "/state"]
        let list = try c.lab.run("client", [Harness.chaos, "verdicts"], env: env)
        #expect(list.status == 0 && list.stdout.contains(runID) && list.stdout.contains("passed"), "\(list.stdout)\(list.stderr)")
        let html = c.dir + "/report.html", junit = c.dir + "/junit.xml"
        #expect(try c.lab.run("client", [Harness.chaos, "report", runID, "-o", "html", "--file", html], env: env).status == 0)
        #expect(try c.lab.run("client", [Harness.chaos, "report", runID, "-o", "junit", "--file", junit], env: env).status == 0)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<svg") && page.contains("kill-one-web") && !page.contains("<script src"))
        #expect(try String(contentsOfFile: junit, encoding: .utf8).contains("<testcase"))
        let log = try String(contentsOfFile: c.dir + "/state/runs/verdicts.jsonl", encoding: .utf8)
        #expect(log.split(separator: "\n").count == 1 && log.contains(runID), "one line per verdict in the JSONL log")
    }

    @Test("a one-off with --observe ends with a verdict: a kill behind haproxy passes")
    func observedOneOff() throws {
        let c = try Cluster(webs: 2)
        let r = try c.lab.run("client", [Harness.chaos, "kill", "--pidfile", c.dir + "/web1.pid", "--observe", "http://10.79.0.10:8080/",
                                         "--observe-every", "250ms", "--recover-within", "10s", "--output", "json"],
                              env: ["CHAOS_STATE_DIR": c.dir + "/state"], timeout: 120)
        let verdict = try #require(try Self.verdict(r)["verdict"] as? [String: Any], "\(r.stderr)")
        #expect(verdict["outcome"] as? String == "passed", "\(verdict)")
        #expect(r.status == 0)
        #expect(Harness.isDead(c.backends["web1"]!.processIdentifier))
    }

    @Test("an experiment whose target selects more than safety.maxCount is refused, and nothing is injected")
    func blastRadius() throws {
        let name = "blast\(UInt16.random(in: 0...9999))"
        let a = try Harness.victim(named: name), b = try Harness.victim(named: name)
        defer { Harness.cleanup(a, b) }
        let dir = Harness.stateDir()
        try """
        apiVersion: chaos/v1
        kind: Experiment
        name: too-wide
        target: {process: {name: \(name)}}
        fault: {type: process.kill}
        probes:
          - {name: alive, type: command, command: [/bin/true], interval: 250ms, timeout: 250ms}
        safety: {maxCount: 1}
        """.write(toFile: dir + "/too-wide.yaml", atomically: true, encoding: .utf8)
        let r = try Harness.run(["run", dir + "/too-wide.yaml", "--gate", "1s"], state: dir)
        #expect(r.status == 1 && r.stderr.contains("safety.maxCount"), "\(r.stderr)")
        #expect(!Harness.isDead(a.processIdentifier) && !Harness.isDead(b.processIdentifier))
    }

    @Test("--dry-run observes the steady state and shows the planned fault; nothing is injected or stored")
    func dryRun() throws {
        let victim = try Harness.victim()
        defer { Harness.cleanup(victim) }
        let dir = Harness.stateDir()
        try """
        apiVersion: chaos/v1
        kind: Experiment
        name: dry
        target: {process: {pid: \(victim.processIdentifier)}}
        fault: {type: process.pause, duration: 10s}
        probes:
          - {name: alive, type: command, command: [/bin/true], interval: 250ms, timeout: 250ms}
        """.write(toFile: dir + "/dry.yaml", atomically: true, encoding: .utf8)
        let r = try Harness.run(["run", dir + "/dry.yaml", "--dry-run", "--gate", "1s"], state: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("SIGSTOP to \(victim.processIdentifier)") && r.stdout.contains("steady state: 100 %"), "\(r.stdout)")
        #expect(Harness.state(victim.processIdentifier) == "S")
        #expect(try Harness.run(["verdicts"], state: dir).stdout.contains("No runs stored"))
    }

    @Test("a stop condition aborts the run and reverts the fault at once")
    func stopCondition() throws {
        let c = try Cluster(webs: 1)
        let web1 = c.backends["web1"]!.processIdentifier
        let file = try c.experiment("pause-only-web", fault: "{type: process.pause, duration: 60s}", expect: "}\nstopWhen:\n  - {probe: lb, availabilityBelow: 50%, for: 1s")
        let started = Harness.nowMs()
        let r = try c.run(file)
        let json = try Self.verdict(r)
        #expect(json["status"] as? String == "aborted", "\(r.stderr)")
        #expect(r.status == 2)
        #expect(Harness.state(web1) != "T", "resumed")
        #expect(Harness.nowMs() - started < 30_000, "ended long before the fault's 60 s")
        let events = ((json["journal"] as? [String: Any])?["events"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        #expect(events.contains("stopTripped") && events.contains("reverted"), "\(events)")
    }

    @Test("a single backend: killing it fails with an outage as long as the backend was down, and the measured recovery agrees with the test's own")
    func spofFails() throws {
        let c = try Cluster(webs: 1)
        let file = try c.experiment("kill-only-web", fault: "{type: process.kill}")
        let victim = c.backends["web1"]!.processIdentifier
        // The test's own watch: when the backend died, when it restarted, when the LB answered again.
        let watch = Watch()
        let watcher = Thread {
            _ = Harness.waitUntil(timeout: 60) { Harness.isDead(victim) }
            watch.diedAt = Harness.nowMs()
            let restarter = Thread {
                Thread.sleep(forTimeInterval: 3)
                try? c.startBackend(1)
            }
            restarter.start()
            // Poll the load balancer from the kill on, as the run does.
            _ = Harness.waitUntil(timeout: 30) { (try? c.get()) == 200 }
            watch.backAt = Harness.nowMs()
        }
        watcher.start()
        let r = try c.run(file)
        let json = try Self.verdict(r)
        let verdict = try #require(json["verdict"] as? [String: Any], "\(json) \(r.stderr)")
        let figures = try #require(verdict["figures"] as? [String: Any])
        #expect(verdict["outcome"] as? String == "failed", "\(verdict["reasons"] ?? "") \(figures)")
        #expect((verdict["failures"] as? [String])?.contains("outage") == true)
        #expect(r.status == 1)
        _ = Harness.waitUntil(timeout: 30) { watch.backAt != nil }
        let died = try #require(watch.diedAt), back = try #require(watch.backAt)
        let ttr = try #require(figures["timeToRecoverMs"] as? Int64)
        let outage = try #require(figures["longestOutageMs"] as? Int64)
        // One probe interval (250 ms) plus 100 ms for the test's own polling (a curl in the namespace).
        #expect(abs(ttr - (back - died)) <= 250 + 100, "chaos measured \(ttr) ms, the test \(back - died) ms")
        print("recovery: chaos \(ttr) ms, test \(back - died) ms, outage \(outage) ms")
        #expect(outage >= 3000 && outage <= ttr + 250, "the outage (\(outage) ms) is as long as the backend was down")
    }

    @Test("steady state already broken: inconclusive, and nothing is injected")
    func brokenSteadyState() throws {
        let c = try Cluster(webs: 1)
        // web2 does not exist: point the victim at web1 but stop it from answering first.
        let web1 = c.backends["web1"]!.processIdentifier
        kill(web1, SIGSTOP)
        defer { kill(web1, SIGCONT) }
        let file = try c.experiment("kill-broken", fault: "{type: process.kill}")
        let r = try c.run(file)
        let verdict = try #require(try Self.verdict(r)["verdict"] as? [String: Any])
        #expect(verdict["outcome"] as? String == "inconclusive")
        #expect(verdict["inconclusive"] as? String == "steady_state_not_met")
        #expect(r.status == 2)
        #expect(!Harness.isDead(web1), "nothing injected")
    }

    @Test("SIGINT during the fault: reverted at once, stored as interrupted")
    func interrupted() throws {
        let c = try Cluster(webs: 2)
        let web1 = c.backends["web1"]!.processIdentifier
        let run = try c.start(try c.experiment("pause-one-web", fault: "{type: process.pause, duration: 60s}"))
        #expect(Harness.waitUntil(timeout: 20) { Harness.state(web1) == "T" }, "paused")
        kill(run.processIdentifier, SIGINT)
        run.waitUntilExit()
        #expect(run.terminationStatus == 2)
        #expect(Harness.state(web1) != "T", "resumed before the run ended")
        let list = try c.lab.run("client", [Harness.chaos, "verdicts", "--output", "json"], env: ["CHAOS_STATE_DIR": c.dir + "/state"])
        let runs = try #require((try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])?["runs"] as? [[String: Any]], "\(list.stderr)")
        #expect(runs.first?["status"] as? String == "interrupted", "\(runs)")
        #expect(runs.first?["experiment"] as? String == "pause-one-web")
    }
}

/// Times the test measures on its own.
final class Watch: @unchecked Sendable {
    var diedAt: Int64?
    var backAt: Int64?
}
