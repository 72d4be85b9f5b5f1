import ChaosCore
@testable import ChaosLinux
import Foundation
import Glibc
import Testing

/// `ServiceNotifier` and `WatchdogPinger` against a real `AF_UNIX` datagram socket bound by the test
/// (field-notes.md, "systemd without systemd as PID 1"), with no service manager.
///
/// - In-process tests use `ServiceNotifier(environment:)`, whose own socket code sends.
/// - The libsystemd path (`sd_notify`, `sd_notify_barrier`, `sd_watchdog_enabled`, which read the
///   process environment) runs in a child process: this test binary started again with
///   `NOTIFY_SOCKET` and `WATCHDOG_*` in its environment, running only ``ChildEntry`` (see
///   ``NotifyTestChild``). Nothing changes the environment of the multi-threaded test process.
/// - With `CHAOS_INTEGRATION=1` as root, ``RealUserManager`` runs the same child as `Type=notify`
///   services, and the deploy unit `deploy/systemd/chaos-agent.service` itself, under a real
///   `systemd --user` (`scripts/user-manager.sh`).
@Suite("ServiceNotifier")
struct ServiceNotifierTests {
    // MARK: Message text

    @Test("messages are KEY=value lines, and a line break in a value cannot add an assignment")
    func messageText() {
        #expect(ServiceNotifier.state([("READY", "1"), ("STATUS", "serving on :7443")]) == "READY=1\nSTATUS=serving on :7443")
        #expect(ServiceNotifier.state([("STATUS", "a\nREADY=1\r\nb")]) == "STATUS=a READY=1 b")
        #expect(ServiceNotifier.state([("WATCHDOG", "1")]) == "WATCHDOG=1")
    }

    @Test("durations become whole microseconds", arguments: [
        (Duration.seconds(5), UInt64(5_000_000)), (.milliseconds(1500), 1_500_000), (.nanoseconds(1999), 1),
        (.zero, 0), (.seconds(-3), 0),
    ])
    func microseconds(duration: Duration, expected: UInt64) {
        #expect(ServiceNotifier.microseconds(duration) == expected)
    }

    // MARK: Datagrams on a socket the test binds

    @Test("READY, STATUS, WATCHDOG, STOPPING and EXTEND_TIMEOUT arrive as one datagram each",
          arguments: [false, true])
    func notificationsArrive(abstract: Bool) throws {
        let receiver = try NotifyReceiver(abstract: abstract)
        defer { receiver.close() }
        let notifier = ServiceNotifier(socket: receiver.address)
        #expect(notifier.notifySocket == receiver.address)
        #expect(notifier.isUnderSystemd)

        #expect(try notifier.ready(status: "serving on :7443"))
        #expect(try notifier.status("3 faults active\nREADY=0"))
        #expect(try notifier.watchdogPing())
        #expect(try notifier.extendTimeout(by: .seconds(30)))
        #expect(try notifier.stopping(status: "reverting 3 faults"))

        let got = receiver.wait(for: 5, timeout: .seconds(5))
        #expect(got.map(\.text) == [
            "READY=1\nSTATUS=serving on :7443",
            "STATUS=3 faults active READY=0",
            "WATCHDOG=1",
            "EXTEND_TIMEOUT_USEC=30000000",
            "STOPPING=1\nSTATUS=reverting 3 faults",
        ])
        // The kernel attaches the sender's credentials (SO_PASSCRED): that is how systemd attributes
        // a notification to a unit (NotifyAccess=main compares the pid).
        #expect(got.allSatisfy { $0.senderPID == getpid() })
        #expect(got.allSatisfy { $0.descriptorCount == 0 })
    }

    @Test("a barrier completes once the receiver has read it and closed the descriptor it carried")
    func barrierCompletes() throws {
        let receiver = try NotifyReceiver()
        defer { receiver.close() }
        let notifier = ServiceNotifier(socket: receiver.address)
        try notifier.ready()
        let start = ContinuousClock.now
        #expect(try notifier.barrier(timeout: .seconds(5)))
        #expect(ContinuousClock.now - start < .seconds(4))
        let got = receiver.wait(for: 2, timeout: .seconds(2))
        #expect(got.map(\.text) == ["READY=1", "BARRIER=1"])
        #expect(got.last?.descriptorCount == 1)
    }

    @Test("a barrier nobody answers times out with notify.barrierTimeout")
    func barrierTimesOut() throws {
        let receiver = try NotifyReceiver(reading: false)
        defer { receiver.close() }
        let notifier = ServiceNotifier(socket: receiver.address)
        let start = ContinuousClock.now
        let error = try #require(throws: ChaosError.self) { try notifier.barrier(timeout: .milliseconds(200)) }
        #expect(error.code == "notify.barrierTimeout")
        #expect(ContinuousClock.now - start >= .milliseconds(190))
        #expect(ContinuousClock.now - start < .seconds(3))
    }

    @Test("without NOTIFY_SOCKET nothing is sent and every call says so")
    func noManager() throws {
        let notifier = ServiceNotifier(environment: [:])
        #expect(notifier.notifySocket == nil)
        #expect(!notifier.isUnderSystemd)
        #expect(try notifier.ready(status: "x") == false)
        #expect(try notifier.watchdogPing() == false)
        #expect(try notifier.stopping() == false)
        #expect(try notifier.barrier(timeout: .milliseconds(10)) == false)
        #expect(notifier.watchdogInterval() == nil)
        #expect(notifier.watchdogPinger() == nil)
        #expect(ServiceNotifier(environment: ["INVOCATION_ID": "0123abcd"]).isUnderSystemd)
        #expect(!ServiceNotifier(environment: ["NOTIFY_SOCKET": ""]).isUnderSystemd)
    }

    @Test("an unusable NOTIFY_SOCKET throws notify.badAddress", arguments: [
        "relative/path", "@", String(repeating: "/x", count: 60),
    ])
    func badAddress(address: String) throws {
        let error = try #require(throws: ChaosError.self) { try ServiceNotifier(socket: address).ready() }
        #expect(error.code == "notify.badAddress")
        #expect(error.message.contains("'\(address)'"))
    }

    @Test("a socket nobody listens on throws notify.failed with the reason")
    func nobodyListens() throws {
        let error = try #require(throws: ChaosError.self) {
            try ServiceNotifier(socket: "/nonexistent/chaos-test/notify").ready()
        }
        #expect(error.code == "notify.failed")
        #expect(error.message.contains("No such file or directory"))
    }

    // MARK: Watchdog

    @Test("WATCHDOG_USEC and WATCHDOG_PID are read as sd_watchdog_enabled reads them", arguments: [
        // (WATCHDOG_USEC, WATCHDOG_PID, expected microseconds); "self" is the pid given to the notifier.
        ("10000000", nil, UInt64(10_000_000)),
        ("10000000", "self", 10_000_000),
        ("250000", "self", 250_000),
        ("10000000", "1", nil),
        ("10000000", "0", nil),
        ("10000000", "abc", nil),
        ("0", nil, nil),
        ("18446744073709551615", nil, nil),
        ("-5", nil, nil),
        ("5s", nil, nil),
        ("", nil, nil),
        (nil, "self", nil),
    ] as [(String?, String?, UInt64?)])
    func watchdogVariables(usec: String?, pid: String?, expected: UInt64?) {
        let ourPID: Int32 = 4242
        var environment: [String: String] = [:]
        environment["WATCHDOG_USEC"] = usec
        environment["WATCHDOG_PID"] = pid == "self" ? String(ourPID) : pid
        let notifier = ServiceNotifier(environment: environment, pid: ourPID)
        #expect(notifier.watchdogInterval() == expected.map { .microseconds($0) })
        #expect(notifier.watchdogPinger()?.interval == expected.map { .microseconds($0 / 2) })
    }

    @Test("the pinger pings at once, then every half timeout, and returns when its task is cancelled")
    func pinger() async throws {
        let receiver = try NotifyReceiver()
        defer { receiver.close() }
        let notifier = ServiceNotifier(environment: ["NOTIFY_SOCKET": receiver.address, "WATCHDOG_USEC": "200000"])
        let pinger = try #require(notifier.watchdogPinger())
        #expect(pinger.interval == .milliseconds(100))

        let start = ContinuousClock.now
        let task = Task { await pinger.run() }
        // Wait for four pings (a loaded machine may delay them; it never makes them come faster).
        let deadline = ContinuousClock.now + .seconds(10)
        while receiver.received.count < 4 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let cancelled = ContinuousClock.now
        task.cancel()
        let sent = await task.value
        #expect(ContinuousClock.now - cancelled < .seconds(1), "the pinger did not stop promptly when cancelled")
        #expect(sent >= 4)
        let got = receiver.wait(for: sent, timeout: .seconds(2))
        #expect(got.count == sent)
        #expect(got.allSatisfy { $0.text == "WATCHDOG=1" })
        // Never faster than one per interval: at 0, 100, 200 ms... of the time it ran.
        let ran = ContinuousClock.now - start
        #expect(sent <= Int(ran / .milliseconds(100)) + 1, "\(sent) pings in \(ran)")
        try await Task.sleep(for: .milliseconds(250))
        #expect(receiver.received.count == sent, "pings arrived after the pinger's task was cancelled")
    }

    @Test("the pinger reports failed pings and keeps going")
    func pingerFailures() async throws {
        let notifier = ServiceNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent/chaos-test/notify"])
        let pinger = WatchdogPinger(notifier: notifier, timeout: .milliseconds(40))
        let failures = NotifyTestCounter()
        let task = Task { await pinger.run { _ in failures.increment() } }
        let deadline = ContinuousClock.now + .seconds(10)
        while failures.value < 3 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        #expect(await task.value == 0)
        #expect(failures.value >= 3)
    }

    // MARK: libsystemd itself, in a child process

    @Test("through libsystemd in a child with NOTIFY_SOCKET set: every message, credentials, and the barrier")
    func libsystemdInChild() throws {
        let receiver = try NotifyReceiver()
        defer { receiver.close() }
        let child = try NotifyTestChild.start(mode: "report", environment: [
            "NOTIFY_SOCKET": receiver.address, "WATCHDOG_USEC": "3000000",
        ])
        let status = child.wait(timeout: .seconds(60)) { receiver.received.count >= 6 }
        #expect(status == 0, "the child failed: \(child.output)")
        let got = receiver.received
        #expect(got.map(\.text) == [
            "X_CHAOS_WATCHDOG_USEC=3000000\nX_CHAOS_UNDER_SYSTEMD=1",
            "READY=1\nSTATUS=child ready",
            "STATUS=child working",
            "WATCHDOG=1",
            "STOPPING=1",
            "BARRIER=1",
        ], "child output: \(child.output)")
        #expect(got.allSatisfy { $0.senderPID == child.pid })
        #expect(got.last?.descriptorCount == 1)
        // The same environment read by this package's parser says the same as libsystemd did.
        let same = ServiceNotifier(environment: ["WATCHDOG_USEC": "3000000"], pid: child.pid)
        #expect(same.watchdogInterval() == .seconds(3))
    }

    @Test("through libsystemd: WATCHDOG_PID naming another process turns the watchdog off")
    func libsystemdWatchdogForAnotherPID() throws {
        let receiver = try NotifyReceiver()
        defer { receiver.close() }
        let child = try NotifyTestChild.start(mode: "report", environment: [
            "NOTIFY_SOCKET": receiver.address, "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1",
        ])
        let status = child.wait(timeout: .seconds(60)) { receiver.received.count >= 6 }
        #expect(status == 0, "the child failed: \(child.output)")
        #expect(receiver.received.first?.text == "X_CHAOS_WATCHDOG_USEC=none\nX_CHAOS_UNDER_SYSTEMD=1")
        let same = ServiceNotifier(environment: ["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"], pid: child.pid)
        #expect(same.watchdogInterval() == nil)
    }

    /// What the child process runs; skipped unless `CHAOS_NOTIFY_TEST_CHILD` names a mode.
    @Suite("child entry point (runs only in a child process)")
    struct ChildEntry {
        @Test("notifyChildEntryPoint", .enabled(if: NotifyTestChild.mode != nil, "runs only as a child process"))
        func notifyChildEntryPoint() async throws {
            let notifier = ServiceNotifier()
            switch NotifyTestChild.mode {
            case "report":
                let usec = notifier.watchdogInterval().map { String(ServiceNotifier.microseconds($0)) } ?? "none"
                try notifier.send(ServiceNotifier.state([
                    ("X_CHAOS_WATCHDOG_USEC", usec), ("X_CHAOS_UNDER_SYSTEMD", notifier.isUnderSystemd ? "1" : "0"),
                ]))
                #expect(try notifier.ready(status: "child ready"))
                #expect(try notifier.status("child working"))
                #expect(try notifier.watchdogPing())
                #expect(try notifier.stopping())
                // A short-lived sender: without the barrier the manager might not attribute the messages.
                #expect(try notifier.barrier(timeout: .seconds(20)))
            case "serve":
                // A Type=notify service: ready, then pings until the manager stops it (SIGTERM).
                let pinger = try #require(notifier.watchdogPinger(), "no watchdog: WATCHDOG_USEC is not set for us")
                #expect(try notifier.ready(status: "serving, pinging every \(pinger.interval)"))
                let pings = Task { await pinger.run() }
                try await Task.sleep(for: .seconds(120))
                pings.cancel()
                Issue.record("still running after 120 s: the test should have stopped this service")
            case "probe":
                // The agent's unit with its hardening: try what the agent must still be able to do, say
                // the results in STATUS=, then serve like "serve".
                let pinger = try #require(notifier.watchdogPinger(), "no watchdog: WATCHDOG_USEC is not set for us")
                let results = NotifyTestChild.probeAgentNeeds()
                #expect(try notifier.ready(status: "probes: " + results))
                let pings = Task { await pinger.run() }
                try await Task.sleep(for: .seconds(120))
                pings.cancel()
                Issue.record("still running after 120 s: the test should have stopped this service")
            case "hang":
                // Ready, then silent: the manager's watchdog must kill it.
                #expect(notifier.watchdogInterval() != nil)
                #expect(try notifier.ready(status: "hanging"))
                try await Task.sleep(for: .seconds(120))
                Issue.record("still running after 120 s: the watchdog should have killed this service")
            default:
                Issue.record("unknown CHAOS_NOTIFY_TEST_CHILD mode '\(NotifyTestChild.mode ?? "")'")
            }
        }
    }

    // MARK: A real service manager

    @Suite("under a real systemd user manager", .serialized, .systemdUserManager)
    struct RealUserManager {
        typealias Fixture = SystemdManagerTests.UserManagerFixture

        @Test("a Type=notify service becomes active on READY=1, and the watchdog keeps it alive while it pings")
        func notifyServiceWithWatchdog() throws {
            try Fixture.run { fixture in
                let unit = "chaos-notify-serve.service"
                try fixture.install(unit, NotifyTestChild.unit(mode: "serve", extra: """
                    Type=notify
                    NotifyAccess=main
                    WatchdogSec=1s
                    TimeoutStartSec=30s
                    """))
                let start = ContinuousClock.now
                let started = try SystemctlUser.run(fixture, ["start", unit])
                #expect(started.status == 0, "systemctl start: \(started.stderr)")
                #expect(ContinuousClock.now - start < .seconds(25))
                let first = try SystemctlUser.show(fixture, unit)
                #expect(first["ActiveState"] == "active")
                #expect(first["SubState"] == "running")
                #expect(first["StatusText"] == "serving, pinging every 0.5 seconds")
                let firstPing = first["WatchdogTimestampMonotonic"] ?? ""

                // Three and a half watchdog periods: without pings the manager would have killed it.
                usleep(3_500_000)
                let later = try SystemctlUser.show(fixture, unit)
                #expect(later["ActiveState"] == "active")
                #expect(later["MainPID"] == first["MainPID"])
                #expect(later["NRestarts"] == "0")
                #expect(later["WatchdogTimestampMonotonic"] != firstPing, "no watchdog ping arrived")

                let stopped = try SystemctlUser.run(fixture, ["stop", unit])
                #expect(stopped.status == 0, "systemctl stop: \(stopped.stderr)")
                let end = try SystemctlUser.show(fixture, unit)
                #expect(end["ActiveState"] == "inactive")
                #expect(end["Result"] == "success")
            }
        }

        @Test("a service that stops pinging is killed by the watchdog (Result=watchdog)")
        func silentServiceIsKilled() throws {
            try Fixture.run { fixture in
                let unit = "chaos-notify-hang.service"
                // SWIFT_BACKTRACE off: after the watchdog's SIGABRT, Swift's backtracer would symbolicate
                // this large debug binary for a long time before the process dies.
                try fixture.install(unit, NotifyTestChild.unit(mode: "hang", extra: """
                    Type=notify
                    NotifyAccess=main
                    WatchdogSec=1s
                    TimeoutStartSec=30s
                    TimeoutAbortSec=5s
                    Environment=SWIFT_BACKTRACE=enable=no
                    """))
                let start = ContinuousClock.now
                let started = try SystemctlUser.run(fixture, ["start", unit])
                #expect(started.status == 0, "systemctl start: \(started.stderr)")
                #expect(try SystemctlUser.show(fixture, unit)["StatusText"] == "hanging")
                // The manager's verdict comes when the watchdog fires; the process dies shortly after.
                let fired = try SystemdManagerTests.Poll.until(.seconds(15)) {
                    try SystemctlUser.show(fixture, unit)["Result"] == "watchdog"
                }
                #expect(fired, "the watchdog did not fire")
                #expect(ContinuousClock.now - start < .seconds(10))
                let failed = try SystemdManagerTests.Poll.until(.seconds(15)) {
                    try SystemctlUser.show(fixture, unit)["ActiveState"] == "failed"
                }
                #expect(failed, "the silent service was not stopped after the watchdog fired")
            }
        }

        @Test("deploy/systemd/chaos-agent.service starts, applies its hardening, still lets the agent work, and stops cleanly",
              .enabled(if: NotifyTestChild.probeToolsPresent, "needs tc, nft and setpriv"))
        func deployUnit() throws {
            let text = try String(contentsOfFile: NotifyTestChild.packageRoot + "/deploy/systemd/chaos-agent.service",
                                  encoding: .utf8)
            // Another user's process to signal and inspect, and another user's private directory to write in.
            let victim = Process()
            victim.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            victim.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/sleep", "300"]
            try victim.run()
            // SIGKILL: a child of the test runner may inherit SIGTERM ignored.
            defer { kill(victim.processIdentifier, SIGKILL); victim.waitUntilExit() }
            var template = Array("/tmp/chaos-notify-probe-XXXXXX".utf8CString)
            let directory = try #require(mkdtemp(&template).map { String(cString: $0) })
            defer { try? FileManager.default.removeItem(atPath: directory) }
            #expect(chown(directory, 65534, 65534) == 0 && chmod(directory, 0o700) == 0)

            // The unit as shipped, except: ExecStart runs the test child instead of /usr/local/bin/chaos,
            // and StateDirectory= is dropped (in a user manager it would be created under ~/.local/state).
            var lines: [String] = []
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("ExecStart=") {
                    lines.append("Environment=CHAOS_NOTIFY_TEST_CHILD=probe CHAOS_PROBE_PID=\(victim.processIdentifier) CHAOS_PROBE_DIR=\(directory)")
                    lines.append("ExecStart=" + NotifyTestChild.commandLine)
                } else if line.hasPrefix("StateDirectory") {
                    continue
                } else {
                    lines.append(String(line))
                }
            }
            #expect(lines.contains("Type=notify") && lines.contains("WatchdogSec=10s") && lines.contains("KillMode=mixed"))
            try Fixture.run { fixture in
                // systemd (as PID 1) creates /run/systemd/inaccessible/* at boot; ProtectKernelTunables= and
                // ProtectKernelLogs= mount them over what they hide. The user manager's private /run/systemd
                // lacks them (units fail with 226/NAMESPACE), so make them as PID 1 would.
                try NotifyTestChild.makeInaccessibleNodes(root: "/proc/\(fixture.managerPID)/root")
                let unit = "chaos-agent.service"
                try fixture.install(unit, lines.joined(separator: "\n"))
                let started = try SystemctlUser.run(fixture, ["start", unit])
                #expect(started.status == 0, "systemctl start: \(started.stderr)")
                let properties = try SystemctlUser.show(fixture, unit)
                #expect(properties["ActiveState"] == "active", "\(properties)")
                #expect(properties["WatchdogUSec"] == "10s")
                #expect(properties["StatusText"] == "probes: tc=ok nft=ok kill=ok proc-fd=ok dac=ok etc=read-only")
                let pid = try #require(properties["MainPID"].flatMap { Int32($0) })
                let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
                let fields = Dictionary(status.split(separator: "\n").compactMap { line -> (String, String)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }, uniquingKeysWith: { a, _ in a })
                #expect(fields["NoNewPrivs"] == "1")
                #expect(fields["Seccomp"] == "2", "no seccomp filter (MemoryDenyWriteExecute, RestrictNamespaces...)")
                // CAP_DAC_OVERRIDE 1, CAP_DAC_READ_SEARCH 2, CAP_KILL 5, CAP_NET_BIND_SERVICE 10,
                // CAP_NET_ADMIN 12, CAP_NET_RAW 13, CAP_SYS_PTRACE 19, CAP_SYS_ADMIN 21.
                let expected: UInt64 = [1, 2, 5, 10, 12, 13, 19, 21].reduce(0) { $0 | (1 << $1) }
                #expect(fields["CapBnd"].flatMap { UInt64($0, radix: 16) } == expected,
                        "CapBnd is \(fields["CapBnd"] ?? "?")")
                for path in ["/usr", "/etc", "/proc/sys", "/sys"] {
                    #expect(try SystemctlUser.mountIsReadOnly(pid: pid, path: path), "'\(path)' is writable in the unit")
                }

                let stopped = try SystemctlUser.run(fixture, ["stop", unit])
                #expect(stopped.status == 0, "systemctl stop: \(stopped.stderr)")
                let end = try SystemctlUser.show(fixture, unit)
                #expect(end["ActiveState"] == "inactive")
                #expect(end["Result"] == "success")
            }
        }
    }
}

// MARK: - Helpers

/// A datagram socket standing in for the service manager's notification socket: binds a fresh path
/// (or abstract name), asks for senders' credentials, and reads on a thread of its own, closing every
/// descriptor passed with SCM_RIGHTS (a barrier completes only then).
final class NotifyReceiver: @unchecked Sendable {
    struct Datagram: Sendable {
        var text: String
        var senderPID: Int32?
        var descriptorCount: Int
    }

    /// SCM_CREDENTIALS from <bits/socket.h>, which Swift's Glibc module leaves out (it needs _GNU_SOURCE).
    static let scmCredentials: Int32 = 2

    /// `NOTIFY_SOCKET` syntax: a path, or `@name`.
    let address: String
    private let fd: Int32
    private let directory: String?
    private let lock = NSLock()
    private var datagrams: [Datagram] = []
    private var stopRequested = false
    private let finished = DispatchSemaphore(value: 0)
    private let reading: Bool

    /// - Parameters:
    ///   - abstract: bind an abstract address (`@chaos-notify-...`) instead of a path.
    ///   - reading: read (and close passed descriptors); `false` leaves datagrams queued.
    init(abstract: Bool = false, reading: Bool = true) throws {
        var path: String
        if abstract {
            directory = nil
            path = "@chaos-notify-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        } else {
            var template = Array("/tmp/chaos-notify-XXXXXX".utf8CString)
            guard let created = mkdtemp(&template) else { throw Failure("mkdtemp: \(String(cString: strerror(errno)))") }
            directory = String(cString: created)
            path = (directory ?? "") + "/notify"
        }
        let socketFD = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0 else { throw Failure("socket: \(String(cString: strerror(errno)))") }
        var on: Int32 = 1
        guard setsockopt(socketFD, SOL_SOCKET, SO_PASSCRED, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            Glibc.close(socketFD)
            throw Failure("SO_PASSCRED: \(String(cString: strerror(errno)))")
        }
        let (socketAddress, length) = try ServiceNotifier.unixAddress(path)
        var bindable = socketAddress
        let rc = withUnsafePointer(to: &bindable) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) }
        }
        guard rc == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(socketFD)
            throw Failure("bind '\(path)': \(message)")
        }
        address = path
        fd = socketFD
        self.reading = reading
        if reading {
            let thread = Thread { [self] in readLoop() }
            thread.start()
        }
    }

    /// Everything read so far.
    var received: [Datagram] { lock.withLock { datagrams } }

    /// The first `count` datagrams, waiting at most `timeout` for them (fewer if they do not come).
    func wait(for count: Int, timeout: Duration) -> [Datagram] {
        let deadline = ContinuousClock.now + timeout
        while received.count < count && ContinuousClock.now < deadline { usleep(5_000) }
        return Array(received.prefix(count))
    }

    /// Stops reading, closes the socket and removes its path.
    func close() {
        if reading {
            lock.withLock { stopRequested = true }
            finished.wait()
        }
        Glibc.close(fd)
        if let directory {
            unlink(directory + "/notify")
            rmdir(directory)
        }
    }

    private func readLoop() {
        defer { finished.signal() }
        while !lock.withLock({ stopRequested }) {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 20) > 0 else { continue }
            if let datagram = receiveOne() { lock.withLock { datagrams.append(datagram) } }
        }
    }

    private func receiveOne() -> Datagram? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var control = [UInt8](repeating: 0, count: 512)
        return buffer.withUnsafeMutableBytes { data -> Datagram? in
            control.withUnsafeMutableBytes { controlBytes -> Datagram? in
                var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer -> Datagram? in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBytes.baseAddress
                    message.msg_controllen = controlBytes.count
                    let count = recvmsg(fd, &message, Int32(MSG_DONTWAIT) | Int32(MSG_CMSG_CLOEXEC))
                    guard count >= 0 else { return nil }
                    var datagram = Datagram(text: String(decoding: data.prefix(count), as: UTF8.self),
                                            senderPID: nil, descriptorCount: 0)
                    let messages = UnixControlMessage.parse(UnsafeRawBufferPointer(controlBytes),
                                                            length: Int(message.msg_controllen))
                    for item in messages where item.level == SOL_SOCKET {
                        if item.type == Int32(SCM_RIGHTS) {
                            // The receiver must close passed descriptors (field-notes): the sender's
                            // barrier waits for exactly that.
                            for index in 0..<(item.data.count / 4) {
                                let passed = item.data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * 4, as: Int32.self) }
                                Glibc.close(passed)
                                datagram.descriptorCount += 1
                            }
                        } else if item.type == NotifyReceiver.scmCredentials, item.data.count >= 12 {
                            // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (glibc hides it without _GNU_SOURCE).
                            datagram.senderPID = item.data.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }
                        }
                    }
                    return datagram
                }
            }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// This test binary started again as a child process that runs only
/// `ServiceNotifierTests.ChildEntry.notifyChildEntryPoint`, in the mode named by
/// `CHAOS_NOTIFY_TEST_CHILD` (so that libsystemd reads a real process environment).
enum NotifyTestChild {
    /// The mode this process runs in as a child, `nil` in the normal test process.
    static let mode: String? = getenv("CHAOS_NOTIFY_TEST_CHILD").map { String(cString: $0) }

    /// The test binary (`/proc/self/exe`).
    static let executable: String = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return count > 0 ? String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    }()

    /// Arguments that make the test binary run only the child entry point with Swift Testing.
    static let arguments = ["--testing-library", "swift-testing", "--filter", "notifyChildEntryPoint"]

    /// The child's command line for a unit's ExecStart= (paths here have no spaces, '%' or '$').
    static var commandLine: String { ([executable] + arguments).joined(separator: " ") }

    /// This package's root directory.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Whether the tools the "probe" mode runs are installed.
    static var probeToolsPresent: Bool {
        let path = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        func has(_ name: String) -> Bool { path.contains { access($0 + "/" + name, X_OK) == 0 } }
        return has("tc") && has("nft") && has("setpriv") && has("unshare")
    }

    /// What the agent must still be able to do inside its hardened unit, each as `name=ok` or
    /// `name=FAILED(...)`: tc and nft in a throwaway network namespace (CAP_SYS_ADMIN, RestrictNamespaces=net,
    /// CAP_NET_ADMIN, AF_NETLINK), SIGSTOP/SIGCONT of another user's process (CAP_KILL), its /proc/PID/fd
    /// (CAP_SYS_PTRACE), a file in another user's 0700 directory (CAP_DAC_OVERRIDE), and /etc read-only.
    static func probeAgentNeeds() -> String {
        var results: [String] = []
        func run(_ argv: [String]) -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            process.arguments = ["--net", "--"] + argv
            let stderr = Pipe()
            process.standardError = stderr
            process.standardOutput = FileHandle.nullDevice
            do { try process.run() } catch { return "FAILED(\(error))" }
            let err = stderr.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            if process.terminationStatus == 0 { return "ok" }
            return "FAILED(\(String(decoding: err, as: UTF8.self).split(separator: "\n").first ?? ""))"
        }
        results.append("tc=" + run(["tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "tbf",
                                    "rate", "1mbit", "burst", "32kbit", "latency", "400ms"]))
        results.append("nft=" + run(["nft", "add", "table", "inet", "chaos_probe"]))

        let victim = getenv("CHAOS_PROBE_PID").flatMap { Int32(String(cString: $0)) } ?? 0
        if victim > 0 && kill(victim, SIGSTOP) == 0 {
            usleep(50_000)
            let stopped = SystemdManagerTests.Proc.state(victim) == "T"
            let continued = kill(victim, SIGCONT) == 0
            results.append("kill=" + (stopped && continued ? "ok" : "FAILED(state)"))
        } else {
            results.append("kill=FAILED(\(String(cString: strerror(errno))))")
        }
        let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(victim)/fd")
        results.append("proc-fd=" + (fds != nil ? "ok" : "FAILED"))

        let directory = getenv("CHAOS_PROBE_DIR").map { String(cString: $0) } ?? "/nonexistent"
        let file = directory + "/fill"
        let fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        if fd >= 0 {
            close(fd)
            unlink(file)
            results.append("dac=ok")
        } else {
            results.append("dac=FAILED(\(String(cString: strerror(errno))))")
        }
        let etc = open("/etc/chaos-probe-\(getpid())", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        if etc >= 0 {
            close(etc)
            unlink("/etc/chaos-probe-\(getpid())")
            results.append("etc=WRITABLE")
        } else {
            results.append(errno == EROFS ? "etc=read-only" : "etc=FAILED(\(String(cString: strerror(errno))))")
        }
        return results.joined(separator: " ")
    }

    /// Creates systemd's inaccessible nodes under `root`/run/systemd/inaccessible (what PID 1 makes at boot),
    /// unless they exist: a directory, a regular file, a fifo, a socket and character and block devices 0:0,
    /// all mode 0000.
    static func makeInaccessibleNodes(root: String) throws {
        let base = root + "/run/systemd/inaccessible"
        if access(base, F_OK) == 0 { return }
        guard mkdir(base, 0o755) == 0 else { throw NotifyReceiver.Failure("mkdir '\(base)': \(String(cString: strerror(errno)))") }
        let old = umask(0)
        defer { umask(old) }
        let made = [
            mkdir(base + "/dir", 0),
            mknod(base + "/reg", S_IFREG, 0),
            mkfifo(base + "/fifo", 0),
            mknod(base + "/sock", S_IFSOCK, 0),
            mknod(base + "/chr", S_IFCHR, 0),
            mknod(base + "/blk", S_IFBLK, 0),
        ]
        guard made.allSatisfy({ $0 == 0 }) else {
            throw NotifyReceiver.Failure("cannot create the inaccessible nodes in '\(base)': \(String(cString: strerror(errno)))")
        }
    }

    /// A unit file that runs the child in `mode`, with `extra` lines in [Service].
    static func unit(mode: String, extra: String) -> String {
        """
        [Unit]
        Description=chaos test: ServiceNotifier child (\(mode))

        [Service]
        Environment=CHAOS_NOTIFY_TEST_CHILD=\(mode)
        ExecStart=\(commandLine)
        \(extra)
        """
    }

    /// A running child.
    final class Child: @unchecked Sendable {
        let process: Process
        let outputPath: String
        var pid: Int32 { process.processIdentifier }

        init(process: Process, outputPath: String) {
            self.process = process
            self.outputPath = outputPath
        }

        /// What the child printed (Swift Testing's report).
        var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

        /// Waits for the child to exit and for `done` to hold, at most `timeout`; kills it when it takes
        /// longer. Returns its exit status (-1 when killed).
        func wait(timeout: Duration, until done: () -> Bool = { true }) -> Int32 {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return -1
            }
            while !done() && ContinuousClock.now < deadline { usleep(10_000) }
            return process.terminationStatus
        }

        deinit { unlink(outputPath) }
    }

    /// Starts the child in `mode` with `environment` added to a copy of ours from which every variable
    /// a service manager sets has been removed.
    static func start(mode: String, environment: [String: String]) throws -> Child {
        var childEnvironment = ProcessInfo.processInfo.environment
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "INVOCATION_ID", "JOURNAL_STREAM", "LISTEN_FDS", "LISTEN_PID"] {
            childEnvironment[name] = nil
        }
        childEnvironment.merge(environment) { _, new in new }
        childEnvironment["CHAOS_NOTIFY_TEST_CHILD"] = mode
        let outputPath = "/tmp/chaos-notify-child-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        guard FileManager.default.createFile(atPath: outputPath, contents: nil),
              let output = FileHandle(forWritingAtPath: outputPath) else {
            throw NotifyReceiver.Failure("cannot create '\(outputPath)'")
        }
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = childEnvironment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return Child(process: process, outputPath: outputPath)
    }
}

/// `systemctl --user` against a test's user manager (argv only).
enum SystemctlUser {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ fixture: SystemdManagerTests.UserManagerFixture, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["-u", "DBUS_SESSION_BUS_ADDRESS",
                             "XDG_RUNTIME_DIR=" + (fixture.environment["XDG_RUNTIME_DIR"] ?? ""),
                             "DBUS_SESSION_BUS_ADDRESS=" + fixture.busAddress,
                             "timeout", "40", "systemctl", "--user"] + arguments
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: err, as: UTF8.self))
    }

    /// `systemctl --user show` of the properties these tests read.
    static func show(_ fixture: SystemdManagerTests.UserManagerFixture, _ unit: String) throws -> [String: String] {
        let result = try run(fixture, ["show", unit, "--property",
                                       "ActiveState,SubState,Result,StatusText,MainPID,NRestarts,WatchdogTimestampMonotonic,WatchdogUSec"])
        var properties: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            properties[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return properties
    }

    /// Whether the mount at `path` is read-only in process `pid`'s mount namespace.
    static func mountIsReadOnly(pid: Int32, path: String) throws -> Bool {
        let text = try String(contentsOfFile: "/proc/\(pid)/mountinfo", encoding: .utf8)
        // Fields: id parent major:minor root mountpoint options ...; the last entry for a mount point wins.
        var readOnly: Bool?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 5, fields[4] == path else { continue }
            readOnly = fields[5].split(separator: ",").contains("ro")
        }
        return readOnly ?? false
    }
}

/// A thread-safe counter.
final class NotifyTestCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
