import ChaosCore
import ChaosLinux
import ChaosTesting
import Foundation
import Glibc
import Testing

/// deploy/sandbox/sandbox: real haproxy, redis and sentinels, an agent per host, in namespaces.
@Suite("The sandbox cluster comes up and goes away", .serialized, Requirements.integration("/usr/bin/curl", "/usr/bin/dot", "/usr/bin/python3", "/usr/bin/ss", "/usr/sbin/ip", "/usr/sbin/nft", "/usr/sbin/tc", "/usr/sbin/haproxy", "/usr/bin/redis-server", "/usr/bin/redis-sentinel", "/usr/bin/chromium", "/usr/bin/chromedriver"))
struct SandboxTests {
    static let script = Harness.root + "/deploy/sandbox/sandbox"

    /// Runs the script to completion with posix_spawn and waitpid (Foundation's Process did not
    /// notice the script's exit once it had left background processes behind, here), output to files.
    static func sandbox(_ args: [String], dir: String, timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
        let pid = try spawn(args + ["--dir", dir], output: dir + ".out")
        let end = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > end { kill(pid, SIGKILL) }
            usleep(20_000)
        }
        let read = { (f: String) in (try? String(contentsOfFile: f, encoding: .utf8)) ?? "" }
        return (status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), read(dir + ".out.1"), read(dir + ".out.2"))
    }

    /// Starts the script with a clean signal mask; stdout and stderr go to OUTPUT.1 and OUTPUT.2.
    static func spawn(_ args: [String], output: String) throws -> pid_t { try spawn(script, args, output: output) }

    /// Starts `executable` with a clean signal mask; stdout and stderr go to OUTPUT.1 and OUTPUT.2.
    static func spawn(_ script: String, _ args: [String], output: String, env extra: [String: String] = [:]) throws -> pid_t {
        try? FileManager.default.createDirectory(atPath: URL(fileURLWithPath: output).deletingLastPathComponent().path, withIntermediateDirectories: true)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output + ".1", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, output + ".2", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t(); sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var all = sigset_t(); sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let env = ProcessInfo.processInfo.environment.merging(["CHAOS_BIN": Harness.chaos].merging(extra) { $1 }) { $1 }.map { "\($0.key)=\($0.value)" }
        let argv: [UnsafeMutablePointer<CChar>?] = ([script] + args).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { for a in argv + envp { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, script, &actions, &attr, argv, envp)
        guard rc == 0 else { throw ChaosError("test.spawn", "posix_spawn \(script): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// A sandbox for one test: up (with `args`, e.g. `--variant spof`), the body with its directory,
    /// then down whatever happened.
    static func withSandbox(_ args: [String] = [], _ body: (String) throws -> Void) throws {
        let dir = Harness.stateDir() + "/sbx"
        defer { _ = try? sandbox(["down"], dir: dir) }
        let up = try sandbox(["up"] + args, dir: dir)
        try #require(up.status == 0, "sandbox up \(args.joined(separator: " ")): \(up.stderr)")
        try body(dir)
    }

    /// Namespaces and processes of the sandbox (by its directory, which every process names).
    static func leftovers(_ dir: String) -> (namespaces: Int, processes: Int, mounts: Int) {
        let spaces = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns"))?.filter { $0.hasPrefix("chsbx-") }.count ?? 0
        let procs = ProcFS.table().processes.filter { p in !p.isDead && p.cmdline.contains { $0.contains(dir) } }.count
        let mounts = ((try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? "").components(separatedBy: "\n").filter { $0.contains(dir) }.count
        return (spaces, procs, mounts)
    }

    @Test("up twice is one healthy cluster; up after a crash halfway cleans first; down twice leaves nothing")
    func upDown() throws {
        let dir = Harness.stateDir() + "/sbx"
        defer { _ = try? Self.sandbox(["down"], dir: dir) }
        let first = try Self.sandbox(["up"], dir: dir)
        try #require(first.status == 0, "\(first.stderr)")
        #expect(try Self.sandbox(["status"], dir: dir).status == 0)
        #expect(try Self.sandbox(["primary"], dir: dir).stdout.trimmingWhitespace() == "db1")
        #expect(try Self.spofs(dir) == ["service haproxy"], "ha: the single load balancer is the only suspected SPOF; the database is redundant")
        let again = try Self.sandbox(["up"], dir: dir)
        #expect(again.status == 0 && again.stderr.contains("already up"))
        #expect(ProcFS.table().processes.filter { !$0.isDead && $0.cmdline.joined(separator: " ").hasPrefix("redis-server 10.80.0.") }.count == 3,
                "one cluster: three redis servers")
        // Killed halfway through a rebuild (the spof variant replaces the ha one), then up again.
        let crashed = try Self.spawn(["up", "--variant", "spof", "--dir", dir], output: dir + ".crash")
        Thread.sleep(forTimeInterval: 1.5)
        kill(crashed, SIGKILL)
        var status: Int32 = 0
        waitpid(crashed, &status, 0)
        let spof = try Self.sandbox(["up", "--variant", "spof"], dir: dir)
        #expect(spof.status == 0, "\(spof.stderr)")
        #expect(try Self.sandbox(["status"], dir: dir).stdout.contains("variant: spof"))
        #expect(try Self.spofs(dir) == ["service haproxy", "service redis-db"], "spof: the single redis is suspected too")
        #expect(ProcFS.table().processes.filter { !$0.isDead && $0.cmdline.joined(separator: " ").hasPrefix("redis-server 10.80.0.") }.count == 1,
                "exactly one cluster: the spof variant's single redis")
        #expect(try Self.sandbox(["down"], dir: dir).status == 0)
        #expect(try Self.sandbox(["down"], dir: dir).status == 0)
        let left = Self.leftovers(dir)
        #expect(left.namespaces == 0 && left.processes == 0 && left.mounts == 0, "\(left)")
    }

    /// The suspected SPOFs `chaos spof analyze` finds in the sandbox's generated inventory.
    static func spofs(_ dir: String) throws -> [String] {
        let r = try Harness.run(["spof", "analyze", "--inventory", dir + "/inventory.yaml", "--output", "json"], state: dir + ".state")
        let report = try JSONDecoder().decode(SPOFAnalysis.Report.self, from: Data(r.stdout.utf8))
        return report.spofs.map(\.component)
    }

    /// `chaos run` from the sandbox's client host, through the agents.
    static func run(_ experiment: String, dir: String) throws -> [String: Any] {
        let r = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", "chsbx-client", Harness.chaos, "run", Harness.root + "/experiments/sandbox/" + experiment,
                                     "--inventory", dir + "/inventory.yaml", "--gate", "2s", "--output", "json"],
                                    env: ["CHAOS_IDENTITY": "sandbox", "CHAOS_PKI_DIR": dir + "/pki", "CHAOS_STATE_DIR": dir + ".state"], timeout: 120)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)\n\(r.stderr)")
        return json
    }

    /// Starts and exits of supervised services (DIR/logs/events.log): (epoch ms, "start"|"exit", name).
    static func events(_ dir: String) -> [(at: Int64, what: String, name: String)] {
        ((try? String(contentsOfFile: dir + "/logs/events.log", encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count >= 3, let at = Int64(f[0]) else { return nil }
            return (at, String(f[1]), String(f[2]))
        }
    }

    static func figure(_ verdict: [String: Any], _ name: String) -> Int64 {
        ((verdict["figures"] as? [String: Any])?[name] as? NSNumber)?.int64Value ?? -1
    }

    @Test("killing db-primary: the ha variant fails over and passes; the spof variant fails with an outage as long as Redis was down")
    func killDBPrimary() throws {
        try Self.withSandbox { dir in
            let ha = try Self.run("kill-db-primary.yaml", dir: dir)
            let haVerdict = try #require(ha["verdict"] as? [String: Any])
            #expect(haVerdict["outcome"] as? String == "passed", "\(haVerdict)")
            let moved = try Self.sandbox(["primary"], dir: dir).stdout.trimmingWhitespace()
            #expect(["db2", "db3"].contains(moved), "a replica was promoted: \(moved)")
            let haTTR = Self.figure(haVerdict, "timeToRecoverMs")
            #expect(haTTR > 0 && haTTR < 15_000, "the site was down until the failover: \(haTTR) ms")

            try #require(try Self.sandbox(["up", "--variant", "spof"], dir: dir).status == 0)
            let spof = try Self.run("kill-db-primary.yaml", dir: dir)
            let spofVerdict = try #require(spof["verdict"] as? [String: Any])
            #expect(spofVerdict["outcome"] as? String == "failed", "\(spofVerdict)")
            #expect((spofVerdict["failures"] as? [String] ?? []).contains("outage"), "\(spofVerdict)")
            // Right for the right reason: the outage lasted as long as Redis was down (its supervisor's
            // exit and restart), plus the app and haproxy noticing (rise 2 x 500 ms), within a probe interval.
            let redis = Self.events(dir).filter { $0.name == "redis-db1" }
            let exit = try #require(redis.first { $0.what == "exit" }, "redis was killed")
            let restart = try #require(redis.last { $0.what == "start" && $0.at > exit.at }, "and restarted")
            let down = restart.at - exit.at
            let outage = Self.figure(spofVerdict, "longestOutageMs")
            print("[sandbox] spof kill: redis down \(down) ms, outage \(outage) ms")
            #expect(outage >= down - 500 && outage <= down + 3000, "outage \(outage) ms vs redis down \(down) ms")
        }
    }

    @Test("a full disk on db-primary: ha fails over (Redis refuses even PING) and passes; spof fails with an outage as long as the disk was full; no fill file is left")
    func fillDisk() throws {
        try Self.withSandbox { dir in
            // A one-off on the host an inventory target is on now: `--target` for host-wide faults.
            let oneOff = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", "chsbx-client", Harness.chaos, "disk", "fill", "--inventory", dir + "/inventory.yaml",
                                              "--target", "db-primary", "--path", "/srv/redis", "--percent", "50", "--for", "1s"],
                                             env: ["CHAOS_IDENTITY": "sandbox", "CHAOS_PKI_DIR": dir + "/pki", "CHAOS_STATE_DIR": dir + ".state"], timeout: 60)
            #expect(oneOff.status == 0 && oneOff.stdout.contains("on db1"), "\(oneOff.stdout) \(oneOff.stderr)")
            let ha = try Self.run("fill-db-disk.yaml", dir: dir)
            let haVerdict = try #require(ha["verdict"] as? [String: Any])
            #expect(haVerdict["outcome"] as? String == "passed", "\(haVerdict)")
            let moved = try Self.sandbox(["primary"], dir: dir).stdout.trimmingWhitespace()
            #expect(moved != "db1", "the sentinels failed the full primary over")
            #expect(!Self.events(dir).contains { $0.what == "exit" && $0.name.hasPrefix("redis") }, "no Redis died: the failover came from the full disk")
            let log = (try? String(contentsOfFile: dir + "/logs/redis-db1.log", encoding: .utf8)) ?? ""
            #expect(log.contains("AOF"), "db1 could not write its append-only file")
            #expect(Self.figure(haVerdict, "longestOutageMs") <= 5000)
            let haLeft = try Self.sandbox(["leftovers"], dir: dir)
            #expect(haLeft.status == 0, "\(haLeft.stdout)")

            try #require(try Self.sandbox(["up", "--variant", "spof"], dir: dir).status == 0)
            let spof = try Self.run("fill-db-disk.yaml", dir: dir)
            let spofVerdict = try #require(spof["verdict"] as? [String: Any])
            #expect(spofVerdict["outcome"] as? String == "failed", "\(spofVerdict)")
            let journal = try #require(spof["journal"] as? [String: Any])
            let events = journal["events"] as? [[String: Any]] ?? []
            let at = { (kind: String) in (events.first { $0["kind"] as? String == kind }?["at"] as? NSNumber)?.int64Value ?? 0 }
            let full = at("reverted") - at("injected")
            let outage = Self.figure(spofVerdict, "longestOutageMs")
            print("[sandbox] spof fill: disk full \(full) ms, outage \(outage) ms")
            // Down from the first write refused (within a second of the fill) until Redis retries its log (each second).
            #expect(outage >= full - 2000 && outage <= full + 2000, "outage \(outage) ms vs disk full \(full) ms")
            #expect(!Self.events(dir).contains { $0.what == "exit" && $0.name.hasPrefix("redis") }, "Redis stayed up, refusing writes")
            let left = try Self.sandbox(["leftovers"], dir: dir)
            #expect(left.status == 0, "\(left.stdout)")
        }
    }

    /// Local ports of `host`'s established connections to `address:port` (`ss` in its namespace).
    static func connections(_ host: String, to address: String, port: Int) throws -> Set<String> {
        let out = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", "chsbx-" + host, "/usr/bin/ss", "-Htn", "state", "established", "dst", "\(address):\(port)"], timeout: 10).stdout
        return Set(out.split(separator: "\n").compactMap { line in line.split(separator: " ", omittingEmptySubsequences: true).dropLast().last.map(String.init) })
    }

    @Test("delay-db-pooled: the apps' pooled Redis connections, open before the fault, carry the delay (site p50 +150 ms during, fast before and after) and survive it; the verdict passes with the latency shown; nothing is left")
    func delayPooled() throws {
        try Self.withSandbox { dir in
            let before = try Self.connections("app1", to: "10.80.0.21", port: 6379).union(try Self.connections("app2", to: "10.80.0.21", port: 6379))
            try #require(!before.isEmpty, "the apps hold pooled connections to the primary before the fault")
            let run = try Self.run("delay-db-pooled.yaml", dir: dir)
            let verdict = try #require(run["verdict"] as? [String: Any])
            #expect(verdict["outcome"] as? String == "passed", "\(verdict)")
            let latency = (verdict["figures"] as? [String: Any])?["latency"] as? [String: [String: Any]] ?? [:]
            func p50(_ phase: String) -> Double { (latency[phase]?["p50"] as? NSNumber)?.doubleValue ?? -1 }
            print("[sandbox] delay-db-pooled: site p50 before \(p50("before")) ms, during \(p50("during")) ms, after \(p50("after")) ms")
            #expect(p50("before") >= 0 && p50("before") < 100, "fast before: \(latency)")
            #expect(p50("during") >= 150, "every /health waits for a delayed reply on a pooled connection: \(latency)")
            #expect(p50("after") >= 0 && p50("after") < 100, "fast again after: \(latency)")
            let after = try Self.connections("app1", to: "10.80.0.21", port: 6379).union(try Self.connections("app2", to: "10.80.0.21", port: 6379))
            #expect(!before.intersection(after).isEmpty, "the same pooled connections were delayed and survived (no reset): before \(before), after \(after)")
            let left = try Self.sandbox(["leftovers"], dir: dir)
            #expect(left.status == 0, "\(left.stdout)")
        }
    }

    @Test("a game day runs a suite in order, scores it, writes one HTML report and the JSONL log, and leaves nothing behind")
    func gameday() throws {
        try Self.withSandbox { dir in
            let suite = Harness.stateDir()
            try FileManager.default.copyItem(atPath: Harness.root + "/experiments/sandbox/kill-app-replica.yaml", toPath: suite + "/kill-app-replica.yaml")
            // The load balancer counts three times as much in the score.
            let lb = try String(contentsOfFile: Harness.root + "/experiments/sandbox/stop-lb.yaml", encoding: .utf8)
            try (lb + "weight: 3\n").write(toFile: suite + "/stop-lb.yaml", atomically: true, encoding: .utf8)
            let state = dir + ".state"
            let report = suite + "/gameday.html"
            let r = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", "chsbx-client", Harness.chaos, "gameday", suite, "--inventory", dir + "/inventory.yaml",
                                         "--gate", "2s", "--report", report, "--output", "json"],
                                        env: ["CHAOS_IDENTITY": "sandbox", "CHAOS_PKI_DIR": dir + "/pki", "CHAOS_STATE_DIR": state], timeout: 180)
            #expect(r.status == 1, "a failed experiment makes the game day fail: \(r.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)")
            let runs = json["runs"] as? [[String: Any]] ?? []
            #expect(runs.map { $0["experiment"] as? String } == ["kill-app-replica", "stop-lb"], "in order")
            #expect(runs.map { $0["outcome"] as? String } == ["passed", "failed"], "the single load balancer is a SPOF")
            #expect(json["score"] as? Double == 25, "weighted: 1 of 1 + 3")
            let page = try String(contentsOfFile: report, encoding: .utf8)
            #expect(page.contains("kill-app-replica") && page.contains("stop-lb") && page.contains("<svg"))
            let log = try String(contentsOfFile: state + "/runs/verdicts.jsonl", encoding: .utf8)
            #expect(log.split(separator: "\n").count == 2)
            // Nothing left: no chaos nft table or qdisc on any host, no stopped process.
            for host in ["lb", "app1", "app2", "db1", "db2", "db3", "client"] {
                let tables = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", "chsbx-" + host, "/usr/sbin/nft", "list", "tables"], timeout: 10).stdout
                let qdiscs = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", "chsbx-" + host, "/usr/sbin/tc", "qdisc", "show"], timeout: 10).stdout
                #expect(!tables.contains("chaos_") && !qdiscs.contains("c4a"), "\(host): \(tables) \(qdiscs)")
                let pids = try NetworkLab.exec(["/usr/sbin/ip", "netns", "pids", "chsbx-" + host], timeout: 10).stdout.split(separator: "\n").compactMap { Int32($0) }
                #expect(!pids.isEmpty && pids.allSatisfy { Harness.state($0) != "T" }, "\(host): a stopped process is left")
            }
            let left = try Self.sandbox(["leftovers"], dir: dir)
            #expect(left.status == 0, "\(left.stdout)")
        }
    }

    /// `chaos spof verify` from the client host: its exit status and JSON.
    static func verify(_ dir: String, inventory: String, _ extra: [String]) throws -> (status: Int32, json: [String: Any], stderr: String) {
        let r = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", "chsbx-client", Harness.chaos, "spof", "verify", "--inventory", inventory,
                                     "--gate", "3s", "--max-outage", "6s", "--recover-within", "25s", "--output", "json"] + extra,
                                    env: ["CHAOS_IDENTITY": "sandbox", "CHAOS_PKI_DIR": dir + "/pki", "CHAOS_STATE_DIR": dir + ".state"], timeout: 400)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)\n\(r.stderr)")
        return (r.status, json, r.stderr)
    }

    /// The proof's entries by component: (proven, agrees, failoverMs, outageMs).
    static func proven(_ json: [String: Any]) -> [String: (proven: String, agrees: Bool?, failover: Int64?, outage: Int64?)] {
        Dictionary(uniqueKeysWithValues: (json["entries"] as? [[String: Any]] ?? []).map { e in
            (e["component"] as? String ?? "?", (e["proven"] as? String ?? "?", e["agrees"] as? Bool,
                                                (e["failoverMs"] as? NSNumber)?.int64Value, (e["outageMs"] as? NSNumber)?.int64Value))
        })
    }

    @Test("spof verify proves the analysis on real HA software: ha confirms the single load balancer and shows the database redundant (the primary killed, a failover timed); spof confirms the single redis too; a map that calls redis soft is refuted; nothing is left")
    func spofVerify() throws {
        // Killed services come back after 12 s (as systemd's RestartSec would): a SPOF's outage is
        // that long, well over the 6 s allowed; a sentinel failover takes about 2 s.
        try Self.withSandbox(["--restart-after", "12"]) { dir in
            // The plan's files validate (the same experiments verify runs).
            let planned = Harness.stateDir() + "/plan"
            let plan = try Harness.run(["spof", "plan", "--inventory", dir + "/inventory.yaml", "--out", planned], state: dir + ".state")
            #expect(plan.status == 0, "\(plan.stderr)")
            let valid = try Harness.run(["validate", planned], state: dir + ".state")
            #expect(valid.status == 0 && valid.stdout.components(separatedBy: ": ok (Experiment").count == 7,
                    "four experiments and one per zone: \(valid.stdout)\(valid.stderr)")

            try Self.mapDiscovery(dir)

            // Zone a (db1 and app1) cut off at once: predicted to survive (each tier keeps an instance
            // in zone b; the sentinels there promote a replica if db1 was the primary). Zone b holds
            // the only load balancer, which spof-haproxy proves already, so it is not run here.
            let report = dir + ".state/spof-ha.html"
            let ha = try Self.verify(dir, inventory: dir + "/inventory.yaml",
                                     ["--report", report] + ["spof-haproxy", "redundancy-web", "redundancy-redis-db", "redundancy-sentinels", "domain-zone-a"].flatMap { ["--only", $0] })
            let haProof = Self.proven(ha.json)
            print("[sandbox] spof verify ha: \(haProof)")
            #expect(ha.status == 0, "every component proven as predicted: \(ha.json["summary"] ?? "")\n\(ha.stderr)")
            #expect(haProof["service haproxy"]?.proven == "confirmed_spof" && haProof["service haproxy"]?.agrees == true, "the single load balancer")
            for redundant in ["service web", "service redis-db", "service sentinels"] {
                #expect(haProof[redundant]?.proven == "redundant_survived" && haProof[redundant]?.agrees == true, "\(redundant): \(String(describing: haProof[redundant]))")
            }
            // The zone prediction, proven: every host of zone a cut off, the site up (a failover and
            // a slower sentinel lookup at most).
            let zone = haProof["zone a"]
            #expect(zone?.agrees == true && ["redundant_survived", "degraded"].contains(zone?.proven ?? ""), "zone a: \(String(describing: zone))")
            #expect((zone?.outage ?? 99_999) < 6000, "zone a: \(String(describing: zone))")
            // And the zone was really cut off: haproxy lost app1 to a timeout (a killed app is refused instead).
            let haproxyLog = (try? String(contentsOfFile: dir + "/logs/haproxy.log", encoding: .utf8)) ?? ""
            #expect(haproxyLog.contains("Server apps/app1 is DOWN, reason: Layer4 timeout"), "\(haproxyLog.suffix(2000))")
            let zoneRun = (ha.json["runs"] as? [[String: Any]] ?? []).first { $0["experiment"] as? String == "domain-zone-a" }
            #expect(zoneRun?["host"] as? String == "zone:a" && (zoneRun?["target"] as? String ?? "").contains("(app1, db1)"), "\(String(describing: zoneRun))")
            // The database's redundancy was proven on its primary (the inventory's db-primary target):
            // the sentinels promoted a replica, and the failover showed as a short outage.
            let primary = try Self.sandbox(["primary"], dir: dir).stdout.trimmingWhitespace()
            #expect(["db2", "db3"].contains(primary), "the primary was killed and a replica promoted: \(primary)")
            let failover = haProof["service redis-db"]?.failover ?? -1
            #expect(failover > 0 && failover < 6000, "a failover is not free: \(failover) ms")
            // Right for the right reason: the load balancer's outage is as long as haproxy was down.
            let haproxy = Self.events(dir).filter { $0.name == "haproxy" }
            let exit = try #require(haproxy.first { $0.what == "exit" }, "haproxy was killed")
            let back = try #require(haproxy.last { $0.what == "start" && $0.at > exit.at }, "and restarted")
            let lbOutage = haProof["service haproxy"]?.outage ?? -1
            #expect(lbOutage >= back.at - exit.at - 500 && lbOutage <= back.at - exit.at + 3000, "outage \(lbOutage) ms vs haproxy down \(back.at - exit.at) ms")
            let page = try String(contentsOfFile: report, encoding: .utf8)
            #expect(page.contains("Prediction and proof") && page.contains("confirmed SPOF") && page.contains("redundant — survived") && page.contains("<svg"))
            let copy = try String(contentsOfFile: dir + ".state/spof-ha.json", encoding: .utf8)
            #expect(copy.contains("\"redundant_survived\""))
            // The map as proven: the load balancer red, the database green with its failover time.
            let dot = try String(contentsOfFile: dir + ".state/spof-ha.dot", encoding: .utf8)
            let node = { (name: String) in dot.split(separator: "\n").first { $0.hasPrefix("  \"\(name)\" [") }.map(String.init) ?? "" }
            #expect(node("haproxy").contains("SPOF (proven)") && node("redis-db").contains("xlabel=\"survived "), "\(dot)")
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/dot") {
                let svg = try NetworkLab.exec(["/usr/bin/dot", "-Tsvg", dir + ".state/spof-ha.dot", "-o", dir + ".state/spof-ha.svg"], timeout: 30)
                #expect(svg.status == 0, "\(svg.stderr)")
            }
            #expect(try Self.sandbox(["leftovers"], dir: dir).status == 0)

            try #require(try Self.sandbox(["up", "--variant", "spof", "--restart-after", "12"], dir: dir).status == 0)
            let spof = try Self.verify(dir, inventory: dir + "/inventory.yaml", ["spof-haproxy", "spof-redis-db", "redundancy-web"].flatMap { ["--only", $0] })
            let spofProof = Self.proven(spof.json)
            print("[sandbox] spof verify spof: \(spofProof)")
            #expect(spof.status == 0, "\(spof.json["summary"] ?? "")\n\(spof.stderr)")
            #expect(spofProof["service redis-db"]?.proven == "confirmed_spof" && spofProof["service redis-db"]?.agrees == true, "the single redis")
            #expect(spofProof["service haproxy"]?.proven == "confirmed_spof")
            #expect(spofProof["service web"]?.proven == "redundant_survived")
            #expect((spofProof["service redis-db"]?.outage ?? 0) > 6000)

            // A wrong map: someone believes the app only caches in Redis (a soft dependency). The
            // analysis predicts a slowdown; the proof is an outage, and verify says they disagree.
            let wrong = dir + ".state/wrong-map.yaml"
            let map = try String(contentsOfFile: dir + "/inventory.yaml", encoding: .utf8)
            try #require(map.contains("- {from: web, to: redis-db}"))
            try map.replacing("- {from: web, to: redis-db}", with: "- {from: web, to: redis-db, kind: soft}").write(toFile: wrong, atomically: true, encoding: .utf8)
            let refuted = try Self.verify(dir, inventory: wrong, ["--only", "slow-redis-db"])
            let refutedProof = Self.proven(refuted.json)
            #expect(refuted.status == 1, "a disagreement: \(refuted.stderr)")
            #expect(refutedProof["service redis-db"]?.proven == "confirmed_spof" && refutedProof["service redis-db"]?.agrees == false, "\(refutedProof)")
            #expect(try Self.sandbox(["leftovers"], dir: dir).status == 0)
        }
    }

    /// `chaos map discover` and `map diff` from the client host, on a fresh ha sandbox: the hosts
    /// show haproxy → apps → Redis, the apps' and sentinels' links, Redis replication as peers,
    /// without the inventory's `services`; the written map agrees; with a dependency removed from
    /// it, diff names that dependency.
    static func mapDiscovery(_ dir: String) throws {
        let env = ["CHAOS_IDENTITY": "sandbox", "CHAOS_PKI_DIR": dir + "/pki", "CHAOS_STATE_DIR": dir + ".state"]
        func chaos(_ args: [String]) throws -> (status: Int32, json: [String: Any], stderr: String) {
            let r = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", "chsbx-client", Harness.chaos] + args + ["--output", "json"], env: env, timeout: 120)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(args): \(r.stdout)\n\(r.stderr)")
            return (r.status, json, r.stderr)
        }
        // The inventory without its map: discovery must not read it.
        let inventory = try String(contentsOfFile: dir + "/inventory.yaml", encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + ".state", withIntermediateDirectories: true)
        let hostsOnly = dir + ".state/hosts-only.yaml"
        try String(inventory[..<inventory.range(of: "services:")!.lowerBound]).write(toFile: hostsOnly, atomically: true, encoding: .utf8)
        let found = try chaos(["map", "discover", "--inventory", hostsOnly, "--watch", "3s", "--every", "1s"])
        #expect(found.status == 0, "\(found.stderr)")
        let map = try #require(found.json["map"] as? [String: Any])
        let services = Dictionary(uniqueKeysWithValues: (map["services"] as? [[String: Any]] ?? []).map { s in
            (s["name"] as? String ?? "?", ((s["instances"] as? [[String: Any]]) ?? []).compactMap { $0["host"] as? String })
        })
        #expect(services["haproxy"] == ["lb"] && services["python3"] == ["app1", "app2"], "\(services)")
        #expect(services["redis-server"] == ["db1", "db2", "db3"] && services["redis-sentinel"] == ["db1", "db2", "db3"], "\(services)")
        let edges = Set((map["dependencies"] as? [[String: Any]] ?? []).map { "\($0["from"] as? String ?? "")→\($0["to"] as? String ?? "")\($0["peers"] as? Bool == true ? " (peers)" : "")" })
        print("[sandbox] discovered: \(edges.sorted())")
        for e in ["haproxy→python3", "python3→redis-server", "python3→redis-sentinel", "redis-sentinel→redis-server", "redis-server→redis-server (peers)"] {
            #expect(edges.contains(e), "\(e) in \(edges.sorted())")
        }
        let same = try chaos(["map", "diff", "--inventory", dir + "/inventory.yaml", "--watch", "3s", "--every", "1s"])
        let findings = (same.json["report"] as? [String: Any])?["findings"] as? [[String: Any]] ?? []
        #expect(same.status == 0 && same.json["agrees"] as? Bool == true, "the written map agrees: \(findings)\n\(same.stderr)")
        let wrong = dir + ".state/no-redis-dependency.yaml"
        try #require(inventory.contains("  - {from: web, to: redis-db}\n"))
        try inventory.replacing("  - {from: web, to: redis-db}\n", with: "").write(toFile: wrong, atomically: true, encoding: .utf8)
        let diff = try chaos(["map", "diff", "--inventory", wrong])
        let named = ((diff.json["report"] as? [String: Any])?["findings"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "undeclared_dependency" }.compactMap { $0["subject"] as? String }
        #expect(diff.status == 1 && named == ["web → redis-db"], "\(named) \(diff.stderr)")
    }

    /// App replica processes stopped (paused) now.
    static func pausedApps() -> [Int32] {
        ["app1", "app2"].flatMap { h in
            ((try? NetworkLab.exec(["/usr/sbin/ip", "netns", "pids", "chsbx-" + h], timeout: 10).stdout) ?? "").split(separator: "\n").compactMap { Int32($0) }
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
        try Self.withSandbox { dir in
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
            let argv = ["netns", "exec", "chsbx-client", Harness.chaos, "controller", "--config", config]
            var controller = try Self.spawn("/usr/sbin/ip", argv, output: dir + "/controller.out")
            defer { kill(controller, SIGKILL); var st: Int32 = 0; waitpid(controller, &st, WNOHANG) }

            // The first fire comes at the next minute (a fresh controller does not run what was due before it).
            let started = Harness.waitUntil(timeout: 80) { Self.controllerLog(dir).contains("starting 'pause-app-every-minute'") }
            try #require(started, "no fire within 80 s:\n\(Self.controllerLog(dir))")
            #expect(Self.controllerLog(dir).contains("skipped \(exp)/broken.yaml (invalid, not loaded)"), "an invalid file is reported and skipped")
            let runID = try #require(Self.controllerLog(dir).split(separator: "\n").first { $0.contains("starting 'pause-app") }?.split(separator: " ").last.map(String.init))
            let stopped = Self.pausedApps
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
            controller = try Self.spawn("/usr/sbin/ip", argv, output: dir + "/controller.out")
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
            let verdicts = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", "chsbx-client", Harness.chaos, "verdicts", "--store-dir", dir + ".cstate/runs", "--output", "json"],
                                               env: ["CHAOS_STATE_DIR": dir + ".state"], timeout: 30)
            let runs = ((try? JSONSerialization.jsonObject(with: Data(verdicts.stdout.utf8))) as? [String: Any])?["runs"] as? [[String: Any]] ?? []
            #expect(runs.contains { $0["runID"] as? String == runID && $0["status"] as? String == "interrupted" }, "\(verdicts.stdout)")
            #expect(runs.count == 2 && runs.allSatisfy { $0["status"] as? String == "interrupted" }, "\(verdicts.stdout)")
            let left = try Self.sandbox(["leftovers"], dir: dir)
            #expect(left.status == 0, "\(left.stdout)")
        }
    }

    @Test("a blackout that begins during a scheduled run halts it: reverted at once, stored aborted with the reason")
    func controllerBlackout() throws {
        try Self.withSandbox { dir in
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
            let controller = try Self.spawn("/usr/sbin/ip", ["netns", "exec", "chsbx-client", Harness.chaos, "controller", "--config", config], output: dir + "/controller.out")
            defer { kill(controller, SIGKILL); var st: Int32 = 0; waitpid(controller, &st, WNOHANG) }
            let ended = Harness.waitUntil(timeout: 140) { Self.controllerLog(dir).contains("run r-") && Self.controllerLog(dir).contains("(aborted)") }
            #expect(ended, "\(Self.controllerLog(dir))")
            let halted = Date().timeIntervalSince1970
            print("[sandbox] blackout at +8 s: the run ended \(halted - fire) s after it started (its fault was 40 s)")
            #expect(halted - fire < 20, "halted when the blackout began, not at the fault's end")
            let verdicts = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", "chsbx-client", Harness.chaos, "report", "--last", "1", "-o", "json",
                                                "--store-dir", dir + ".cstate/runs"], env: ["CHAOS_STATE_DIR": dir + ".state"], timeout: 30)
            #expect(verdicts.stdout.contains("halted: blackout (freeze) began"), "\(verdicts.stdout.prefix(2000))")
            let left = try Self.sandbox(["leftovers"], dir: dir)
            #expect(left.status == 0, "\(left.stdout)")
        }
    }

    @Test("halt from the dashboard (headless Chromium) during a scheduled run: reverted within a second, the run stored aborted, the next fire blocked until 'chaos resume --controller', then the next one runs to its verdict; audit, webhooks and metrics record it")
    func controllerHaltDashboard() throws {
        try Self.withSandbox { dir in
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
            let receiver = try Self.spawn("/usr/sbin/ip", ["netns", "exec", "chsbx-client", "/usr/bin/python3", "-c", """
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
            let controller = try Self.spawn("/usr/sbin/ip", ["netns", "exec", "chsbx-client", Harness.chaos, "controller", "--config", config], output: dir + "/controller.out")
            defer { kill(controller, SIGKILL); var st: Int32 = 0; waitpid(controller, &st, WNOHANG) }
            let stopped = Self.pausedApps
            try #require(Harness.waitUntil(timeout: 80) { Self.controllerLog(dir).contains("starting 'pause-app-halted'") }, "no fire: \(Self.controllerLog(dir))")
            try #require(Harness.waitUntil(timeout: 15) { !stopped().isEmpty }, "an app replica is paused")
            #expect(Self.controllerLog(dir).contains("victim app") && Self.controllerLog(dir).contains("group apps: 2/2 healthy, minHealthy 1"),
                    "the victim host is chosen among the target's hosts, with the group's health asked: \(Self.controllerLog(dir))")
            let paused = stopped()

            // The dashboard, in headless Chromium, halts through its button.
            let shots = Harness.root + "/.build/artifacts/dashboard"
            let browser = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", "chsbx-client", "/usr/bin/python3", Harness.root + "/Tests/browser/dashboard.py",
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
            let resume = try NetworkLab.exec(["/usr/sbin/ip", "netns", "exec", "chsbx-client", Harness.chaos, "resume", "--controller", "http://127.0.0.1:17434", "--token", bot.token],
                                             env: ["CHAOS_PKI_DIR": dir + "/pki"], timeout: 30)
            #expect(resume.status == 0, "\(resume.stdout) \(resume.stderr)")
            let audit = try NetworkLab.exec(["/usr/bin/curl", "-s", "-H", "Authorization: Bearer \(bot.token)", "http://127.0.0.1:17434/api/v1/audit"].withNetns("chsbx-client"), timeout: 10)
            #expect(audit.stdout.contains("\"who\":\"sre-alice (operator, token)\"") && audit.stdout.contains("\"action\":\"halt\"") && audit.stdout.contains("\"who\":\"ci-bot (operator, token)\""), "\(audit.stdout)")
            let overview = try NetworkLab.exec(["/usr/bin/curl", "-s", "-H", "Authorization: Bearer \(bot.token)", "http://127.0.0.1:17434/api/v1/overview"].withNetns("chsbx-client"), timeout: 10)
            let agents = ((try? JSONSerialization.jsonObject(with: Data(overview.stdout.utf8))) as? [String: Any])?["agents"] as? [String: Any]
            #expect(agents?["total"] as? Int == 7 && agents?["reachable"] as? Int == agents?["total"] as? Int, "every sandbox agent answers the controller's poll: \(overview.stdout.prefix(800))")
            let metrics = try NetworkLab.exec(["/usr/bin/curl", "-s", "-H", "Authorization: Bearer \(bot.token)", "http://127.0.0.1:17434/metrics"].withNetns("chsbx-client"), timeout: 10)
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
            let runs = try NetworkLab.exec(["/usr/bin/curl", "-s", "-H", "Authorization: Bearer \(bot.token)", "http://127.0.0.1:17434/api/v1/runs"].withNetns("chsbx-client"), timeout: 10)
            let stored = ((try? JSONSerialization.jsonObject(with: Data(runs.stdout.utf8))) as? [String: Any])?["runs"] as? [[String: Any]] ?? []
            #expect(stored.map { $0["status"] as? String ?? "?" }.sorted() == ["aborted", "completed"], "\(runs.stdout.prefix(500))")
            #expect(Harness.waitUntil(timeout: 10) { ((try? String(contentsOfFile: hooks, encoding: .utf8)) ?? "").contains("\"status\":\"completed\"") })
            let left = try Self.sandbox(["leftovers"], dir: dir)
            #expect(left.status == 0, "\(left.stdout)")
        }
    }
}

private extension Array where Element == String {
    func withNetns(_ ns: String) -> [String] { ["/usr/sbin/ip", "netns", "exec", ns] + self }
}
