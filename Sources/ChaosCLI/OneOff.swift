import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosLinux
import Glibc

/// The flow of every one-off fault command: recover leftovers → resolve the target → plan → (dry run
/// stops here) → for kills, apply and confirm; for reversible faults, record in the ledger, start the
/// guardian, inject, verify, hold until the deadline or a signal, revert.
struct OneOff {
    let global: GlobalOptions
    let safety: SafetyOptions
    let target: TargetSpec
    let inventoryPath: String?
    let spec: FaultSpec
    /// Return right after injecting and leave the revert to the guardian.
    var detach = false
    /// For network faults: resolved addresses and control ports.
    var network = FaultRequest.Network()

    /// What the command prints as JSON.
    struct Report: Encodable {
        var id: String?
        /// The inventory host whose agent did it (remote one-offs).
        var host: String?
        var kind: FaultKind
        var target: String
        var victims: [Victim]
        var unit: String?
        var actions: [String]
        var dryRun: Bool
        var state: String
        var verified: String?
        var injectedAt: Int64?
        var deadline: Int64?
        var revertedAt: Int64?
        var revertReason: String?
        var guardianPID: Int32?
    }

    func run() async -> Int32 {
        do { return try await execute() } catch { return Console.report(error, format: global.output) }
    }

    private func execute() async throws(ChaosError) -> Int32 {
        if let probe = safety.observe.probe, !safety.dryRun { return try await ObservedOneOff(one: self, probe: probe).run() }
        let ctx = Context(global: global)
        // A target on another inventory host runs through that host's agent.
        if inventoryPath != nil && (target.ref != nil || target.host != nil) {
            _ = try RemoteAgents.connector() // in `chaos`: exec chaos-remote, before anything is done
            let inventory = try ctx.loadInventory(inventoryPath) ?? Inventory()
            if case .remote(let host, let agentTarget) = try await ctx.resolver(inventory: inventory).placement(target, for: spec.type) {
                return try await RemoteOneOff(one: self, inventory: inventory, host: host, target: agentTarget).run()
            }
        }
        await ctx.recoverLeftovers()
        let inventory = try ctx.loadInventory(inventoryPath)
        let policy = ProtectionPolicy(allowProtected: safety.force)
        var rng = SystemRandomNumberGenerator()
        let resolved = try await ctx.resolver(inventory: inventory).resolve(target, for: spec.type, policy: policy, using: &rng)
        let id = FaultEngine.newFaultID()
        let now = ctx.clock.now()
        let deadline = spec.duration.map { now + $0.milliseconds }
        let request = FaultRequest(faultID: id, spec: spec, victims: resolved.victims, unit: resolved.unit, scope: resolved.scope,
                                   deadline: deadline, network: network)
        // Planning reads the host but never changes it; it needs no ledger.
        let planner = FaultEngine(ledger: try FaultLedger(directory: global.resolvedStateDir + "/ledger", create: false), host: ctx.host, clock: ctx.clock)
        let plan = try await planner.plan(request, target: resolved.description)
        var report = Report(id: nil, host: nil, kind: spec.type, target: resolved.description, victims: resolved.victims.map(Victim.init), unit: resolved.unit,
                            actions: plan.planned.actions, dryRun: safety.dryRun, state: "planned", deadline: deadline)

        if safety.dryRun {
            render(report, heading: "Dry run: nothing was changed. This would")
            return 0
        }
        if !plan.fault.isReversible {
            return try await applyIrreversible(plan, engine: planner, report: &report)
        }
        guard let engine = try ctx.engine() else { throw .internalError("ledger.unavailable", "The ledger could not be opened.") }
        return try await holdReversible(plan, engine: engine, ctx: ctx, report: &report)
    }

    // MARK: Kills

    private func applyIrreversible(_ plan: FaultEngine.Plan, engine: FaultEngine, report: inout Report) async throws(ChaosError) -> Int32 {
        try await engine.apply(plan)
        report.injectedAt = engine.clock.now()
        report.state = "done"
        // Confirm from /proc: gone or zombie. SIGKILL takes effect at once; other signals get a grace period.
        let grace: Int64 = (spec.with.signal ?? .kill) == .kill ? 2000 : 5000
        let state = try await engine.confirmApplied(plan)
        let signalName = (spec.with.signal ?? .kill).description
        if case .drifted(let reason) = state {
            report.state = "incomplete"
            report.verified = reason
            render(report, heading: "Sent \(signalName), but not every victim is gone after \(grace / 1000)s (\(reason)). It may handle or ignore \(signalName); try '--signal KILL'. Actions:")
            return 1
        }
        report.verified = "gone"
        let what = report.victims.isEmpty
            ? "Killed unit '\(report.unit ?? "")' with \(signalName) through the service manager; its main process is gone"
            : "Killed \(report.victims.count) process\(report.victims.count == 1 ? "" : "es") with \(signalName), confirmed gone from /proc"
        render(report, heading: "\(what):")
        return 0
    }

    // MARK: Reversible faults

    private func holdReversible(_ plan: FaultEngine.Plan, engine: FaultEngine, ctx: Context, report: inout Report) async throws(ChaosError) -> Int32 {
        let id = plan.request.faultID
        report.id = id
        // 1-2. Write-ahead, then the guardian: reverted at the deadline even if this process is killed from here on.
        let guardian = try await ctx.recordGuarded(plan, engine: engine)
        report.guardianPID = guardian.pid
        let waiter = SignalWaiter()
        // 3. Inject (a failed inject is reverted by the engine before it throws).
        _ = try await engine.inject(id)
        report.injectedAt = ctx.clock.now()
        // 4. Verify, allowing a moment for asynchronous effects (a unit stopping, a helper starting).
        let state = try await engine.confirmActive(id)
        report.verified = state.description
        report.state = "active"
        if state != .active {
            try await engine.revert(id, reason: "not confirmed active (\(state))")
            Context.stopGuardian(guardian)
            report.state = "reverted"
            report.revertReason = "the fault could not be confirmed active (\(state))"
            render(report, heading: "Injected but could not confirm the fault (\(state)); reverted it.")
            return 1
        }
        let deadline = plan.request.deadline ?? ctx.clock.now()
        if detach {
            render(report, heading: "Injected \(id); the guardian (pid \(guardian.pid)) reverts it at \(Console.time(deadline)). Undo sooner with 'chaos revert \(id)'.")
            return 0
        }
        if global.output == .table {
            Console.err("Injected \(id) (\(plan.fault.kind)) on \(plan.target); reverting at \(Console.time(deadline)). Ctrl-C reverts now.")
        }
        // 5. Hold until the deadline or a signal.
        let interactive = Console.interactive && global.output == .table
        let signal = await waiter.wait(until: deadline, now: { SystemWallClock().now() }) { left in
            if interactive { FileHandleWriter.progress("  \(plan.fault.kind) active, \((left + 999) / 1000)s left") }
        }
        if interactive { FileHandleWriter.progress("") }
        // 6. Revert.
        let reason = signal.map { "interrupted by signal \($0)" } ?? "duration elapsed"
        let final = try await engine.revert(id, reason: reason)
        Context.stopGuardian(guardian)
        report.state = final.state.rawValue
        report.revertedAt = final.history.last?.at
        report.revertReason = reason
        let after = try? await engine.verify(id)
        render(report, heading: "Reverted \(id) (\(reason))\(after == .absent ? ", confirmed absent" : after.map { ", but now \($0)" } ?? ""):")
        return signal == nil ? 0 : 130
    }

    // MARK: Output

    func render(_ report: Report, heading: String) {
        if global.output == .json { Console.json(report); return }
        var lines = [heading]
        lines += report.actions.map { "  - \($0)" }
        if !report.victims.isEmpty && report.actions.count < report.victims.count {
            lines += report.victims.map { "  - victim \($0)" }
        }
        if let v = report.verified, report.id != nil { lines.append("  verified after inject: \(v)") }
        Console.out(lines.joined(separator: "\n"))
    }
}

/// Draws a one-line progress indicator on stderr.
enum FileHandleWriter {
    static func progress(_ text: String) {
        let line = "\r\u{1B}[2K" + text
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}
