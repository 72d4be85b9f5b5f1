public import ChaosCore

/// `process.signal`: sends one chosen signal to each chosen process, once: SIGHUP to force a reload,
/// SIGUSR1 to rotate logs, SIGABRT or SIGSEGV to crash with a core dump.
///
/// - Commands: none; `kill(2)` on each victim's pid, after checking its start time so a reused pid
///   is never hit.
/// - Receipt: the victims (pid, start time, name) and the signal.
/// - Revert: none; what follows is the service's answer, which the experiment observes.
/// - Verify: what the kernel can show of the signal's effect. A stop signal (STOP, TSTP, TTIN, TTOU)
///   is active while every live victim is stopped; KILL while every victim is gone. Any other signal
///   may be caught, so delivery is all there is to see: `inject` fails unless every kill(2) to a live
///   victim succeeded, and verify reports active.
/// - Needs: permission to signal the victims (root, or the same user).
public struct ProcessSignalFault: Fault {
    public let kind = FaultKind.processSignal
    public init() {}

    /// The victims and the signal, as process.kill stores them.
    public typealias Receipt = ProcessKillFault.Receipt

    public func gather(_ request: FaultRequest, on host: some HostSystem) async throws(ChaosError) {}

    public func plan(_ request: FaultRequest, facts: Void) throws(ChaosError) -> Receipt {
        guard !request.victims.isEmpty else { throw ProcessFaults.noVictims }
        guard let signal = request.spec.with.signal else {
            throw .usage("fault.badParameters", "process.signal needs a signal, e.g. 'signal: HUP'.")
        }
        return Receipt(victims: request.victims.map(Victim.init), signal: signal)
    }

    public func inject(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        try await ProcessFaults.signalAll(receipt.victims, receipt.signal, on: host)
    }

    public func verify(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState {
        var live: [ProcessEntry] = []
        for v in receipt.victims { if let p = await host.live(v) { live.append(p) } }
        switch receipt.signal.number {
        case 19, 20, 21, 22:  // STOP, TSTP, TTIN, TTOU
            let running = live.filter { !$0.isStopped }
            return running.isEmpty ? .active : .drifted(reason: "not stopped: \(running.map { "\($0.pid) (\($0.name))" }.joined(separator: ", "))")
        case SignalName.kill.number:
            return live.isEmpty ? .active : .drifted(reason: "still running: \(live.map { "\($0.pid) (\($0.name))" }.joined(separator: ", "))")
        default:
            return .active
        }
    }

    public func revert(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {}
}
