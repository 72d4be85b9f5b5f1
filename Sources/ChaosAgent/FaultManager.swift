public import ChaosCore
import ChaosPOSIX
public import ChaosEngine
public import ChaosFaults
import Foundation
public import Logging

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
    /// Every inject, revert, renew, halt and resume, with the caller (journal fields CHAOS_CALLER...).
    let audit: Logger
    /// Whether new faults are refused: kept in memory (the `halted` file only carries it across a
    /// restart), so a halt holds even when the state directory cannot be written.
    private var halted: Bool
    /// Injections under way, by idempotency key: a second request with the same key waits for the
    /// first and gets its fault, and a halt waits for all of them before it reverts everything.
    private var inFlight: [String: Task<FaultView, any Error>] = [:]

    public init(engine: FaultEngine, resolver: TargetResolver, policy: AgentPolicy, controlPort: Int, me: ProcessIdentity, stateDir: String,
                defaultLease: ChaosDuration = .seconds(15), maxLease: ChaosDuration = .seconds(300),
                audit: Logger = Logger(label: "chaos-agent.audit", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.defaultLease = defaultLease
        self.maxLease = maxLease
        self.engine = engine
        self.resolver = resolver
        self.policy = policy
        self.controlPort = controlPort
        self.me = me
        self.haltFile = stateDir + "/halted"
        self.audit = audit
        self.halted = FileManager.default.fileExists(atPath: stateDir + "/halted")
        self.epochFile = stateDir + "/controller-epoch"
        self.highestEpoch = Self.readEpoch(stateDir + "/controller-epoch")
    }

    // MARK: Fencing

    /// The highest leadership epoch a controller has shown this agent (kept across restarts in
    /// `STATE_DIR/controller-epoch`). Controllers that share a store elect one leader at a time, each
    /// new leader with a higher epoch; a request carrying a lower one comes from a leader that lost
    /// its lead (paused, partitioned, its lease expired) and must not start or keep faults.
    public private(set) var highestEpoch: UInt64
    private let epochFile: String

    static func readEpoch(_ path: String) -> UInt64 {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        return UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Admits a request carrying a controller's epoch (`chaos-controller-epoch`), or refuses it when
    /// a newer leader has been seen. A higher epoch is written down before the request acts, so a
    /// restart does not forget it. Requests without an epoch (operators, one-offs) are not fenced;
    /// reverts and halts never are: undoing is always safe.
    /// - Throws: `controller.fenced`.
    public func admit(epoch: UInt64?, by caller: Caller) throws(ChaosError) {
        guard let epoch else { return }
        if epoch < highestEpoch {
            audit.warning("fenced", metadata: Self.who(caller).merging(["epoch": "\(epoch)", "highest": "\(highestEpoch)"]) { a, _ in a })
            throw ChaosError("controller.fenced", "Refused: a newer controller leads (epoch \(highestEpoch)); this request carries epoch \(epoch), from a controller that has lost its lead. It may not inject or keep faults alive; its faults end with their leases.")
        }
        guard epoch > highestEpoch else { return }
        do { try POSIXFiles.writeDurably(Array("\(epoch)\n".utf8), to: epochFile, mode: 0o600) } catch {
            // Kept in memory: this agent stays fenced until it restarts.
            audit.error("could not write the controller epoch; fenced in memory only", metadata: ["file": "\(epochFile)", "error": "\(error)"])
        }
        audit.notice("controller epoch", metadata: Self.who(caller).merging(["epoch": "\(epoch)", "previous": "\(highestEpoch)"]) { a, _ in a })
        highestEpoch = epoch
    }

    /// A fault as the API shows it.
    public typealias FaultView = AgentFault

    // MARK: Halt

    /// Whether new faults are refused.
    public var isHalted: Bool { halted }

    /// Reverts every open fault and refuses new ones until `resume`. New injections are refused from
    /// the first instant; injections already under way are waited for and then reverted with the
    /// rest, so when this returns nothing of this agent is held.
    public func halt(reason: String, by caller: Caller) async -> [FaultEngine.Recovery] {
        halted = true
        if !FileManager.default.createFile(atPath: haltFile, contents: Data("\(caller) \(reason)\n".utf8)) {
            audit.error("could not write the halt file; halted until this agent restarts", metadata: ["file": "\(haltFile)"])
        }
        audit.notice("halt", metadata: Self.who(caller).merging(["reason": "\(Self.printable(reason))"]) { a, _ in a })
        while let (_, task) = inFlight.first {
            _ = try? await task.value
            inFlight = inFlight.filter { $0.value != task }
        }
        let done = await revertAll(reason: "halt by \(caller): \(Self.printable(reason))")
        for r in done { audit.notice("reverted by halt", metadata: Self.who(caller).merging(["fault.id": "\(r.id)", "fault.kind": "\(r.kind)", "error": "\(r.error ?? "none")"]) { a, _ in a }) }
        return done
    }

    /// Accepts faults again.
    public func resume(by caller: Caller = .local) {
        halted = false
        try? FileManager.default.removeItem(atPath: haltFile)
        audit.notice("resume", metadata: Self.who(caller))
    }

    // MARK: Faults

    /// Injects a fault for `caller`, exactly once per idempotency key: concurrent requests with the
    /// same key get the one fault.
    /// - Throws: `agent.halted`, `policy.denied`, and every planning or injection error.
    public func inject(_ request: InjectRequest, by caller: Caller, epoch: UInt64? = nil) async throws(ChaosError) -> FaultView {
        try admit(epoch: epoch, by: caller)
        let key = request.idempotencyKey
        if let id = engine.ledger.fault(forKey: key), let existing = try engine.ledger.record(id) {
            return FaultView(existing, created: false)
        }
        if let running = inFlight[key] {
            var view = try await Self.outcome(running)
            view.created = false
            return view
        }
        guard !halted else {
            throw ChaosError("agent.halted", "This agent is halted and refuses new faults. Run 'chaos resume' when it is safe again.")
        }
        let task = Task { try await self.perform(request, by: caller) }
        inFlight[key] = task
        defer { if inFlight[key] == task { inFlight[key] = nil } }
        do {
            let view = try await Self.outcome(task)
            audit.notice("inject", metadata: Self.who(caller).merging(Self.describe(view, request)) { a, _ in a })
            return view
        } catch {
            audit.warning("inject refused", metadata: Self.who(caller).merging(["fault.kind": "\(request.fault.type)", "error.code": "\(error.code)", "error": "\(Self.printable(error.message))"]) { a, _ in a })
            throw error
        }
    }

    static func outcome(_ task: Task<FaultView, any Error>) async throws(ChaosError) -> FaultView {
        do { return try await task.value } catch let e as ChaosError { throw e } catch {
            throw .internalError("agent.unexpected", "Unexpected error: \(error).")
        }
    }

    /// One injection, from policy to confirmation.
    private func perform(_ request: InjectRequest, by caller: Caller) async throws(ChaosError) -> FaultView {
        if let why = policy.refusal(request.fault) { throw ChaosError("policy.denied", "Refused by this host's policy: \(why).") }
        let lease = try checked(request.lease ?? defaultLease)
        var rng = SystemRandomNumberGenerator()
        let resolved = try await resolver.resolve(request.target, for: request.fault.type, policy: policy.protection, using: &rng)
        let now = engine.clock.now()
        let id = FaultEngine.newFaultID()
        var network = FaultRequest.Network(controlPorts: [controlPort], protectedPorts: policy.protectedPorts)
        network.remotes = request.to ?? request.fault.with.to ?? []
        network.sideA = request.between ?? request.fault.with.to ?? []
        network.sideB = request.and ?? request.fault.with.and ?? []
        network.oneWay = request.fault.with.mode == "oneway"
        network.localAddresses = Array(resolver.localNames())
        var faultRequest = FaultRequest(faultID: id, spec: request.fault, victims: resolved.victims, unit: resolved.unit, scope: resolved.scope,
                                        deadline: request.fault.duration.map { now + $0.milliseconds }, network: network)
        faultRequest.diskFill.maxPercent = policy.diskFill.maxPercent
        if let paths = policy.diskFill.paths {
            var real: [String] = []
            for p in paths { real.append(await engine.host.canonicalPath(p) ?? p) }
            faultRequest.diskFill.paths = real
        }
        let plan = try await engine.plan(faultRequest, target: resolved.description)
        var start = FaultStart(owners: [me])
        start.runID = request.runID
        start.lease = lease
        start.idempotencyKey = request.idempotencyKey
        start.requestedBy = caller.description
        start.recordIrreversible = true
        // The caller sees what verify found and decides; a halt reverts what was recorded.
        start.revertUnconfirmed = false
        start.mayProceed = { [self] reversible throws(ChaosError) in
            // A kill cannot be taken back by a halt: the last moment to refuse it is now.
            guard await !self.isHalted else {
                throw ChaosError("agent.halted", "This agent was halted while the request was planned; nothing was \(reversible ? "applied" : "done").")
            }
        }
        defer { if plan.fault.isReversible { changed.ring() } }
        let started = try await start.start(plan, on: engine)
        guard let record = started.record else { throw .internalError("agent.unrecorded", "The fault was started but not recorded.") }
        var view = FaultView(record, created: true)
        if !plan.fault.isReversible {
            view.state = "applied"
            view.verified = started.isConfirmed ? "gone" : started.state.description
        } else {
            // Confirmed before answering, as for kills: "active", or what was found instead.
            view.verified = started.state.description
        }
        return view
    }

    /// Open faults (and recent history with `all`).
    public func list(all: Bool = false) throws(ChaosError) -> [FaultView] {
        var records = try engine.ledger.openRecords()
        if all { records += try engine.ledger.history() }
        return records.map { FaultView($0) }
    }

    public func get(_ id: String) throws(ChaosError) -> FaultView? { try engine.ledger.record(id).map { FaultView($0) } }

    public func renew(_ id: String, lease: ChaosDuration, by caller: Caller = .local, epoch: UInt64? = nil) async throws(ChaosError) -> FaultView {
        try admit(epoch: epoch, by: caller)
        guard !halted else {
            // The more useful fact first: a holder stops on "already reverted" (the halt did it).
            if let r = try engine.ledger.record(id), !r.needsRevert {
                throw ChaosError("fault.alreadyReverted", "Fault '\(id)' is already reverted (this agent is halted); its lease cannot be renewed.")
            }
            throw ChaosError("agent.halted", "This agent is halted: its faults are being reverted and nothing is renewed. Run 'chaos resume' when it is safe again.")
        }
        defer { changed.ring() }
        let view = FaultView(try await engine.renew(id, lease: try checked(lease)))
        audit.info("renew", metadata: Self.who(caller).merging(["fault.id": "\(id)", "fault.kind": "\(view.kind)", "lease": "\(lease)"]) { a, _ in a })
        return view
    }

    /// `lease`, if this agent allows it.
    func checked(_ lease: ChaosDuration) throws(ChaosError) -> ChaosDuration {
        guard lease <= maxLease else {
            throw ChaosError("policy.denied", "Refused by this host's policy: a lease of \(lease) is longer than this agent allows (\(maxLease), 'lease.max' in agent.yaml). Ask for a shorter lease and renew it.")
        }
        return lease
    }

    public func revert(_ id: String, reason: String, by caller: Caller = .local) async throws(ChaosError) -> FaultView {
        do {
            let view = FaultView(try await engine.revert(id, reason: reason))
            audit.notice("revert", metadata: Self.who(caller).merging(["fault.id": "\(id)", "fault.kind": "\(view.kind)", "fault.target": "\(view.target)"]) { a, _ in a })
            return view
        } catch {
            audit.warning("revert failed", metadata: Self.who(caller).merging(["fault.id": "\(Self.printable(id))", "error.code": "\(error.code)"]) { a, _ in a })
            throw error
        }
    }

    // MARK: Audit

    /// The caller as journal fields: CHAOS_CALLER=operator:alice, CHAOS_CALLER_ROLE, CHAOS_CALLER_NAME.
    static func who(_ caller: Caller) -> Logger.Metadata {
        ["caller": "\(caller)", "caller.role": "\(caller.role)", "caller.name": "\(caller.name)"]
    }

    static func describe(_ view: FaultView, _ request: InjectRequest) -> Logger.Metadata {
        var m: Logger.Metadata = ["fault.id": "\(view.id)", "fault.kind": "\(view.kind)", "fault.target": "\(view.target)",
                                  "fault.state": "\(view.state)", "idempotency.key": "\(printable(request.idempotencyKey))"]
        if let run = request.runID { m["run.id"] = "\(printable(run))" }
        if view.created == false { m["created"] = "false" }
        return m
    }

    /// Caller-supplied text as it may go into a log line: control characters shown as `\u{…}`.
    static func printable(_ text: String) -> String {
        String(text.prefix(200).unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined())
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
