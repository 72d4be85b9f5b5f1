/// One process as read from `/proc/PID/stat`, `status` and `cmdline` at one moment.
public struct ProcessEntry: Hashable, Sendable, Codable, CustomStringConvertible {
    public var pid: Int32
    public var ppid: Int32
    /// The kernel's process name (`comm`), at most 15 bytes.
    public var name: String
    /// The arguments; empty for kernel threads and zombies.
    public var cmdline: [String]
    /// The state letter: `R`, `S`, `D`, `T` (stopped), `t`, `Z` (zombie), `X` (dead), `I` (idle)...
    public var state: String
    /// Start time in clock ticks after boot; with the pid, names the process uniquely (pids are reused).
    public var startTime: UInt64
    public var uid: UInt32
    /// Kernel threads (PF_KTHREAD) are never targets.
    public var isKernelThread: Bool
    /// The thread group (`Tgid:` in /proc/PID/status): the process this id belongs to. It differs from
    /// `pid` when `pid` names a thread: `/proc/TID` exists though /proc does not list it, and kill(2)
    /// on a thread id signals the whole process, so a thread id is never a target of its own.
    public var tgid: Int32
    /// The executable (`/proc/PID/exe`), when it could be read; how chaos recognises its own
    /// processes whatever their name or arguments.
    public var executable: String?

    public init(pid: Int32, ppid: Int32, name: String, cmdline: [String], state: String, startTime: UInt64,
                uid: UInt32 = 0, isKernelThread: Bool = false, tgid: Int32? = nil, executable: String? = nil) {
        self.pid = pid; self.ppid = ppid; self.name = name; self.cmdline = cmdline; self.state = state
        self.startTime = startTime; self.uid = uid; self.isKernelThread = isKernelThread
        self.tgid = tgid ?? pid; self.executable = executable
    }

    /// Whether this id names a thread of another process rather than a process.
    public var isThread: Bool { tgid != pid }

    enum CodingKeys: String, CodingKey { case pid, ppid, name, cmdline, state, startTime, uid, isKernelThread, tgid, executable }

    /// Reads entries written before `tgid` and `executable` existed too.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(pid: try c.decode(Int32.self, forKey: .pid), ppid: try c.decode(Int32.self, forKey: .ppid),
                  name: try c.decode(String.self, forKey: .name), cmdline: try c.decode([String].self, forKey: .cmdline),
                  state: try c.decode(String.self, forKey: .state), startTime: try c.decode(UInt64.self, forKey: .startTime),
                  uid: try c.decodeIfPresent(UInt32.self, forKey: .uid) ?? 0,
                  isKernelThread: try c.decodeIfPresent(Bool.self, forKey: .isKernelThread) ?? false,
                  tgid: try c.decodeIfPresent(Int32.self, forKey: .tgid),
                  executable: try c.decodeIfPresent(String.self, forKey: .executable))
    }

    /// Gone for every purpose: a zombie (`Z`) or dead (`X`). `kill -0` succeeds on zombies, so it is not used.
    public var isDead: Bool { state == "Z" || state == "X" }
    /// Stopped by a signal (`T`) or a tracer (`t`).
    public var isStopped: Bool { state == "T" || state == "t" }
    /// The identity that survives pid reuse.
    public var identity: ProcessIdentity { ProcessIdentity(pid: pid, startTime: startTime) }
    /// The command line joined by spaces, as `match` sees it.
    public var commandLine: String { cmdline.joined(separator: " ") }

    public var description: String { "\(pid) (\(name))" }
}

/// A process named so that a reused pid is not mistaken for it.
public struct ProcessIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    public var pid: Int32
    public var startTime: UInt64
    public init(pid: Int32, startTime: UInt64) { self.pid = pid; self.startTime = startTime }
    public var description: String { "\(pid)@\(startTime)" }
}

/// A snapshot of the process table.
public struct ProcessTable: Sendable {
    public var processes: [ProcessEntry]
    private var byPID: [Int32: Int]

    public init(_ processes: [ProcessEntry]) {
        self.processes = processes.sorted { ($0.startTime, $0.pid) < ($1.startTime, $1.pid) }
        var index: [Int32: Int] = [:]
        for (i, p) in self.processes.enumerated() { index[p.pid] = i }
        self.byPID = index
    }

    public subscript(pid: Int32) -> ProcessEntry? { byPID[pid].map { processes[$0] } }

    /// `pid`, its parent, its grandparent... up to PID 1 (excluded pid 0).
    public func ancestry(of pid: Int32) -> [Int32] {
        var out: [Int32] = []
        var current: Int32? = pid
        var guardCount = 0
        while let c = current, c > 0, guardCount < 4096 {
            out.append(c)
            current = self[c]?.ppid
            guardCount += 1
        }
        return out
    }
}
