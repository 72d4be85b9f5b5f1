import Synchronization

/// Who leads, as the shared store says (its own clock: controllers' clocks never compare with each other).
public struct LeaderRecord: Hashable, Sendable, Codable {
    /// The leading controller instance (`NAME@HOST#PID`).
    public var holder: String
    /// Grows by one at every change of leader; agents refuse requests from a lower one (fencing).
    public var epoch: Int64
    /// When it took the lead, and until when its lease runs, in the store's milliseconds.
    public var sinceMs: Int64
    public var expiresMs: Int64
    /// The store's clock when this was read.
    public var nowMs: Int64
    public var isExpired: Bool { expiresMs <= nowMs }

    public init(holder: String, epoch: Int64, sinceMs: Int64, expiresMs: Int64, nowMs: Int64) {
        self.holder = holder; self.epoch = epoch; self.sinceMs = sinceMs; self.expiresMs = expiresMs; self.nowMs = nowMs
    }
}

/// A controller of a shared store, as its last heartbeat told the others.
public struct ControllerPeer: Hashable, Sendable, Codable {
    /// `NAME@HOST#PID`.
    public var holder: String
    /// Its API (`https://10.0.0.5:7434/`), when it serves one.
    public var api: String?
    /// `leader` or `standby`, as it saw itself.
    public var role: String
    /// The chaos version it runs.
    public var version: String
    public var startedMs: Int64
    /// Its last heartbeat and the store's clock when read (`ageMs` is their difference).
    public var seenMs: Int64
    public var ageMs: Int64
    public init(holder: String, api: String?, role: String, version: String, startedMs: Int64, seenMs: Int64 = 0, ageMs: Int64 = 0) {
        self.holder = holder; self.api = api; self.role = role; self.version = version; self.startedMs = startedMs; self.seenMs = seenMs; self.ageMs = ageMs
    }
}

/// A store that several controllers share: one leads at a time on a lease with an epoch, and the
/// leader claims fires in the transaction that checks its lead (PostgreSQL; ChaosStorePostgres).
public protocol ControllerCoordinating: Sendable {
    /// Takes or keeps the lead for `ttl`. Returns the leader after the attempt (`holder` when granted).
    func acquireLeadership(_ holder: String, ttl: ChaosDuration) async throws(ChaosError) -> LeaderRecord?
    func leader() async throws(ChaosError) -> LeaderRecord?
    /// Steps down at once (a graceful stop).
    func releaseLeadership(_ holder: String) async throws(ChaosError)
    /// Records `fires` if `holder` still leads at `epoch`; a fire recorded before (by anyone) is left
    /// alone. Returns the fires recorded now.
    /// - Throws: `controller.notLeader` when `holder` no longer leads at `epoch`.
    func claim(_ fires: [FireRecord], holder: String, epoch: Int64) async throws(ChaosError) -> [FireRecord]
    /// Says this controller is alive (and how it sees itself).
    func heartbeat(_ me: ControllerPeer) async throws(ChaosError)
    /// Every controller seen within `withinMs`, by holder.
    func peers(withinMs: Int64) async throws(ChaosError) -> [ControllerPeer]
    /// Closes the connections.
    func close() async
}

/// Everything a controller keeps, in a store that several controllers share.
public typealias SharedControllerStore = RunStoring & FireStoring & AuditStoring & ControllerCoordinating

/// The epoch a controller sends to agents with every inject and renew: 0 until it leads a shared
/// store (then nothing is sent). Read by every request, written when the lead changes.
public final class FencingEpoch: Sendable {
    private let value = Atomic<UInt64>(0)
    public init() {}
    public var current: UInt64? { let v = value.load(ordering: .acquiring); return v == 0 ? nil : v }
    public func set(_ epoch: UInt64) { value.store(epoch, ordering: .releasing) }
}

/// How this controller stands among the controllers of its store (`chaos controller status`, the
/// dashboard, `/metrics`).
public struct ControllerLeadership: Hashable, Sendable, Codable {
    /// `single` (its own SQLite store), `leader` or `standby`.
    public var role: String
    /// This controller instance.
    public var holder: String
    /// The store (`sqlite:DIR` or the PostgreSQL URL without its password).
    public var store: String
    /// The leader as last read from the store (nil for `single`, or when the store did not answer).
    public var leader: LeaderRecord?
    /// The epoch this controller leads with (nil unless it leads a shared store).
    public var epoch: Int64?
    /// Every controller seen in the last minute.
    public var peers: [ControllerPeer]
    /// Why it does not lead or what went wrong last (`PostgreSQL did not answer ...`).
    public var note: String?
    public init(role: String, holder: String, store: String, leader: LeaderRecord? = nil, epoch: Int64? = nil, peers: [ControllerPeer] = [], note: String? = nil) {
        self.role = role; self.holder = holder; self.store = store; self.leader = leader; self.epoch = epoch; self.peers = peers; self.note = note
    }
}
