public import ChaosCore
public import ChaosFaults

/// Drives faults through the ledger: plan → record → inject → verify → revert, and recovery of what
/// others left behind. It holds no state of its own: the ledger is the state, so any process sharing
/// the ledger (a one-off command, its guardian, an agent) can finish what another began.
public struct FaultEngine: Sendable {
    public let ledger: FaultLedger
    public let host: any HostSystem
    public let clock: any WallClock

    public init(ledger: FaultLedger, host: any HostSystem, clock: any WallClock = SystemWallClock()) {
        self.ledger = ledger
        self.host = host
        self.clock = clock
    }

    /// A fault decided but not yet recorded or applied: what `--dry-run` shows.
    public struct Plan: Sendable {
        public var request: FaultRequest
        public var planned: PlannedFault
        public var fault: AnyFault
        public var target: String
    }

    /// Plans a fault (reads facts from the host, changes nothing).
    public func plan(_ request: FaultRequest, target: String) async throws(ChaosError) -> Plan {
        let fault = try FaultCatalog.fault(request.spec.type)
        if fault.isReversible && request.deadline == nil {
            throw .usage("fault.noDuration", "\(request.spec.type) is reversible and needs a duration, so it is never left on by accident. Add e.g. '--for 30s'.")
        }
        var request = request
        if request.spec.type == .diskFill {
            // A fill of the ledger's own filesystem leaves the ledger room to record it and its revert.
            request.diskFill.ledgerFilesystem = try? await host.filesystem(at: ledger.directory).id
        }
        let planned = try await fault.plan(request, on: host)
        return Plan(request: request, planned: planned, fault: fault, target: target)
    }

    // MARK: Irreversible faults

    /// Applies a fault that cannot be reverted (a kill). Nothing goes into the ledger: there is nothing to undo.
    public func apply(_ plan: Plan) async throws(ChaosError) {
        precondition(!plan.fault.isReversible, "reversible faults go through record/inject")
        try await plan.fault.inject(plan.planned.receipt, on: host)
    }

    /// Applies a fault that cannot be reverted and keeps a record of it in the ledger's history (for
    /// idempotency keys and the audit trail); it is never open, so nothing ever tries to revert it.
    public func applyAndRecord(_ plan: Plan, owners: [ProcessIdentity], runID: String?, idempotencyKey: String?,
                               requestedBy: String?) async throws(ChaosError) -> LedgerRecord {
        try await apply(plan)
        let now = clock.now()
        var r = LedgerRecord(id: plan.request.faultID, kind: plan.planned.kind, state: .injected, target: plan.target,
                             receipt: plan.planned.receipt, actions: plan.planned.actions, claims: [], createdAt: now, deadline: nil,
                             owners: owners, runID: runID, leaseExpiresAt: nil, idempotencyKey: idempotencyKey,
                             requestedBy: requestedBy, failure: nil, history: [])
        r.move(to: .reverted, at: now, note: "applied; \(plan.planned.kind) cannot be reverted")
        try ledger.write(r)
        if let idempotencyKey { try ledger.remember(key: idempotencyKey, id: r.id) }
        return r
    }

    /// Confirms an applied irreversible fault (a kill) took effect: polls `verify` until it is active
    /// (the victims are gone) or its grace period (``GracePeriods/applied(_:)``) ends.
    public func confirmApplied(_ plan: Plan) async throws(ChaosError) -> FaultState {
        let grace = GracePeriods.applied(plan.request.spec)
        let start = clock.now()
        var state = try await plan.fault.verify(plan.planned.receipt, on: host)
        while state != .active, clock.now() - start < grace {
            try? await Task.sleep(for: .milliseconds(GracePeriods.appliedPoll))
            state = try await plan.fault.verify(plan.planned.receipt, on: host)
        }
        return state
    }

    /// Confirms an injected reversible fault is active, allowing a moment for asynchronous effects
    /// (a unit stopping, a helper starting): polls `verify` for up to `within` ms.
    public func confirmActive(_ id: String, within: Int64 = GracePeriods.active) async throws(ChaosError) -> FaultState {
        let start = clock.now()
        var state = try await verify(id)
        while state != .active, clock.now() - start < within {
            try? await Task.sleep(for: .milliseconds(GracePeriods.activePoll))
            state = try await verify(id)
        }
        return state
    }

    // MARK: Reversible faults

    /// Writes the plan to the ledger as `planned`, refusing it when another open fault holds one of its claims.
    /// - Parameters:
    ///   - lease: for faults held remotely, how long until the holder must renew (dead-man's switch).
    public func record(_ plan: Plan, owners: [ProcessIdentity], runID: String? = nil, lease: ChaosDuration? = nil,
                       idempotencyKey: String? = nil, requestedBy: String? = nil) async throws(ChaosError) -> LedgerRecord {
        try await ledger.withLock { () throws(ChaosError) -> LedgerRecord in
            for other in try ledger.openRecords() {
                if let clash = other.claims.first(where: plan.planned.claims.contains) {
                    throw ChaosError("fault.resourceBusy", "\(clash.description.prefix(1).uppercased() + clash.description.dropFirst()) is already held by fault '\(other.id)' (\(other.kind), \(other.target)). Wait for it to end or run 'chaos revert \(other.id)'.")
                }
            }
            let now = clock.now()
            var r = LedgerRecord(id: plan.request.faultID, kind: plan.planned.kind, state: .planned, target: plan.target,
                                 receipt: plan.planned.receipt, actions: plan.planned.actions, claims: plan.planned.claims,
                                 createdAt: now, deadline: plan.request.deadline, owners: owners, runID: runID,
                                 leaseExpiresAt: lease.map { now + $0.milliseconds }, idempotencyKey: idempotencyKey,
                                 requestedBy: requestedBy, failure: nil, history: [])
            r.move(to: .planned, at: now)
            try ledger.write(r)
            if let idempotencyKey { try ledger.remember(key: idempotencyKey, id: r.id) }
            return r
        }
    }

    /// Extends a fault's lease to `now + lease` (never past its deadline).
    /// - Returns: the record, or throws `ledger.unknownFault` / `fault.alreadyReverted`.
    @discardableResult
    public func renew(_ id: String, lease: ChaosDuration) async throws(ChaosError) -> LedgerRecord {
        try await ledger.withLock { () throws(ChaosError) -> LedgerRecord in
            guard var r = try ledger.record(id) else { throw Self.unknown(id) }
            guard r.needsRevert else {
                throw ChaosError("fault.alreadyReverted", "Fault '\(id)' is already reverted; its lease cannot be renewed.")
            }
            let until = clock.now() + lease.milliseconds
            r.leaseExpiresAt = r.deadline.map { min($0, until) } ?? until
            try ledger.write(r)
            return r
        }
    }

    /// Adds an owner (a guardian) to a record.
    public func addOwner(_ id: String, _ owner: ProcessIdentity) async throws(ChaosError) {
        try await ledger.withLock { () throws(ChaosError) in
            guard var r = try ledger.record(id), r.needsRevert else { return }
            r.owners.append(owner)
            try ledger.write(r)
        }
    }

    /// Applies a recorded fault: `injecting` is written (fsync'd) before the host is touched. When the
    /// inject fails, the fault is reverted at once (it may be half applied) and the error rethrown.
    public func inject(_ id: String) async throws(ChaosError) -> LedgerRecord {
        var r = try await transition(id, to: .injecting)
        let fault = try FaultCatalog.fault(r.kind)
        do {
            try await fault.inject(r.receipt, on: host)
        } catch {
            _ = try? await revert(id, reason: "inject failed: \(error.message)")
            throw error
        }
        do {
            r = try await transition(id, to: .injected)
        } catch where error.code != "fault.alreadyReverted" {
            // In place but not recorded as such: undo it now rather than answer "nothing was changed"
            // over a fault that is there (revert does not need the ledger to be writable).
            _ = try? await revert(id, reason: "could not record the fault as injected: \(error.message)")
            throw ChaosError(error.code, "Fault '\(id)' was injected but could not be recorded (\(error.message)), so it was reverted at once.", exit: error.exit)
        }
        return r
    }

    /// Whether the fault is in place now.
    public func verify(_ id: String) async throws(ChaosError) -> FaultState {
        guard let r = try ledger.record(id) else { throw Self.unknown(id) }
        return try await FaultCatalog.fault(r.kind).verify(r.receipt, on: host)
    }

    /// Reverts fault `id`, idempotently: a reverted fault stays reverted and nothing is done twice.
    /// Held under the ledger lock so the owner and its guardian never revert at the same moment.
    /// - Returns: the final record. When revert fails, the record stays open with the failure noted.
    @discardableResult
    public func revert(_ id: String, reason: String) async throws(ChaosError) -> LedgerRecord {
        try await ledger.withLock { () throws(ChaosError) -> LedgerRecord in
            guard var r = try ledger.record(id) else { throw Self.unknown(id) }
            guard r.needsRevert else { return r }
            if r.state == .planned {
                // `injecting` is fsync'd before the host is touched, so a planned fault never reached
                // it: close the record without acting on the host (a SIGCONT to a process someone
                // else stopped, a StartUnit of a unit someone else stopped, would be a change of ours).
                r.move(to: .reverted, at: clock.now(), note: "\(reason); never injected, nothing to undo")
                try ledger.write(r)
                return r
            }
            r.move(to: .reverting, at: clock.now(), note: reason)
            // Removing a fault never depends on being able to write: a full disk (perhaps the fault
            // itself) must not keep the fault in place. The record still says what to undo.
            try? ledger.write(r)
            let fault = try FaultCatalog.fault(r.kind)
            let receipt = r.receipt
            let host = self.host
            do throws(ChaosError) {
                // Revert must finish even if the caller is cancelled (Ctrl-C during revert).
                try await Uncancelled.run { try await fault.revert(receipt, on: host) }
            } catch {
                r.failure = error.message
                r.history.append(.init(state: .reverting, at: clock.now(), note: "revert failed: \(error.message)"))
                try? ledger.write(r)
                throw ChaosError(error.code, "Reverting fault '\(id)' failed: \(error.message) The fault stays in the ledger; fix the cause and run 'chaos revert \(id)'.", exit: error.exit)
            }
            r.move(to: .reverted, at: clock.now(), note: reason)
            do throws(ChaosError) { try ledger.write(r) } catch {
                // The host is clean; the record stays open, and reverting again (idempotent) finishes it.
                throw ChaosError(error.code, "Fault '\(id)' was reverted on this host, but the ledger could not record it (\(error.message)); it stays listed and will be reverted again, harmlessly, until the ledger can be written.", exit: error.exit)
            }
            return r
        }
    }

    // MARK: Recovery

    /// What recovery did with one record.
    public struct Recovery: Sendable, Hashable {
        public var id: String
        public var kind: FaultKind
        public var reason: String
        /// `nil` when reverted; the message when the revert failed.
        public var error: String?
        public init(id: String, kind: FaultKind, reason: String, error: String?) {
            self.id = id; self.kind = kind; self.reason = reason; self.error = error
        }
    }

    /// Reverts every open fault that is past its deadline or whose owners are all dead.
    /// Faults whose owner is alive and within their deadline are left to their owner.
    public func recover() async -> [Recovery] {
        guard let open = try? ledger.openRecords() else { return [] }
        var out: [Recovery] = []
        let now = clock.now()
        for r in open {
            let reason: String
            if let d = r.deadline, now >= d { reason = "past its deadline" }
            else if let l = r.leaseExpiresAt, now >= l { reason = "its lease ran out" }
            else if await allOwnersDead(r) { reason = "its owner is gone" }
            else { continue }
            do {
                try await revert(r.id, reason: "recovered: \(reason)")
                out.append(Recovery(id: r.id, kind: r.kind, reason: reason, error: nil))
            } catch {
                out.append(Recovery(id: r.id, kind: r.kind, reason: reason, error: error.message))
            }
        }
        return out
    }

    /// Whether no owner of `r` is alive (same pid and start time, not a zombie).
    public func allOwnersDead(_ r: LedgerRecord) async -> Bool {
        for o in r.owners {
            if let p = await host.process(o.pid), p.startTime == o.startTime, !p.isDead { return false }
        }
        return true
    }

    // MARK: Helpers

    private func transition(_ id: String, to state: LedgerRecord.State) async throws(ChaosError) -> LedgerRecord {
        try await ledger.withLock { () throws(ChaosError) -> LedgerRecord in
            guard var r = try ledger.record(id) else { throw Self.unknown(id) }
            guard r.needsRevert else {
                throw ChaosError("fault.alreadyReverted", "Fault '\(id)' was reverted before it could be \(state) (its deadline passed or someone ran 'chaos revert').")
            }
            r.move(to: state, at: clock.now())
            try ledger.write(r)
            return r
        }
    }

    static func unknown(_ id: String) -> ChaosError {
        ChaosError("ledger.unknownFault", "No fault '\(id)' is in the ledger. List faults with 'chaos status --all'.")
    }

    /// A new fault id: `f-` and 8 lowercase base-32 characters.
    public static func newFaultID() -> String {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        return "f-" + String((0..<8).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }
}

/// Runs work in a task that ignores the caller's cancellation and waits for it (revert must finish).
enum Uncancelled {
    static func run(_ body: @escaping @Sendable () async throws -> Void) async throws(ChaosError) {
        let task = Task { try await body() }
        do { try await task.value } catch let error as ChaosError { throw error } catch {
            throw .internalError("engine.unexpected", "Unexpected error: \(error).")
        }
    }
}
