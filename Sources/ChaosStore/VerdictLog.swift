public import ChaosCore
import Foundation
import Glibc

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
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("open", errno) }
        defer { close(fd) }  // also releases the lock
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw failure("lock", errno) }
        }
        if try endsTorn(fd) { bytes.insert(0x0A, at: 0) }
        try writeAll(fd, bytes)
        guard fsync(fd) == 0 else { throw failure("flush", errno) }
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

    // MARK: Bytes

    /// Whether the file is not empty and its last byte is not a newline (a torn line).
    private func endsTorn(_ fd: Int32) throws(ChaosError) -> Bool {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("inspect", errno) }
        guard info.st_size > 0 else { return false }
        var last: UInt8 = 0
        guard pread(fd, &last, 1, info.st_size - 1) == 1 else { throw failure("read", errno) }
        return last != 0x0A
    }

    /// Writes `bytes` with one `write(2)`; only if the kernel writes part of them (a full disk) is
    /// the rest tried again, still under the lock.
    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(ChaosError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write", errno)
            }
            offset += n
        }
    }

    /// The whole file, or nothing when it does not exist.
    private func readBytes() throws(ChaosError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw failure("open", errno)
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("read", errno)
            }
            if n == 0 { return out }
            out += chunk[0..<n]
        }
    }

    private func failure(_ what: String, _ code: Int32) -> ChaosError {
        ChaosError("store.io", "Cannot \(what) the verdict log '\(path)': \(StoreFiles.errnoText(code)). Check free space and the permissions of its directory (--store-dir).")
    }
}
