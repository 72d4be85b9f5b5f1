@testable import ChaosCore

/// A small host: init, kernel threads, an SSH session running chaos, two redis servers (and a zombie
/// one), the chaos agent and a stress worker, listed in no particular order.
enum ProcessFixtures {
    static let callerPID: Int32 = 400

    static let entries: [ProcessEntry] = [
        ProcessEntry(pid: 400, ppid: 310, name: "chaos", cmdline: ["/usr/local/bin/chaos", "kill", "--target", "redis-server"], state: "R", startTime: 6_000, uid: 1_000),
        ProcessEntry(pid: 200, ppid: 1, name: "redis-server", cmdline: ["/usr/bin/redis-server", "127.0.0.1:6379"], state: "S", startTime: 900, uid: 110),
        ProcessEntry(pid: 1, ppid: 0, name: "systemd", cmdline: ["/sbin/init", "splash"], state: "S", startTime: 1),
        ProcessEntry(pid: 2, ppid: 0, name: "kthreadd", cmdline: [], state: "S", startTime: 1, isKernelThread: true),
        ProcessEntry(pid: 20, ppid: 2, name: "kworker/0:1", cmdline: [], state: "I", startTime: 2, isKernelThread: true),
        ProcessEntry(pid: 50, ppid: 1, name: "sshd", cmdline: ["sshd: /usr/sbin/sshd -D [listener]"], state: "S", startTime: 100),
        ProcessEntry(pid: 51, ppid: 1, name: "sshd", cmdline: ["sshd: bob [priv]"], state: "S", startTime: 4_000),
        ProcessEntry(pid: 300, ppid: 50, name: "sshd", cmdline: ["sshd: alice [priv]"], state: "S", startTime: 5_000),
        ProcessEntry(pid: 310, ppid: 300, name: "bash", cmdline: ["-bash"], state: "S", startTime: 5_100, uid: 1_000),
        ProcessEntry(pid: 201, ppid: 1, name: "redis-server", cmdline: ["/usr/bin/redis-server", "127.0.0.1:6380"], state: "S", startTime: 800, uid: 110),
        // A zombie keeps its name; give it a command line too, to prove the state alone excludes it.
        ProcessEntry(pid: 202, ppid: 1, name: "redis-server", cmdline: ["/usr/bin/redis-server", "127.0.0.1:6381"], state: "Z", startTime: 700),
        ProcessEntry(pid: 204, ppid: 1, name: "redis-server", cmdline: ["/usr/bin/redis-server", "127.0.0.1:6382"], state: "X", startTime: 710),
        // A stopped one is still alive and a target.
        ProcessEntry(pid: 203, ppid: 1, name: "redis-server", cmdline: ["/usr/bin/redis-server", "127.0.0.1:6383"], state: "T", startTime: 1_000),
        // A kernel thread that happens to share the name.
        ProcessEntry(pid: 280, ppid: 2, name: "redis-server", cmdline: ["redis-server"], state: "S", startTime: 3, isKernelThread: true),
        ProcessEntry(pid: 250, ppid: 1, name: "chaos", cmdline: ["/usr/bin/chaos", "agent", "--config", "/etc/chaos/agent.yaml"], state: "S", startTime: 50),
        ProcessEntry(pid: 260, ppid: 250, name: "worker", cmdline: ["/opt/chaos/bin/chaos", "_stress", "cpu"], state: "R", startTime: 60),
        ProcessEntry(pid: 270, ppid: 1, name: "python3", cmdline: ["python3", "-m", "http.server", "8080"], state: "S", startTime: 70),
    ]

    static var table: ProcessTable { ProcessTable(entries) }
}
