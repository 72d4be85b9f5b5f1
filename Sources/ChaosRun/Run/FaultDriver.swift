import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosLinux
import Glibc

/// How a run applies its fault: on this host through the engine, or through another host's agent.
public protocol FaultDriver: Sendable {
    /// What the fault hits, for people.
    var target: String { get }
    /// What will be done, for the dry run.
    var actions: [String] { get }
    /// The inventory host, when remote.
    var host: String? { get }
    var reversible: Bool { get }
    /// How many processes it hits, of how many the selector matched (0 and 0 for host-wide faults).
    var blast: (victims: Int, matched: Int) { get }
    /// Injects (or applies, for kills) and confirms. Throws when nothing was injected.
    func inject() async throws(ChaosError) -> Injected
    /// Called about every second while the fault is held (leases are renewed here).
    func keepAlive() async
    /// Whether the fault was ended by someone else (a halt on the agent).
    var endedElsewhere: Bool { get }
    func revert(reason: String) async throws(ChaosError)
}

public struct Injected: Sendable {
    public var id: String
    public var at: Int64
    /// nil when confirmed; else what was found (the driver has reverted it already).
    public var notConfirmed: String?
    public var actions: [String]
    public init(id: String, at: Int64, notConfirmed: String?, actions: [String]) {
        self.id = id; self.at = at; self.notConfirmed = notConfirmed; self.actions = actions
    }
}

/// A fault on this host: write-ahead ledger, guardian, inject, confirm, revert.
public final class LocalFaultDriver: FaultDriver, @unchecked Sendable {
    let ctx: HostContext
    let engine: FaultEngine
    let spec: FaultSpec
    let resolved: TargetResolver.Resolved
    let network: FaultRequest.Network
    let planned: FaultEngine.Plan
    var id: String?
    var guardian: ProcessIdentity?

    public var target: String { resolved.description }
    public var actions: [String] { planned.planned.actions }
    public var host: String? { nil }
    public var reversible: Bool { planned.fault.isReversible }
    public var blast: (victims: Int, matched: Int) { (resolved.victims.count, resolved.matched.count) }
    public var endedElsewhere: Bool { false }

    public init(ctx: HostContext, spec: FaultSpec, target: TargetSpec, inventory: Inventory?, network: FaultRequest.Network, force: Bool) async throws(ChaosError) {
        self.ctx = ctx
        self.spec = spec
        self.network = network
        guard let engine = try ctx.engine() else { throw .internalError("ledger.unavailable", "The ledger could not be opened.") }
        self.engine = engine
        var rng = SystemRandomNumberGenerator()
        resolved = try await ctx.resolver(inventory: inventory).resolve(target, for: spec.type, policy: ProtectionPolicy(allowProtected: force), using: &rng)
        planned = try await engine.plan(Self.request(spec, resolved, network, now: ctx.clock.now()), target: resolved.description)
    }

    static func request(_ spec: FaultSpec, _ r: TargetResolver.Resolved, _ n: FaultRequest.Network, now: Int64) -> FaultRequest {
        FaultRequest(faultID: FaultEngine.newFaultID(), spec: spec, victims: r.victims, unit: r.unit, scope: r.scope,
                     deadline: spec.duration.map { now + $0.milliseconds }, network: n)
    }

    public func inject() async throws(ChaosError) -> Injected {
        // Plan again now, so the deadline counts from the inject, not from the start of the gate.
        let plan = try await engine.plan(Self.request(spec, resolved, network, now: ctx.clock.now()), target: resolved.description)
        let id = plan.request.faultID
        if plan.fault.isReversible { self.id = id }
        let started = try await ctx.faultStart().start(plan, on: engine)
        guardian = started.guardian
        if started.revertedUnconfirmed, let g = guardian {
            HostContext.stopGuardian(g)
            guardian = nil
        }
        return Injected(id: id, at: started.at, notConfirmed: started.isConfirmed ? nil : started.state.description, actions: plan.planned.actions)
    }

    public func keepAlive() async {}

    public func revert(reason: String) async throws(ChaosError) {
        guard let id else { return }
        try await engine.revert(id, reason: reason)
        if let g = guardian { HostContext.stopGuardian(g) }
        guardian = nil
    }
}

/// A fault on another host, through its agent, with a renewed lease.
public final class AgentFaultDriver: FaultDriver, @unchecked Sendable {
    let agent: any AgentClient
    let request: InjectRequest
    let preview: AgentPreview
    let hostName: String
    let clock: any ChaosClock
    var keeper: LeaseKeeper?
    var faultID: String?

    public var target: String { preview.target == "this host" ? "host \(hostName)" : "\(preview.target) on \(hostName)" }
    public var actions: [String] { preview.victims.map { "\(request.fault.type) on \($0)" } }
    public var host: String? { hostName }
    public var reversible: Bool { request.fault.duration != nil }
    public var blast: (victims: Int, matched: Int) { (preview.victims.count, preview.matched) }
    public var endedElsewhere: Bool { keeper?.ended ?? false }

    public init(agent: any AgentClient, request: InjectRequest, clock: any ChaosClock = SystemWallClock()) async throws(ChaosError) {
        self.agent = agent
        self.request = request
        self.hostName = agent.hostName
        self.clock = clock
        preview = try await agent.preview(request)
    }

    public func inject() async throws(ChaosError) -> Injected {
        let f = try await agent.inject(request)
        faultID = f.id
        let at = clock.now()
        if reversible { keeper = LeaseKeeper(agent: agent, id: f.id, lease: LeaseKeeper.lease, clock: clock) }
        let ok = f.verified == nil || f.verified == "active" || f.verified == "gone"
        if !ok, reversible { try? await revert(reason: "not confirmed") }
        return Injected(id: f.id, at: at, notConfirmed: ok ? nil : f.verified, actions: f.actions)
    }

    public func keepAlive() async { await keeper?.renewIfDue() }

    public func revert(reason: String) async throws(ChaosError) {
        guard let faultID, reversible else { return }
        _ = try await agent.revert(faultID)
    }
}
