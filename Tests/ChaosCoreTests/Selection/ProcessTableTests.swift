import Testing
@testable import ChaosCore

@Suite("ProcessTable and ProcessEntry")
struct ProcessTableTests {
    @Test("processes are kept oldest first, pid breaking ties")
    func sortedOldestFirst() {
        let pids = ProcessFixtures.table.processes.map(\.pid)
        #expect(pids.prefix(4) == [1, 2, 20, 280])
        let starts = ProcessFixtures.table.processes.map(\.startTime)
        #expect(starts == starts.sorted())
    }

    @Test("lookup by pid finds the entry or nothing")
    func subscriptByPID() {
        let t = ProcessFixtures.table
        #expect(t[310]?.name == "bash")
        #expect(t[9_999] == nil)
    }

    @Test("ancestry runs from the pid up to PID 1", arguments: [
        (400, [400, 310, 300, 50, 1]),
        (260, [260, 250, 1]),
        (1, [1]),
        (20, [20, 2]),
        (9_999, [9_999]),
        (0, []),
        (-3, []),
    ] as [(Int32, [Int32])])
    func ancestry(pid: Int32, chain: [Int32]) {
        #expect(ProcessFixtures.table.ancestry(of: pid) == chain)
    }

    @Test("a parent loop (a table read mid-change) ends instead of spinning forever")
    func ancestryLoopTerminates() {
        let t = ProcessTable([
            ProcessEntry(pid: 5, ppid: 6, name: "a", cmdline: [], state: "S", startTime: 1),
            ProcessEntry(pid: 6, ppid: 5, name: "b", cmdline: [], state: "S", startTime: 2),
        ])
        let chain = t.ancestry(of: 5)
        #expect(chain.count == 4_096)
        #expect(Set(chain) == [5, 6])
    }

    @Test("state letters: Z and X are dead, T and t are stopped", arguments: [
        ("R", false, false), ("S", false, false), ("D", false, false), ("I", false, false),
        ("Z", true, false), ("X", true, false), ("T", false, true), ("t", false, true),
    ])
    func states(state: String, dead: Bool, stopped: Bool) {
        let p = ProcessEntry(pid: 9, ppid: 1, name: "x", cmdline: [], state: state, startTime: 1)
        #expect(p.isDead == dead)
        #expect(p.isStopped == stopped)
    }

    @Test("identity, command line and description")
    func identityAndText() {
        let p = ProcessEntry(pid: 42, ppid: 1, name: "redis-server", cmdline: ["/usr/bin/redis-server", "*:6379"], state: "S", startTime: 777)
        #expect(p.identity == ProcessIdentity(pid: 42, startTime: 777))
        #expect(p.identity != ProcessIdentity(pid: 42, startTime: 778))
        #expect(p.identity.description == "42@777")
        #expect(p.commandLine == "/usr/bin/redis-server *:6379")
        #expect(p.description == "42 (redis-server)")
    }
}
