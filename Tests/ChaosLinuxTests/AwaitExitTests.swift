import ChaosCore
import ChaosLinux
import Foundation
import Glibc
import Testing

/// `LinuxHost.awaitExit`: the pidfd wait between a kill and its confirmation (issue 21).
@Suite("Waiting for a killed process to end, woken by the kernel")
struct AwaitExitTests {
    /// A `sleep` child of this process (so it stays a zombie until reaped, like a victim whose
    /// parent is slow to reap).
    func sleeper() throws -> pid_t {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("100"), nil]
        defer { for a in argv { free(a) } }
        let rc = posix_spawn(&pid, "/bin/sleep", nil, nil, argv, environ)
        try #require(rc == 0, "posix_spawn: \(rc)")
        return pid
    }

    func state(_ pid: pid_t) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(close, offsetBy: 2)]
    }

    @Test("a live process: waits the whole limit and returns with it alive; killed: returns once it is a zombie, long before the limit")
    func liveThenKilled() async throws {
        let pid = try sleeper()
        defer { kill(pid, SIGKILL); var st: Int32 = 0; waitpid(pid, &st, 0) }
        let host = LinuxHost()
        let clock = ContinuousClock()
        let waited = try await clock.measure { await host.awaitExit([pid], within: .milliseconds(100)) }
        #expect(waited >= .milliseconds(100), "it did not end, so the wait lasted the limit: \(waited)")
        #expect(state(pid) == "S")

        kill(pid, SIGKILL)
        let ended = await clock.measure { await host.awaitExit([pid], within: .seconds(30)) }
        #expect(state(pid) == "Z", "ended (a zombie: nobody reaped it yet)")
        #expect(ended < .seconds(10), "woken when it ended, not at the limit: \(ended)")
    }

    @Test("pids that are gone or never were: returns at once; several: waits for all")
    func goneAndSeveral() async throws {
        let host = LinuxHost()
        let clock = ContinuousClock()
        let none = await clock.measure { await host.awaitExit([], within: .seconds(30)) }
        let gone = await clock.measure { await host.awaitExit([Int32.max - 1], within: .seconds(30)) }
        #expect(none < .seconds(10) && gone < .seconds(10))

        let a = try sleeper(), b = try sleeper()
        defer { for p in [a, b] { kill(p, SIGKILL); var st: Int32 = 0; waitpid(p, &st, 0) } }
        kill(a, SIGKILL)
        let oneLeft = await clock.measure { await host.awaitExit([a, b], within: .milliseconds(100)) }
        #expect(oneLeft >= .milliseconds(100), "b still runs: \(oneLeft)")
        kill(b, SIGKILL)
        let both = await clock.measure { await host.awaitExit([a, b], within: .seconds(30)) }
        #expect(both < .seconds(10) && state(a) == "Z" && state(b) == "Z")
    }
}
