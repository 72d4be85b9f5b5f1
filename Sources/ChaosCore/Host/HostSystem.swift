
/// Everything a fault may do to a host. `LinuxHost` (ChaosLinux) does it for real; `FakeHost`
/// (ChaosTesting) simulates it for unit tests. Faults never touch the system any other way.
public protocol HostSystem: Sendable {
    /// Facts that do not change while chaos runs: our pid, CPU count, memory.
    var facts: HostFacts { get }

    // MARK: Processes
    /// A snapshot of every process (`/proc`).
    func processTable() async throws(ChaosError) -> ProcessTable
    /// A fresh read of one process, or `nil` when it is gone.
    func process(_ pid: Int32) async -> ProcessEntry?
    /// Sends `signal` to `pid` (kill(2)). Throws `host.noSuchProcess` when it is gone.
    func send(_ signal: SignalName, to pid: Int32) async throws(ChaosError)
    /// Waits until every one of `pids` has ended (exited or a zombie), or `limit` has passed,
    /// whichever comes first; woken by the kernel, not by a timer. For the moment between a kill
    /// and its confirmation; callers still confirm from ``process(_:)``. Hosts that cannot wait
    /// this way return at once (the default).
    func awaitExit(_ pids: [Int32], within limit: Duration) async
    /// The pid written in a pidfile (its first line).
    func readPIDFile(_ path: String) async throws(ChaosError) -> Int32
    /// The pids of processes with a TCP socket listening on `port` (IPv4 or IPv6).
    func listeners(onTCPPort port: Int) async throws(ChaosError) -> [Int32]

    // MARK: systemd
    /// The state of a unit.
    func unitStatus(_ unit: String, scope: SystemdScope) async throws(ChaosError) -> UnitState
    /// Starts a unit and waits until it is active.
    func startUnit(_ unit: String, scope: SystemdScope) async throws(ChaosError)
    /// Stops a unit and waits until it is inactive.
    func stopUnit(_ unit: String, scope: SystemdScope) async throws(ChaosError)
    /// Sends a signal to a unit's processes through the service manager.
    func killUnit(_ unit: String, scope: SystemdScope, who: String, signal: SignalName) async throws(ChaosError)
    /// The pids in a unit's cgroup.
    func unitProcesses(_ unit: String, scope: SystemdScope) async throws(ChaosError) -> [Int32]

    // MARK: Files
    /// Size and free space of the filesystem holding `path` (statvfs), and whether `path` is a directory.
    func filesystem(at path: String) async throws(ChaosError) -> FilesystemStats
    /// Creates `path` (which must not exist) with `bytes` allocated (fallocate, or written where unsupported).
    func allocateFile(_ path: String, bytes: Int64) async throws(ChaosError)
    /// The size of `path` in bytes, or `nil` when it does not exist.
    func fileSize(_ path: String) async -> Int64?
    /// Removes `path`; `false` when it was already gone.
    @discardableResult func removeFile(_ path: String) async throws(ChaosError) -> Bool
    /// `path` with every symbolic link, `.` and `..` resolved (realpath), or `nil` when it does not exist.
    func canonicalPath(_ path: String) async -> String?

    // MARK: Commands
    /// Runs an external program (an argv array, never a shell line) with optional standard input, for
    /// at most `timeout`. A non-zero exit is a result, not an error.
    /// - Throws: `command.failed` when the program cannot be started.
    func run(_ argv: [String], input: String?, timeout: Duration) async throws(ChaosError) -> CommandResult
    /// The content of a small text file (`/etc/resolv.conf`), or `nil`.
    func readFile(_ path: String) async -> String?
    /// What this host's kernel and tools can do (probed once, then cached).
    func capabilities() async -> HostCapabilities

    // MARK: Helper processes
    /// Starts this executable with `arguments` in its own session, detached, and returns its identity.
    func spawnHelper(_ arguments: [String]) async throws(ChaosError) -> ProcessIdentity
}

/// Facts about the host that faults plan with.
public struct HostFacts: Hashable, Sendable, Codable {
    /// The chaos process's own pid.
    public var selfPID: Int32
    public var cpuCount: Int
    /// MemAvailable from /proc/meminfo, in bytes.
    public var memoryAvailable: Int64
    public var hostname: String
    public init(selfPID: Int32, cpuCount: Int, memoryAvailable: Int64, hostname: String) {
        self.selfPID = selfPID; self.cpuCount = cpuCount; self.memoryAvailable = memoryAvailable; self.hostname = hostname
    }
}

/// A systemd unit's state as the manager reports it.
public struct UnitState: Hashable, Sendable, Codable {
    public var name: String
    /// `loaded`, `not-found`, `masked`...
    public var loadState: String
    /// `active`, `inactive`, `failed`, `activating`, `deactivating`, `reloading`.
    public var activeState: String
    public var subState: String
    /// 0 when none.
    public var mainPID: Int32
    public init(name: String, loadState: String, activeState: String, subState: String, mainPID: Int32) {
        self.name = name; self.loadState = loadState; self.activeState = activeState; self.subState = subState; self.mainPID = mainPID
    }
    public var isActive: Bool { activeState == "active" || activeState == "activating" || activeState == "reloading" }
}

/// A filesystem as statvfs sees it, in bytes.
public struct FilesystemStats: Hashable, Sendable, Codable {
    /// Total size.
    public var size: Int64
    /// Free for unprivileged users (what df shows as Avail).
    public var available: Int64
    /// Free including root-reserved blocks.
    public var free: Int64
    /// Identifies the filesystem (statvfs f_fsid), so two fills on one filesystem conflict.
    public var id: UInt64
    /// Whether the given path is a directory.
    public var isDirectory: Bool
    public init(size: Int64, available: Int64, free: Int64, id: UInt64, isDirectory: Bool) {
        self.size = size; self.available = available; self.free = free; self.id = id; self.isDirectory = isDirectory
    }
    /// Used bytes, as df counts them.
    public var used: Int64 { size - free }
    /// Percent used as df shows it: used / (used + available).
    public var percentUsed: Double { used + available == 0 ? 0 : Double(used) * 100 / Double(used + available) }
}

/// The result of an external command. A non-zero exit is a result, not an error: callers decide.
public struct CommandResult: Hashable, Sendable, Codable {
    public var argv: [String]
    /// The exit status, or 128 + signal when killed by a signal; `nil` when it timed out.
    public var status: Int32?
    public var stdout: String
    /// The last part of standard error, for messages.
    public var stderrTail: String
    public init(argv: [String], status: Int32?, stdout: String, stderrTail: String) {
        self.argv = argv; self.status = status; self.stdout = stdout; self.stderrTail = stderrTail
    }
    public var timedOut: Bool { status == nil }
    public var succeeded: Bool { status == 0 }
}

/// What a host can do, as `chaos capabilities` reports it and faults check before planning.
public struct HostCapabilities: Hashable, Sendable, Codable {
    /// Running as root (uid 0).
    public var root: Bool
    /// `nft --version`, when nftables' command is installed.
    public var nft: String?
    /// nftables NAT `redirect` works (needed by the userspace delay relay).
    public var nftRedirect: Bool
    /// `iptables --version` (with its backend), when installed.
    public var iptables: String?
    /// `tc` is installed.
    public var tc: Bool
    /// Queueing disciplines the kernel accepts, probed in a throwaway network namespace.
    public var qdiscs: [String: Bool]
    /// `v2`, `hybrid`, `v1` or `none`.
    public var cgroups: String
    /// A systemd system manager is running (sd_booted).
    public var systemdSystem: Bool
    /// Network namespaces can be created.
    public var networkNamespaces: Bool
    /// How packets can be queued to chaos's packet engine: `nft` (nft's `queue` statement) or
    /// `iptables-legacy` (the xtables NFQUEUE target), tried in a throwaway namespace; nil for neither.
    public var packetQueue: String?

    public init(root: Bool = false, nft: String? = nil, nftRedirect: Bool = false, iptables: String? = nil, tc: Bool = false,
                qdiscs: [String: Bool] = [:], cgroups: String = "none", systemdSystem: Bool = false, networkNamespaces: Bool = false,
                packetQueue: String? = nil) {
        self.root = root; self.nft = nft; self.nftRedirect = nftRedirect; self.iptables = iptables; self.tc = tc
        self.qdiscs = qdiscs; self.cgroups = cgroups; self.systemdSystem = systemdSystem; self.networkNamespaces = networkNamespaces
        self.packetQueue = packetQueue
    }

    /// Whether tc netem is available.
    public var netem: Bool { qdiscs["netem"] == true }
}

extension HostSystem {
    /// Resolves `.` and `..` in an absolute path by its text alone (no symbolic links).
    public func canonicalPath(_ path: String) async -> String? { PathText.normalized(path) }

    public func awaitExit(_ pids: [Int32], within limit: Duration) async {}
}

/// Paths as text. Pure.
public enum PathText {
    /// `/srv/a/../b/./c/` → `/srv/b/c`; `nil` for a relative path.
    public static func normalized(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return nil }
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Whether `path` is `directory` or inside it (both canonical).
    public static func isInside(_ path: String, _ directory: String) -> Bool {
        let dir = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        return path == dir || dir == "/" || path.hasPrefix(dir + "/")
    }
}
