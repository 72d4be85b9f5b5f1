import ChaosCore
import ChaosLinux
import Foundation
import Glibc
import Testing

/// Runs the real `chaos` binary and real victim processes for integration tests.
enum Harness {
    /// Root and `CHAOS_INTEGRATION=1`: tests that signal processes, mount tmpfs or start helpers run.
    static let integration: Bool = getenv("CHAOS_INTEGRATION").map { String(cString: $0) } == "1" && geteuid() == 0

    /// The `chaos` executable built beside the test bundle.
    static let chaos: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("chaos").path
    }()

    /// The package root (for examples and fixtures).
    static let root: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// A fresh state directory for one test's ledger.
    static func stateDir() -> String {
        let dir = NSTemporaryDirectory() + "chaos-it-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    struct Output { var status: Int32; var stdout: String; var stderr: String }

    /// Runs chaos to completion (bounded by `timeout`).
    static func run(_ args: [String], state: String, env: [String: String] = [:], cwd: String? = nil, timeout: TimeInterval = 60) throws -> Output {
        let p = try start(args, state: state, env: env, cwd: cwd)
        let deadline = Date().addingTimeInterval(timeout)
        while p.process.isRunning && Date() < deadline { usleep(5_000) }
        if p.process.isRunning { kill(p.process.processIdentifier, SIGKILL) }
        p.process.waitUntilExit()
        let out = String(decoding: p.out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: p.err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Output(status: p.process.terminationStatus, stdout: out, stderr: err)
    }

    struct Running { var process: Process; var out: Pipe; var err: Pipe }

    /// Starts chaos in the background.
    static func start(_ args: [String], state: String, env: [String: String] = [:], cwd: String? = nil) throws -> Running {
        let p = Process()
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        p.executableURL = URL(fileURLWithPath: chaos)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment["CHAOS_STATE_DIR"] = state
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return Running(process: p, out: out, err: err)
    }

    /// A process a test started, by pid, with a clean signal mask (Foundation's Process leaks the
    /// test runner's blocked signals into children, which would make SIGTERM look ignored).
    final class Victim: @unchecked Sendable {
        let processIdentifier: Int32
        private var reaped = false
        init(pid: Int32) { processIdentifier = pid }
        var isRunning: Bool {
            if reaped { return false }
            var status: Int32 = 0
            if waitpid(processIdentifier, &status, WNOHANG) == processIdentifier { reaped = true }
            return !reaped
        }
        func waitUntilExit() {
            guard !reaped else { return }
            var status: Int32 = 0
            while waitpid(processIdentifier, &status, 0) < 0 && errno == EINTR {}
            reaped = true
        }
    }

    /// Starts a victim (`/bin/sleep`, or a symlink to it with another name so `--name` can find it).
    static func victim(named name: String? = nil, seconds: Int = 300) throws -> Victim {
        var path = "/bin/sleep"
        if let name {
            let dir = NSTemporaryDirectory() + "chaos-victims"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            path = dir + "/" + name
            if !FileManager.default.fileExists(atPath: path) { try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/bin/sleep") }
        }
        let pid = try spawn([path, String(seconds)])
        let v = Victim(pid: pid)
        _ = waitUntil(timeout: 5) { ProcFS.process(pid)?.cmdline.first == path }
        return v
    }

    /// Starts `argv` with no blocked and no ignored signals (whatever this test process has), so it
    /// handles signals as it would on its own. The caller kills and reaps it.
    static func spawn(_ argv: [String]) throws -> pid_t {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let args: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in args { free(a) } }
        let rc = posix_spawn(&pid, argv[0], nil, &attr, args, environ)
        guard rc == 0 else { throw ChaosError("test.spawn", "posix_spawn \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Kills (by pid) and reaps victims this test started.
    static func cleanup(_ victims: Victim...) {
        for v in victims where v.isRunning {
            kill(v.processIdentifier, SIGCONT)
            kill(v.processIdentifier, SIGKILL)
        }
        for v in victims { v.waitUntilExit() }
    }

    /// Kills and reaps a helper process (e.g. a listener) started with Foundation's Process.
    static func cleanup(_ p: Process) {
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// The state letter of `pid`, or `nil` when gone.
    static func state(_ pid: Int32) -> String? { ProcFS.process(pid)?.state }

    /// Dead as chaos means it: gone or zombie.
    static func isDead(_ pid: Int32) -> Bool { ProcFS.process(pid)?.isDead ?? true }

    /// Polls `condition` every 5 ms until it holds or `timeout` seconds pass; returns whether it held.
    @discardableResult
    static func waitUntil(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    /// Milliseconds since the epoch.
    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The open ledger records, read through `chaos status --output json`.
    static func openFaults(state: String) throws -> [[String: Any]] {
        let out = try run(["status", "--output", "json"], state: state)
        let json = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
        return json?["faults"] as? [[String: Any]] ?? []
    }

    /// A small tmpfs mounted on a fresh directory; `body` runs with its path; unmounted after.
    static func withTmpfs<T>(sizeMiB: Int = 32, _ body: (String) throws -> T) throws -> T {
        let dir = NSTemporaryDirectory() + "chaos-tmpfs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard mount("tmpfs", dir, "tmpfs", 0, "size=\(sizeMiB)m") == 0 else {
            throw ChaosError("test.mount", "mount tmpfs on \(dir) failed: \(String(cString: strerror(errno)))")
        }
        defer { umount2(dir, Int32(MNT_DETACH)); rmdir(dir) }
        return try body(dir)
    }
}
