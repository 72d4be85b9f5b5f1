import Foundation
import Testing
@testable import ChaosCore

@Suite("ProtectionPolicy")
struct ProtectionPolicyTests {
    let table = ProcessFixtures.table
    let caller = ProcessFixtures.callerPID

    func refusals(_ pids: [Int32], _ policy: ProtectionPolicy = ProtectionPolicy()) -> [ProtectionPolicy.Refusal] {
        policy.refusals(for: pids.compactMap { table[$0] }, table: table, caller: caller)
    }

    static let alwaysRefused: [(Int32, String)] = [
        (1, "PID 1 is the init process; killing or stopping it takes the host down"),
        (400, "this is chaos itself"),
        (310, "this is an ancestor of chaos (your shell or session)"),
        (300, "this is an ancestor of chaos (your shell or session)"),
        (50, "this is an ancestor of chaos (your shell or session)"),
        (20, "this is a kernel thread"),
        (2, "this is a kernel thread"),
    ]

    @Test("PID 1, chaos, its ancestors and kernel threads are refused, even with allowProtected", arguments: [false, true])
    func alwaysRefusedEvenWhenForced(allowProtected: Bool) {
        let policy = ProtectionPolicy(allowProtected: allowProtected)
        let got = refusals(Self.alwaysRefused.map(\.0), policy)
        #expect(got.map(\.pid) == Self.alwaysRefused.map(\.0))
        #expect(got.map(\.reason) == Self.alwaysRefused.map(\.1))
        #expect(got.allSatisfy { !$0.overridable })
    }

    @Test("the deny list and chaos's own agent and workers are refused unless allowProtected")
    func denyListOverridable() {
        let got = refusals([51, 250, 260])
        #expect(got.map(\.pid) == [51, 250, 260])
        #expect(got.map(\.reason) == ["'sshd' is on the deny list", "this is chaos's own agent process", "this is chaos's own stress helper process"])
        #expect(got.allSatisfy { $0.overridable })
        #expect(refusals([51, 250, 260], ProtectionPolicy(allowProtected: true)).isEmpty)
    }

    @Test("the network, name-resolution and clock daemons are refused by their kernel names", arguments: [
        "systemd-network", "systemd-resolve", "systemd-timesyn", "NetworkManager", "wpa_supplicant",
    ])
    func networkDaemons(name: String) {
        let p = ProcessEntry(pid: 950, ppid: 1, name: name, cmdline: ["/usr/lib/x/\(name)"], state: "S", startTime: 9)
        #expect(ProtectionPolicy().refusals(for: [p], table: table, caller: caller).map(\.reason) == ["'\(name)' is on the deny list"])
        #expect(ProtectionPolicy(allowProtected: true).refusals(for: [p], table: table, caller: caller).isEmpty)
    }

    @Test("chaos's guardian is named as such")
    func guardianReason() {
        let p = ProcessEntry(pid: 951, ppid: 1, name: "chaos", cmdline: ["chaos", "_guardian", "--run", "r-1"], state: "S", startTime: 9)
        #expect(ProtectionPolicy().refusals(for: [p], table: table, caller: caller).map(\.reason) == ["this is chaos's own guardian process"])
    }

    @Test("ordinary processes may be hit")
    func ordinaryAllowed() {
        #expect(refusals([200, 201, 203, 270]).isEmpty)
    }

    @Test("a mixed list yields one refusal per protected victim, in victim order")
    func mixed() {
        let got = refusals([200, 51, 1, 270, 400])
        #expect(got.map(\.description) == [
            "51 (sshd): 'sshd' is on the deny list",
            "1 (systemd): PID 1 is the init process; killing or stopping it takes the host down",
            "400 (chaos): this is chaos itself",
        ])
    }

    @Test("a custom deny list replaces the default one")
    func customDenyList() {
        let postgres = ProcessEntry(pid: 900, ppid: 1, name: "postgres", cmdline: ["postgres"], state: "S", startTime: 9)
        let sshd = ProcessEntry(pid: 901, ppid: 1, name: "sshd", cmdline: ["sshd"], state: "S", startTime: 9)
        let policy = ProtectionPolicy(deniedNames: ["postgres"])
        let got = policy.refusals(for: [postgres, sshd], table: table, caller: caller)
        #expect(got.map(\.pid) == [900])
    }

    @Test("chaos's own processes are recognised by their executable, whatever their name and arguments", arguments: [
        ("/usr/bin/chaos", true), ("/opt/chaos/chaos-agent (deleted)", true), ("/usr/local/bin/chaos-remote", true),
        ("/usr/bin/redis-server", false), ("/usr/bin/chaos-monkey", false),
    ] as [(String, Bool)])
    func chaosByExecutable(exe: String, isChaos: Bool) {
        let p = ProcessEntry(pid: 778, ppid: 1, name: "worker", cmdline: ["worker", "--x"], state: "S", startTime: 9, executable: exe)
        #expect(ProtectionPolicy().isChaosProcess(p) == isChaos)
    }

    @Test("chaos's own processes are recognised by argv, whatever their name", arguments: [
        (["/usr/bin/chaos", "agent"], true),
        (["chaos", "_guardian", "--run", "r-1"], true),
        (["/opt/x/chaos-agent", "agent"], true),
        (["/opt/chaos/bin/chaos", "_stress", "memory"], true),
        (["/usr/bin/chaos", "run", "x.yaml"], true),
        (["/usr/bin/chaos-remote", "controller", "--config", "c.yaml"], true),
        (["/usr/bin/chaos", "_relay", "--fault-id", "f-1"], true),
        (["/usr/bin/chaosx", "agent"], false),
        (["/usr/bin/chaos"], true),
        (["redis-server", "*:6379"], false),
        ([], false),
    ] as [([String], Bool)])
    func chaosProcesses(argv: [String], isChaos: Bool) {
        let p = ProcessEntry(pid: 777, ppid: 1, name: "renamed", cmdline: argv, state: "S", startTime: 9)
        #expect(ProtectionPolicy().isChaosProcess(p) == isChaos)
        #expect(ProtectionPolicy().refusals(for: [p], table: table, caller: caller).count == (isChaos ? 1 : 0))
    }

    @Test("deny-listed units are refused unless allowProtected", arguments: [
        ("ssh.service", true), ("sshd.service", true), ("systemd-journald.service", true), ("systemd-logind.service", true),
        ("dbus.service", true), ("dbus-broker.service", true), ("dbus.socket", true), ("chaos-agent.service", true),
        ("init.scope", true), ("-.slice", true), ("user@1000.service", true), ("getty@tty1.service", true),
        ("serial-getty@ttyS0.service", true), ("ssh.socket", true), ("systemd-networkd.service", true),
        ("NetworkManager.service", true),
        ("system.slice", true), ("user.slice", true), ("user-0.slice", true), ("session-1.scope", true), ("sshd.socket", true),
        ("sshd@0-10.0.0.1:22-10.0.0.2:5555.service", true), ("dbus-org.freedesktop.login1.service", true), ("multi-user.target", true),
        ("-.mount", true), ("home.mount", true), ("dev-sda1.swap", true), ("systemd-logind", true), ("sshd", true), ("sshd-keygen.service", true),
        ("chaos-controller.service", true), ("myapp.slice", true), ("myapp.target", true),
        ("redis-server", false), ("redis.socket", false), ("backup.timer", false),
        ("redis-server.service", false), ("nginx.service", false), ("sshguard.service", false),
        ("my-systemd-thing.service", false), ("postgresql@16-main.service", false),
    ])
    func units(unit: String, refused: Bool) {
        #expect(ProtectionPolicy().refuses(unit: unit) == refused, "\(unit)")
        #expect(ProtectionPolicy(allowProtected: true).refuses(unit: unit) == false)
    }
}

@Suite("Threads are no targets of their own")
struct ThreadEntryTests {
    @Test("an id whose thread group differs is a thread; entries written before tgid existed decode as processes")
    func threads() throws {
        let t = ProcessEntry(pid: 1001, ppid: 1, name: "worker", cmdline: [], state: "S", startTime: 9, tgid: 1000)
        #expect(t.isThread)
        #expect(!ProcessEntry(pid: 1000, ppid: 1, name: "worker", cmdline: [], state: "S", startTime: 9).isThread)
        let old = #"{"pid":5,"ppid":1,"name":"x","cmdline":["x"],"state":"S","startTime":3,"uid":0,"isKernelThread":false}"#
        let decoded = try JSONDecoder().decode(ProcessEntry.self, from: Data(old.utf8))
        #expect(decoded.tgid == 5 && !decoded.isThread)
    }
}
