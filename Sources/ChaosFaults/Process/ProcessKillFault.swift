public import ChaosCore

/// `process.kill`: sends a signal (SIGKILL by default) to each chosen process.
///
/// - Commands: none; `kill(2)` on each victim's pid, after checking its start time so a reused pid
///   is never hit.
/// - Receipt: the victims (pid, start time, name) and the signal.
/// - Revert: none. A kill cannot be undone; `verify` tells whether the victims are gone (dead means gone
///   or zombie, read from /proc).
/// - Needs: permission to signal the victims (root, or the same user).
public struct ProcessKillFault: Fault {
    public let kind = FaultKind.processKill
    public init() {}

    public struct Receipt: FaultReceipt {
        public var victims: [Victim]
        public var signal: SignalName
        public var actions: [String] { victims.map { "send \(signal) to \($0)" } }
        public var claims: [ResourceClaim] { victims.map { .process($0.identity) } }
    }

    public func gather(_ request: FaultRequest, on host: some HostSystem) async throws(ChaosError) {}

    public func plan(_ request: FaultRequest, facts: Void) throws(ChaosError) -> Receipt {
        guard !request.victims.isEmpty else { throw ProcessFaults.noVictims }
        return Receipt(victims: request.victims.map(Victim.init), signal: request.spec.with.signal ?? .kill)
    }

    /// Sends the signal, then waits a few milliseconds for the victims to end (a pidfd, not a timer),
    /// so that the confirmation after it usually finds them gone at its first look instead of sleeping.
    public func inject(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        try await ProcessFaults.signalAll(receipt.victims, receipt.signal, on: host)
        await host.awaitExit(receipt.victims.map(\.pid), within: Self.exitWait)
    }

    /// How long inject waits for the victims to end: a SIGKILLed process is gone in well under a
    /// millisecond unless it has gigabytes to unmap; the grace poll of the confirmation covers the rest.
    static let exitWait: Duration = .milliseconds(5)

    /// `.active` when every victim is gone; `.drifted` naming the survivors otherwise.
    public func verify(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState {
        var alive: [Victim] = []
        for v in receipt.victims where await host.live(v) != nil { alive.append(v) }
        return alive.isEmpty ? .active : .drifted(reason: "still running: \(alive.map(\.description).joined(separator: ", "))")
    }

    public func revert(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {}
}

/// Shared by the process faults.
enum ProcessFaults {
    static let noVictims = ChaosError("target.noMatch", "No process matches the target, so there is nothing to act on. Check the selector with '--dry-run'.")

    /// Sends `signal` to every victim that is still the same process; victims already gone are skipped.
    /// - Throws: the first error other than "no such process" (e.g. permission denied), after trying all.
    static func signalAll(_ victims: [Victim], _ signal: SignalName, on host: some HostSystem) async throws(ChaosError) {
        var firstError: ChaosError?
        for v in victims {
            guard await host.live(v) != nil else { continue }
            do { try await host.send(signal, to: v.pid) } catch {
                if error.code != "host.noSuchProcess", firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }
}
