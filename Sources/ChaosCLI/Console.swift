import ChaosCore
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
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if let data = try? enc.encode(value) { out(String(decoding: data, as: UTF8.self)) }
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

/// Waits for a deadline unless SIGINT, SIGTERM or SIGHUP arrives first.
final class SignalWaiter: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private let stream: AsyncStream<Int32>
    private let continuation: AsyncStream<Int32>.Continuation

    init(signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]) {
        (stream, continuation) = AsyncStream<Int32>.makeStream()
        for s in signals {
            signal(s, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: s, queue: .global())
            let cont = continuation
            src.setEventHandler { cont.yield(s) }
            src.resume()
            sources.append(src)
        }
    }

    deinit { for s in sources { s.cancel() } }

    /// Sleeps until `deadline` (epoch ms), calling `tick` about once a second with the time left.
    /// - Parameter stop: checked after each tick; `true` ends the wait early (as at the deadline).
    /// - Returns: the signal that cut the wait short, or `nil` at the deadline (or when `stop` said so).
    func wait(until deadline: Int64, now: @escaping @Sendable () -> Int64, tick: @escaping @Sendable (Int64) async -> Void,
              stop: @escaping @Sendable () -> Bool = { false }) async -> Int32? {
        let stream = self.stream
        return await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                var it = stream.makeAsyncIterator()
                return await it.next()
            }
            group.addTask {
                while true {
                    let left = deadline - now()
                    if left <= 0 { return nil }
                    await tick(left)
                    if stop() { return nil }
                    let step = left % 1000 == 0 ? 1000 : left % 1000
                    try? await Task.sleep(for: .milliseconds(step))
                    if Task.isCancelled { return nil }
                }
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
