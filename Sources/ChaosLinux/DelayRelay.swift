import ChaosCore
import ChaosPOSIX
import Glibc

/// The userspace mechanism behind `network.delay` where the kernel has no netem: a TCP relay that
/// adds latency to redirected connections.
///
/// The fault sends the target's outgoing TCP connections to the relay with an nftables rule in a
/// `type nat hook output` chain, `meta mark != MARK tcp dport PORT redirect to :LISTEN`. For each
/// accepted connection the relay reads where the client meant to go (`SO_ORIGINAL_DST`, kept by
/// conntrack), connects there itself with `SO_MARK = MARK` (so the rule does not catch the relay's own
/// connection), and forwards bytes both ways. Bytes of a delayed direction are held in a FIFO and
/// released `delay ± uniform(jitter)` ms after they were read, never before an earlier chunk
/// (release = max(previous release, read time + delay + jitter)). A FIN is delayed like data, so a
/// half-close reaches the other side after the bytes sent before it. A reset or error on either side
/// resets the other (`SO_LINGER` 0); a failed connect to the original destination resets the client.
///
/// Design: one thread, one `poll(2)` loop, timers computed from the earliest release time, so an idle
/// relay sleeps (it wakes at most once a second to follow the wall clock). Per connection: two
/// sockets, about 300 bytes of bookkeeping and the bytes in flight, at most `maxQueuedBytes` (+ one
/// 64 KiB read) per direction before it stops reading from that side (TCP backpressure does the rest).
/// Reads go through one shared 64 KiB buffer; only the bytes actually read are copied into the queue.
///
/// The relay is its own deadline: it exits with 0 at `until` (epoch ms), resetting every connection it
/// still holds. On SIGTERM/SIGINT (the revert, after the redirect is gone) it first drains: it stops
/// accepting and keeps relaying the connections it holds for up to `drainMs`, so short requests in
/// flight complete instead of failing (a reset the fault did not ask for); what is left is then reset.
/// A second signal ends the drain at once. It exits with 1 when it cannot listen.
///
/// Limits: TCP only (UDP is not delayed); the client's handshake completes locally at once, so
/// `connect()` itself is not slowed (the first bytes are); connections to the relay's port that were
/// not redirected are refused instead of looped back to the relay.
public enum DelayRelay {
    /// Which bytes are delayed.
    public enum Direction: String, Sendable, Hashable, Codable, CaseIterable {
        /// Client → server (like netem on the client's egress: every round trip grows by the delay).
        case upstream
        /// Server → client.
        case downstream
        /// Both ways (every round trip grows by twice the delay).
        case both

        var delaysUpstream: Bool { self != .downstream }
        var delaysDownstream: Bool { self != .upstream }
    }

    public struct Config: Sendable {
        public var listenPort: Int
        public var delayMs: Int
        public var jitterMs: Int
        /// The fwmark of the relay's own outgoing connections (excluded by the redirect rule).
        public var mark: UInt32
        /// Epoch milliseconds: the relay exits by itself then.
        public var until: Int64
        public var direction: Direction
        /// Most bytes held per direction of one connection before the relay stops reading that side.
        public var maxQueuedBytes: Int
        /// How long a stopped relay keeps relaying the connections it holds (under the revert's 1 s wait).
        public var drainMs: Int64 = 750

        public init(listenPort: Int, delayMs: Int, jitterMs: Int = 0, mark: UInt32, until: Int64,
                    direction: Direction = .upstream, maxQueuedBytes: Int = 1 << 20) {
            self.listenPort = listenPort
            self.delayMs = delayMs
            self.jitterMs = jitterMs
            self.mark = mark
            self.until = until
            self.direction = direction
            self.maxQueuedBytes = maxQueuedBytes
        }
    }

    /// Relays until `config.until` or SIGTERM (then 0), or returns 1 at once when it cannot listen.
    public static func run(_ config: Config) -> Int32 {
        do {
            let relay = try Relay(config)
            relay.loop()
            relay.close()
            return 0
        } catch {
            say(error.message)
            return 1
        }
    }
}

// MARK: - Implementation

/// The write end of the self-pipe the signal handler pokes (set once, before the handler is installed).

private let soMark: Int32 = 36              // SO_MARK
private let soOriginalDst: Int32 = 80       // SO_ORIGINAL_DST (SOL_IP) and IP6T_SO_ORIGINAL_DST (SOL_IPV6)
private let ipTransparent: Int32 = 19       // IP_TRANSPARENT (SOL_IP)
private let ipv6Transparent: Int32 = 75     // IPV6_TRANSPARENT (SOL_IPV6)
private let readSize = 64 * 1024

/// Microseconds on the monotonic clock (release times).
private func monoUs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
}

/// Milliseconds since the epoch (the deadline).
private func realMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Jitter without a syscall per chunk.
private struct Jitter {
    var rng: SplitMix64
    init(state: UInt64) { rng = SplitMix64(seed: state) }
    mutating func next() -> UInt64 { rng.next() }
    /// Uniform in -range...range.
    mutating func offset(_ range: Int64) -> Int64 {
        guard range > 0 else { return 0 }
        return Int64(next() % UInt64(2 * range + 1)) - range
    }
}

/// A chunk of bytes read at once, or (empty) the end of the stream.
private struct Chunk {
    var bytes: [UInt8]
    var sent: Int
    let releaseAt: Int64
}

/// One direction of a connection: a FIFO of chunks with release times.
private final class Flow {
    let delayUs: Int64
    let jitterUs: Int64
    var chunks: [Chunk] = []
    var head = 0
    var queuedBytes = 0
    var lastRelease: Int64 = 0
    /// The source returned end of stream.
    var sawEOF = false
    /// `shutdown(SHUT_WR)` was passed on to the destination.
    var sentEOF = false
    /// The destination was full: wait for POLLOUT.
    var blocked = false

    init(delayMs: Int, jitterMs: Int) {
        delayUs = Int64(max(0, delayMs)) * 1000
        jitterUs = Int64(max(0, jitterMs)) * 1000
    }

    var isEmpty: Bool { head == chunks.count }
    var immediate: Bool { delayUs == 0 && jitterUs == 0 }
    /// When this flow next has bytes to release (nil: nothing, or waiting for the socket).
    var nextRelease: Int64? { blocked || isEmpty ? nil : chunks[head].releaseAt }

    func releaseTime(now: Int64, jitter: inout Jitter) -> Int64 {
        let t = max(now + delayUs + jitter.offset(jitterUs), now, lastRelease)
        lastRelease = t
        return t
    }

    func push(_ bytes: UnsafeRawBufferPointer, now: Int64, jitter: inout Jitter) {
        let t = releaseTime(now: now, jitter: &jitter)
        chunks.append(Chunk(bytes: Array(bytes), sent: 0, releaseAt: t))
        queuedBytes += bytes.count
    }

    func pushEOF(now: Int64, jitter: inout Jitter) {
        sawEOF = true
        chunks.append(Chunk(bytes: [], sent: 0, releaseAt: releaseTime(now: now, jitter: &jitter)))
    }

    private func pop() {
        chunks[head].bytes = []
        head += 1
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: chunks.capacity <= 64)
            head = 0
        } else if head >= 64 && head * 2 >= chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }

    /// Writes every released chunk to `dest`. Returns false when `dest` failed (reset it all).
    func flush(to dest: Int32, now: Int64) -> Bool {
        while head < chunks.count, chunks[head].releaseAt <= now {
            let count = chunks[head].bytes.count
            if count == 0 {
                if !sentEOF { shutdown(dest, Int32(SHUT_WR)) }
                sentEOF = true
                pop()
                continue
            }
            let from = chunks[head].sent
            let n = chunks[head].bytes.withUnsafeBytes { p -> Int in
                guard let base = p.baseAddress else { return 0 }
                return send(dest, base + from, count - from, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { blocked = true; return true }
                return false
            }
            chunks[head].sent += n
            queuedBytes -= n
            if chunks[head].sent < count { blocked = true; return true }
            pop()
        }
        return true
    }
}

/// One relayed connection: the accepted client socket and our socket to the original destination.
private final class Connection {
    let client: Int32
    let server: Int32
    var connecting: Bool
    let up: Flow
    let down: Flow
    var closed = false

    init(client: Int32, server: Int32, connecting: Bool, config: DelayRelay.Config) {
        self.client = client
        self.server = server
        self.connecting = connecting
        up = Flow(delayMs: config.direction.delaysUpstream ? config.delayMs : 0, jitterMs: config.direction.delaysUpstream ? config.jitterMs : 0)
        down = Flow(delayMs: config.direction.delaysDownstream ? config.delayMs : 0, jitterMs: config.direction.delaysDownstream ? config.jitterMs : 0)
    }

    var nextTimer: Int64? {
        let u = connecting ? nil : up.nextRelease
        switch (u, down.nextRelease) {
        case let (a?, b?): return min(a, b)
        case let (a?, nil): return a
        case let (nil, b?): return b
        case (nil, nil): return nil
        }
    }

    /// Both halves were passed on: close quietly.
    func finishIfDone() {
        if !closed && up.sentEOF && down.sentEOF {
            Glibc.close(client)
            Glibc.close(server)
            closed = true
        }
    }

    /// Resets both sides (RST, not FIN): the connection broke, or the relay is leaving.
    func abort() {
        guard !closed else { return }
        resetClose(client)
        resetClose(server)
        closed = true
    }
}

/// Closes with RST instead of FIN.
private func resetClose(_ fd: Int32) {
    var l = linger(l_onoff: 1, l_linger: 0)
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    close(fd)
}

private func setInt(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) -> Bool {
    var v = value
    return setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0
}

private func errorText(_ call: String) -> String { "\(call): \(String(cString: strerror(errno)))" }

/// One line to standard error.
private func say(_ message: String) {
    let line = "chaos _relay: \(message)\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
}

/// Sets O_NONBLOCK and FD_CLOEXEC (glibc's module map leaves out accept4 and pipe2).
private func makeNonblocking(_ fd: Int32) {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
}

private final class Relay {
    let config: DelayRelay.Config
    var listeners: [(fd: Int32, v6: Bool)] = []
    var wake: StopSignals?
    var wakeRead: Int32 { wake?.read ?? -1 }
    var connections: [Connection] = []
    /// Said once: a transparent bind failed (no CAP_NET_ADMIN).
    var warnedTransparent = false
    var jitter: Jitter
    var scratch: UnsafeMutableRawBufferPointer
    var acceptPausedUntil: Int64 = 0
    var stopping = false

    // Reused every turn of the loop.
    var pollSet: [pollfd] = []
    enum Slot { case wake, listener(Int32, Bool), client(Connection), server(Connection) }
    var slots: [Slot] = []

    init(_ config: DelayRelay.Config) throws(ChaosError) {
        self.config = config
        var seed = SystemRandomNumberGenerator()
        jitter = Jitter(state: seed.next())
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize, alignment: 16)
        guard (1...65535).contains(config.listenPort) else {
            scratch.deallocate()
            throw ChaosError("relay.port", "listen port \(config.listenPort) is not in 1...65535")
        }
        Relay.raiseFileLimit()
        do {
            try listen(v6: false)
            try listen(v6: true)
            try makeWakePipe()
        } catch {
            close()
            throw error
        }
    }

    /// Lets the relay hold as many sockets as the hard limit allows (two per connection).
    static func raiseFileLimit() { ResourceLimits.raiseOpenFiles() }

    func listen(v6: Bool) throws(ChaosError) {
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 {
            if v6 && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT) { return }  // no IPv6 here
            throw ChaosError("relay.listen", errorText("socket"))
        }
        _ = setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        let port = UInt16(config.listenPort).bigEndian
        var rc: Int32
        if v6 {
            _ = setInt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1)
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port
            a.sin6_addr = in6addr_any
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port
            a.sin_addr = in_addr(s_addr: INADDR_ANY)
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        if rc != 0 {
            let e = errno
            Glibc.close(fd)
            if v6 && (e == EADDRNOTAVAIL || e == EAFNOSUPPORT) { return }  // IPv6 disabled
            errno = e
            throw ChaosError("relay.listen", "\(errorText("bind \(v6 ? "[::]" : "0.0.0.0"):\(config.listenPort)")). Another process holds the port: choose another --listen-port.")
        }
        guard Glibc.listen(fd, 1024) == 0 else {
            let message = errorText("listen")
            Glibc.close(fd)
            throw ChaosError("relay.listen", message)
        }
        listeners.append((fd, v6))
    }

    func makeWakePipe() throws(ChaosError) {
        wake = try StopSignals.install()
    }

    // MARK: the loop

    func loop() {
        var drainUntil: Int64?
        while true {
            let nowReal = realMs()
            if nowReal >= config.until { return }
            var now = monoUs()
            if stopping {
                if drainUntil != nil { return }  // a second signal
                stopping = false
                drainUntil = now + config.drainMs * 1000
                for l in listeners { Glibc.close(l.fd) }
                listeners.removeAll()
            }
            if let end = drainUntil, now >= end || connections.allSatisfy(\.closed) { return }
            // Sleep until the earliest release, the deadline, or at most a second (to follow the wall clock).
            var wait = min((config.until - nowReal) * 1000, 1_000_000)
            if let end = drainUntil { wait = min(wait, end - now) }
            for c in connections { if let t = c.nextTimer { wait = min(wait, t - now) } }
            buildPollSet(now: now)
            if acceptPausedUntil > now { wait = min(wait, acceptPausedUntil - now) }
            let timeoutMs = Int32(max(0, (wait + 999) / 1000))
            let n = poll(&pollSet, nfds_t(pollSet.count), timeoutMs)
            if n < 0 && errno != EINTR { say(errorText("poll")); return }
            now = monoUs()
            if n > 0 {
                for i in 0..<pollSet.count where pollSet[i].revents != 0 {
                    handle(slots[i], pollSet[i].revents, now: now)
                }
            }
            for c in connections where !c.closed { flush(c, now: now) }
            if connections.contains(where: \.closed) { connections.removeAll(where: \.closed) }
        }
    }

    func buildPollSet(now: Int64) {
        pollSet.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        pollSet.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
        slots.append(.wake)
        if acceptPausedUntil <= now {
            for l in listeners {
                pollSet.append(pollfd(fd: l.fd, events: Int16(POLLIN), revents: 0))
                slots.append(.listener(l.fd, l.v6))
            }
        }
        let cap = config.maxQueuedBytes
        for c in connections where !c.closed {
            var ce: Int16 = 0, se: Int16 = 0
            if !c.up.sawEOF && c.up.queuedBytes < cap { ce |= Int16(POLLIN) }
            if c.down.blocked { ce |= Int16(POLLOUT) }
            if c.connecting {
                se = Int16(POLLOUT)
            } else {
                if !c.down.sawEOF && c.down.queuedBytes < cap { se |= Int16(POLLIN) }
                if c.up.blocked { se |= Int16(POLLOUT) }
            }
            if ce != 0 { pollSet.append(pollfd(fd: c.client, events: ce, revents: 0)); slots.append(.client(c)) }
            if se != 0 { pollSet.append(pollfd(fd: c.server, events: se, revents: 0)); slots.append(.server(c)) }
        }
    }

    func handle(_ slot: Slot, _ revents: Int16, now: Int64) {
        switch slot {
        case .wake:
            wake?.drain()
            stopping = true
        case let .listener(fd, v6):
            acceptAll(fd, v6: v6, now: now)
        case let .client(c):
            guard !c.closed else { return }
            if revents & Int16(POLLOUT) != 0 { c.down.blocked = false }
            if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 && !c.up.sawEOF {
                if !receive(from: c.client, into: c.up, dest: c.server, destReady: !c.connecting, now: now) { c.abort(); return }
            } else if revents & Int16(POLLERR | POLLHUP) != 0 && revents & Int16(POLLOUT) == 0 {
                c.abort()
            }
        case let .server(c):
            guard !c.closed else { return }
            if c.connecting {
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                if getsockopt(c.server, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0 {
                    // The original destination refused or is unreachable: tell the client with a reset.
                    c.abort()
                    return
                }
                if revents & Int16(POLLOUT) == 0 { return }
                c.connecting = false
                return
            }
            if revents & Int16(POLLOUT) != 0 { c.up.blocked = false }
            if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 && !c.down.sawEOF {
                if !receive(from: c.server, into: c.down, dest: c.client, destReady: true, now: now) { c.abort(); return }
            } else if revents & Int16(POLLERR | POLLHUP) != 0 && revents & Int16(POLLOUT) == 0 {
                c.abort()
            }
        }
    }

    /// One read from `fd` into `flow`. Returns false when the source failed (reset the connection).
    func receive(from fd: Int32, into flow: Flow, dest: Int32, destReady: Bool, now: Int64) -> Bool {
        guard let base = scratch.baseAddress else { return false }
        var n: Int
        repeat { n = recv(fd, base, readSize, 0) } while n < 0 && errno == EINTR
        if n < 0 { return errno == EAGAIN || errno == EWOULDBLOCK }
        if n == 0 { flow.pushEOF(now: now, jitter: &jitter); return true }
        var bytes = UnsafeRawBufferPointer(start: base, count: n)
        if flow.immediate && flow.isEmpty && destReady && !flow.blocked {
            // Nothing to hold back: write straight from the read buffer, queue only what did not fit.
            var w: Int
            repeat { w = send(dest, base, n, Int32(MSG_NOSIGNAL)) } while w < 0 && errno == EINTR
            if w < 0 {
                guard errno == EAGAIN || errno == EWOULDBLOCK else { return false }
                w = 0
            }
            if w == n { return true }
            flow.blocked = true
            bytes = UnsafeRawBufferPointer(start: base + w, count: n - w)
        }
        flow.push(bytes, now: now, jitter: &jitter)
        return true
    }

    func flush(_ c: Connection, now: Int64) {
        if !c.connecting && !c.up.blocked && !c.up.flush(to: c.server, now: now) { c.abort(); return }
        if !c.down.blocked && !c.down.flush(to: c.client, now: now) { c.abort(); return }
        c.finishIfDone()
    }

    // MARK: accepting

    func acceptAll(_ listener: Int32, v6: Bool, now: Int64) {
        for _ in 0..<64 {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    // Out of descriptors: stop accepting for a moment instead of spinning on the listener.
                    acceptPausedUntil = now + 100_000
                }
                return
            }
            makeNonblocking(fd)
            open(fd, v6: v6)
        }
    }

    /// Connects an accepted client to where it meant to go.
    func open(_ client: Int32, v6: Bool) {
        var original = sockaddr_storage()
        var local = sockaddr_storage()
        var peer = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var localLen = len
        var peerLen = len
        let got = withUnsafeMutablePointer(to: &original) { p in
            getsockopt(client, v6 ? Int32(IPPROTO_IPV6) : Int32(IPPROTO_IP), soOriginalDst, p, &len) == 0
        }
        let named = withUnsafeMutablePointer(to: &local) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(client, $0, &localLen) == 0 }
        }
        // Not redirected (a direct connection to the relay's port): connecting to the "original"
        // destination would loop back here, so refuse it.
        guard got, named, !Relay.same(original, local, v6: v6) else { resetClose(client); return }
        let family = v6 ? AF_INET6 : AF_INET
        let server = socket(family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard server >= 0 else { resetClose(client); return }
        guard setInt(server, SOL_SOCKET, soMark, Int32(bitPattern: config.mark)) else {
            // Without the mark the redirect rule would send our own connection back to us.
            Glibc.close(server)
            resetClose(client)
            return
        }
        _ = setInt(server, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        _ = setInt(client, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        // Transparent: connect from the client's own address (any port), so the server sees who
        // called and not this relay. Needs CAP_NET_ADMIN, and for a remote client the fault's
        // policy routing, which brings the server's replies to this socket. Without it (no
        // capability), the connection still works, from this host's address.
        let gotPeer = withUnsafeMutablePointer(to: &peer) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(client, $0, &peerLen) == 0 }
        }
        if gotPeer, setInt(server, v6 ? Int32(IPPROTO_IPV6) : Int32(IPPROTO_IP), v6 ? ipv6Transparent : ipTransparent, 1) {
            Relay.clearPort(&peer, v6: v6)
            let bound = withUnsafePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(server, $0, peerLen) } }
            if bound != 0 && !warnedTransparent {
                warnedTransparent = true
                say("cannot connect from the client's address (\(errorText("bind"))); servers see this host's address instead")
            }
        }
        let size = socklen_t(v6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafePointer(to: &original) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, size) } }
        if rc != 0 && errno != EINPROGRESS {
            Glibc.close(server)
            resetClose(client)
            return
        }
        connections.append(Connection(client: client, server: server, connecting: rc != 0, config: config))
    }

    /// Port 0: the kernel picks one (the client's own port is taken by the redirected connection).
    static func clearPort(_ a: inout sockaddr_storage, v6: Bool) {
        withUnsafeMutablePointer(to: &a) { p in
            if v6 { p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port = 0 } }
            else { p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port = 0 } }
        }
    }

    static func same(_ a: sockaddr_storage, _ b: sockaddr_storage, v6: Bool) -> Bool {
        var a = a, b = b
        if v6 {
            let x = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee } }
            let y = withUnsafePointer(to: &b) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee } }
            var xa = x.sin6_addr, ya = y.sin6_addr
            return x.sin6_port == y.sin6_port && memcmp(&xa, &ya, MemoryLayout<in6_addr>.size) == 0
        }
        let x = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee } }
        let y = withUnsafePointer(to: &b) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee } }
        return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr
    }

    /// Resets every connection and closes every descriptor.
    func close() {
        for c in connections { c.abort() }
        connections.removeAll()
        for l in listeners { Glibc.close(l.fd) }
        listeners.removeAll()
        wake?.close()
        wake = nil
        scratch.deallocate()
        scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }
}
