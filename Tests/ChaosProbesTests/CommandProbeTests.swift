import ChaosCore
import ChaosProbes
import Foundation
import Testing

/// Command probes run real programs (no network).
@Suite("Command probes", .timeLimit(.minutes(1)))
struct CommandProbeTests {
    let probes = Probes()

    func observe(_ spec: ProbeSpec) async throws -> Observation {
        try await probes.runner(for: spec).observe()
    }

    @Test("exit 0 with standard output captured; 'at' is the wall-clock start")
    func success() async throws {
        let before = nowMs()
        let o = try await observe(command("echo", ["/bin/echo", "hello", "probe"]))
        #expect(o.probe == "echo" && o.exitCode == 0 && o.body == "hello probe\n" && o.failure == nil && o.blind == nil, "\(o)")
        #expect(o.at >= before && o.at <= nowMs())
        #expect(o.latencyMs > 0 && o.latencyMs < 5000)
    }

    @Test("a non-zero exit is the exit status, not a failure; arguments are not a shell line")
    func nonZero() async throws {
        let o = try await observe(command("sh", ["/bin/sh", "-c", "echo partial; exit 3"]))
        #expect(o.exitCode == 3 && o.body == "partial\n" && o.failure == nil, "\(o)")
        let f = try await observe(command("false", ["false"]))
        #expect(f.exitCode == 1, "found on PATH: \(f)")
        let literal = try await observe(command("echo", ["echo", "$HOME; rm -rf /tmp/x", "*"]))
        #expect(literal.body == "$HOME; rm -rf /tmp/x *\n", "\(literal)")
    }

    @Test("a command that outlives its timeout is a failure, within the timeout plus the kill grace")
    func timeout() async throws {
        let (o, ms) = try await timed { try await observe(command("sleep", ["/bin/sleep", "10"], timeout: 300)) }
        #expect(o.failure == "timed out after 300ms" && o.exitCode == nil && o.blind == nil, "\(o)")
        #expect(ms >= 290 && ms < 1300, "took \(ms) ms")
    }

    @Test("a cancelled observation is blind and ends the command")
    func cancelled() async throws {
        let runner = try probes.runner(for: command("sleep", ["/bin/sleep", "10"], timeout: 5000))
        let task = Task { await runner.observe() }
        try await Task.sleep(for: .milliseconds(200))
        let (o, ms) = await timed {
            task.cancel()
            return await task.value
        }
        #expect(o.blind != nil && o.failure == nil && o.exitCode == nil, "\(o)")
        #expect(ms < 1500, "took \(ms) ms")
    }

    @Test("a program that does not exist or cannot be executed is blind")
    func cannotStart() async throws {
        for argv in [["/nonexistent/chaos-probe-binary"], ["chaos-no-such-program-on-path"], ["/etc/hostname"]] {
            let o = try await observe(command("missing", argv))
            #expect(o.blind != nil && o.failure == nil && o.exitCode == nil, "\(argv): \(o)")
        }
    }

    @Test("standard output is cut to the body limit")
    func cut() async throws {
        let o = try await observe(command("big", ["/usr/bin/head", "-c", "100000", "/dev/zero"]))
        #expect(o.exitCode == 0 && o.body?.utf8.count == Observation.bodyLimit, "\(o.body?.utf8.count ?? -1)")
    }

    @Test("judging command observations: exit status, output pattern, timeout, blindness")
    func judging() async throws {
        func judged(_ spec: ProbeSpec) async throws -> Judgement {
            let o = try await observe(spec)
            return spec.tolerance.judge(o, kind: .command)
        }
        var ready = command("ready", ["/bin/echo", "OK 3 sentinels"])
        ready.tolerance.bodyMatches = "^OK"
        #expect(try await judged(ready) == .ok)
        ready.tolerance.bodyMatches = "^NOQUORUM"
        #expect(try await judged(ready) == .fail("output does not match /^NOQUORUM/"))
        #expect(try await judged(command("false", ["/bin/false"])) == .fail("exit status 1, expected 0"))
        var expectOne = command("false", ["/bin/false"])
        expectOne.tolerance.exitCode = 1
        #expect(try await judged(expectOne) == .ok)
        #expect(try await judged(command("sleep", ["/bin/sleep", "5"], timeout: 200)) == .fail("timed out after 200ms"))
        #expect(try await judged(command("missing", ["/nonexistent/x"])).isBlind)
    }
}
