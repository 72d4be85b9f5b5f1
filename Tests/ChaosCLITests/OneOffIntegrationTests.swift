import ChaosCore
import ChaosFaults
import ChaosLinux
import ChaosTesting
import Foundation
import Glibc
import Testing

/// The one-off commands against real processes and a real tmpfs, through the real binary.
@Suite("One-off faults on this host", .serialized, Requirements.integration("/usr/bin/python3"))
struct OneOffIntegrationTests {
    @Test("chaos kill --pid kills exactly that process and confirms it from /proc")
    func killPID() throws {
        let state = Harness.stateDir()
        let victim = try Harness.victim(), bystander = try Harness.victim()
        defer { Harness.cleanup(victim, bystander) }
        let out = try Harness.run(["kill", "--pid", String(victim.processIdentifier), "--output", "json"], state: state)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(Harness.isDead(victim.processIdentifier))
        #expect(!Harness.isDead(bystander.processIdentifier))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        #expect(json["state"] as? String == "done")
        #expect(json["kind"] as? String == "process.kill")
    }

    @Test("chaos kill --name --count 1 kills one of three, and --signal TERM is honoured")
    func killByNameCount() throws {
        let state = Harness.stateDir()
        let name = "cvict\(UInt32.random(in: 100_000...999_999))"
        let victims = try (0..<3).map { _ in try Harness.victim(named: name) }
        defer { for v in victims { Harness.cleanup(v) } }
        let out = try Harness.run(["kill", "--name", name, "--count", "1", "--signal", "TERM"], state: state)
        let signals = (try? String(contentsOfFile: "/proc/\(victims[0].processIdentifier)/status", encoding: .utf8))?
            .split(separator: "\n").filter { $0.hasPrefix("Sig") }.joined(separator: " ") ?? ""
        #expect(out.status == 0, "\(out.stderr) \(signals)")
        #expect(out.stdout.contains("send SIGTERM to"))
        #expect(victims.filter { Harness.isDead($0.processIdentifier) }.count == 1)
    }

    @Test("chaos kill --port kills the process listening on that TCP port")
    func killByPort() throws {
        let state = Harness.stateDir()
        let port = Int.random(in: 40_000...50_000)
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        listener.arguments = ["-c", "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('127.0.0.1',\(port)))\ns.listen()\ntime.sleep(300)"]
        try listener.run()
        defer { Harness.cleanup(listener) }
        #expect(Harness.waitUntil(timeout: 10) { !ProcFS.listeningInodes(port: port).isEmpty })
        let dry = try Harness.run(["kill", "--port", String(port), "--dry-run"], state: state)
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("send SIGKILL to \(listener.processIdentifier) (python3)"))
        #expect(!Harness.isDead(listener.processIdentifier), "a dry run must change nothing")
        let out = try Harness.run(["kill", "--port", String(port)], state: state)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(Harness.isDead(listener.processIdentifier))
    }

    @Test("protected processes are refused: PID 1 always, a deny-listed name unless --force")
    func protection() throws {
        let state = Harness.stateDir()
        let pid1 = try Harness.run(["kill", "--pid", "1", "--force"], state: state)
        #expect(pid1.status == 1)
        #expect(pid1.stderr.contains("PID 1 is the init process"))
        let fake = try Harness.victim(named: "sshd")
        defer { Harness.cleanup(fake) }
        let refused = try Harness.run(["kill", "--pid", String(fake.processIdentifier)], state: state)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("'sshd' is on the deny list"))
        #expect(refused.stderr.contains("--force"))
        #expect(!Harness.isDead(fake.processIdentifier))
        let forced = try Harness.run(["kill", "--pid", String(fake.processIdentifier), "--force"], state: state)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(Harness.isDead(fake.processIdentifier))
    }

    @Test("usage errors exit 64 and say what to do")
    func usage() throws {
        let state = Harness.stateDir()
        let noDuration = try Harness.run(["pause", "--pid", "1"], state: state)
        #expect(noDuration.status == 64)
        #expect(noDuration.stderr.contains("--for"))
        let badDuration = try Harness.run(["pause", "--pid", "1", "--for", "30"], state: state)
        #expect(badDuration.status == 64)
        let two = try Harness.run(["kill", "--pid", "1", "--name", "x"], state: state)
        #expect(two.status == 64)
        #expect(two.stderr.contains("Give only one of"))
    }

    @Test("chaos pause stops the victim for its duration and resumes it; nothing stays in the ledger")
    func pause() throws {
        let state = Harness.stateDir()
        let victim = try Harness.victim()
        defer { Harness.cleanup(victim) }
        let pid = victim.processIdentifier
        let run = try Harness.start(["pause", "--pid", String(pid), "--for", "1500ms"], state: state)
        #expect(Harness.waitUntil(timeout: 10) { Harness.state(pid) == "T" })
        run.process.waitUntilExit()
        #expect(run.process.terminationStatus == 0)
        #expect(Harness.state(pid) != "T")
        #expect(try Harness.openFaults(state: state).isEmpty)
    }

    @Test("SIGKILL of chaos pause right after it paused: the guardian resumes the victim within a second of the deadline")
    func pauseCrash() throws {
        let state = Harness.stateDir()
        let victim = try Harness.victim()
        defer { Harness.cleanup(victim) }
        let pid = victim.processIdentifier
        let run = try Harness.start(["pause", "--pid", String(pid), "--for", "5s"], state: state)
        #expect(Harness.waitUntil(timeout: 10) { Harness.state(pid) == "T" })
        kill(run.process.processIdentifier, SIGKILL)
        run.process.waitUntilExit()
        let fault = try #require(try Harness.openFaults(state: state).first)
        let deadline = try #require(fault["deadline"] as? Int64)
        #expect(Harness.state(pid) == "T", "killing chaos must not end the fault early")
        let resumed = Harness.waitUntil(timeout: Double(deadline - Harness.nowMs()) / 1000 + 5) { Harness.state(pid) != "T" }
        let at = Harness.nowMs()
        #expect(resumed)
        #expect(at >= deadline - 50, "resumed \(deadline - at) ms before the deadline")
        #expect(at <= deadline + 1000, "resumed \(at - deadline) ms after the deadline")
        #expect(Harness.waitUntil(timeout: 5) { (try? Harness.openFaults(state: state).isEmpty) == true })
    }

    @Test("SIGKILL of chaos disk fill: the fill file is gone by the deadline, and df is back")
    func diskFillCrash() throws {
        try Harness.withTmpfs { dir in
            let state = Harness.stateDir()
            let run = try Harness.start(["disk", "fill", "--path", dir, "--percent", "90", "--for", "3s"], state: state)
            let injected = Harness.waitUntil(timeout: 10) { (try? Harness.openFaults(state: state).first?["state"] as? String) == "injected" }
            #expect(injected)
            #expect((try? FileManager.default.contentsOfDirectory(atPath: dir).contains { $0.hasPrefix(".chaos-fill-") }) == true)
            var fs = statvfs()
            statvfs(dir, &fs)
            let usedPercent = 100 - Double(fs.f_bavail) * 100 / Double(fs.f_blocks)
            #expect(usedPercent >= 89 && usedPercent <= 91, "df shows \(usedPercent)%")
            kill(run.process.processIdentifier, SIGKILL)
            run.process.waitUntilExit()
            let fault = try #require(try Harness.openFaults(state: state).first)
            let deadline = try #require(fault["deadline"] as? Int64)
            let gone = Harness.waitUntil(timeout: Double(deadline - Harness.nowMs()) / 1000 + 5) {
                (try? FileManager.default.contentsOfDirectory(atPath: dir).isEmpty) == true
            }
            #expect(gone)
            #expect(Harness.nowMs() <= deadline + 1000)
            // The kernel frees a deleted tmpfs file's pages a moment after unlink returns.
            Harness.waitUntil(timeout: 2) { statvfs(dir, &fs); return fs.f_bavail == fs.f_blocks }
            let holders = ProcFS.table().processes.filter { p in
                FileManager.default.subpaths(atPath: "/proc/\(p.pid)/fd").map { fds in
                    fds.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(p.pid)/fd/\($0)"))?.hasPrefix(dir) == true }
                } ?? false
            }
            #expect(fs.f_bavail == fs.f_blocks, "space not freed; open by: \(holders.map { "\($0.pid) \($0.cmdline)" })")
        }
    }

    @Test("a detached fault is listed by chaos status and undone by chaos revert --all, twice harmlessly")
    func statusAndRevert() throws {
        let state = Harness.stateDir()
        let victim = try Harness.victim()
        defer { Harness.cleanup(victim) }
        let pid = victim.processIdentifier
        let out = try Harness.run(["pause", "--pid", String(pid), "--for", "2m", "--detach", "--output", "json"], state: state)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(Harness.state(pid) == "T")
        let table = try Harness.run(["status"], state: state)
        #expect(table.stdout.contains("process.pause"))
        #expect(table.stdout.contains("injected"))
        let revert = try Harness.run(["revert", "--all"], state: state)
        #expect(revert.status == 0, "\(revert.stderr)")
        #expect(Harness.state(pid) == "S")
        let again = try Harness.run(["revert", "--all"], state: state)
        #expect(again.status == 0)
        #expect(again.stdout.contains("Nothing to revert"))
        #expect(try Harness.openFaults(state: state).isEmpty)
    }

    @Test("an orphaned fault (owner and guardian dead) is reverted by the next chaos command")
    func orphanRecovery() throws {
        let state = Harness.stateDir()
        let victim = try Harness.victim()
        defer { Harness.cleanup(victim) }
        let pid = victim.processIdentifier
        let out = try Harness.run(["pause", "--pid", String(pid), "--for", "10m", "--detach", "--output", "json"], state: state)
        #expect(out.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        let guardian = try #require(json["guardianPID"] as? Int32)
        kill(guardian, SIGKILL)
        #expect(Harness.waitUntil(timeout: 5) { Harness.isDead(guardian) })
        #expect(Harness.state(pid) == "T")
        let status = try Harness.run(["status"], state: state)
        #expect(status.stderr.contains("Reverted leftover fault"))
        #expect(status.stderr.contains("its owner is gone"))
        #expect(Harness.state(pid) == "S")
    }

    @Test("a named inventory target resolved at run time by a command")
    func inventoryTarget() throws {
        let state = Harness.stateDir()
        let victim = try Harness.victim()
        defer { Harness.cleanup(victim) }
        let dir = Harness.stateDir()
        let pidfile = dir + "/victim.pid"
        try "\(victim.processIdentifier)\n".write(toFile: pidfile, atomically: true, encoding: .utf8)
        let inventory = dir + "/inventory.yaml"
        try """
        apiVersion: chaos/v1
        kind: Inventory
        hosts:
          - {name: here, address: 192.0.2.10}
          - {name: elsewhere, address: 192.0.2.11}
        targets:
          - name: db-primary
            resolve: {command: [/bin/echo, here], timeout: 2s}
            process: {pidfile: \(pidfile)}
          - name: db-replica
            host: elsewhere
            process: {name: redis-server}
        """.write(toFile: inventory, atomically: true, encoding: .utf8)
        let env = ["CHAOS_HOST": "here"]
        let remote = try Harness.run(["kill", "--target", "db-replica", "--inventory", inventory], state: state, env: env)
        #expect(remote.status == 1)
        #expect(remote.stderr.contains("is on elsewhere (192.0.2.11), not on this host"))
        let typo = try Harness.run(["kill", "--target", "db-primray", "--inventory", inventory], state: state, env: env)
        #expect(typo.status == 64)
        #expect(typo.stderr.contains("Did you mean 'db-primary'?"))
        let out = try Harness.run(["kill", "--target", "db-primary", "--inventory", inventory], state: state, env: env)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(Harness.isDead(victim.processIdentifier))
    }
}

/// The fault contract against the real kernel through LinuxHost.
@Suite("Every fault passes the contract on the real host", .serialized, Requirements.integration("/usr/bin/python3"))
struct LinuxContractTests {
    let host = LinuxHost(executable: Harness.chaos)

    func request(_ kind: FaultKind, _ p: FaultParameters = .init(), victims: [ProcessEntry] = [], seconds: Int64 = 20) -> FaultRequest {
        FaultRequest(faultID: "f-it\(UInt32.random(in: 100_000...999_999))", spec: FaultSpec(type: kind, duration: .seconds(seconds), with: p),
                     victims: victims, deadline: Harness.nowMs() + seconds * 1000)
    }

    @Test("process.pause on real processes")
    func pause() async throws {
        let a = try Harness.victim(), b = try Harness.victim()
        defer { Harness.cleanup(a, b) }
        let victims = [a, b].compactMap { ProcFS.process($0.processIdentifier) }
        try await FaultContract.check(try FaultCatalog.fault(.processPause), request(.processPause, victims: victims), on: host) {
            victims.filter { Harness.state($0.pid) == "T" }.map { "\($0.pid) still stopped" }
        }
    }

    @Test("disk.fill on a real tmpfs")
    func diskFill() async throws {
        let dir = NSTemporaryDirectory() + "chaos-contract-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard mount("tmpfs", dir, "tmpfs", 0, "size=16m") == 0 else { Issue.record("mount failed"); return }
        defer { umount2(dir, Int32(MNT_DETACH)); rmdir(dir) }
        var p = FaultParameters()
        p.path = dir
        p.free = ByteSize(bytes: 1 << 20)
        try await FaultContract.check(try FaultCatalog.fault(.diskFill), request(.diskFill, p), on: host) {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? ["unreadable"]).map { "left: \($0)" }
        }
    }

    @Test("stress.cpu and stress.memory helpers start, are found and are killed", arguments: [FaultKind.stressCPU, .stressMemory])
    func stress(kind: FaultKind) async throws {
        var p = FaultParameters()
        p.workers = 1
        p.load = 20
        p.size = ByteSize(bytes: 32 << 20)
        let req = request(kind, p)
        try await FaultContract.check(try FaultCatalog.fault(kind), req, on: host) {
            ProcFS.table().processes.filter { !$0.isDead && $0.cmdline.contains(req.faultID) }.map { "helper \($0.pid) alive" }
        }
    }

    @Test("the stress helper ends itself at its deadline with nobody to revert it")
    func stressSelfLimits() async throws {
        var p = FaultParameters()
        p.workers = 1
        p.load = 10
        let req = request(.stressCPU, p, seconds: 1)
        let fault = try FaultCatalog.fault(.stressCPU)
        let planned = try await fault.plan(req, on: host)
        try await fault.inject(planned.receipt, on: host)
        #expect(Harness.waitUntil(timeout: 5) { ProcFS.table().processes.contains { !$0.isDead && $0.cmdline.contains(req.faultID) } })
        let gone = Harness.waitUntil(timeout: 4) { !ProcFS.table().processes.contains { !$0.isDead && $0.cmdline.contains(req.faultID) } }
        #expect(gone)
        try await fault.revert(planned.receipt, on: host)
    }
}
