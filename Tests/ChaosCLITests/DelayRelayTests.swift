import ChaosCore
import ChaosLinux
import ChaosTesting
import Foundation
import Glibc
import Testing

/// `chaos _relay`, the userspace mechanism of `network.delay` where there is no netem, measured for
/// real: two network namespaces, a Python echo server in one, the relay and an nftables redirect in
/// the other, and a Python client timing round trips through them.
@Suite("Delay relay (network.delay without netem)", .serialized, Requirements.integration("/usr/bin/python3", "/usr/bin/ss", "/usr/sbin/ip", "/usr/sbin/nft"))
struct DelayRelayTests {
    @Test("200 ms ± 20 ms is added to every round trip, with the jitter's spread; deleting the rule restores the baseline")
    func addsDelayAndJitter() throws {
        let lab = try RelayLab()
        defer { lab.destroy() }
        let baseline = try lab.rtt(count: 30)
        let base = median(baseline.samples)
        #expect(base < 50, "baseline RTT inside a veth pair should be well under 50 ms, got \(base)")

        let relay = try lab.startRelay(delayMs: 200, jitterMs: 20)
        try lab.redirect()
        let delayed = try lab.rtt(count: 40)
        #expect(delayed.ok)
        let added = delayed.samples.map { $0 - base }.sorted()
        let mid = median(added), p10 = percentile(added, 10), p90 = percentile(added, 90), p95 = percentile(added, 95)
        print("relay delay 200±20: baseline \(String(format: "%.3f", base)) ms; added median \(fmt(mid)), p10 \(fmt(p10)), p90 \(fmt(p90)), p95 \(fmt(p95)), min \(fmt(added.first ?? 0)), max \(fmt(added.last ?? 0)) ms; connect \(fmt(delayed.connect)) ms (baseline \(fmt(baseline.connect)))")
        #expect((180...260).contains(mid), "median added RTT \(mid) ms")
        // No byte leaves before delay - jitter (1 ms of slack for clocks and rounding).
        #expect((added.first ?? 0) >= 179, "smallest added RTT \(added.first ?? 0) ms is below delay - jitter")
        // Uniform ±20 ms puts p10…p90 about 32 ms apart; without jitter it would be a few ms.
        #expect(p90 - p10 >= 10, "spread p10…p90 = \(p90 - p10) ms: jitter not applied?")
        #expect(p90 - p10 <= 90, "spread p10…p90 = \(p90 - p10) ms: far more than ±20 ms of jitter")

        try lab.unredirect()
        let after = try lab.rtt(count: 30)
        let restored = median(after.samples)
        print("relay: after deleting the table, median RTT \(fmt(restored)) ms")
        #expect(restored < base + 50, "RTT after revert \(restored) ms, baseline \(base) ms")
        #expect(lab.stop(relay) == 0)
    }

    @Test("1 MiB of random bytes comes back intact (SHA-256), and a half-close crosses the relay both ways")
    func integrityAndHalfClose() throws {
        let lab = try RelayLab()
        defer { lab.destroy() }
        let relay = try lab.startRelay(delayMs: 200, jitterMs: 20)
        try lab.redirect()
        // The client sends, then shuts down its write side; the echo server closes only when it sees
        // that FIN, and the client returns only when it sees the server's. No half-close, no result.
        let bulk = try lab.client(Bulk.self, ["bulk", "1048576"])
        print("relay: 1 MiB echoed through 200±20 ms in \(fmt(bulk.seconds * 1000)) ms (\(fmt(bulk.bytes / bulk.seconds / 1e6)) MB/s each way)")
        #expect(bulk.ok, "SHA-256 of the echo differs from what was sent")
        #expect(bulk.bytes == 1_048_576)
        #expect(bulk.seconds >= 0.18, "1 MiB came back in \(bulk.seconds) s: the bytes were not delayed")
        #expect(lab.stop(relay) == 0)
    }

    @Test("Bytes keep their order although each chunk draws its own jitter (100 ± 80 ms)")
    func ordering() throws {
        let lab = try RelayLab()
        defer { lab.destroy() }
        let relay = try lab.startRelay(delayMs: 100, jitterMs: 80)
        try lab.redirect()
        // 300 numbered lines, 1 ms apart with TCP_NODELAY: separate segments, separate relay reads.
        let order = try lab.client(Order.self, ["order", "300"])
        #expect(order.ok, "first line out of order: \(order.firstMismatch) of \(order.lines)")
        #expect(order.lines == 300)
        #expect(lab.stop(relay) == 0)
    }

    @Test("50 parallel connections are each relayed and each delayed")
    func parallelConnections() throws {
        let lab = try RelayLab()
        defer { lab.destroy() }
        let relay = try lab.startRelay(delayMs: 200, jitterMs: 20)
        try lab.redirect()
        let idle = lab.openDescriptors(relay)
        let par = try lab.client(Parallel.self, ["par", "50", String(relay.processIdentifier)])
        print("relay: 50 parallel connections, first echo after \(fmt(par.minMs)) ms, last after \(fmt(par.maxMs)) ms; relay descriptors \(idle) idle, \(par.relayFds) with all open")
        #expect(par.ok == 50)
        #expect(par.relayFds >= idle + 100, "the relay did not hold all 50 connections at once (\(par.relayFds) descriptors)")
        #expect(par.minMs >= 179, "a connection got its echo after \(par.minMs) ms: not delayed")
        #expect(par.maxMs <= 10_000)
        #expect(lab.stop(relay) == 0)
    }

    @Test("direction both delays each way (2 × 100 ms); downstream delays only the replies")
    func directions() throws {
        let lab = try RelayLab()
        defer { lab.destroy() }
        let base = median(try lab.rtt(count: 20).samples)
        try lab.redirect()
        for (direction, delay) in [("both", 100), ("downstream", 200)] {
            let relay = try lab.startRelay(delayMs: delay, jitterMs: 0, direction: direction)
            let r = try lab.rtt(count: 20)
            let added = median(r.samples) - base
            print("relay: direction \(direction) delay \(delay): added median \(fmt(added)) ms")
            #expect(r.ok)
            #expect((195...260).contains(added), "\(direction): added RTT \(added) ms")
            #expect(lab.stop(relay) == 0)
        }
    }

    @Test("A refused original destination resets the client; a direct connection to the relay is refused, not looped")
    func failures() throws {
        let lab = try RelayLab()
        defer { lab.destroy() }
        let relay = try lab.startRelay(delayMs: 200, jitterMs: 0)
        let idle = lab.openDescriptors(relay)
        try lab.redirect(ports: [RelayLab.echoPort, RelayLab.deadPort])
        let dead = try lab.client(Probe.self, ["probe", "0"], port: RelayLab.deadPort)
        print("relay: refused destination: client saw \(dead.outcome) after \(fmt(dead.ms)) ms")
        #expect(dead.outcome == "reset" || dead.outcome == "eof", "client saw \(dead.outcome)")
        #expect(dead.ms < 2000)
        let direct = try lab.client(Probe.self, ["probe", "0"], host: "127.0.0.1", port: RelayLab.relayPort)
        #expect(direct.outcome == "reset" || direct.outcome == "eof", "direct connection saw \(direct.outcome)")
        #expect(direct.ms < 2000)
        // Nothing was left open or looped: the relay holds only its listeners and wake pipe again.
        #expect(Harness.waitUntil(timeout: 5) { lab.openDescriptors(relay) <= idle }, "relay holds \(lab.openDescriptors(relay)) descriptors, \(idle) when idle")
        // And it still works.
        #expect(try lab.rtt(count: 3).ok)
        #expect(lab.stop(relay) == 0)
    }

    @Test("IPv6: a redirected connection to [fd77::2] is relayed (SO_ORIGINAL_DST over SOL_IPV6) and delayed")
    func ipv6() throws {
        let lab = try RelayLab()
        defer { lab.destroy() }
        try lab.addIPv6()
        let base = median(try lab.rtt(count: 10, host: "fd77::2").samples)
        let relay = try lab.startRelay(delayMs: 200, jitterMs: 0)
        try lab.redirect(family: "ip6", address: "fd77::2")
        let r = try lab.rtt(count: 10, host: "fd77::2")
        let added = median(r.samples) - base
        print("relay: IPv6 added median \(fmt(added)) ms")
        #expect(r.ok)
        #expect((195...260).contains(added), "IPv6 added RTT \(added) ms")
        #expect(lab.stop(relay) == 0)
    }

    @Test("The relay exits with 0 by itself at --until, and is findable by its command line until then")
    func exitsAtDeadline() throws {
        let lab = try RelayLab()
        defer { lab.destroy() }
        let until = Harness.nowMs() + 4000
        let relay = try lab.startRelay(delayMs: 200, jitterMs: 0, until: until)
        let argv = ProcFS.process(relay.processIdentifier)?.cmdline ?? []
        #expect(argv.count > 3 && argv[1] == "_relay", "argv \(argv)")
        #expect(zip(argv, argv.dropFirst()).contains { $0 == "--fault-id" && $1 == "f-relaytest" }, "argv \(argv)")
        let early = until - 400 - Harness.nowMs()
        if early > 0 { usleep(useconds_t(early * 1000)) }
        #expect(!Harness.isDead(relay.processIdentifier), "the relay left before its deadline")
        let gone = Harness.waitUntil(timeout: Double(until + 1500 - Harness.nowMs()) / 1000) { Harness.isDead(relay.processIdentifier) }
        #expect(gone, "the relay is still running 1.5 s after --until")
        relay.waitUntilExit()
        #expect(relay.terminationReason == .exit && relay.terminationStatus == 0)
    }

    @Test("SIGTERM: the relay exits with 0 within 1.5 s and resets the connections it held")
    func exitsOnSIGTERM() throws {
        let lab = try RelayLab()
        defer { lab.destroy() }
        let relay = try lab.startRelay(delayMs: 200, jitterMs: 0)
        let idle = lab.openDescriptors(relay)
        try lab.redirect()
        let held = try lab.startClient(["hold", "0"])
        #expect(Harness.waitUntil(timeout: 10) { lab.openDescriptors(relay) >= idle + 2 }, "the held connection never reached the relay")
        let start = Date()
        kill(relay.processIdentifier, SIGTERM)
        #expect(Harness.waitUntil(timeout: 1.5) { Harness.isDead(relay.processIdentifier) }, "still running 1.5 s after SIGTERM")
        relay.waitUntilExit()
        #expect(relay.terminationReason == .exit && relay.terminationStatus == 0)
        // The client's connection ends too (reset), instead of hanging on a dead relay.
        #expect(Harness.waitUntil(timeout: 5) { !held.isRunning }, "the held client connection outlived the relay")
        print("relay: SIGTERM to exit in \(fmt(Date().timeIntervalSince(start) * 1000)) ms")
    }

    @Test("SIGTERM drains: a request in flight when the relay is stopped still gets its answer, then the relay exits")
    func drainsOnSIGTERM() throws {
        let lab = try RelayLab()
        defer { lab.destroy() }
        let relay = try lab.startRelay(delayMs: 400, jitterMs: 0)
        let idle = lab.openDescriptors(relay)
        try lab.redirect()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let shared = lab
        nonisolated(unsafe) var seen: Probe?
        Thread.detachNewThread {
            seen = try? shared.client(Probe.self, ["probe", "0"])
            done.signal()
        }
        #expect(Harness.waitUntil(timeout: 10) { lab.openDescriptors(relay) >= idle + 2 }, "the request never reached the relay")
        usleep(100_000)  // its bytes are now held for 400 ms
        kill(relay.processIdentifier, SIGTERM)
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(seen?.outcome == "data", "the request in flight was answered, not reset: \(String(describing: seen))")
        #expect(Harness.waitUntil(timeout: 1.5) { Harness.isDead(relay.processIdentifier) }, "the relay exits once drained")
    }
}

// MARK: - The lab

private let python = "/usr/bin/python3"

private func median(_ xs: [Double]) -> Double { percentile(xs, 50) }
private func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return .nan }
    return s[min(s.count - 1, Int((Double(s.count - 1) * p / 100).rounded()))]
}
private func fmt(_ x: Double) -> String { String(format: "%.1f", x) }

private struct RTT: Decodable { var connect: Double; var rtts: [Double]; var ok: Bool
    /// Round trips without the first (which pays for the interpreter's first use of the socket).
    var samples: [Double] { Array(rtts.dropFirst()) }
}
private struct Bulk: Decodable { var ok: Bool; var bytes: Double; var seconds: Double }
private struct Order: Decodable { var ok: Bool; var lines: Int; var firstMismatch: Int }
private struct Parallel: Decodable { var ok: Int; var minMs: Double; var maxMs: Double; var relayFds: Int }
private struct Probe: Decodable { var outcome: String; var ms: Double }

/// Client 10.77.1.1 and server 10.77.1.2 on a veth pair, an echo server on the server, Python
/// clients, and the relay with its redirect rule on the client.
private final class RelayLab {
    static let echoPort = 7000, deadPort = 7001, relayPort = 7100
    static let mark: UInt32 = 16962
    let lab = NetworkLab("relay")
    let dir: String
    private var processes: [Process] = []

    init() throws {
        dir = NSTemporaryDirectory() + "chaos-relay-\(UUID().uuidString.prefix(8))"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Self.echoScript.write(toFile: dir + "/echo.py", atomically: true, encoding: .utf8)
            try Self.clientScript.write(toFile: dir + "/client.py", atomically: true, encoding: .utf8)
            try lab.pair("client", "10.77.1.1/24", "server", "10.77.1.2/24")
            processes.append(try lab.start("server", [python, dir + "/echo.py", String(Self.echoPort)]))
            guard Harness.waitUntil(timeout: 10, { self.listening("server", Self.echoPort) }) else {
                throw ChaosError("test.relay", "the echo server did not listen within 10 s")
            }
        } catch {
            destroy()
            throw error
        }
    }

    func destroy() {
        for p in processes { Harness.cleanup(p) }
        processes = []
        lab.destroy()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func listening(_ host: String, _ port: Int) -> Bool {
        let r = try? lab.run(host, ["/usr/bin/ss", "-Hltn", "sport = :\(port)"], timeout: 5)
        return !(r?.stdout.isEmpty ?? true)
    }

    /// Starts `chaos _relay` in the client namespace and waits until it listens.
    func startRelay(delayMs: Int, jitterMs: Int, direction: String = "upstream", until: Int64? = nil) throws -> Process {
        let deadline = until ?? Harness.nowMs() + 120_000
        let p = try lab.start("client", [
            Harness.chaos, "_relay", "--fault-id", "f-relaytest", "--listen-port", String(Self.relayPort),
            "--delay-ms", String(delayMs), "--jitter-ms", String(jitterMs), "--mark", String(Self.mark),
            "--until", String(deadline), "--direction", direction,
        ])
        processes.append(p)
        guard Harness.waitUntil(timeout: 10, { self.listening("client", Self.relayPort) || !p.isRunning }), p.isRunning else {
            throw ChaosError("test.relay", "chaos _relay did not listen within 10 s (running: \(p.isRunning))")
        }
        return p
    }

    /// SIGTERM, then the exit status (SIGKILL after 5 s: -1).
    func stop(_ p: Process) -> Int32 {
        if p.isRunning { kill(p.processIdentifier, SIGTERM) }
        let exited = Harness.waitUntil(timeout: 5) { !p.isRunning }
        Harness.cleanup(p)
        return exited && p.terminationReason == .exit ? p.terminationStatus : -1
    }

    func openDescriptors(_ p: Process) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(p.processIdentifier)/fd").count) ?? 0
    }

    /// Redirects the client's connections to the server's `ports` to the relay (except the relay's own).
    func redirect(ports: [Int] = [RelayLab.echoPort], family: String = "ip", address: String = "10.77.1.2") throws {
        let set = ports.count == 1 ? String(ports[0]) : "{ " + ports.map(String.init).joined(separator: ", ") + " }"
        let program = """
        table inet chaostest {
            chain out {
                type nat hook output priority -100; policy accept;
                meta mark != \(Self.mark) tcp dport \(set) \(family) daddr \(address) redirect to :\(Self.relayPort)
            }
        }

        """
        let file = dir + "/redirect.nft"
        try program.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try lab.run("client", ["/usr/sbin/nft", "-f", file], timeout: 10)
        guard r.status == 0 else { throw ChaosError("test.relay", "nft -f: \(r.stderr)") }
    }

    func unredirect() throws {
        let r = try lab.run("client", ["/usr/sbin/nft", "delete", "table", "inet", "chaostest"], timeout: 10)
        guard r.status == 0 else { throw ChaosError("test.relay", "nft delete table: \(r.stderr)") }
    }

    func rtt(count: Int, host: String = "10.77.1.2") throws -> RTT { try client(RTT.self, ["rtt", String(count)], host: host) }

    /// Gives the pair fd77::1 and fd77::2 as well (no duplicate address detection, so usable at once).
    func addIPv6() throws {
        for (host, address) in [("client", "fd77::1/64"), ("server", "fd77::2/64")] {
            let r = try lab.run(host, ["/usr/sbin/ip", "addr", "add", address, "dev", "eth0", "nodad"], timeout: 10)
            guard r.status == 0 else { throw ChaosError("test.relay", "ip addr add \(address): \(r.stderr)") }
        }
    }

    /// Runs the Python client in the client namespace and decodes its one line of JSON.
    func client<T: Decodable>(_ type: T.Type, _ args: [String], host: String = "10.77.1.2", port: Int = RelayLab.echoPort) throws -> T {
        let argv = [python, dir + "/client.py", args[0], host, String(port)] + args.dropFirst()
        let r = try lab.run("client", argv, timeout: 90)
        guard r.status == 0 else { throw ChaosError("test.relay", "client \(args): status \(r.status): \(r.stderr)") }
        return try JSONDecoder().decode(T.self, from: Data(r.stdout.utf8))
    }

    /// Starts the Python client in the background (stopped by `destroy`).
    func startClient(_ args: [String]) throws -> Process {
        let p = try lab.start("client", [python, dir + "/client.py", args[0], "10.77.1.2", String(Self.echoPort)] + args.dropFirst())
        processes.append(p)
        return p
    }

    /// Echoes every connection until its client half-closes, then half-closes too.
    static let echoScript = """
    import socket, sys, threading
    s = socket.socket(socket.AF_INET6)  # dual stack: IPv4 clients arrive as ::ffff:a.b.c.d
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(('::', int(sys.argv[1])))
    s.listen(512)
    def serve(c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            c.close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
    """

    /// rtt N | bulk BYTES | order LINES | par N RELAY_PID | probe 0 | hold 0 — one line of JSON on stdout.
    static let clientScript = """
    import hashlib, json, os, socket, sys, threading, time
    mode, host, port, arg = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    extra = sys.argv[5] if len(sys.argv) > 5 else ''
    def ms(t): return (time.monotonic() - t) * 1000
    def connect():
        t = time.monotonic()
        s = socket.create_connection((host, port), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s, ms(t)
    def recv_exact(s, n):
        got = b''
        while len(got) < n:
            d = s.recv(n - len(got))
            if not d:
                break
            got += d
        return got
    def read_all(s):
        parts = []
        while True:
            d = s.recv(65536)
            if not d:
                return b''.join(parts)
            parts.append(d)
    if mode == 'rtt':
        s, ct = connect()
        rtts, ok = [], True
        for i in range(arg):
            m = os.urandom(32)
            t = time.monotonic()
            s.sendall(m)
            ok = recv_exact(s, len(m)) == m and ok
            rtts.append(ms(t))
        out = {'connect': ct, 'rtts': rtts, 'ok': ok}
    elif mode == 'bulk':
        data = os.urandom(arg)
        s, _ = connect()
        t = time.monotonic()
        def send():
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        th = threading.Thread(target=send)
        th.start()
        back = read_all(s)
        seconds = time.monotonic() - t
        th.join()
        out = {'ok': hashlib.sha256(back).digest() == hashlib.sha256(data).digest(), 'bytes': len(back), 'seconds': seconds}
    elif mode == 'order':
        s, _ = connect()
        def send():
            for i in range(arg):
                s.sendall(b'%06d\\n' % i)
                time.sleep(0.001)
            s.shutdown(socket.SHUT_WR)
        th = threading.Thread(target=send)
        th.start()
        lines = read_all(s).split()
        th.join()
        want = [b'%06d' % i for i in range(arg)]
        bad = next((i for i, (a, b) in enumerate(zip(lines, want)) if a != b), -1)
        out = {'ok': lines == want, 'lines': len(lines), 'firstMismatch': bad}
    elif mode == 'par':
        socks = [connect()[0] for _ in range(arg)]
        msgs = [os.urandom(16) + b'%06d' % i for i in range(arg)]
        t = time.monotonic()
        for s, m in zip(socks, msgs):
            s.sendall(m)
        ok, times = 0, []
        for s, m in zip(socks, msgs):
            ok += recv_exact(s, len(m)) == m
            times.append(ms(t))
        relay = len(os.listdir('/proc/%s/fd' % extra)) if extra else -1
        out = {'ok': ok, 'minMs': min(times), 'maxMs': max(times), 'relayFds': relay}
        for s in socks:
            s.close()
    elif mode == 'probe':
        t = time.monotonic()
        try:
            # The reset may already arrive while connect() returns (a race under load): it counts.
            s, _ = connect()
            s.settimeout(5)
            s.sendall(b'hello')
            outcome = 'eof' if not s.recv(64) else 'data'
        except ConnectionResetError:
            outcome = 'reset'
        except socket.timeout:
            outcome = 'timeout'
        except OSError as e:
            outcome = 'error: %s' % e
        out = {'outcome': outcome, 'ms': ms(t)}
    elif mode == 'hold':
        s, _ = connect()
        s.settimeout(120)
        s.sendall(b'x')
        try:
            while s.recv(64):
                pass
        except OSError:
            pass
        out = {}
    print(json.dumps(out))
    """
}
