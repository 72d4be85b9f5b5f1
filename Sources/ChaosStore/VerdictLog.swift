public import ChaosCore
import ChaosPOSIX
package import Foundation

/// The append-only verdict log: one ``VerdictLine`` a line as JSON (JSONL), for scripts and audits.
///
/// Crash safety: a line is written with one `write(2)` on a descriptor opened with `O_APPEND`, then
/// fsync'd, so earlier lines are never rewritten. A crash mid-write can leave a torn last line without
/// its newline: the next ``append(_:)`` starts with a newline so that its own line is whole, and
/// ``read()`` skips (and counts) what does not decode. Appenders in several processes take turns
/// with `flock`.
public struct VerdictLog: Sendable {
    /// The JSONL file.
    public let path: String

    /// The log at `path` (created by the first ``append(_:)``).
    public init(path: String) { self.path = path }

    /// What ``read()`` found.
    public struct Contents: Hashable, Sendable {
        /// Every decodable line, in file order.
        public var lines: [VerdictLine]
        /// Lines that did not decode: torn by a crash mid-write, or garbage.
        public var skipped: Int

        public init(lines: [VerdictLine], skipped: Int) { self.lines = lines; self.skipped = skipped }
    }

    /// Appends `line` as one JSON line (sorted keys, ending with a newline) and fsyncs it.
    /// - Throws: `store.io` when the log cannot be opened, written or flushed; `store.encode` (a bug)
    ///   when the line cannot be encoded.
    public func append(_ line: VerdictLine) throws(ChaosError) {
        var bytes = [UInt8](try StoreJSON.encode(line, what: "the verdict line of run '\(line.runID)'"))
        bytes.append(0x0A)
        do { try POSIXFiles.appendLocked(bytes, to: path, mode: 0o644, startOnNewLine: true) } catch { throw failure(error) }
    }

    /// Every complete, decodable line (an absent log has none), and how many lines were skipped.
    /// - Throws: `store.io` when the log exists but cannot be read.
    public func read() throws(ChaosError) -> Contents {
        var contents = Contents(lines: [], skipped: 0)
        for segment in try readBytes().split(separator: 0x0A, omittingEmptySubsequences: true) {
            if let line = StoreJSON.decode(VerdictLine.self, from: Data(segment)) {
                contents.lines.append(line)
            } else {
                contents.skipped += 1
            }
        }
        return contents
    }

    /// The whole file, or nothing when it does not exist.
    private func readBytes() throws(ChaosError) -> [UInt8] {
        do { return try POSIXFiles.read(path) } catch {
            if error.operation == .open && error.notFound { return [] }
            throw failure(error)
        }
    }

    private func failure(_ error: SyscallError) -> ChaosError {
        ChaosError("store.io", "Cannot \(error.verb) the verdict log '\(path)': \(error.reason). Check free space and the permissions of its directory (--store-dir).")
    }
}
