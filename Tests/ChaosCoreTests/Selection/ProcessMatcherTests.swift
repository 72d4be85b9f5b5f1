import Testing
@testable import ChaosCore

@Suite("ProcessMatcher")
struct ProcessMatcherTests {
    let table = ProcessFixtures.table
    let callerAndAncestors = Set(ProcessFixtures.table.ancestry(of: ProcessFixtures.callerPID))

    func pids(_ selector: ProcessSelector, resolved: [Int32] = [], excluding: Set<Int32> = []) throws -> [Int32] {
        try ProcessMatcher.match(selector, in: table, resolvedPIDs: resolved, excluding: excluding).map(\.pid)
    }

    @Test("name matches the exact process name, oldest first, skipping zombies, dead and kernel threads")
    func nameExact() throws {
        // 202 (zombie), 204 (dead) and 280 (kernel thread) share the name; 203 is stopped but alive.
        #expect(try pids(ProcessSelector(name: "redis-server")) == [201, 200, 203])
    }

    @Test("name does not match a prefix or another case", arguments: ["redis", "redis-serve", "Redis-Server", "redis-server "])
    func nameIsExact(name: String) throws {
        #expect(try pids(ProcessSelector(name: name)).isEmpty)
    }

    @Test("match is a regular expression searched in the joined command line", arguments: [
        ("redis-server 127\\.0\\.0\\.1:6379$", [200]),
        ("^/usr/bin/redis", [201, 200, 203]),
        ("http\\.server 8080", [270]),
        ("-m http", [270]),
        ("nothing-like-this", []),
    ] as [(String, [Int32])])
    func matchRegex(pattern: String, expected: [Int32]) throws {
        #expect(try pids(ProcessSelector(match: pattern), excluding: callerAndAncestors) == expected)
    }

    @Test("excluded pids are skipped by pattern matches, as pkill skips itself")
    func excludedSkipped() throws {
        // chaos's own command line contains the pattern.
        #expect(try pids(ProcessSelector(match: "redis-server")) == [201, 200, 203, 400])
        #expect(try pids(ProcessSelector(match: "redis-server"), excluding: callerAndAncestors) == [201, 200, 203])
        #expect(try pids(ProcessSelector(name: "sshd"), excluding: callerAndAncestors) == [51])
        #expect(try pids(ProcessSelector(name: "sshd")) == [50, 51, 300])
    }

    @Test("an invalid regular expression is a usage error")
    func badRegex() {
        #expect {
            try ProcessMatcher.match(ProcessSelector(match: "([a-z"), in: table)
        } throws: { error in
            guard let e = error as? ChaosError else { return false }
            return e.code == "target.badRegex" && e.exit == .usage && e.message.hasPrefix("The pattern '([a-z' is not a valid regular expression")
        }
    }

    @Test("pid-based selectors return the resolved pids that are alive and not kernel threads", arguments: [
        ProcessSelector(pid: 200), ProcessSelector(pidfile: "/run/redis.pid"), ProcessSelector(port: 6379),
        ProcessSelector(unit: "redis-server.service"),
    ])
    func resolvedSelectors(selector: ProcessSelector) throws {
        #expect(try pids(selector, resolved: [200]) == [200])
        #expect(try pids(selector, resolved: [202, 204, 280, 20, 9_999]).isEmpty)
        #expect(try pids(selector, resolved: [200, 201, 203]) == [201, 200, 203])
        #expect(try pids(selector).isEmpty)
    }

    @Test("pid-based selectors ignore `excluding`: an explicit pid is the policy's business, not a silent skip")
    func resolvedIgnoresExcluding() throws {
        #expect(try pids(ProcessSelector(pid: 400), resolved: [400], excluding: [400]) == [400])
    }

    @Test("a pattern that would cost more than the selection's budget is refused whole, not half matched")
    func budgetRunsOut() throws {
        let long = (0..<40).map { i in
            ProcessEntry(pid: Int32(1000 + i), ppid: 1, name: "w", cmdline: ["w", String(repeating: "a", count: 5_000)], state: "S", startTime: UInt64(i))
        }
        let big = ProcessTable(long)
        var selector = ProcessSelector()
        selector.match = "(a|aa)*b"
        #expect(throws: ChaosError.self) { try ProcessMatcher.match(selector, in: big, budget: 100_000) }
        do {
            _ = try ProcessMatcher.match(selector, in: big, budget: 100_000)
        } catch {
            #expect(error.code == "target.regexTooCostly" && error.exit == .usage, "\(error)")
        }
        // The same pattern within the default budget answers: no process ends in 'b'.
        #expect(try ProcessMatcher.match(selector, in: big).isEmpty)
    }
}
