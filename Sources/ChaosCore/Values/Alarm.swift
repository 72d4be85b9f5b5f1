import Synchronization

/// Wakes one sleeper early. The agent's lease reaper sleeps until the next lease or deadline runs out, and a
/// new fault (which may run out sooner) rings the alarm. A ring with nobody waiting is kept for the
/// next wait, so none is lost.
public final class Alarm: Sendable {
    private struct State {
        var rung = false
        var sleeper: CheckedContinuation<Void, Never>?
        var timer: Task<Void, Never>?
    }
    private let state = Mutex(State())

    public init() {}

    /// Wakes the sleeper now (or the next one, at once).
    public func ring() {
        let (sleeper, timer) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Task<Void, Never>?) in
            defer { s.sleeper = nil; s.timer = nil }
            if s.sleeper == nil { s.rung = true }
            return (s.sleeper, s.timer)
        }
        timer?.cancel()
        sleeper?.resume()
    }

    /// Sleeps `milliseconds` (forever when `nil`) or until rung.
    public func sleep(milliseconds: Int64?) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let wake = state.withLock { s -> Bool in
                if s.rung { s.rung = false; return true }
                s.sleeper = c
                return false
            }
            if wake { c.resume(); return }
            guard let milliseconds else { return }
            let timer = Task { [weak self] in
                try? await Task.sleep(for: .milliseconds(milliseconds))
                if !Task.isCancelled { self?.ring() }
            }
            // Rung between the two locks: the ring found no timer to cancel; this one then wakes
            // nobody (the sleeper is gone) and leaves a stray `rung`, which costs one early wake.
            state.withLock { s in if s.sleeper != nil { s.timer = timer } else { timer.cancel() } }
        }
    }
}
