public import ChaosCore

/// A kind of fault that chaos injects on its own host.
///
/// `plan` is pure: it turns the request and the facts gathered from the host into a ``FaultReceipt``
/// that holds everything `inject`, `verify` and `revert` need. The receipt is written to the ledger
/// before `inject` runs, so a crash at any point leaves enough to revert.
public protocol Fault: Sendable {
    /// What `gather` reads from the host for `plan`.
    associatedtype Facts: Sendable
    /// Everything revert needs; persisted before the host is touched.
    associatedtype Receipt: FaultReceipt

    /// The kind this value implements.
    var kind: FaultKind { get }

    /// Reads what planning needs from the host (filesystem size, unit state...). No changes.
    func gather(_ request: FaultRequest, on host: some HostSystem) async throws(ChaosError) -> Facts
    /// Decides exactly what will be done. Pure.
    /// - Throws: ``ChaosError`` when the request cannot be met (nothing to fill, unit not running...).
    func plan(_ request: FaultRequest, facts: Facts) throws(ChaosError) -> Receipt
    /// Applies the receipt to the host.
    func inject(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError)
    /// Whether the fault is in place now.
    func verify(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState
    /// Undoes the fault. Idempotent: reverting what is already reverted succeeds. A no-op for kills.
    func revert(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError)
}

/// What a receipt must tell besides the data revert needs.
public protocol FaultReceipt: Codable, Hashable, Sendable {
    /// The exact host actions, in words, for `--dry-run` and `chaos status`.
    var actions: [String] { get }
    /// What the fault holds exclusively while active.
    var claims: [ResourceClaim] { get }
}

/// Whether a fault is in place.
public enum FaultState: Hashable, Sendable, Codable, CustomStringConvertible {
    /// In place, fully.
    case active
    /// Not in place (never injected, or reverted).
    case absent
    /// Partly in place, or changed by something else.
    case drifted(reason: String)

    public var description: String {
        switch self {
        case .active: return "active"
        case .absent: return "absent"
        case .drifted(let r): return "drifted: \(r)"
        }
    }
}

/// A resource a fault holds while active; two faults with the same claim cannot run at once.
public enum ResourceClaim: Hashable, Sendable, Codable, CustomStringConvertible {
    case process(ProcessIdentity)
    case unit(String, SystemdScope)
    case filesystem(UInt64)
    case path(String)

    public var description: String {
        switch self {
        case .process(let p): return "process \(p.pid)"
        case .unit(let u, let s): return "\(s == .user ? "user " : "")unit '\(u)'"
        case .filesystem(let id): return "filesystem \(String(id, radix: 16))"
        case .path(let p): return "path '\(p)'"
        }
    }
}

/// One request to inject a fault, with its target already resolved.
public struct FaultRequest: Sendable {
    /// Short unique id (`f-3k9x2m`), used in names the fault owns (fill files, helper arguments).
    public var faultID: String
    public var spec: FaultSpec
    /// For process faults: the processes chosen.
    public var victims: [ProcessEntry]
    /// For systemd faults: the unit.
    public var unit: String?
    public var scope: SystemdScope
    /// When a reversible fault must be reverted, in milliseconds since the epoch.
    public var deadline: Int64?
    /// For network faults: names already resolved to addresses, and the ports never to cut.
    public var network: Network
    /// For disk fills: where the host lets them go and how full, and the space its ledger keeps.
    public var diskFill: DiskFillLimits = DiskFillLimits()

    /// The host's limits on disk fills (the agent's `policy.diskFill`, and the ledger's own room).
    public struct DiskFillLimits: Sendable {
        /// Directories a fill may be made in (their canonical paths, symlinks resolved); `nil` for any.
        public var paths: [String]?
        /// The fullest a fill may leave a filesystem, in percent (df's Use%).
        public var maxPercent: Double
        /// The filesystem of the fault ledger: a fill there always leaves ``ledgerReserve`` free, so
        /// the ledger can still record the fault and its revert.
        public var ledgerFilesystem: UInt64?
        public var ledgerReserve: Int64
        public static let defaultLedgerReserve: Int64 = 16 << 20
        public init(paths: [String]? = nil, maxPercent: Double = 100, ledgerFilesystem: UInt64? = nil,
                    ledgerReserve: Int64 = DiskFillLimits.defaultLedgerReserve) {
            self.paths = paths; self.maxPercent = maxPercent; self.ledgerFilesystem = ledgerFilesystem; self.ledgerReserve = ledgerReserve
        }
    }

    /// Network facts resolved by the caller (inventory names become addresses there).
    public struct Network: Sendable {
        /// Addresses or CIDRs of `to`.
        public var remotes: [String]
        /// network.partition: the two sides, as addresses or CIDRs.
        public var sideA: [String]
        public var sideB: [String]
        public var oneWay: Bool
        /// This host's own addresses (to find its side of a partition).
        public var localAddresses: [String]
        /// Ports exempt from every network fault (the agent's control port), unless `includeControlPort`.
        public var controlPorts: [Int]
        /// Ports the host protects (`policy.protectedPorts`, e.g. 22): exempt from every network fault
        /// whatever the fault says; a fault that cannot spare them (a whole-interface qdisc) is refused.
        public var protectedPorts: [Int]
        public init(remotes: [String] = [], sideA: [String] = [], sideB: [String] = [], oneWay: Bool = false,
                    localAddresses: [String] = [], controlPorts: [Int] = [7433], protectedPorts: [Int] = []) {
            self.remotes = remotes; self.sideA = sideA; self.sideB = sideB; self.oneWay = oneWay
            self.localAddresses = localAddresses; self.controlPorts = controlPorts; self.protectedPorts = protectedPorts
        }
    }

    public init(faultID: String, spec: FaultSpec, victims: [ProcessEntry] = [], unit: String? = nil,
                scope: SystemdScope = .system, deadline: Int64? = nil, network: Network = Network()) {
        self.faultID = faultID; self.spec = spec; self.victims = victims; self.unit = unit; self.scope = scope
        self.deadline = deadline; self.network = network
    }
}

/// A victim as receipts store it: identity plus the name, for messages.
public struct Victim: Hashable, Sendable, Codable, CustomStringConvertible {
    public var pid: Int32
    public var startTime: UInt64
    public var name: String
    public init(_ p: ProcessEntry) { pid = p.pid; startTime = p.startTime; name = p.name }
    public var identity: ProcessIdentity { ProcessIdentity(pid: pid, startTime: startTime) }
    public var description: String { "\(pid) (\(name))" }
}

extension HostSystem {
    /// The victim's process if it is still the same process (same start time) and alive.
    public func live(_ v: Victim) async -> ProcessEntry? {
        guard let p = await process(v.pid), p.startTime == v.startTime, !p.isDead else { return nil }
        return p
    }
}
