import ChaosCore
import ChaosPOSIX
import Glibc

/// The packet engine of the network faults where the kernel has no netem (`chaos _netqueue`): it binds
/// one nfnetlink queue, and the fault's firewall rules (`NFQUEUE --queue-num N --queue-bypass`, or
/// nft `queue num N bypass`) send it every matching packet of every flow, established connections
/// and UDP included. Each packet is decided by ``PacketScheduler`` and released (or dropped) by a
/// verdict when its time comes.
///
/// Design: one thread, one `poll(2)` loop over the netlink socket, the held packets in a min-heap
/// by release time, the poll timeout set to the earliest release (so an idle engine sleeps; it wakes
/// at least once a second to follow the wall clock). Only headers are copied from the kernel unless
/// the fault changes or copies packets (corrupt, duplicate); the packets themselves stay in the
/// kernel until their verdict.
///
/// Copies (duplicate) are sent through a raw socket (`IPPROTO_RAW`, the whole IP packet) that marks
/// them with `mark`, which the fault's rules let through, so a copy is not queued again.
///
/// It ends at `until` (epoch ms) or on SIGTERM/SIGINT: then every packet it holds is released at
/// once and it exits 0. If it dies, the kernel drops the packets it held (TCP sends them again) and,
/// with `bypass`, lets every later packet through untouched until the rules are removed.
public enum PacketEngine {
    public struct Config: Sendable {
        public var queue: UInt16
        public var scheduler: PacketScheduler.Config
        /// The mark of the copies the engine sends itself (the rules skip marked packets).
        public var mark: UInt32
        /// Epoch milliseconds: the engine exits by itself then.
        public var until: Int64
        /// Packets the kernel may hold for the engine at once; past it, new ones are dropped.
        public var maxHeld: UInt32 = 16_384
        public var seed: UInt64
        /// Where to write counters as JSON when the engine ends (for benchmarks), if anywhere.
        public var statsPath: String?
        public init(queue: UInt16, scheduler: PacketScheduler.Config, mark: UInt32, until: Int64, seed: UInt64, statsPath: String? = nil) {
            self.queue = queue; self.scheduler = scheduler; self.mark = mark; self.until = until; self.seed = seed; self.statsPath = statsPath
        }
    }

    /// What the engine did, written to `statsPath` at the end.
    public struct Stats: Sendable, Codable {
        public var packets = 0, dropped = 0, duplicated = 0, corrupted = 0, reordered = 0, maxHeld = 0
    }

    /// Runs until the deadline or a signal (0), or returns 1 at once when it cannot bind the queue.
    public static func run(_ config: Config) -> Int32 {
        let queue: NetfilterQueue
        do {
            queue = try NetfilterQueue(number: config.queue, copyRange: config.scheduler.needsPayload ? 65_535 : 128, maxLength: config.maxHeld)
        } catch {
            say(error.message)
            return 1
        }
        var engine = Loop(config: config, queue: queue)
        engine.run()
        if let path = config.statsPath { engine.writeStats(path) }
        return 0
    }

    static func say(_ message: String) {
        let line = "chaos _netqueue: \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}

private struct Held {
    var due: Int64
    var sequence: UInt64
    var id: UInt32
    var duplicate: Bool
    var corruptBit: Int
    /// The packet's bytes, kept only when it must be changed or copied.
    var bytes: [UInt8]?
}

private struct Loop {
    let config: PacketEngine.Config
    let queue: NetfilterQueue
    var scheduler: PacketScheduler
    var heap: [Held] = []
    var sequence: UInt64 = 0
    var stats = PacketEngine.Stats()
    var copies: [[UInt8]] = []
    var raw4: Int32 = -1
    var raw6: Int32 = -1
    var wake: StopSignals?
    var stopping = false

    init(config: PacketEngine.Config, queue: NetfilterQueue) {
        self.config = config
        self.queue = queue
        scheduler = PacketScheduler(config.scheduler, seed: config.seed)
        if config.scheduler.duplicatePerMille > 0 {
            raw4 = Self.rawSocket(AF_INET, mark: config.mark)
            raw6 = Self.rawSocket(AF_INET6, mark: config.mark)
        }
        wake = try? StopSignals.install()
    }

    static func rawSocket(_ family: Int32, mark: UInt32) -> Int32 {
        let fd = socket(family, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
        guard fd >= 0 else { return -1 }
        var m = mark
        _ = setsockopt(fd, SOL_SOCKET, SO_MARK, &m, socklen_t(4))
        return fd
    }

    mutating func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 17, alignment: 8)
        defer { buffer.deallocate() }
        var fds = [pollfd(fd: queue.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake?.read ?? -1, events: Int16(POLLIN), revents: 0)]
        while !stopping {
            let wall = Epoch.milliseconds()
            if wall >= config.until { break }
            var now = monotonicNs()
            releaseDue(now)
            var waitNs = min((config.until - wall) * 1_000_000, 1_000_000_000)
            if let first = heap.first { waitNs = min(waitNs, first.due - now) }
            let timeout = Int32(max(0, (waitNs + 999_999) / 1_000_000))
            fds[0].revents = 0
            fds[1].revents = 0
            let n = poll(&fds, nfds_t(fds.count), timeout)
            if n < 0 && errno != EINTR { PacketEngine.say("poll: \(Errno.text(errno))"); break }
            if fds[1].revents != 0 { stopping = true }
            if fds[0].revents != 0 {
                now = monotonicNs()
                _ = queue.receive(into: buffer, limit: 1024) { packet in self.take(packet, now: now) }
            }
        }
        // Stopped: everything held goes now, in release order.
        while !heap.isEmpty { release(pop()) }
        queue.flush()
        sendCopies()
    }

    mutating func take(_ packet: NetfilterQueue.Packet, now: Int64) {
        stats.packets += 1
        switch scheduler.decide(packet.payload, now: now) {
        case .drop:
            stats.dropped += 1
            queue.verdict(packet.id, accept: false)
        case .release(let at, let duplicate, let corruptBit):
            let keep = duplicate || corruptBit != nil
            let held = Held(due: at, sequence: sequence, id: packet.id, duplicate: duplicate, corruptBit: corruptBit ?? -1,
                            bytes: keep ? [UInt8](packet.payload) : nil)
            sequence &+= 1
            if at <= now && config.scheduler.delayNs > 0 { stats.reordered += 1 }
            if at <= now && heap.isEmpty {
                release(held)
            } else {
                push(held)
                stats.maxHeld = max(stats.maxHeld, heap.count)
            }
        }
    }

    mutating func releaseDue(_ now: Int64) {
        while let first = heap.first, first.due <= now { release(pop()) }
        queue.flush()
        sendCopies()
    }

    mutating func release(_ h: Held) {
        var replacement: [UInt8]?
        if h.corruptBit >= 0, var bytes = h.bytes, h.corruptBit / 8 < bytes.count {
            bytes[h.corruptBit / 8] ^= UInt8(1 << (h.corruptBit % 8))
            replacement = bytes
            stats.corrupted += 1
        }
        queue.verdict(h.id, accept: true, replacement: replacement)
        if h.duplicate, let bytes = h.bytes {
            copies.append(bytes)
            stats.duplicated += 1
        }
    }

    /// Sends the copies of duplicated packets, after the originals' verdicts went out.
    mutating func sendCopies() {
        for bytes in copies { sendRaw(bytes) }
        copies.removeAll(keepingCapacity: true)
    }

    func sendRaw(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        bytes.withUnsafeBytes { p in
            if first >> 4 == 4, raw4 >= 0, p.count >= 20 {
                var to = sockaddr_in()
                to.sin_family = sa_family_t(AF_INET)
                memcpy(&to.sin_addr, p.baseAddress! + 16, 4)
                _ = withUnsafePointer(to: &to) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(raw4, p.baseAddress, p.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            } else if first >> 4 == 6, raw6 >= 0, p.count >= 40 {
                var to = sockaddr_in6()
                to.sin6_family = sa_family_t(AF_INET6)
                memcpy(&to.sin6_addr, p.baseAddress! + 24, 16)
                _ = withUnsafePointer(to: &to) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(raw6, p.baseAddress, p.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
                }
            }
        }
    }

    func writeStats(_ path: String) {
        let s = stats
        let text = "{\"packets\":\(s.packets),\"dropped\":\(s.dropped),\"duplicated\":\(s.duplicated),\"corrupted\":\(s.corrupted),\"reordered\":\(s.reordered),\"maxHeld\":\(s.maxHeld)}\n"
        try? POSIXFiles.writeDurably(Array(text.utf8), to: path, mode: 0o644)
    }

    // MARK: the heap (earliest release first; equal times in arrival order)

    static func before(_ a: Held, _ b: Held) -> Bool { a.due != b.due ? a.due < b.due : a.sequence < b.sequence }

    mutating func push(_ h: Held) {
        heap.append(h)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Held {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && Self.before(heap[l], heap[m]) { m = l }
                if r < heap.count && Self.before(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}

private func monotonicNs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
