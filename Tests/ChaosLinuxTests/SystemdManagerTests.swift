import ChaosCore
@testable import ChaosLinux
import Foundation
import Glibc
import Testing

/// `SystemdManager` against a real `systemd --user` started by `scripts/user-manager.sh` in a private
/// mount namespace and its own cgroup (see field-notes.md, "systemd without systemd as PID 1").
///
/// Run: `CHAOS_INTEGRATION=1 swift test --filter SystemdManagerTests` as root. Each test starts its
/// own manager (about 0.2 s) and ends by stopping it and checking that no process, cgroup or
/// runtime directory is left.
@Suite("SystemdManager")
struct SystemdManagerTests {
    /// How the test reaches the manager: both work, see `SystemdManager`'s header comment.
    enum Connection: String, CaseIterable, Sendable, CustomStringConvertible {
        /// `DBUS_SESSION_BUS_ADDRESS` (`$XDG_RUNTIME_DIR/bus`), as a bus client.
        case sessionBus
        /// `$XDG_RUNTIME_DIR/systemd/private`, the manager's own socket, without Hello.
        case privateSocket
        var description: String { rawValue }
    }

    static let sleepUnit = """
        [Unit]
        Description=chaos test: sleeps until stopped

        [Service]
        ExecStart=/bin/sleep infinity
        """

    static let restartingUnit = """
        [Unit]
        Description=chaos test: sleeps, and is restarted when killed
        StartLimitIntervalSec=0

        [Service]
        ExecStart=/bin/sleep infinity
        Restart=always
        RestartSec=100ms
        """

    // MARK: Without a manager

    @Suite("without a manager")
    struct Offline {
        @Test("an address where nobody listens throws systemd.busUnavailable naming the address")
        func unreachableAddress() throws {
            let address = "unix:path=/nonexistent/chaos-test/bus"
            let error = try #require(throws: SystemdError.self) {
                _ = try SystemdManager(scope: .user, address: address)
            }
            #expect(error.code == "systemd.busUnavailable")
            #expect(error.message.contains("'\(address)'"))
            #expect(error.message.contains("user service manager"))
            #expect(error.message.hasSuffix("."))
        }

        @Test("the manager's private socket is spoken to without Hello, any other address as a bus client",
              arguments: [
                  ("unix:path=/run/systemd/private", true),
                  ("unix:path=/run/user/0/systemd/private", true),
                  ("unix:path=/run/user/0/systemd/private,guid=0123", true),
                  ("unix:path=/run/user/0/bus", false),
                  ("unix:path=/run/dbus/system_bus_socket", false),
                  ("unix:abstract=/systemd/private", false),
                  ("unix:path=/run/user/0/bus;unix:path=/run/systemd/private", false),
              ])
        func privateSocketDetection(address: String, isPrivate: Bool) {
            #expect(SystemdManager.isPrivateSocket(address) == isPrivate)
        }

        @Test("a unit name without a type suffix means a service, as in systemctl",
              arguments: [("nginx", "nginx.service"), ("getty@tty1", "getty@tty1.service"),
                          ("nginx.service", "nginx.service"), ("dbus.socket", "dbus.socket"),
                          ("default.target", "default.target"), ("app.slice", "app.slice"),
                          ("redis-6379", "redis-6379.service")])
        func canonicalNames(given: String, expected: String) {
            #expect(SystemdManager.canonicalName(given) == expected)
        }

        @Test("only unit types with processes have a ControlGroup interface")
        func cgroupInterfaces() {
            #expect(SystemdManager.cgroupInterface(for: "a.service") == "org.freedesktop.systemd1.Service")
            #expect(SystemdManager.cgroupInterface(for: "a.socket") == "org.freedesktop.systemd1.Socket")
            #expect(SystemdManager.cgroupInterface(for: "a.scope") == "org.freedesktop.systemd1.Scope")
            #expect(SystemdManager.cgroupInterface(for: "default.target") == nil)
            #expect(SystemdManager.cgroupInterface(for: "a.timer") == nil)
        }

        @Test("durations in messages read naturally",
              arguments: [(Duration.milliseconds(250), "250 ms"), (.seconds(20), "20 s"), (.milliseconds(1500), "1.5 s")])
        func durations(duration: Duration, text: String) {
            #expect(SystemdManager.describe(duration) == text)
        }
    }

    // MARK: Against a real user manager

    @Suite("against a real systemd user manager", .systemdUserManager, .timeLimit(.minutes(3)))
    struct RealUserManager {
        @Test("a unit that does not exist is systemd.noSuchUnit for status, start, stop and kill",
              arguments: Connection.allCases)
        func missingUnit(connection: Connection) throws {
            try UserManagerFixture.run { fixture in
                let manager = try fixture.connect(connection)
                let unit = "chaos-no-such-unit.service"
                let attempts: [(String, () throws(SystemdError) -> Void)] = [
                    ("status", { () throws(SystemdError) in _ = try manager.status(of: unit) }),
                    ("start", { () throws(SystemdError) in try manager.start(unit, timeout: .seconds(10)) }),
                    ("stop", { () throws(SystemdError) in try manager.stop(unit, timeout: .seconds(10)) }),
                    ("kill", { () throws(SystemdError) in try manager.kill(unit, who: "all", signal: SIGKILL) }),
                    ("processes", { () throws(SystemdError) in _ = try manager.processes(of: unit) }),
                ]
                for (name, attempt) in attempts {
                    let error = try #require(throws: SystemdError.self, "\(name)") { try attempt() }
                    #expect(error.code == "systemd.noSuchUnit", "\(name): \(error.message)")
                    #expect(error.message.contains("'\(unit)'"), "\(name): \(error.message)")
                    #expect(error.message.contains("systemctl --user list-units"), "\(name): \(error.message)")
                    #expect(error.message.hasSuffix("."), "\(name): \(error.message)")
                }
            }
        }

        @Test("status reads the manager's own units: a target, a socket and the socket-activated bus",
              arguments: Connection.allCases)
        func builtInUnits(connection: Connection) throws {
            try UserManagerFixture.run { fixture in
                let manager = try fixture.connect(connection)
                let target = try manager.status(of: "default.target")
                #expect(target == UnitStatus(name: "default.target", loadState: "loaded", activeState: "active",
                                             subState: "active", mainPID: 0, controlGroup: nil))
                let socket = try manager.status(of: "dbus.socket")
                #expect(socket.loadState == "loaded")
                #expect(socket.activeState == "active")
                #expect(socket.mainPID == 0)
                // The readiness check of user-manager.sh talked on the session bus, which started dbus.service.
                let bus = try manager.status(of: "dbus")
                #expect(bus.name == "dbus.service")
                #expect(bus.activeState == "active")
                #expect(bus.controlGroup == fixture.cgroup + "/session.slice/dbus.service")
                #expect(bus.mainPID > 0)
                #expect(Proc.name(bus.mainPID) == "dbus-daemon")
                #expect(try manager.processes(of: "dbus.service") == [bus.mainPID])
            }
        }

        @Test("start makes a service active with a live main process that is in the unit's cgroup",
              arguments: Connection.allCases)
        func startService(connection: Connection) throws {
            try UserManagerFixture.run { fixture in
                try fixture.install("chaos-sleep.service", SystemdManagerTests.sleepUnit)
                let manager = try fixture.connect(connection)

                let before = try manager.status(of: "chaos-sleep.service")
                #expect(before == UnitStatus(name: "chaos-sleep.service", loadState: "loaded", activeState: "inactive",
                                             subState: "dead", mainPID: 0, controlGroup: nil))
                #expect(try manager.processes(of: "chaos-sleep.service") == [])

                try manager.start("chaos-sleep.service", timeout: .seconds(30))

                let after = try manager.status(of: "chaos-sleep.service")
                #expect(after.activeState == "active")
                #expect(after.subState == "running")
                let group = fixture.cgroup + "/app.slice/chaos-sleep.service"
                #expect(after.controlGroup == group)
                let pid = after.mainPID
                try #require(pid > 0)
                #expect(Proc.isRunning(pid), "main pid \(pid) is \(Proc.state(pid).map(String.init) ?? "gone")")
                // systemd reports a simple service active right after fork, before exec: wait for exec.
                #expect(Poll.until(.seconds(30)) { Proc.commandLine(pid) == ["/bin/sleep", "infinity"] },
                        "pid \(pid) runs \(Proc.commandLine(pid))")
                // The kernel's own view of the process, independent of what the manager says.
                #expect(Proc.cgroups(pid).contains(group))
                #expect(try manager.processes(of: "chaos-sleep.service") == [pid])
            }
        }

        @Test("stop makes the service inactive and its process dies; start brings a new one",
              arguments: Connection.allCases)
        func stopAndStartAgain(connection: Connection) throws {
            try UserManagerFixture.run { fixture in
                try fixture.install("chaos-sleep.service", SystemdManagerTests.sleepUnit)
                let manager = try fixture.connect(connection)
                try manager.start("chaos-sleep.service", timeout: .seconds(30))
                let first = try manager.status(of: "chaos-sleep.service").mainPID
                try #require(first > 0 && Proc.isRunning(first))

                try manager.stop("chaos-sleep.service", timeout: .seconds(30))

                let stopped = try manager.status(of: "chaos-sleep.service")
                #expect(stopped.activeState == "inactive")
                #expect(stopped.subState == "dead")
                #expect(stopped.mainPID == 0)
                #expect(stopped.controlGroup == nil)
                #expect(try manager.processes(of: "chaos-sleep.service") == [])
                // Dead means gone or a zombie, read from /proc/PID/status (not kill -0).
                #expect(Poll.until(.seconds(30)) { Proc.isDeadOrZombie(first) },
                        "pid \(first) is still \(Proc.state(first).map(String.init) ?? "gone")")

                try manager.start("chaos-sleep.service", timeout: .seconds(30))

                let again = try manager.status(of: "chaos-sleep.service")
                #expect(again.activeState == "active")
                #expect(again.mainPID > 0)
                #expect(again.mainPID != first)
                #expect(Proc.isRunning(again.mainPID))
                #expect(try manager.processes(of: "chaos-sleep.service") == [again.mainPID])
            }
        }

        @Test("kill all with SIGKILL kills the main process, and the service without Restart= fails")
        func killWithoutRestart() throws {
            try UserManagerFixture.run { fixture in
                try fixture.install("chaos-sleep.service", SystemdManagerTests.sleepUnit)
                let manager = try fixture.connect(.privateSocket)
                try manager.start("chaos-sleep.service", timeout: .seconds(30))
                let pid = try manager.status(of: "chaos-sleep.service").mainPID
                try #require(pid > 0 && Proc.isRunning(pid))

                try manager.kill("chaos-sleep.service", who: "all", signal: SIGKILL)

                #expect(Poll.until(.seconds(30)) { Proc.isDeadOrZombie(pid) },
                        "pid \(pid) is still \(Proc.state(pid).map(String.init) ?? "gone")")
                let failed = try #require(Poll.value(.seconds(30)) { () throws -> UnitStatus? in
                    let status = try manager.status(of: "chaos-sleep.service")
                    return status.activeState == "failed" ? status : nil
                }, "the unit did not become 'failed' after SIGKILL")
                #expect(failed.mainPID == 0)
                #expect(try manager.processes(of: "chaos-sleep.service") == [])

                // Nothing left to signal now: the manager says so instead of pretending.
                let error = try #require(throws: SystemdError.self) {
                    try manager.kill("chaos-sleep.service", who: "main", signal: SIGKILL)
                }
                #expect(error.code == "systemd.noSuchProcess", "\(error.message)")
                #expect(error.message.contains("'chaos-sleep.service'"))
            }
        }

        @Test("kill all with SIGKILL on a Restart=always service brings a new main process",
              arguments: Connection.allCases)
        func killWithRestart(connection: Connection) throws {
            try UserManagerFixture.run { fixture in
                try fixture.install("chaos-restart.service", SystemdManagerTests.restartingUnit)
                let manager = try fixture.connect(connection)
                try manager.start("chaos-restart.service", timeout: .seconds(30))
                let first = try manager.status(of: "chaos-restart.service").mainPID
                try #require(first > 0 && Proc.isRunning(first))

                try manager.kill("chaos-restart.service", who: "all", signal: SIGKILL)

                #expect(Poll.until(.seconds(30)) { Proc.isDeadOrZombie(first) },
                        "pid \(first) is still \(Proc.state(first).map(String.init) ?? "gone")")
                let restarted = try #require(Poll.value(.seconds(30)) {
                    let status = try manager.status(of: "chaos-restart.service")
                    let fresh = status.activeState == "active" && status.mainPID != 0 && status.mainPID != first
                    return fresh ? status : nil
                }, "no new main process appeared after SIGKILL of \(first)")
                #expect(Proc.isRunning(restarted.mainPID))
                #expect(Poll.until(.seconds(30)) { Proc.commandLine(restarted.mainPID) == ["/bin/sleep", "infinity"] },
                        "pid \(restarted.mainPID) runs \(Proc.commandLine(restarted.mainPID))")
                #expect(try manager.processes(of: "chaos-restart.service") == [restarted.mainPID])

                // An explicit stop is not undone by Restart=always.
                try manager.stop("chaos-restart.service", timeout: .seconds(30))
                #expect(try manager.status(of: "chaos-restart.service").activeState == "inactive")
            }
        }

        @Test("a service whose command fails makes start throw systemd.unitFailed; a oneshot that succeeds starts")
        func failingAndOneshotServices() throws {
            try UserManagerFixture.run { fixture in
                try fixture.install("chaos-false.service", """
                    [Service]
                    Type=oneshot
                    ExecStart=/bin/false
                    """)
                try fixture.install("chaos-true.service", """
                    [Service]
                    Type=oneshot
                    ExecStart=/bin/true
                    """)
                let manager = try fixture.connect(.privateSocket)

                let error = try #require(throws: SystemdError.self) {
                    try manager.start("chaos-false.service", timeout: .seconds(30))
                }
                #expect(error.code == "systemd.unitFailed", "\(error.message)")
                #expect(error.message.contains("'chaos-false.service'"))
                #expect(error.message.contains("'exit-code'"))
                #expect(error.message.contains("systemctl --user status chaos-false.service"))
                #expect(try manager.status(of: "chaos-false.service").activeState == "failed")

                try manager.start("chaos-true.service", timeout: .seconds(30))
                #expect(try manager.status(of: "chaos-true.service").activeState == "inactive")
            }
        }

        @Test("start gives up with systemd.timeout while a unit stays activating, and stop still works")
        func startTimeout() throws {
            try UserManagerFixture.run { fixture in
                // Type=notify and no READY=1 ever: the unit stays 'activating' until stopped.
                try fixture.install("chaos-never-ready.service", """
                    [Service]
                    Type=notify
                    ExecStart=/bin/sleep infinity
                    TimeoutStartSec=infinity
                    """)
                let manager = try fixture.connect(.sessionBus)
                let clock = ContinuousClock()
                let began = clock.now
                let error = try #require(throws: SystemdError.self) {
                    try manager.start("chaos-never-ready.service", timeout: .milliseconds(400))
                }
                let waited = clock.now - began
                #expect(error.code == "systemd.timeout", "\(error.message)")
                #expect(error.message.contains("'activating'"))
                #expect(waited >= .milliseconds(400))
                #expect(waited < .seconds(20))
                let status = try manager.status(of: "chaos-never-ready.service")
                #expect(status.activeState == "activating")
                #expect(Proc.isRunning(status.mainPID))

                try manager.stop("chaos-never-ready.service", timeout: .seconds(30))
                #expect(try manager.status(of: "chaos-never-ready.service").activeState == "inactive")
                #expect(Poll.until(.seconds(30)) { Proc.isDeadOrZombie(status.mainPID) })
            }
        }

        @Test("an installed unit that never ran: status reads it, stop succeeds, kill says there is no process",
              arguments: Connection.allCases)
        func idleUnit(connection: Connection) throws {
            try UserManagerFixture.run { fixture in
                try fixture.install("chaos-sleep.service", SystemdManagerTests.sleepUnit)
                let manager = try fixture.connect(connection)
                // systemd unloads idle units between calls, so each of these has to load it again.
                #expect(try manager.status(of: "chaos-sleep").activeState == "inactive")
                try manager.stop("chaos-sleep.service", timeout: .seconds(30))
                #expect(try manager.status(of: "chaos-sleep.service").activeState == "inactive")
                for who in ["all", "main"] {
                    let error = try #require(throws: SystemdError.self) {
                        try manager.kill("chaos-sleep.service", who: who, signal: SIGKILL)
                    }
                    #expect(error.code == "systemd.noSuchProcess", "\(who): \(error.message)")
                    #expect(error.message.contains("'chaos-sleep.service'"), "\(who): \(error.message)")
                    #expect(error.message.contains("'inactive'"), "\(who): \(error.message)")
                }
            }
        }

        @Test("one manager can be used from several threads at once")
        func concurrentUse() throws {
            try UserManagerFixture.run { fixture in
                try fixture.install("chaos-sleep.service", SystemdManagerTests.sleepUnit)
                let manager = try fixture.connect(.privateSocket)
                try manager.start("chaos-sleep.service", timeout: .seconds(30))
                let pid = try manager.status(of: "chaos-sleep.service").mainPID
                let failures = Failures()
                // Four threads share one sd-bus connection; without the lock their replies would mix.
                DispatchQueue.concurrentPerform(iterations: 4) { thread in
                    for round in 0..<25 {
                        do throws(SystemdError) {
                            let status = try manager.status(of: thread % 2 == 0 ? "chaos-sleep.service" : "dbus.service")
                            if thread % 2 == 0 && status.mainPID != pid { failures.add("thread \(thread) round \(round): pid \(status.mainPID)") }
                            if thread % 2 == 1 && status.name != "dbus.service" { failures.add("thread \(thread) round \(round): \(status.name)") }
                            if round % 5 == 0 { _ = try manager.processes(of: "chaos-sleep.service") }
                        } catch {
                            failures.add("thread \(thread) round \(round): \(error.message)")
                        }
                    }
                }
                #expect(failures.all.isEmpty, "\(failures.all.prefix(5))")
            }
        }

        @Test("kill refuses a 'who' other than all, main and control before asking the manager")
        func killValidatesWho() throws {
            try UserManagerFixture.run { fixture in
                let manager = try fixture.connect(.privateSocket)
                let error = try #require(throws: SystemdError.self) {
                    try manager.kill("dbus.service", who: "everyone", signal: SIGTERM)
                }
                #expect(error.code == "systemd.invalidArgument")
                #expect(error.message.contains("'everyone'"))
                #expect(error.message.contains("'all', 'main' or 'control'"))
                // The bus daemon was not touched.
                #expect(try manager.status(of: "dbus.service").activeState == "active")
            }
        }
    }
}

// MARK: - Fixture

extension SystemdManagerTests {
    /// A systemd user manager for one test, run by `scripts/user-manager.sh` with its state in a fresh
    /// directory under /tmp.
    struct UserManagerFixture {
        struct Failure: Error, CustomStringConvertible {
            var description: String
        }

        /// `scripts/user-manager.sh` of this package.
        static let script: String = {
            var url = URL(fileURLWithPath: #filePath)
            for _ in 0..<3 { url.deleteLastPathComponent() }
            return url.appendingPathComponent("scripts/user-manager.sh").path
        }()

        /// The state directory given to the script.
        let directory: String
        /// The `KEY=VALUE` lines of `DIRECTORY/env`.
        let environment: [String: String]
        /// `DBUS_SESSION_BUS_ADDRESS`: the session bus that the manager socket-activates.
        let busAddress: String
        /// `CHAOS_SYSTEMD_PRIVATE_ADDRESS`: the manager's private peer-to-peer socket.
        let privateAddress: String
        /// The manager's pid.
        let managerPID: Int32
        /// The manager's cgroup, e.g. `/chaos-user-manager-0a1b2c3d4e5f`.
        let cgroup: String

        /// Starts a manager, runs `body`, then stops the manager and checks that nothing is left, even
        /// when `body` throws.
        static func run(_ body: (UserManagerFixture) throws -> Void) throws {
            let fixture = try start()
            var failure: (any Error)?
            do { try body(fixture) } catch { failure = error }
            do { try fixture.stopAndCheck() } catch { failure = failure ?? error }
            if let failure { throw failure }
        }

        static func start() throws -> UserManagerFixture {
            _ = sweptStaleManagers
            var template = Array("/tmp/chaos-um-XXXXXX".utf8CString)
            guard let created = mkdtemp(&template) else {
                throw Failure(description: "mkdtemp failed: \(String(cString: strerror(errno)))")
            }
            let directory = String(cString: created)
            try "\(getpid())\n".write(toFile: directory + "/owner", atomically: true, encoding: .utf8)
            let result = try runScript(["start", directory])
            guard result.status == 0 else {
                abandon(directory)
                throw Failure(description: "user-manager.sh start exited \(result.status): \(result.stderr)")
            }
            let text = try String(contentsOfFile: directory + "/env", encoding: .utf8)
            var environment: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
            guard let bus = environment["DBUS_SESSION_BUS_ADDRESS"],
                  let privateAddress = environment["CHAOS_SYSTEMD_PRIVATE_ADDRESS"],
                  let pid = environment["CHAOS_USER_MANAGER_PID"].flatMap({ Int32($0) }),
                  let cgroup = environment["CHAOS_USER_MANAGER_CGROUP"] else {
                abandon(directory)
                throw Failure(description: "'\(directory)/env' lacks a key: \(text)")
            }
            guard result.stdout == bus + "\n" else {
                abandon(directory)
                throw Failure(description: "user-manager.sh printed '\(result.stdout)', not the bus address '\(bus)'")
            }
            return UserManagerFixture(directory: directory, environment: environment, busAddress: bus,
                                      privateAddress: privateAddress, managerPID: pid, cgroup: cgroup)
        }

        /// Stops managers left by an earlier test process that died before its cleanup (a crash, a
        /// SIGKILL): their directory's `owner` pid is dead. Runs once per process.
        static let sweptStaleManagers: Void = {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
            for name in names where name.hasPrefix("chaos-um-") {
                let directory = "/tmp/" + name
                guard let text = try? String(contentsOfFile: directory + "/owner", encoding: .utf8),
                      let owner = Int32(text.split(separator: "\n").first ?? ""),
                      owner != getpid(), Proc.isDeadOrZombie(owner) else { continue }
                guard let result = try? runScript(["stop", directory]), result.status == 0 else { continue }
                removeStateDirectory(directory)
            }
        }()

        /// Stops a manager that failed to come up properly and removes its directory.
        static func abandon(_ directory: String) {
            _ = try? runScript(["stop", directory])
            removeStateDirectory(directory)
        }

        static func removeStateDirectory(_ directory: String) {
            for file in ["manager.log", "owner"] { unlink(directory + "/" + file) }
            rmdir(directory)
        }

        /// A connection to this manager.
        func connect(_ connection: SystemdManagerTests.Connection) throws(SystemdError) -> SystemdManager {
            switch connection {
            case .sessionBus: return try SystemdManager(scope: .user, address: busAddress)
            case .privateSocket: return try SystemdManager(scope: .user, address: privateAddress)
            }
        }

        /// Installs a unit file and reloads the manager (`user-manager.sh unit`).
        func install(_ name: String, _ text: String) throws {
            let result = try Self.runScript(["unit", directory, name], input: text + "\n")
            guard result.status == 0 else {
                throw Failure(description: "user-manager.sh unit \(name) exited \(result.status): \(result.stderr)")
            }
        }

        /// Stops the manager (twice: stop is idempotent) and checks that it left nothing behind.
        func stopAndCheck() throws {
            let first = try Self.runScript(["stop", directory])
            #expect(first.status == 0, "user-manager.sh stop: \(first.stderr)")
            let second = try Self.runScript(["stop", directory])
            #expect(second.status == 0, "second user-manager.sh stop: \(second.stderr)")

            for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"] {
                #expect(access(root + cgroup, F_OK) != 0, "cgroup '\(root + cgroup)' is left")
            }
            #expect(Proc.isDeadOrZombie(managerPID), "the manager \(managerPID) still runs")
            let name = cgroup.dropFirst()
            let stragglers = Proc.allPIDs().filter { pid in
                !Proc.isDeadOrZombie(pid) && Proc.cgroups(pid).contains { $0.contains(name) }
            }
            #expect(stragglers.isEmpty, "processes \(stragglers) are still in '\(cgroup)'")
            #expect(access(directory + "/runtime", F_OK) != 0, "'\(directory)/runtime' is left")
            #expect(access(directory + "/pid", F_OK) != 0, "'\(directory)/pid' is left")

            Self.removeStateDirectory(directory)
            #expect(access(directory, F_OK) != 0, "'\(directory)' is left")
        }

        struct ScriptResult {
            var status: Int32
            var stdout: String
            var stderr: String
        }

        /// Runs the script with an argv (no shell line), feeding `input` on stdin.
        static func runScript(_ arguments: [String], input: String? = nil) throws -> ScriptResult {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [script] + arguments
            let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
            process.standardInput = stdin
            process.standardOutput = stdout
            process.standardError = stderr
            try process.run()
            if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
            try stdin.fileHandleForWriting.close()
            // The script's output is a few lines (the manager's log goes to a file), so reading stdout to
            // its end before stderr cannot fill the stderr pipe.
            let out = stdout.fileHandleForReading.readDataToEndOfFile()
            let err = stderr.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return ScriptResult(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                                stderr: String(decoding: err, as: UTF8.self))
        }
    }

    // MARK: - /proc

    /// What the kernel says about processes, read from /proc.
    enum Proc {
        /// The `State:` letter of /proc/PID/status (`R`, `S`, `Z`...), `nil` when the process is gone.
        static func state(_ pid: Int32) -> Character? {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
            for line in text.split(separator: "\n") where line.hasPrefix("State:") {
                return line.dropFirst("State:".count).first { !$0.isWhitespace }
            }
            return nil
        }

        /// Gone, or a zombie (PID 1 here reaps slowly, so `kill -0` would still succeed).
        static func isDeadOrZombie(_ pid: Int32) -> Bool {
            guard let state = state(pid) else { return true }
            return state == "Z" || state == "X"
        }

        /// Exists and is not a zombie.
        static func isRunning(_ pid: Int32) -> Bool { pid > 0 && !isDeadOrZombie(pid) }

        /// /proc/PID/comm.
        static func name(_ pid: Int32) -> String? {
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?
                .split(separator: "\n").first.map(String.init)
        }

        /// /proc/PID/cmdline as arguments.
        static func commandLine(_ pid: Int32) -> [String] {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
            return data.split(separator: 0, omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
        }

        /// The cgroup paths of /proc/PID/cgroup, one per hierarchy.
        static func cgroups(_ pid: Int32) -> [String] {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return [] }
            return text.split(separator: "\n").compactMap { line in
                line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).last.map(String.init)
            }
        }

        /// Every pid in /proc.
        static func allPIDs() -> [Int32] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        }
    }

    /// Problems collected from several threads.
    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String] = []
        func add(_ item: String) { lock.lock(); items.append(item); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
    }

    /// Bounded polling: nothing in these tests waits without a limit.
    enum Poll {
        /// Whether `condition` became true within `limit`, checked every 20 ms.
        static func until(_ limit: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
            try value(limit) { try condition() ? true : nil } ?? false
        }

        /// The first non-`nil` result of `probe` within `limit`, checked every 20 ms.
        static func value<T>(_ limit: Duration, _ probe: () throws -> T?) rethrows -> T? {
            let deadline = ContinuousClock.now + limit
            while true {
                if let value = try probe() { return value }
                if ContinuousClock.now >= deadline { return nil }
                usleep(20_000)
            }
        }
    }
}
