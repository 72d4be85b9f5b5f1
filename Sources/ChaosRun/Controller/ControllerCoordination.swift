import ChaosCore
import ChaosLinux
import ChaosPOSIX
import Foundation
import Glibc
import Logging
import Synchronization

/// Several controllers on one shared store: the loop that keeps (or takes) the lead, fences the
/// agents at a takeover, recovers the fires the previous leader left started, and carries halts
/// made through any controller to all of them within a second.
extension Controller {
    /// Runs until cancelled (the controller's stop). `api` is this controller's API, for the others.
    /// Three loops, so that a store that does not answer (each call may take its whole deadline)
    /// never delays noticing that the lease lapsed: renewing (and heartbeats), watching the lease on
    /// the monotonic clock every 200 ms, and reading the halt every second.
    func coordinate(_ store: any SharedControllerStore, api: String?) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.keepLead(store, api: api) }
            group.addTask {
                while !Task.isCancelled {
                    let change = self.lease.withLock { $0.current(nowNs: Monotonic.nowNs()).change }
                    await self.apply(change, store)
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    await self.refreshHalt(store)
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            await group.waitForAll()
        }
    }

    /// Asks for the lead every third of the lease; says who this controller is and reads the others.
    func keepLead(_ store: any SharedControllerStore, api: String?) async {
        let ttl = lease.withLock { $0.ttl }
        let renewEvery = lease.withLock { $0.renewEveryMs }
        let startedMs = nowMs()
        var lastNote: String?
        func note(_ text: String?) {
            standing.withLock { $0.note = text }
            if let text, text != lastNote { log(text) }
            lastNote = text
        }
        while !Task.isCancelled {
            let sent = Monotonic.nowNs()
            var reached = true
            do {
                let leader = try await store.acquireLeadership(holder, ttl: ttl)
                let change = lease.withLock { $0.answered(leader, holder: holder, sentNs: sent) }
                standing.withLock { $0.leader = leader }
                note(nil)
                await apply(change, store)
            } catch {
                reached = false
                note("the shared store did not grant or renew the lead: \(error.message)")
            }
            if reached {
                let role = mayDecide().epoch != nil ? "leader" : "standby"
                try? await store.heartbeat(ControllerPeer(holder: holder, api: api, role: role, version: chaosVersion, startedMs: startedMs))
                if let peers = try? await store.peers(withinMs: 60_000) { standing.withLock { $0.peers = peers } }
            }
            let spentMs = Int64((Monotonic.nowNs() - sent) / 1_000_000)
            try? await Task.sleep(for: .milliseconds(max(50, renewEvery - spentMs)))
        }
    }

    /// Acts on a change of lead.
    func apply(_ change: LeadLease.Change, _ store: any SharedControllerStore) async {
        switch change {
        case .none:
            return
        case .deposed(let why):
            standing.withLock { $0.readyEpoch = nil }
            metrics.leading(false, epoch: 0)
            let running = shared.withLock { $0.live.count }
            log("no longer leading: \(why)" + (running > 0 ? "; its \(running) run(s) in progress stop and revert" : ""), .warning)
        case .elected(let epoch):
            fencing.set(UInt64(epoch))
            metrics.leading(true, epoch: epoch)
            log("leading the shared store at epoch \(epoch)", .notice, ["epoch": "\(epoch)"])
            // Every agent learns the new epoch before anything starts, so a deposed leader that wakes
            // up is refused even on hosts this one has not touched yet.
            let answers = await each { agent throws(ChaosError) -> UInt64 in try await agent.fence() }
            let refused = answers.filter { if case .failure = $0.1 { return true } else { return false } }
            if !refused.isEmpty {
                log("epoch \(epoch) not shown to \(refused.count) agent(s) (\(refused.prefix(3).map { host, r in "\(host.name): \((try? r.get()).map { "\($0)" } ?? Self.message(r))" }.joined(separator: "; "))); they still refuse a deposed leader once this one injects there")
            }
            // Fires the previous leader left started: stored as interrupted (their faults end with
            // their leases), never run again.
            let mine = Set(shared.withLock { Array($0.live.keys) })
            do {
                try await recover(store, except: mine)
                standing.withLock { $0.readyEpoch = epoch }
            } catch {
                log("could not take over the previous leader's fires yet: \(error.message); trying again at the next renewal")
                lease.withLock { $0 = LeadLease(ttl: $0.ttl) }
            }
        }
    }

    static func message<T>(_ r: Result<T, ChaosError>) -> String {
        if case .failure(let e) = r { return e.message }
        return "ok"
    }

    /// Takes a halt or resume made through another controller (or by hand in the store).
    func refreshHalt(_ store: any SharedControllerStore) async {
        guard let generation = shared.withLock({ $0.haltWrites == 0 ? $0.haltChanges : nil }), let stored = await storedHalt(store) else { return }
        let before = shared.withLock { s -> HaltState? in
            // A halt or resume made here meanwhile is newer than what was read.
            guard s.haltWrites == 0, s.haltChanges == generation, s.halt != stored else { return nil }
            let b = s.halt
            s.halt = stored
            return b
        }
        guard before != nil else { return }
        metrics.halted(stored.halted)
        log(stored.halted ? "HALTED (seen in the shared store) by \(stored.by ?? "?"): \(stored.reason ?? "")" : "resumed (seen in the shared store)")
    }

    /// How this controller stands among the controllers of its store.
    public func leadership() async -> ControllerLeadership {
        guard coordinated != nil else { return ControllerLeadership(role: "single", holder: holder, store: storeName) }
        let epoch = mayDecide().epoch
        let s = standing.withLock { $0 }
        return ControllerLeadership(role: epoch != nil ? "leader" : "standby", holder: holder, store: storeName, leader: s.leader, epoch: epoch,
                                    peers: s.peers, note: s.note)
    }
}

extension Controller {
    static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)
        return String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Keeps a second controller off a SQLite store: an exclusive `flock` on `DIR/controller.lock`,
/// held for the controller's life (the kernel drops it when the process dies, even by SIGKILL).
public struct ControllerLock {
    let fd: Int32

    /// The pid of the controller holding the store in `directory`, or nil when none runs there.
    public static func holder(_ directory: String) -> String? {
        let fd = open(directory + "/controller.lock", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) != 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = read(fd, &buffer, 31)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
    }

    static func take(_ directory: String) throws(ChaosError) -> ControllerLock {
        do { try POSIXFiles.makeDirectories(directory, mode: 0o700, parentMode: 0o755) } catch {
            throw ChaosError("store.io", "Cannot create the store directory '\(directory)': \(error.reason).")
        }
        let path = directory + "/controller.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ChaosError("store.io", "Cannot open '\(path)': \(String(cString: strerror(errno))).") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &buffer, 31)
            close(fd)
            let pid = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw .usage("controller.running", "Another controller (pid \(pid)) uses the store '\(directory)'. Two controllers on one SQLite store would run every fire twice: stop it, or share a PostgreSQL store between them ('store: {postgres: ...}', docs/operations.md).")
        }
        _ = ftruncate(fd, 0)
        let text = Array("\(getpid())\n".utf8)
        _ = pwrite(fd, text, text.count, 0)
        return ControllerLock(fd: fd)
    }

    func release() { close(fd) }
}
