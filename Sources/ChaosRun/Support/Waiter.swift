import ChaosEngine
import Dispatch
import Glibc
import Synchronization

/// Where the signals that cut waits short come from: the process (``ProcessSignals``) or a test's
/// hand (``ManualSignals``).
public protocol SignalSource: Sendable {
    /// Calls `handler` with every signal that arrives from now until `unsubscribe(id)`.
    func subscribe(_ id: Int, _ handler: @escaping @Sendable (Int32) -> Void)
    func unsubscribe(_ id: Int)
}

/// This process's SIGINT, SIGTERM and SIGHUP (or the signals given). Once a waiter subscribes, these
/// signals no longer end the process: they end the waits of every waiter alive when they arrive.
public struct ProcessSignals: SignalSource {
    public let signals: [Int32]
    public init(_ signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]) { self.signals = signals }
    public func subscribe(_ id: Int, _ handler: @escaping @Sendable (Int32) -> Void) { SignalHub.subscribe(id, signals: signals, handler) }
    public func unsubscribe(_ id: Int) { SignalHub.unsubscribe(id) }
}

/// Signals sent by hand: every waiter alive when ``send(_:)`` is called sees the signal, as every
/// waiter of a process sees a real one.
public final class ManualSignals: SignalSource {
    private let handlers = Mutex<[Int: @Sendable (Int32) -> Void]>([:])
    public init() {}
    public func subscribe(_ id: Int, _ handler: @escaping @Sendable (Int32) -> Void) { handlers.withLock { $0[id] = handler } }
    public func unsubscribe(_ id: Int) { handlers.withLock { _ = $0.removeValue(forKey: id) } }
    public func send(_ signal: Int32) {
        for h in handlers.withLock({ Array($0.values) }) { h(signal) }
    }
}

/// Waits for deadlines on a clock unless a signal arrives first. The signals received while it lives
/// are kept and end the current (or the next) wait; it can wait any number of times. Any number of
/// waiters may live at once (the controller's loop and each of its runs): each sees every signal.
public final class Waiter: Sendable {
    private let clock: any ChaosClock
    private let source: (any SignalSource)?
    private let bell = Bell()
    private let id = Waiter.ids.withLock { $0 += 1; return $0 }
    private static let ids = Mutex(0)

    /// - Parameter signals: what cuts waits short; nil: only the deadline (and `stop`) ends a wait.
    public init(clock: any ChaosClock, signals: (any SignalSource)?) {
        self.clock = clock
        self.source = signals
        signals?.subscribe(id) { [bell] s in bell.ring(s) }
    }

    deinit { source?.unsubscribe(id) }

    /// The signal received so far, if any.
    public var signalled: Int32? { bell.signal }

    /// Sleeps until `deadline` (epoch ms of the clock), calling `tick` about once a `step` with the
    /// time left.
    /// - Parameter now: reads the time instead of the clock (the clock still sleeps).
    /// - Parameter stop: checked after each tick; `true` ends the wait early (as at the deadline).
    /// - Returns: the signal that cut the wait short (or came earlier), or `nil` at the deadline (or
    ///   when `stop` said so).
    public func wait(until deadline: Int64, now: (@Sendable () -> Int64)? = nil, step: Int64 = 1000,
                     tick: @escaping @Sendable (Int64) async -> Void, stop: @escaping @Sendable () -> Bool = { false }) async -> Int32? {
        let clock = self.clock
        let now = now ?? { clock.now() }
        while true {
            if let s = signalled { return s }
            let left = deadline - now()
            if left <= 0 { return nil }
            await tick(left)
            if stop() { return nil }
            if let s = signalled { return s }
            // Tick on whole steps before the deadline (a countdown shows whole seconds).
            let wait = left <= step ? left : (left % step == 0 ? step : left % step)
            await nap(max(1, wait))
        }
    }

    /// Sleeps on the clock; a signal wakes it early.
    private func nap(_ milliseconds: Int64) async {
        guard source != nil else {
            try? await clock.sleep(milliseconds: milliseconds)
            return
        }
        let clock = self.clock, bell = self.bell
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(milliseconds: milliseconds) }
            group.addTask { await bell.wait() }
            _ = await group.next()
            group.cancelAll()
        }
    }
}

/// Rung once by the first signal and rung for good: every wait after that returns at once.
final class Bell: Sendable {
    private struct State {
        var signal: Int32?
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<Int> = []
        var next = 0
    }
    private let state = Mutex(State())

    var signal: Int32? { state.withLock { $0.signal } }

    func ring(_ s: Int32) {
        let waiters = state.withLock { st -> [CheckedContinuation<Void, Never>] in
            if st.signal == nil { st.signal = s }
            defer { st.waiters = [:] }
            return Array(st.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    /// Returns once rung, or when the task is cancelled.
    func wait() async {
        let id = state.withLock { $0.next += 1; return $0.next }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { st -> Bool in
                    if st.signal != nil || st.cancelled.remove(id) != nil { return true }
                    st.waiters[id] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { st -> CheckedContinuation<Void, Never>? in
                if let c = st.waiters.removeValue(forKey: id) { return c }
                st.cancelled.insert(id)
                return nil
            }
            c?.resume()
        }
    }
}

/// One dispatch source per signal for the whole process, made on first use and never cancelled,
/// fanning each signal out to the waiters alive at that moment. Cancelling a waiter's own source
/// (as waiters did) stopped libdispatch on Linux from delivering that signal to any other source: a
/// controller that had finished one run no longer saw SIGTERM.
enum SignalHub {
    private final class Sources: @unchecked Sendable { var list: [any DispatchSourceSignal] = [] }
    private static let state = Mutex<(installed: Set<Int32>, handlers: [Int: (signals: [Int32], handler: @Sendable (Int32) -> Void)])>(([], [:]))
    private static let sources = Sources()

    static func subscribe(_ id: Int, signals: [Int32], _ handler: @escaping @Sendable (Int32) -> Void) {
        let missing = state.withLock { s -> [Int32] in
            s.handlers[id] = (signals, handler)
            let new = signals.filter { !s.installed.contains($0) }
            s.installed.formUnion(new)
            return new
        }
        for sig in missing {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { deliver(sig) }
            src.resume()
            state.withLock { _ in sources.list.append(src) }
        }
    }

    static func unsubscribe(_ id: Int) { state.withLock { _ = $0.handlers.removeValue(forKey: id) } }

    private static func deliver(_ sig: Int32) {
        let handlers = state.withLock { s in s.handlers.values.filter { $0.signals.contains(sig) }.map(\.handler) }
        for h in handlers { h(sig) }
    }
}
