import ChaosCore
import Foundation
import Glibc
import Synchronization

/// Where commands write: results to stdout, progress and warnings to stderr.
enum Console {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
    static func err(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
    /// Whether stderr is a terminal (progress lines are drawn only then).
    static var interactive: Bool { isatty(2) == 1 }

    /// Prints `value` as pretty, key-sorted JSON.
    static func json<T: Encodable>(_ value: T) {
        if let text = try? jsonText(value) { out(String(text.dropLast())) }
    }

    /// `value` as the JSON printed by `json`, with a final newline (for files).
    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(value), as: UTF8.self) + "\n"
    }

    /// Reports `error` in the chosen format and returns its exit status.
    static func report(_ error: ChaosError, format: OutputFormat) -> Int32 {
        if format == .json {
            struct Wrapper: Encodable { var error: Body; struct Body: Encodable { var code: String; var message: String } }
            json(Wrapper(error: .init(code: error.code, message: error.message)))
        } else {
            err("error: \(error.message)")
        }
        return error.exit.status
    }

    /// `HH:MM:SS.mmm` local time of an epoch-milliseconds instant.
    static func time(_ ms: Int64) -> String {
        var t = time_t(ms / 1000)
        var tmv = tm()
        localtime_r(&t, &tmv)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let millis = Int(ms % 1000)
        return "\(two(tmv.tm_hour)):\(two(tmv.tm_min)):\(two(tmv.tm_sec)).\(millis < 10 ? "00" : millis < 100 ? "0" : "")\(millis)"
    }

    /// `YYYY-MM-DD HH:MM:SS` local time of an epoch-milliseconds instant.
    static func dateTime(_ ms: Int64) -> String {
        var t = time_t(ms / 1000)
        var tmv = tm()
        localtime_r(&t, &tmv)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(tmv.tm_year + 1900)-\(two(tmv.tm_mon + 1))-\(two(tmv.tm_mday)) \(two(tmv.tm_hour)):\(two(tmv.tm_min)):\(two(tmv.tm_sec))"
    }

    /// Left-aligned columns.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all { for (i, c) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        return all.map { row in
            row.enumerated().map { i, c in i == row.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Waits for deadlines unless SIGINT, SIGTERM or SIGHUP arrives first. Once created, these signals
/// no longer end the process: they are kept and end the current (or the next) wait. It can wait any
/// number of times. Any number of waiters may live at once (the controller's loop and each of its
/// runs): every one of them sees every signal that arrives while it lives.
final class SignalWaiter: @unchecked Sendable {
    private final class Box: Sendable { let received = Mutex<Int32?>(nil) }
    private let box = Box()
    private let alarm = Alarm()
    private let id = SignalHub.nextID()

    init(signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]) {
        SignalHub.subscribe(id, signals: signals) { [box, alarm] s in
            box.received.withLock { if $0 == nil { $0 = s } }
            alarm.ring()
        }
    }

    deinit { SignalHub.unsubscribe(id) }

    /// The signal received so far, if any.
    var signalled: Int32? { box.received.withLock { $0 } }

    /// Sleeps until `deadline` (epoch ms), calling `tick` about once a second with the time left.
    /// - Parameter stop: checked after each tick; `true` ends the wait early (as at the deadline).
    /// - Parameter step: how often to tick (ms).
    /// - Returns: the signal that cut the wait short (or came earlier), or `nil` at the deadline (or
    ///   when `stop` said so).
    func wait(until deadline: Int64, now: @escaping @Sendable () -> Int64, step: Int64 = 1000,
              tick: @escaping @Sendable (Int64) async -> Void, stop: @escaping @Sendable () -> Bool = { false }) async -> Int32? {
        while true {
            if let s = signalled { return s }
            let left = deadline - now()
            if left <= 0 { return nil }
            await tick(left)
            if stop() { return nil }
            if let s = signalled { return s }
            // Tick on whole steps before the deadline (a countdown shows whole seconds).
            let wait = left <= step ? left : (left % step == 0 ? step : left % step)
            await alarm.sleep(milliseconds: max(1, wait))
        }
    }
}

/// One dispatch source per signal for the whole process, made on first use and never cancelled,
/// fanning each signal out to the waiters alive at that moment. Cancelling a waiter's own source
/// (as waiters did) stopped libdispatch on Linux from delivering that signal to any other source: a
/// controller that had finished one run no longer saw SIGTERM.
private enum SignalHub {
    private final class Sources: @unchecked Sendable { var list: [any DispatchSourceSignal] = [] }
    private static let state = Mutex<(installed: Set<Int32>, next: Int, handlers: [Int: (signals: [Int32], handler: @Sendable (Int32) -> Void)])>(([], 0, [:]))
    private static let sources = Sources()

    static func nextID() -> Int { state.withLock { $0.next += 1; return $0.next } }

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
