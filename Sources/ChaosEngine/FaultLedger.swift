public import ChaosCore
import Foundation
import Glibc
import Synchronization

/// The durable write-ahead ledger of faults: one JSON file per fault in a directory.
///
/// Every write goes to a temporary file that is fsync'd, renamed over the record, and followed by an
/// fsync of the directory, so a crash leaves either the old or the new record, never half of one.
/// Reverted records move to `history/`. Changes are serialised across processes with `flock` on
/// `DIR/.lock`, so a one-off command, its guardian and an agent can share one ledger.
public final class FaultLedger: Sendable {
    public let directory: String
    /// Serialises this process's tasks before they contend for the flock.
    private let inProcess = AsyncLock()
    var historyDirectory: String { directory + "/history" }

    /// Opens (and creates, if needed) the ledger in `directory`.
    /// - Throws: `ledger.unavailable` when the directory cannot be created or written.
    public init(directory: String, create: Bool = true) throws(ChaosError) {
        self.directory = directory
        guard create else { return }
        for dir in [directory, directory + "/history"] {
            if mkdirs(dir) != 0 {
                throw ChaosError("ledger.unavailable", "Cannot create the fault ledger '\(dir)': \(String(cString: strerror(errno))). Run as root, or choose another place with '--state-dir' or CHAOS_STATE_DIR.")
            }
        }
    }

    // MARK: Reading

    /// Every record that may still need a revert, oldest first.
    public func openRecords() throws(ChaosError) -> [LedgerRecord] {
        try records(in: directory)
    }

    /// Reverted records, newest first, at most `limit`.
    public func history(limit: Int = 50) throws(ChaosError) -> [LedgerRecord] {
        Array(try records(in: historyDirectory).reversed().prefix(limit))
    }

    /// The record `id`, open or in history.
    public func record(_ id: String) throws(ChaosError) -> LedgerRecord? {
        for dir in [directory, historyDirectory] {
            if let r = try read("\(dir)/\(id).json") { return r }
        }
        return nil
    }

    private func records(in dir: String) throws(ChaosError) -> [LedgerRecord] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        var out: [LedgerRecord] = []
        for name in names where name.hasSuffix(".json") {
            if let r = try read("\(dir)/\(name)") { out.append(r) }
        }
        return out.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    private func read(_ path: String) throws(ChaosError) -> LedgerRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do { return try JSONDecoder().decode(LedgerRecord.self, from: data) } catch {
            throw .internalError("ledger.corrupt", "The ledger record '\(path)' cannot be read: \(error). Move it aside after checking the host by hand.")
        }
    }

    // MARK: Idempotency keys

    /// The fault recorded under an idempotency key, if any: one small file per key in `keys/`, so a
    /// lookup stays one read however long the history grows.
    public func fault(forKey key: String) -> String? {
        guard let data = FileManager.default.contents(atPath: keyPath(key)) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Remembers that `key` made fault `id` (durably, before the fault touches the host).
    public func remember(key: String, id: String) throws(ChaosError) {
        if mkdirs(directory + "/keys") != 0 { throw failure("create", directory + "/keys") }
        let path = keyPath(key)
        let fd = open(path + ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create", path) }
        let ok = Array(id.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) == $0.count } && fsync(fd) == 0
        close(fd)
        guard ok, rename(path + ".tmp", path) == 0 else { unlink(path + ".tmp"); throw failure("write", path) }
        syncDirectory(directory + "/keys")
    }

    /// Keys are hex-encoded into file names (InjectRequest limits them to 128 bytes).
    private func keyPath(_ key: String) -> String {
        directory + "/keys/" + key.utf8.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    // MARK: Writing

    /// Writes `record` durably (temp file, fsync, rename, fsync directory). Reverted records go to history.
    public func write(_ record: LedgerRecord) throws(ChaosError) {
        let data: Data
        do {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            data = try enc.encode(record)
        } catch {
            throw .internalError("ledger.encode", "Cannot encode ledger record '\(record.id)': \(error).")
        }
        let final = record.state == .reverted ? "\(historyDirectory)/\(record.id).json" : "\(directory)/\(record.id).json"
        let tmp = "\(directory)/.\(record.id).json.tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create", tmp) }
        let ok = data.withUnsafeBytes { buf -> Bool in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress.map { $0 + off }, buf.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
        guard ok, fsync(fd) == 0 else { let e = failure("write", tmp); close(fd); unlink(tmp); throw e }
        close(fd)
        guard rename(tmp, final) == 0 else { let e = failure("rename", final); unlink(tmp); throw e }
        syncDirectory(record.state == .reverted ? historyDirectory : directory)
        if record.state == .reverted {
            unlink("\(directory)/\(record.id).json")
            syncDirectory(directory)
        }
    }

    /// Runs `body` holding the ledger's exclusive lock (flock; released if the process dies).
    ///
    /// Never blocks a thread: `body` may suspend while it holds the lock (a revert awaits its fault), so
    /// a blocking `flock` would let waiters take every one of Swift's cooperative threads (two on two
    /// cores) and leave none to finish the holder's work: the agent deadlocked so under concurrent
    /// reverts (found by bench/hostile.sh). Tasks of this process queue on an async lock; other
    /// processes (a one-off command, its guardian) are waited for with a non-blocking flock that is
    /// retried after short sleeps.
    public func withLock<T>(_ body: () async throws(ChaosError) -> T) async throws(ChaosError) -> T {
        await inProcess.lock()
        defer { inProcess.unlock() }
        let fd = open("\(directory)/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("open lock", "\(directory)/.lock") }
        defer { close(fd) }
        var pause: UInt64 = 1
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            switch errno {
            case EINTR: continue
            case EWOULDBLOCK:
                try? await Task.sleep(nanoseconds: pause * 1_000_000)
                pause = min(pause * 2, 50)
            default: throw failure("lock", "\(directory)/.lock")
            }
        }
        defer { flock(fd, LOCK_UN) }
        return try await body()
    }

    private func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    private func failure(_ what: String, _ path: String) -> ChaosError {
        ChaosError("ledger.writeFailed", "Cannot \(what) '\(path)': \(String(cString: strerror(errno))). Nothing was changed on the host; free space or fix permissions and retry.")
    }

    private func mkdirs(_ path: String) -> Int32 {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o700) != 0 && errno != EEXIST { return -1 }
        }
        return 0
    }
}

/// A FIFO lock for async code: a waiter suspends instead of blocking its thread, and `unlock` hands
/// the lock straight to the next waiter.
final class AsyncLock: Sendable {
    private let state = Mutex<(locked: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func lock() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { s -> Bool in
                if !s.locked { s.locked = true; return true }
                s.waiters.append(c)
                return false
            }
            if acquired { c.resume() }
        }
    }

    func unlock() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard !s.waiters.isEmpty else { s.locked = false; return nil }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}
