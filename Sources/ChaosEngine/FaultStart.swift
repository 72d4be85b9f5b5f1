public import ChaosCore
public import ChaosFaults

/// The one way a fault starts on a host, for one-off commands, runs and the agent alike: the
/// safety-critical sequence after planning, in one place.
///
/// ```
/// cannot be undone:  may proceed? ─► apply (and record in history, for the agent) ─► confirm (grace by signal)
/// reversible:        record (fsync) ─► guardian? ─► may proceed? ─► inject ─► confirm active
///                    ─► not confirmed: revert at once (unless the caller judges that)
/// ```
///
/// Resolving the target and planning come before (``FaultEngine/plan(_:target:)``); holding and
/// reverting after, by the caller, who knows how long and why.
public struct FaultStart: Sendable {
    /// The processes that hold the fault; it is theirs to revert (and the guardian's, or recovery's).
    public var owners: [ProcessIdentity]
    public var runID: String?
    /// For faults held remotely: how long until the holder must renew.
    public var lease: ChaosDuration?
    public var idempotencyKey: String?
    public var requestedBy: String?
    /// Keep a closed record of faults that cannot be undone (the agent does: idempotency and audit).
    public var recordIrreversible = false
    /// Started after the record is durable and before the host is touched: a process that reverts
    /// the fault at its deadline if the caller dies (the one-off's guardian). It becomes an owner.
    public var guardian: (@Sendable (FaultEngine.Plan) async throws(ChaosError) -> ProcessIdentity)?
    /// Asked at the last moment before the host is touched (after the record, for reversible faults);
    /// throws to stop there. A halted agent refuses here, and its halt reverts what was recorded.
    public var mayProceed: @Sendable (_ reversible: Bool) async throws(ChaosError) -> Void = { _ in }
    /// Revert a reversible fault that cannot be confirmed active. The agent leaves that to its caller,
    /// which sees the state in the answer.
    public var revertUnconfirmed = true

    public init(owners: [ProcessIdentity]) { self.owners = owners }

    /// What happened.
    public struct Started: Sendable {
        public var id: String
        /// When the host was touched (ms since the epoch).
        public var at: Int64
        /// What verify found: `.active` when confirmed.
        public var state: FaultState
        /// The ledger record (reversible faults, or irreversible ones with ``FaultStart/recordIrreversible``).
        public var record: LedgerRecord?
        public var guardian: ProcessIdentity?
        /// Reverted at once because it could not be confirmed.
        public var revertedUnconfirmed: Bool
        public var isConfirmed: Bool { state == .active }
    }

    /// Starts a planned fault.
    public func start(_ plan: FaultEngine.Plan, on engine: FaultEngine) async throws(ChaosError) -> Started {
        let id = plan.request.faultID
        guard plan.fault.isReversible else {
            try await mayProceed(false)
            var record: LedgerRecord?
            if recordIrreversible {
                record = try await engine.applyAndRecord(plan, owners: owners, runID: runID, idempotencyKey: idempotencyKey, requestedBy: requestedBy)
            } else {
                try await engine.apply(plan)
            }
            let at = engine.clock.now()
            let state = try await engine.confirmApplied(plan)
            return Started(id: id, at: at, state: state, record: record, guardian: nil, revertedUnconfirmed: false)
        }
        _ = try await engine.record(plan, owners: owners, runID: runID, lease: lease, idempotencyKey: idempotencyKey, requestedBy: requestedBy)
        var guardianID: ProcessIdentity?
        do throws(ChaosError) {
            if let guardian {
                let g = try await guardian(plan)
                guardianID = g
                try await engine.addOwner(id, g)
            }
            try await mayProceed(true)
        } catch {
            // Recorded, not applied: close the record now (reverting what was never applied is
            // harmless, and idempotent if a halt reverts it too).
            _ = try? await engine.revert(id, reason: "not started: \(error.message)")
            throw error
        }
        var record = try await engine.inject(id)
        let at = engine.clock.now()
        let state = try await engine.confirmActive(id)
        var reverted = false
        if state != .active, revertUnconfirmed {
            record = try await engine.revert(id, reason: "not confirmed active (\(state))")
            reverted = true
        }
        return Started(id: id, at: at, state: state, record: record, guardian: guardianID, revertedUnconfirmed: reverted)
    }
}

/// How long chaos waits for a fault to show, in one table.
public enum GracePeriods {
    /// A fault that cannot be undone: SIGKILL takes effect at once; other signals may be handled first.
    public static func applied(_ spec: FaultSpec) -> Int64 {
        (spec.with.signal ?? .kill) == .kill ? 2000 : 5000
    }
    /// A reversible fault's asynchronous effects (a unit stopping, a helper starting).
    public static let active: Int64 = 3000
    /// How often verify is asked while waiting, in ms: kills are checked at once, the rest every 10 ms.
    public static let appliedPoll: Int64 = 1
    public static let activePoll: Int64 = 10
}
