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
        let started = try await FaultStart(owners: []).start(plan, on: engine)
        report.injectedAt = started.at
        report.state = "done"
        let signal = spec.with.signal ?? .kill
        let grace = GracePeriods.applied(spec)
        let count = "\(report.victims.count) process\(report.victims.count == 1 ? "" : "es")"
        if case .drifted(let reason) = started.state {
            report.state = "incomplete"
            report.verified = reason
            let expected = spec.type == .processSignal && signal != .kill ? "stopped" : "gone"
            render(report, heading: "Sent \(signal), but not every victim is \(expected) after \(grace / 1000)s (\(reason)). It may handle or ignore \(signal)\(expected == "gone" ? "; try '--signal KILL'" : ""). Actions:")
            return 1
        }
        if spec.type == .processSignal {
            // A signal a process may handle leaves no trace to check beyond its delivery (see ProcessSignalFault).
            report.verified = signal == .kill ? "gone" : [19, 20, 21, 22].contains(signal.number) ? "stopped" : "delivered"
            render(report, heading: "Sent \(signal) to \(count) (\(report.verified ?? "")):")
            return 0
        }
        report.verified = "gone"
        let what = report.victims.isEmpty
            ? "Killed unit '\(report.unit ?? "")' with \(signal) through the service manager; its main process is gone"
            : "Killed \(count) with \(signal), confirmed gone from /proc"
        render(report, heading: "\(what):")
        return 0
    }

    // MARK: Reversible faults

    private func holdReversible(_ plan: FaultEngine.Plan, engine: FaultEngine, ctx: Context, report: inout Report) async throws(ChaosError) -> Int32 {
        let id = plan.request.faultID
        report.id = id
        let waiter = SignalWaiter()
        // Write-ahead, the guardian (reverted at the deadline even if this process is killed from
        // here on), inject, confirm; not confirmed: reverted at once.
        let started = try await ctx.faultStart().start(plan, on: engine)
        guard let guardian = started.guardian else { throw .internalError("guardian.missing", "The guardian of fault \(id) was not started.") }
        report.guardianPID = guardian.pid
        report.injectedAt = started.at
        report.verified = started.state.description
        report.state = "active"
        if !started.isConfirmed {
            Context.stopGuardian(guardian)
            report.state = "reverted"
            report.revertReason = "the fault could not be confirmed active (\(started.state))"
            render(report, heading: "Injected but could not confirm the fault (\(started.state)); reverted it.")
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
