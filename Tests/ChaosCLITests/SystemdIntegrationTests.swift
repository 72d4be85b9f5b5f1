import ChaosCore
import ChaosLinux
import Foundation
import Glibc
import Testing

/// systemd faults through the real binary against a real systemd user manager
/// (scripts/user-manager.sh; see "systemd without systemd as PID 1" in field-notes).
@Suite("systemd faults through chaos against a real user manager", .serialized,
       .enabled(if: Harness.integration && FileManager.default.isExecutableFile(atPath: "/usr/lib/systemd/systemd"), "needs root, systemd and CHAOS_INTEGRATION=1"))
struct SystemdIntegrationTests {
    /// A running user manager with one test unit, stopped (and checked gone) at the end.
    struct Manager {
        let directory: String
        let env: [String: String]
        let unit: String

        static func script(_ args: [String], input: String? = nil) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Harness.root + "/scripts/user-manager.sh")
            p.arguments = args
            let out = Pipe(), inp = Pipe()
            p.standardOutput = out
            p.standardError = out
            p.standardInput = inp
            try p.run()
            if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
            try inp.fileHandleForWriting.close()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }

        static func with(restart: Bool = false, unitText: String? = nil, _ body: (Manager) throws -> Void) throws {
            let dir = "/tmp/chaos-cli-um-\(UUID().uuidString.prefix(8))"
            let (status, out) = try script(["start", dir])
            defer { _ = try? script(["stop", dir]); try? FileManager.default.removeItem(atPath: dir) }
            try #require(status == 0, "user-manager.sh start: \(out)")
            var env: [String: String] = [:]
            for line in try String(contentsOfFile: dir + "/env", encoding: .utf8).split(separator: "\n") {
                if let eq = line.firstIndex(of: "=") { env[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
            }
            let unit = "chaos-it-\(UInt32.random(in: 1000...9999)).service"
            let text = unitText ?? ("[Service]\nExecStart=/bin/sleep infinity\n" + (restart ? "Restart=always\nRestartSec=100ms\n" : ""))
            let (installed, msg) = try script(["unit", dir, unit], input: text)
            try #require(installed == 0, "install unit: \(msg)")
            let m = Manager(directory: dir, env: ["XDG_RUNTIME_DIR": env["XDG_RUNTIME_DIR"] ?? "", "DBUS_SESSION_BUS_ADDRESS": env["DBUS_SESSION_BUS_ADDRESS"] ?? ""], unit: unit)
            let bus = try SystemdManager(scope: .user, address: env["DBUS_SESSION_BUS_ADDRESS"])
            try bus.start(unit, timeout: .seconds(20))
            try body(m)
        }

        /// The unit's state, read directly over sd-bus.
        func status() throws -> UnitStatus {
            try SystemdManager(scope: .user, address: env["DBUS_SESSION_BUS_ADDRESS"]).status(of: unit)
        }
    }

    @Test("chaos stop --user stops the unit for its duration and starts it again")
    func stop() throws {
        try Manager.with(stopBody)
    }

    func stopBody(_ m: Manager) throws {
        let state = Harness.stateDir()
        let run = try Harness.start(["stop", "--unit", m.unit, "--user", "--for", "2s"], state: state, env: m.env)
        #expect(Harness.waitUntil(timeout: 15) { (try? m.status().activeState) == "inactive" })
        run.process.waitUntilExit()
        let err = String(decoding: run.err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(run.process.terminationStatus == 0, "\(err)")
        #expect(try m.status().activeState == "active")
        #expect(try Harness.openFaults(state: state).isEmpty)
    }

    @Test("SIGKILL of chaos stop: the guardian starts the unit again at the deadline")
    func stopCrash() throws {
        try Manager.with(stopCrashBody)
    }

    func stopCrashBody(_ m: Manager) throws {
        let state = Harness.stateDir()
        let run = try Harness.start(["stop", "--unit", m.unit, "--user", "--for", "3s"], state: state, env: m.env)
        #expect(Harness.waitUntil(timeout: 15) { (try? Harness.openFaults(state: state).first?["state"] as? String) == "injected" })
        kill(run.process.processIdentifier, SIGKILL)
        run.process.waitUntilExit()
        #expect(try m.status().activeState == "inactive")
        let fault = try #require(try Harness.openFaults(state: state).first)
        let deadline = try #require(fault["deadline"] as? Int64)
        let back = Harness.waitUntil(timeout: Double(deadline - Harness.nowMs()) / 1000 + 10) { (try? m.status().activeState) == "active" }
        #expect(back)
        #expect(Harness.nowMs() <= deadline + 2000, "started \(Harness.nowMs() - deadline) ms after the deadline")
    }

    @Test("chaos kill --unit --user kills the unit through the manager; Restart=always brings a new main process")
    func killUnit() throws {
        try Manager.with(restart: true, killUnitBody)
    }

    func killUnitBody(_ m: Manager) throws {
        let state = Harness.stateDir()
        let before = try m.status().mainPID
        #expect(before > 0)
        let out = try Harness.run(["kill", "--unit", m.unit, "--user"], state: state, env: m.env)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("KillUnit"))
        #expect(Harness.isDead(before))
        #expect(Harness.waitUntil(timeout: 15) { ((try? m.status().mainPID) ?? 0) > 0 && (try? m.status().mainPID) != before })
    }

    @Test("chaos pause --unit --user pauses the unit's processes, found through its cgroup")
    func pauseUnitProcesses() throws {
        try Manager.with(pauseUnitProcessesBody)
    }

    func pauseUnitProcessesBody(_ m: Manager) throws {
        let state = Harness.stateDir()
        let main = try m.status().mainPID
        let run = try Harness.start(["pause", "--unit", m.unit, "--user", "--for", "1s"], state: state, env: m.env)
        #expect(Harness.waitUntil(timeout: 10) { Harness.state(main) == "T" })
        run.process.waitUntilExit()
        #expect(run.process.terminationStatus == 0)
        #expect(Harness.state(main) == "S")
    }

    @Test("a missing unit is a clear error, and protected units are refused")
    func errors() throws {
        try Manager.with(errorsBody)
    }

    func errorsBody(_ m: Manager) throws {
        let state = Harness.stateDir()
        let missing = try Harness.run(["stop", "--unit", "no-such-unit.service", "--user", "--for", "1s"], state: state, env: m.env)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no-such-unit.service"))
        let protected = try Harness.run(["stop", "--unit", "dbus.service", "--user", "--for", "1s"], state: state, env: m.env)
        #expect(protected.status == 1)
        #expect(protected.stderr.contains("protected"))
    }

    @Test("the agent runs as a Type=notify unit: READY arrives after recovery, the unit reaches active, stop reverts and exits")
    func agentUnit() throws {
        let state = Harness.stateDir()
        let port = Int.random(in: 20_000...30_000)
        let unit = """
        [Service]
        Type=notify
        NotifyAccess=main
        WatchdogSec=5s
        ExecStart=\(Harness.chaos) agent --plaintext --listen 127.0.0.1:\(port) --state-dir \(state)
        TimeoutStopSec=30s
        KillMode=mixed
        """
        try Manager.with(unitText: unit, agentUnitBody)
    }

    func agentUnitBody(_ m: Manager) throws {
        // Manager.with started the unit and start() returned only once it was active: for Type=notify
        // that means READY=1 arrived.
        let s = try m.status()
        #expect(s.activeState == "active")
        #expect(s.mainPID > 0)
        // The watchdog keeps it alive past WatchdogSec.
        Thread.sleep(forTimeInterval: 6)
        #expect(try m.status().activeState == "active")
        #expect(try m.status().mainPID == s.mainPID)
        try SystemdManager(scope: .user, address: m.env["DBUS_SESSION_BUS_ADDRESS"]).stop(m.unit, timeout: .seconds(30))
        #expect(try m.status().activeState == "inactive")
    }
}
