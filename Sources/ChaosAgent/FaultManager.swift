public import ChaosCore
public import ChaosEngine
public import ChaosFaults
import Foundation

/// The agent's faults: inject with an idempotency key and a lease, renew, revert, halt and resume,
/// and the dead-man's switch that reverts whatever is not renewed in time. All state is in the
/// ledger (and a `halted` file), so a restarted agent picks up where it was.
public actor FaultManager {
    public let engine: FaultEngine
    let resolver: TargetResolver
    public let policy: AgentPolicy
    /// The agent's own listening port, always exempt from network faults.
    let controlPort: Int
    let me: ProcessIdentity
    let haltFile: String
    /// Rung when a fault is added or its lease changes, so the reaper re-plans its sleep.
    nonisolated let changed = Alarm()
    /// A request without a lease gets this one.
    let defaultLease: ChaosDuration
    /// Longer leases (at inject or renew) are refused: a caller that dies must not leave a fault for long.
    let maxLease: ChaosDuration

    public init(engine: FaultEngine, resolver: TargetResolver, policy: AgentPolicy, controlPort: Int, me: ProcessIdentity, stateDir: String,
                defaultLease: ChaosDuration = .seconds(15), maxLease: ChaosDuration = .seconds(300)) {
        self.defaultLease = defaultLease
        self.maxLease = maxLease
        self.engine = engine
        self.resolver = resolver
        self.policy = policy
        self.controlPort = controlPort
        self.me = me
        self.haltFile = stateDir + "/halted"
    }

    /// A fault as the API shows it.
    public typealias FaultView = AgentFault

    // MARK: Halt

    /// Whether new faults are refused.
    public var isHalted: Bool { FileManager.default.fileExists(atPath: haltFile) }

    /// Reverts every open fault and refuses new ones until `resume`.
    public func halt(reason: String, by caller: Caller) async -> [FaultEngine.Recovery] {
        FileManager.default.createFile(atPath: haltFile, contents: Data("\(caller) \(reason)\n".utf8))
        return await revertAll(reason: "halt by \(caller): \(reason)")
    }

    /// Accepts faults again.
    public func resume() { try? FileManager.default.removeItem(atPath: haltFile) }

    // MARK: Faults

    /// Injects a fault for `caller`, once per idempotency key.
    /// - Throws: `agent.halted`, `policy.denied`, and every planning or injection error.
    public func inject(_ request: InjectRequest, by caller: Caller) async throws(ChaosError) -> FaultView {
        if let id = engine.ledger.fault(forKey: request.idempotencyKey), let existing = try engine.ledger.record(id) {
            return FaultView(existing, created: false)
        }
        guard !isHalted else {
            throw ChaosError("agent.halted", "This agent is halted and refuses new faults. Run 'chaos resume' when it is safe again.")
        }
        if let why = policy.refusal(request.fault) { throw ChaosError("policy.denied", "Refused by this host's policy: \(why).") }
        let lease = try checked(request.lease ?? defaultLease)
        var rng = SystemRandomNumberGenerator()
        let resolved = try await resolver.resolve(request.target, for: request.fault.type, policy: policy.protection, using: &rng)
        let now = engine.clock.now()
        let id = FaultEngine.newFaultID()
        var network = FaultRequest.Network(controlPorts: [controlPort] + policy.protectedPorts)
        network.remotes = request.to ?? request.fault.with.to ?? []
        network.sideA = request.between ?? request.fault.with.to ?? []
        network.sideB = request.and ?? request.fault.with.and ?? []
        network.oneWay = request.fault.with.mode == "oneway"
        network.localAddresses = Array(resolver.localNames())
        let faultRequest = FaultRequest(faultID: id, spec: request.fault, victims: resolved.victims, unit: resolved.unit, scope: resolved.scope,
                                        deadline: request.fault.duration.map { now + $0.milliseconds }, network: network)
        let plan = try await engine.plan(faultRequest, target: resolved.description)
        if !plan.fault.isReversible {
            let done = try await engine.applyAndRecord(plan, owners: [me], runID: request.runID, idempotencyKey: request.idempotencyKey,
                                                       requestedBy: caller.description)
            var view = FaultView(done, created: true)
            view.state = "applied"
            view.verified = (try? await engine.confirmApplied(plan)).map { $0 == .active ? "gone" : $0.description }
            return view
        }
        _ = try await engine.record(plan, owners: [me], runID: request.runID, lease: lease,
                                    idempotencyKey: request.idempotencyKey, requestedBy: caller.description)
        defer { changed.ring() }
        var view = FaultView(try await engine.inject(id), created: true)
        // Confirm it took effect before answering, as for kills: "active", or what was found instead.
        let state = try await engine.confirmActive(id)
        view.verified = state.description
        return view
    }

    /// Open faults (and recent history with `all`).
    public func list(all: Bool = false) throws(ChaosError) -> [FaultView] {
        var records = try engine.ledger.openRecords()
        if all { records += try engine.ledger.history() }
        return records.map { FaultView($0) }
    }

    public func get(_ id: String) throws(ChaosError) -> FaultView? { try engine.ledger.record(id).map { FaultView($0) } }

    public func renew(_ id: String, lease: ChaosDuration) async throws(ChaosError) -> FaultView {
        defer { changed.ring() }
        return FaultView(try await engine.renew(id, lease: try checked(lease)))
    }

    /// `lease`, if this agent allows it.
    func checked(_ lease: ChaosDuration) throws(ChaosError) -> ChaosDuration {
        guard lease <= maxLease else {
            throw ChaosError("policy.denied", "Refused by this host's policy: a lease of \(lease) is longer than this agent allows (\(maxLease), 'lease.max' in agent.yaml). Ask for a shorter lease and renew it.")
        }
        return lease
    }

    public func revert(_ id: String, reason: String) async throws(ChaosError) -> FaultView {
        FaultView(try await engine.revert(id, reason: reason))
    }

    /// Reverts every open fault; returns what happened to each.
    public func revertAll(reason: String) async -> [FaultEngine.Recovery] {
        var out: [FaultEngine.Recovery] = []
        for r in (try? engine.ledger.openRecords()) ?? [] {
            do {
                try await engine.revert(r.id, reason: reason)
                out.append(.init(id: r.id, kind: r.kind, reason: reason, error: nil))
            } catch {
                out.append(.init(id: r.id, kind: r.kind, reason: reason, error: error.message))
            }
        }
        return out
    }

    /// The dead-man's switch: reverts faults whose lease or deadline has run out, and faults of a
    /// previous agent (their owner is dead). Called at start, before serving, and then every tick.
    public func reap() async -> [FaultEngine.Recovery] { await engine.recover() }

    /// When the next lease or deadline runs out (ms since the epoch), to sleep exactly that long.
    public func nextExpiry() -> Int64? { ((try? engine.ledger.openRecords()) ?? []).compactMap(\.revertBy).min() }

    /// Which processes a target selection would hit, without touching anything.
    public func preview(_ target: TargetSpec, kind: FaultKind) async throws(ChaosError) -> TargetResolver.Resolved {
        var rng = SystemRandomNumberGenerator()
        return try await resolver.resolve(target, for: kind, policy: policy.protection, using: &rng)
    }
}

extension AgentFault {
    init(_ r: LedgerRecord, created: Bool? = nil) {
        self.init(id: r.id, kind: r.kind, state: r.state.rawValue, target: r.target, actions: r.actions, deadline: r.deadline,
                  leaseExpiresAt: r.leaseExpiresAt, runID: r.runID, idempotencyKey: r.idempotencyKey, requestedBy: r.requestedBy,
                  failure: r.failure, note: r.history.last?.note, created: created)
    }
}
