import ChaosRun
import Synchronization

/// A clock that moves only when the test moves it. Sleepers wake as the time passes their deadline:
/// ``advance(to:)`` walks from deadline to deadline, wakes those due, and lets what they do settle
/// before it moves on, so a controller tick, a run's gate and the probes' intervals happen in the
/// order they would on a real clock, in a fraction of the time.
final class FakeClock: ChaosClock {
    private struct Sleeper {
        var deadline: Int64
        var continuation: UnsafeContinuation<Void, any Error>
    }
    private struct State {
        var now: Int64
        var sleepers: [Int: Sleeper] = [:]
        var cancelledEarly: Set<Int> = []
        var next = 0
        /// Bumped whenever a sleep begins, wakes or is cancelled: how ``settle()`` sees activity.
        var activity = 0
    }
    private let state: Mutex<State>

    init(_ now: Int64) { state = Mutex(State(now: now)) }

    func now() -> Int64 { state.withLock { $0.now } }

    /// How many tasks sleep on this clock now.
    var sleeping: Int { state.withLock { $0.sleepers.count } }

    func sleep(milliseconds: Int64) async throws {
        try Task.checkCancellation()
        let id = state.withLock { s -> Int in
            s.next += 1
            s.activity += 1
            return s.next
        }
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (c: UnsafeContinuation<Void, any Error>) in
                enum Then { case wait, wake, cancel }
                let then = state.withLock { s -> Then in
                    if s.cancelledEarly.remove(id) != nil { return .cancel }
                    if milliseconds <= 0 { return .wake }
                    s.sleepers[id] = Sleeper(deadline: s.now + milliseconds, continuation: c)
                    return .wait
                }
                switch then {
                case .wait: break
                case .wake: c.resume()
                case .cancel: c.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let c = state.withLock { s -> UnsafeContinuation<Void, any Error>? in
                s.activity += 1
                if let sleeper = s.sleepers.removeValue(forKey: id) { return sleeper.continuation }
                s.cancelledEarly.insert(id)
                return nil
            }
            c?.resume(throwing: CancellationError())
        }
    }

    /// Moves the time to `target`, one deadline at a time: the sleepers due wake, and what they do
    /// settles before the time moves on.
    func advance(to target: Int64) async {
        while true {
            let (due, before) = state.withLock { s -> ([UnsafeContinuation<Void, any Error>], Int) in
                guard let next = s.sleepers.values.map(\.deadline).min(), next <= target else {
                    s.now = max(s.now, target)
                    return ([], s.sleepers.count)
                }
                let before = s.sleepers.count
                s.now = max(s.now, next)
                s.activity += 1
                let now = s.now
                let ids = s.sleepers.filter { $0.value.deadline <= now }.map(\.key).sorted()
                return (ids.compactMap { s.sleepers.removeValue(forKey: $0)?.continuation }, before)
            }
            if due.isEmpty { break }
            for c in due { c.resume() }
            await settle(expecting: before)
        }
        await settle()
    }

    func advance(by milliseconds: Int64) async { await advance(to: now() + milliseconds) }

    /// Moves the time in steps of `step` until `condition` holds or `limit` has passed; true if it holds.
    func advance(upTo limit: Int64, step: Int64 = 1000, until condition: () -> Bool) async -> Bool {
        let end = now() + limit
        while !condition() {
            if now() >= end { return false }
            await advance(to: min(end, now() + step))
        }
        return true
    }

    /// Waits (in real time) until the tasks woken have done what they do without the clock: no sleep
    /// begins, wakes or is cancelled for four rounds in a row, and (for up to 200 ms) until at least
    /// `expecting` tasks sleep again (those woken went back to sleep, unless they ended).
    func settle(expecting: Int = 0) async {
        var last = state.withLock { $0.activity }
        var quiet = 0
        let patience = ContinuousClock.now + .milliseconds(200)
        while true {
            for _ in 0..<10 { await Task.yield() }
            try? await Task.sleep(for: .milliseconds(2))
            let (now, sleeping) = state.withLock { ($0.activity, $0.sleepers.count) }
            if now == last { quiet += 1 } else { quiet = 0; last = now }
            if quiet >= 4 && (sleeping >= expecting || ContinuousClock.now > patience) { return }
        }
    }
}
