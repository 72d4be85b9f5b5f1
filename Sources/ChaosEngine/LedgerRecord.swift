public import ChaosCore
public import ChaosFaults

/// One fault in the ledger: its receipt and where it is in its life.
///
/// States move `planned → injecting → injected → reverting → reverted`. A failure on the way sets
/// `failure` and keeps the record open: only `reverted` is final, so a half-applied fault is always
/// reverted by someone (the owner, the guardian, or the next chaos command).
public struct LedgerRecord: Hashable, Sendable, Codable {
    public enum State: String, Hashable, Sendable, Codable { case planned, injecting, injected, reverting, reverted }

    public var id: String
    public var kind: FaultKind
    public var state: State
    /// What was targeted, for people (`2 processes named 'redis-server'`).
    public var target: String
    public var receipt: JSONValue
    public var actions: [String]
    public var claims: [ResourceClaim]
    /// Milliseconds since the epoch.
    public var createdAt: Int64
    /// When the fault must be reverted at the latest; `nil` only for faults that cannot be reverted.
    public var deadline: Int64?
    /// Processes responsible for reverting it (the command that injected it, its guardian, an agent).
    /// When all are dead, the next chaos command reverts the fault.
    public var owners: [ProcessIdentity]
    /// The experiment run this fault belongs to, if any.
    public var runID: String?
    /// When the holder's lease runs out (ms since the epoch): the fault is reverted then unless the
    /// lease was renewed (the dead-man's switch). `nil` for faults held by a local process.
    public var leaseExpiresAt: Int64?
    /// The caller's idempotency key: the same key twice injects once.
    public var idempotencyKey: String?
    /// Who asked for it (a certificate subject, or `local`).
    public var requestedBy: String?
    /// The last error, if something went wrong (inject or revert).
    public var failure: String?
    public var history: [Transition]

    /// One state change.
    public struct Transition: Hashable, Sendable, Codable {
        public var state: State
        public var at: Int64
        public var note: String?
    }

    /// Whether the fault may still be on the host.
    public var needsRevert: Bool { state != .reverted }

    /// When the fault must be reverted at the latest: its deadline or its lease, whichever is first.
    public var revertBy: Int64? {
        switch (deadline, leaseExpiresAt) {
        case let (d?, l?): return min(d, l)
        case let (d?, nil): return d
        case let (nil, l?): return l
        default: return nil
        }
    }

    mutating func move(to state: State, at now: Int64, note: String? = nil) {
        self.state = state
        history.append(Transition(state: state, at: now, note: note))
    }
}
