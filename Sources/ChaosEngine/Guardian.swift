public import ChaosCore

/// The watchdog behind every one-off reversible fault: a detached process (`chaos _guardian`) that
/// reverts the fault at its deadline if the command that injected it cannot (it was SIGKILLed, its
/// terminal closed, the machine's OOM killer took it).
///
/// It exits as soon as the fault is reverted by anyone. It wakes at least once a second, and exactly
/// at the deadline.
public struct Guardian: Sendable {
    public let engine: FaultEngine
    public init(engine: FaultEngine) { self.engine = engine }

    /// Watches fault `id` until it is reverted. Returns the number of failed revert attempts.
    public func watch(_ id: String, maxAttempts: Int = 30) async -> Int {
        var failures = 0
        while failures < maxAttempts {
            guard let r = try? engine.ledger.record(id), r.needsRevert else { return failures }
            let now = engine.clock.now()
            if let deadline = r.revertBy, now >= deadline {
                do {
                    try await engine.revert(id, reason: "deadline reached (guardian)")
                    return failures
                } catch {
                    failures += 1
                }
            }
            let wait = r.revertBy.map { max(1, min($0 - now, 1000)) } ?? 1000
            try? await Task.sleep(for: .milliseconds(wait))
        }
        return failures
    }
}
