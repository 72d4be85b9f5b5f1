public import ChaosCore

/// `process.pause`: freezes each chosen process with SIGSTOP for the fault's duration, then SIGCONT.
///
/// - Commands: `kill(pid, SIGSTOP)`; revert `kill(pid, SIGCONT)`. Each pid is checked against its
///   start time first, so a reused pid is never touched.
/// - Receipt: the victims (pid, start time, name).
/// - Revert: SIGCONT to every victim still alive; a victim that died meanwhile counts as reverted.
/// - Verify: `/proc/PID/status` state `T` (stopped) for every live victim.
public struct ProcessPauseFault: Fault {
    public let kind = FaultKind.processPause
    public init() {}

    public struct Receipt: FaultReceipt {
        public var victims: [Victim]
        public var actions: [String] { victims.map { "send SIGSTOP to \($0); on revert SIGCONT" } }
        public var claims: [ResourceClaim] { victims.map { .process($0.identity) } }
    }

    public func gather(_ request: FaultRequest, on host: some HostSystem) async throws(ChaosError) {}

    public func plan(_ request: FaultRequest, facts: Void) throws(ChaosError) -> Receipt {
        guard !request.victims.isEmpty else { throw ProcessFaults.noVictims }
        return Receipt(victims: request.victims.map(Victim.init))
    }

    public func inject(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        try await ProcessFaults.signalAll(receipt.victims, .stop, on: host)
    }

    public func verify(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState {
        var stopped = 0, running: [Victim] = [], live = 0
        for v in receipt.victims {
            guard let p = await host.live(v) else { continue }
            live += 1
            if p.isStopped { stopped += 1 } else { running.append(v) }
        }
        if live == 0 || stopped == 0 { return .absent }
        return running.isEmpty ? .active : .drifted(reason: "not stopped: \(running.map(\.description).joined(separator: ", "))")
    }

    public func revert(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        try await ProcessFaults.signalAll(receipt.victims, .cont, on: host)
    }
}
