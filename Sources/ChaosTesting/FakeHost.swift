public import ChaosCore
public import ChaosFaults
import Synchronization

/// A simulated host for unit tests: a process table, units, one filesystem and files. Every call is
/// recorded in `trace`, and state changes follow the kernel's rules closely enough for `verify`.
public final class FakeHost: HostSystem {
    public struct State: Sendable {
        public var processes: [Int32: ProcessEntry] = [:]
        public var units: [String: UnitState] = [:]
        public var unitPIDs: [String: [Int32]] = [:]
        public var files: [String: Int64] = [:]
        public var pidfiles: [String: String] = [:]
        public var listeners: [Int: [Int32]] = [:]
        public var filesystem = FilesystemStats(size: 1000 << 20, available: 900 << 20, free: 950 << 20, id: 0xfeed, isDirectory: true)
        /// nft tables by name, with their programs.
        public var nftTables: [String: String] = [:]
        /// Policy rules and routes added with `ip -4|-6 rule|route add ...`, as their argument text.
        public var ipRouting: Set<String> = []
        /// Root qdisc per interface: (kind, handle). Interfaces not listed have `noqueue 0:`.
        public var rootQdiscs: [String: (kind: String, handle: String)] = [:]
        public var interfaces: Set<String> = ["lo", "eth0"]
        /// iptables-legacy chains in the mangle table, by "FAMILY/NAME", with the restore text that made them.
        public var xtablesChains: [String: String] = [:]
        /// tc children and filters added under a root qdisc, by interface.
        public var tcChildren: [String: [String]] = [:]
        public var fileContents: [String: String] = [:]
        public var capabilities = HostCapabilities(root: true, nft: "nftables v1.0.6", nftRedirect: true, tc: true,
                                                   qdiscs: ["tbf": true, "htb": true, "prio": true, "netem": false], cgroups: "v2",
                                                   networkNamespaces: true)
        /// Pids that ignore SIGTERM.
        public var ignoresTerm: Set<Int32> = []
        /// Operations that fail, by trace prefix (e.g. "signal STOP 42"), with the error.
        public var failures: [String: ChaosError] = [:]
        public var trace: [String] = []
        var nextPID: Int32 = 5000
        var clockTicks: UInt64 = 1000
    }

    private let state: Mutex<State>
    public let facts: HostFacts

    public init(selfPID: Int32 = 100, cpuCount: Int = 2, memoryAvailable: Int64 = 8 << 30) {
        facts = HostFacts(selfPID: selfPID, cpuCount: cpuCount, memoryAvailable: memoryAvailable, hostname: "fakehost")
        var s = State()
        s.processes[1] = ProcessEntry(pid: 1, ppid: 0, name: "init", cmdline: ["/sbin/init"], state: "S", startTime: 1)
        s.processes[2] = ProcessEntry(pid: 2, ppid: 0, name: "kthreadd", cmdline: [], state: "S", startTime: 1, isKernelThread: true)
        s.processes[selfPID] = ProcessEntry(pid: selfPID, ppid: 1, name: "chaos", cmdline: ["/usr/bin/chaos", "kill"], state: "R", startTime: 50)
        state = Mutex(s)
    }

    /// Reads or changes the simulated state.
    public func with<T>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }

    func mutate(_ body: (inout State) -> ChaosError?) throws(ChaosError) {
        if let e = state.withLock({ body(&$0) }) { throw e }
    }

    /// The calls made so far.
    public var trace: [String] { with { $0.trace } }

    /// Adds a running process and returns it.
    @discardableResult
    public func spawn(name: String, cmdline: [String]? = nil, ppid: Int32 = 1) -> ProcessEntry {
        with { s in
            s.nextPID += 1
            s.clockTicks += 1
            let p = ProcessEntry(pid: s.nextPID, ppid: ppid, name: name, cmdline: cmdline ?? ["/usr/bin/\(name)"], state: "S", startTime: s.clockTicks)
            s.processes[p.pid] = p
            return p
        }
    }

    /// Adds a unit with processes.
    public func addUnit(_ name: String, active: Bool = true) {
        with { s in
            s.units[name] = UnitState(name: name, loadState: "loaded", activeState: active ? "active" : "inactive", subState: active ? "running" : "dead", mainPID: 0)
        }
        if active { startUnitProcess(name) }
    }

    private func startUnitProcess(_ name: String) {
        let p = spawn(name: String(name.split(separator: ".").first ?? "svc"))
        with { s in
            s.unitPIDs[name] = [p.pid]
            s.units[name]?.mainPID = p.pid
            s.units[name]?.activeState = "active"
            s.units[name]?.subState = "running"
        }
    }

    private func record(_ op: String) throws(ChaosError) {
        let failure: ChaosError? = with { s in
            s.trace.append(op)
            return s.failures.first(where: { op.hasPrefix($0.key) })?.value
        }
        if let failure { throw failure }
    }

    // MARK: HostSystem

    public func processTable() async throws(ChaosError) -> ProcessTable { with { ProcessTable(Array($0.processes.values)) } }

    public func process(_ pid: Int32) async -> ProcessEntry? { with { $0.processes[pid] } }

    public func send(_ signal: SignalName, to pid: Int32) async throws(ChaosError) {
        try record("signal \(signal.description.dropFirst(3)) \(pid)")
        try mutate { s in
            guard var p = s.processes[pid], !p.isDead else { return ChaosError("host.noSuchProcess", "Process \(pid) does not exist any more.") }
            switch signal {
            case .stop: p.state = "T"
            case .cont: p.state = "S"
            case .term where s.ignoresTerm.contains(pid): break
            default:
                p.state = "Z"
                // A dead packet engine's queue is unbound.
                if let table = s.fileContents["/proc/net/netfilter/nfnetlink_queue"] {
                    s.fileContents["/proc/net/netfilter/nfnetlink_queue"] = table.split(separator: "\n").filter { $0.split(separator: " ").dropFirst().first != Substring(String(pid)) }
                        .map { $0 + "\n" }.joined()
                }
            }
            s.processes[pid] = p
            return nil
        }
    }

    public func readPIDFile(_ path: String) async throws(ChaosError) -> Int32 {
        try record("read \(path)")
        guard let text = with({ $0.pidfiles[path] }), let pid = Int32(text) else {
            throw ChaosError("target.pidfileUnreadable", "Cannot read the pidfile '\(path)'.")
        }
        return pid
    }

    public func listeners(onTCPPort port: Int) async throws(ChaosError) -> [Int32] {
        with { s in (s.listeners[port] ?? []).filter { s.processes[$0].map { !$0.isDead } ?? false } }
    }

    public func unitStatus(_ unit: String, scope: SystemdScope) async throws(ChaosError) -> UnitState {
        guard let u = with({ $0.units[unit] }) else { throw ChaosError("systemd.noSuchUnit", "Unit '\(unit)' does not exist.") }
        return u
    }

    public func startUnit(_ unit: String, scope: SystemdScope) async throws(ChaosError) {
        try record("start \(unit)")
        let active = with { $0.units[unit]?.isActive ?? false }
        if !active { startUnitProcess(unit) }
    }

    public func stopUnit(_ unit: String, scope: SystemdScope) async throws(ChaosError) {
        try record("stop \(unit)")
        with { s in
            for pid in s.unitPIDs[unit] ?? [] { s.processes[pid] = nil }
            s.unitPIDs[unit] = []
            s.units[unit]?.activeState = "inactive"
            s.units[unit]?.subState = "dead"
            s.units[unit]?.mainPID = 0
        }
    }

    public func killUnit(_ unit: String, scope: SystemdScope, who: String, signal: SignalName) async throws(ChaosError) {
        try record("killunit \(unit) \(who) \(signal)")
        with { s in
            for pid in s.unitPIDs[unit] ?? [] { s.processes[pid]?.state = "Z" }
        }
    }

    public func unitProcesses(_ unit: String, scope: SystemdScope) async throws(ChaosError) -> [Int32] { with { $0.unitPIDs[unit] ?? [] } }

    public func filesystem(at path: String) async throws(ChaosError) -> FilesystemStats {
        var fs = with { $0.filesystem }
        fs.isDirectory = !with({ $0.files[path] != nil })
        return fs
    }

    public func allocateFile(_ path: String, bytes: Int64) async throws(ChaosError) {
        try record("fallocate \(path) \(bytes)")
        try mutate { s in
            guard s.files[path] == nil else { return ChaosError("fault.resourceBusy", "'\(path)' exists.") }
            guard bytes <= s.filesystem.available else { return ChaosError("host.allocateFailed", "No space left.") }
            s.files[path] = bytes
            s.filesystem.available -= bytes
            s.filesystem.free -= bytes
            return nil
        }
    }

    public func fileSize(_ path: String) async -> Int64? { with { $0.files[path] } }

    public func removeFile(_ path: String) async throws(ChaosError) -> Bool {
        try record("unlink \(path)")
        return with { s in
            guard let size = s.files.removeValue(forKey: path) else { return false }
            s.filesystem.available += size
            s.filesystem.free += size
            return true
        }
    }

    public func run(_ argv: [String], input: String?, timeout: Duration) async throws(ChaosError) -> CommandResult {
        try record(argv.joined(separator: " "))
        func ok(_ out: String = "") -> CommandResult { CommandResult(argv: argv, status: 0, stdout: out, stderrTail: "") }
        func fail(_ err: String) -> CommandResult { CommandResult(argv: argv, status: 1, stdout: "", stderrTail: err) }
        return with { s in
            switch Array(argv.prefix(4)) {
            case ["nft", "-f", "-"]:
                guard let input, let name = input.split(separator: "\n").first?.split(separator: " ").dropFirst(2).first else { return fail("syntax error") }
                if s.nftTables[String(name)] != nil { return fail("File exists") }
                s.nftTables[String(name)] = input
                return ok()
            case ["nft", "list", "table", "inet"]:
                return s.nftTables[argv[4]].map { ok($0) } ?? fail("Error: No such file or directory")
            case ["nft", "flush", "chain", "inet"]:
                guard argv.count == 6, let program = s.nftTables[argv[4]], program.contains("chain \(argv[5]) {") else {
                    return fail("Error: No such file or directory")
                }
                return ok()
            case ["nft", "delete", "table", "inet"]:
                return s.nftTables.removeValue(forKey: argv[4]) != nil ? ok() : fail("Error: Could not process rule: No such file or directory")
            case ["tc", "-j", "qdisc", "show"]:
                let iface = argv[5]
                guard s.interfaces.contains(iface) else { return fail("Cannot find device \"\(iface)\"") }
                let q = s.rootQdiscs[iface] ?? (kind: "noqueue", handle: "0:")
                return ok("[{\"kind\":\"\(q.kind)\",\"handle\":\"\(q.handle)\",\"root\":true}]")
            case ["tc", "qdisc", "add", "dev"]:
                let iface = argv[4]
                if argv.count > 8, argv[5] == "parent" {
                    guard s.rootQdiscs[iface] != nil else { return fail("Error: Failed to find specified qdisc.") }
                    if argv[8] == "netem" && s.capabilities.qdiscs["netem"] != true { return fail("Error: Specified qdisc kind is unknown.") }
                    s.tcChildren[iface, default: []].append(argv.joined(separator: " "))
                    return ok()
                }
                guard argv.count > 8, argv[5] == "root", argv[6] == "handle" else { return fail("unsupported") }
                if let q = s.rootQdiscs[iface], q.handle != "0:" { return fail("Exclusivity flag on, cannot modify.") }
                if argv[8] == "netem" && s.capabilities.qdiscs["netem"] != true { return fail("Error: Specified qdisc kind is unknown.") }
                s.rootQdiscs[iface] = (kind: argv[8], handle: argv[7])
                return ok()
            case ["iptables-legacy-restore", "-w", "5", "--noflush"], ["ip6tables-legacy-restore", "-w", "5", "--noflush"]:
                let family = argv[0].hasPrefix("ip6") ? "6" : "4"
                guard let input else { return fail("no input") }
                for line in input.split(separator: "\n") where line.hasPrefix(":") {
                    let name = String(line.dropFirst().split(separator: " ")[0])
                    if s.xtablesChains["\(family)/\(name)"] != nil { return fail("iptables-restore: line 2 failed: Chain already exists.") }
                    s.xtablesChains["\(family)/\(name)"] = input
                }
                return ok()
            case ["iptables-legacy", "-w", "5", "-t"], ["ip6tables-legacy", "-w", "5", "-t"]:
                let family = argv[0].hasPrefix("ip6") ? "6" : "4"
                guard argv.count >= 7 else { return fail("bad arguments") }
                let key = "\(family)/\(argv[6])"
                switch argv[5] {
                case "-S", "-F": return s.xtablesChains[key] != nil ? ok(s.xtablesChains[key] ?? "") : fail("iptables: No chain/target/match by that name.")
                case "-X": return s.xtablesChains.removeValue(forKey: key) != nil ? ok() : fail("iptables: No chain/target/match by that name.")
                case "-D":
                    let chain = argv.last ?? ""
                    return s.xtablesChains["\(family)/\(chain)"] != nil ? ok() : fail("iptables: Bad rule (does a matching rule exist in that chain?).")
                default: return fail("FakeHost does not simulate '\(argv.joined(separator: " "))'")
                }
            case ["ip", "-j", "route", "get"]:
                return ok("[{\"dst\":\"\(argv[4])\",\"dev\":\"eth0\",\"flags\":[]}]")
            case ["ip", "-j", "link", "show"]:
                return ok("[" + s.interfaces.sorted().map { "{\"ifname\":\"\($0)\"}" }.joined(separator: ",") + "]")
            case ["tc", "filter", "add", "dev"]:
                guard s.rootQdiscs[argv[4]] != nil else { return fail("Error: Parent Qdisc doesn't exists.") }
                s.tcChildren[argv[4], default: []].append(argv.joined(separator: " "))
                return ok()
            case ["ip", "-4", "rule", "add"], ["ip", "-4", "route", "add"], ["ip", "-6", "rule", "add"], ["ip", "-6", "route", "add"]:
                let key = ([argv[1], argv[2]] + argv.dropFirst(4)).joined(separator: " ")
                return s.ipRouting.insert(key).inserted ? ok() : fail("RTNETLINK answers: File exists")
            case ["ip", "-4", "rule", "del"], ["ip", "-4", "route", "del"], ["ip", "-6", "rule", "del"], ["ip", "-6", "route", "del"]:
                let key = ([argv[1], argv[2]] + argv.dropFirst(4)).joined(separator: " ")
                return s.ipRouting.remove(key) != nil ? ok() : fail("RTNETLINK answers: No such file or directory")
            case ["tc", "qdisc", "del", "dev"]:
                s.tcChildren[argv[4]] = nil
                return s.rootQdiscs.removeValue(forKey: argv[4]) != nil ? ok() : fail("Error: Cannot delete qdisc with handle of zero.")
            default:
                return fail("FakeHost does not simulate '\(argv.joined(separator: " "))'")
            }
        }
    }

    public func readFile(_ path: String) async -> String? { with { $0.fileContents[path] } }

    public func capabilities() async -> HostCapabilities { with { $0.capabilities } }

    public func spawnHelper(_ arguments: [String]) async throws(ChaosError) -> ProcessIdentity {
        try record("spawn chaos \(arguments.joined(separator: " "))")
        let helper = spawn(name: "chaos", cmdline: ["/usr/bin/chaos"] + arguments, ppid: facts.selfPID)
        // A packet engine binds its queue as soon as it runs.
        if arguments.first == "_netqueue", let i = arguments.firstIndex(of: "--queue"), i + 1 < arguments.count {
            with { $0.fileContents["/proc/net/netfilter/nfnetlink_queue", default: ""] += "\(arguments[i + 1]) \(helper.pid) 0 2 128 0 0 0 1\n" }
        }
        // A relay listens on its port as soon as it runs.
        if arguments.first == "_relay", let i = arguments.firstIndex(of: "--listen-port"), i + 1 < arguments.count, let port = Int(arguments[i + 1]) {
            with { $0.listeners[port] = [helper.pid] }
        }
        return helper.identity
    }
}
