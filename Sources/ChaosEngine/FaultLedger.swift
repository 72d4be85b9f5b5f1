public import ChaosCore
import ChaosPOSIX
import Foundation
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
            do { try POSIXFiles.makeDirectories(dir, mode: 0o700) } catch {
                throw ChaosError("ledger.unavailable", "Cannot create the fault ledger '\(error.path)': \(error.reason). Run as root, or choose another place with '--state-dir' or CHAOS_STATE_DIR.")
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
        do {
            try POSIXFiles.makeDirectories(directory + "/keys", mode: 0o700)
            try POSIXFiles.writeDurably(Array(id.utf8), to: keyPath(key), mode: 0o600)
        } catch { throw failure(error) }
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
        let openPath = "\(directory)/\(record.id).json"
        do { try POSIXFiles.writeDurably([UInt8](data), to: record.state == .reverted ? "\(historyDirectory)/\(record.id).json" : openPath, mode: 0o600) } catch {
            throw failure(error)
        }
        if record.state == .reverted {
            POSIXFiles.remove(openPath)
            POSIXFiles.syncDirectory(directory)
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
        let file: POSIXFiles.LockFile
        do { file = try POSIXFiles.LockFile(path: "\(directory)/.lock", mode: 0o600) } catch { throw failure(error) }
        defer { file.close() }
        var pause: UInt64 = 1
        while true {
            let locked: Bool
            do { locked = try file.tryLock() } catch { throw failure(error) }
            if locked { break }
            try? await Task.sleep(nanoseconds: pause * 1_000_000)
            pause = min(pause * 2, 50)
        }
        defer { file.unlock() }
        return try await body()
    }

    private func failure(_ error: SyscallError) -> ChaosError {
        ChaosError("ledger.writeFailed", "Cannot \(error.verb) '\(error.path)': \(error.reason). Nothing was changed on the host; free space or fix permissions and retry.")
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
