import ChaosEngine

/// A wall clock that also waits: ChaosEngine's ``WallClock`` (what the ledger and the engine read)
/// with a sleep. What decides by the time in ChaosRun (the controller's ticks, fires, grace and
/// blackouts, agent polls; a run's gate, hold and recovery window; probe intervals; lease renewals;
/// the steady-state wait) reads it and sleeps only through it, so tests drive the controller with a
/// clock that moves when they say.
public protocol ChaosClock: WallClock {
    /// Sleeps `milliseconds` of this clock's time (returns at once when not positive). Throws
    /// `CancellationError` when the task is cancelled.
    func sleep(milliseconds: Int64) async throws
}

/// The system's real-time clock sleeps with `Task.sleep`.
extension SystemWallClock: ChaosClock {
    public func sleep(milliseconds: Int64) async throws {
        try await Task.sleep(for: .milliseconds(max(0, milliseconds)))
    }
}
