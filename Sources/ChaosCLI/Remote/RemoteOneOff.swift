import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosRun
import Foundation
import Synchronization

/// A one-off fault on another inventory host, through its agent: inject with a lease, renew the lease
/// while the fault is held, revert at the deadline or on Ctrl-C. If this command dies or loses the
/// network, the agent reverts the fault by itself when the lease runs out.
struct RemoteOneOff {
    let one: OneOff
    let inventory: Inventory
    let host: Inventory.Host
    /// The target as the agent takes it.
    let target: TargetSpec

    /// The lease of held faults: renewed every third of it, so two renewals may fail in a row.
    static let lease = LeaseKeeper.lease

    func run() async throws(ChaosError) -> Int32 {
        guard host.agent != nil else {
            throw ChaosError("target.remote", "\(one.target.ref.map { "Target '\($0)'" } ?? "Host '\(host.name)'") is on \(host.name) (\(host.address)), not on this host, and the inventory names no agent for \(host.name). Add 'agent: https://\(host.address):7433' to that host, or run the command there.")
        }
        let fleet = try AgentFleet.open(inventory, global: one.global)
        let status: Int32
        do { status = try await run(agent: try fleet.client(host)) } catch {
            await fleet.close()
            throw error
        }
        await fleet.close()
        return status
    }

    private func request(lease: ChaosDuration?) -> InjectRequest {
        let n = one.network
        return InjectRequest(runID: nil, idempotencyKey: "oneoff/\(UUID().uuidString.lowercased())", lease: lease, fault: one.spec, target: target,
                             to: n.remotes.isEmpty ? nil : n.remotes, between: n.sideA.isEmpty ? nil : n.sideA, and: n.sideB.isEmpty ? nil : n.sideB)
    }

    private func report(_ f: AgentFault?, victims: [Victim] = []) -> OneOff.Report {
        OneOff.Report(id: f?.id, host: host.name, kind: one.spec.type, target: f?.target ?? "\(host.name)", victims: victims, unit: nil,
                      actions: f?.actions ?? [], dryRun: one.safety.dryRun, state: f?.state ?? "planned", verified: nil,
                      injectedAt: nil, deadline: f?.deadline, revertedAt: nil, revertReason: nil, guardianPID: nil)
    }

    private func run(agent: any AgentClient) async throws(ChaosError) -> Int32 {
        if one.safety.dryRun {
            let preview = try await agent.preview(request(lease: nil))
            var r = report(nil, victims: preview.victims.map(Victim.init))
            r.target = preview.target
            r.unit = preview.unit
            one.render(r, heading: "Dry run on \(host.name) (its agent resolved the target; nothing was changed). \(one.spec.type) would hit \(preview.target):")
            return 0
        }
        let reversible = one.spec.duration != nil
        // Detached: nobody renews, so the lease is the whole duration (the agent's lease.max bounds it).
        let lease = one.detach ? one.spec.duration : Self.lease
        // Catch Ctrl-C from before the inject: a signal during it reverts right after.
        let waiter = reversible && !one.detach ? SignalWaiter() : nil
        let fault = try await agent.inject(request(lease: reversible ? lease : nil))
        guard reversible, fault.state != "applied" else {
            var r = report(fault)
            r.verified = fault.verified
            if let v = fault.verified, v != "gone" {
                r.state = "incomplete"
                one.render(r, heading: "Done on \(host.name) through its agent (\(fault.id)), but not every victim is gone (\(v)). It may handle or ignore the signal; try '--signal KILL'. Actions:")
                return 1
            }
            one.render(r, heading: "Done on \(host.name) through its agent (\(fault.id)), victims confirmed gone:")
            return 0
        }
        if let v = fault.verified, v != "active" {
            // The agent could not confirm it: undo now rather than hold a fault that is not there.
            _ = try? await agent.revert(fault.id)
            var r = report(fault)
            r.state = "reverted"
            r.verified = v
            one.render(r, heading: "Injected \(fault.id) on \(host.name), but its agent could not confirm it (\(v)); reverted it.")
            return 1
        }
        if one.detach {
            one.render(report(fault), heading: "Injected \(fault.id) on \(host.name); its agent reverts it at \(fault.deadline.map(Console.time) ?? "its deadline"). Undo sooner with 'chaos revert \(fault.id) --inventory FILE'.")
            return 0
        }
        let deadline = fault.deadline ?? SystemWallClock().now()
        if one.global.output == .table {
            Console.err("Injected \(fault.id) (\(fault.kind)) on \(host.name): \(fault.target); reverting at \(Console.time(deadline)). Ctrl-C reverts now.")
        }
        let keeper = LeaseKeeper(agent: agent, id: fault.id, lease: Self.lease)
        let interactive = Console.interactive && one.global.output == .table
        let kind = fault.kind
        let signal = await (waiter ?? SignalWaiter()).wait(until: deadline, now: { SystemWallClock().now() }, tick: { left in
            await keeper.renewIfDue()
            if interactive { FileHandleWriter.progress("  \(kind) active on \(agent.hostName), \((left + 999) / 1000)s left") }
        }, stop: { keeper.ended })
        if interactive { FileHandleWriter.progress("") }
        var r = report(fault)
        if keeper.ended {
            // Someone else ended it (a halt, 'chaos revert', the agent's lease or deadline): say what.
            let now = try? await agent.fault(fault.id)
            r.state = now?.state ?? "reverted"
            r.revertReason = now?.note ?? "reverted on the agent"
            one.render(r, heading: "\(fault.id) on \(host.name) was ended on the agent before its deadline (\(r.revertReason ?? "")):")
            return 1
        }
        let reason = signal.map { "interrupted by signal \($0)" } ?? "duration elapsed"
        r.revertReason = reason
        do {
            let final = try await agent.revert(fault.id)
            r.state = final.state
            r.revertedAt = SystemWallClock().now()
            one.render(r, heading: "Reverted \(fault.id) on \(host.name) (\(reason))\(final.state == "reverted" ? ", confirmed by its agent" : ", but its agent reports \(final.state)"):")
            return signal != nil ? 130 : final.state == "reverted" ? 0 : 1
        } catch {
            let expiry = keeper.lastExpiry ?? fault.leaseExpiresAt
            throw ChaosError(error.code, "Could not revert \(fault.id) on \(host.name): \(error.message) Its agent reverts it by itself when the lease runs out\(expiry.map { " (at \(Console.time($0)))" } ?? "").", exit: error.exit)
        }
    }
}
