import ChaosCore
import ChaosEngine
import ChaosRun
import Foundation
import Glibc

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
/// runs): every one of them sees every signal that arrives while it lives. ChaosRun's ``Waiter`` on
/// the wall clock and this process's signals.
final class SignalWaiter: Sendable {
    private let waiter: Waiter

    init(signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]) {
        waiter = Waiter(clock: SystemWallClock(), signals: ProcessSignals(signals))
    }

    /// The signal received so far, if any.
    var signalled: Int32? { waiter.signalled }

    /// Sleeps until `deadline` (epoch ms), calling `tick` about once a second with the time left.
    /// - Parameter now: reads the time left against.
    /// - Parameter stop: checked after each tick; `true` ends the wait early (as at the deadline).
    /// - Parameter step: how often to tick (ms).
    /// - Returns: the signal that cut the wait short (or came earlier), or `nil` at the deadline (or
    ///   when `stop` said so).
    func wait(until deadline: Int64, now: @escaping @Sendable () -> Int64, step: Int64 = 1000,
              tick: @escaping @Sendable (Int64) async -> Void, stop: @escaping @Sendable () -> Bool = { false }) async -> Int32? {
        await waiter.wait(until: deadline, now: now, step: step, tick: tick, stop: stop)
    }
}
