import ChaosCore
import ChaosProbes
import ChaosTesting
import Foundation
import Glibc

/// Root and `CHAOS_INTEGRATION=1`: network tests (namespaces) run.
let integration: Bool = getenv("CHAOS_INTEGRATION").map { String(cString: $0) } == "1" && geteuid() == 0

/// A throwaway network for probe tests: host `cli` (10.78.N.1, fd78:N::1) and host `srv` (10.78.N.2,
/// fd78:N::2) joined by a veth pair, inside namespaces of a ``NetworkLab``. `srv` runs a small Python
/// server: HTTP on 8080, a TCP port that accepts and never answers on 8081 (IPv4 and IPv6), and with
/// `tls` HTTPS on 8443 with a certificate of a private CA. The probes under test run in the test
/// process, inside `cli`'s namespace (see ``Namespace``): their sockets are made by threads that
/// joined it, so no probe traffic ever leaves the lab. ``close()`` shuts the probes down and destroys
/// the lab (killing the server).
final class ProbeLab: @unchecked Sendable {
    static let httpPort = 8080
    static let stallPort = 8081
    static let tlsPort = 8443

    let lab: NetworkLab
    let subnet: Int
    let dir: String
    /// Where the probes run: `cli`'s namespace.
    let cli: Namespace
    var probes: Probes { cli.probes }
    /// The CA that signed the HTTPS server's certificate (with `tls`).
    var caFile: String { dir + "/ca.pem" }

    var serverIP: String { "10.78.\(subnet).2" }
    var serverIPv6: String { "fd78:\(subnet)::2" }
    var base: String { "http://\(serverIP):\(Self.httpPort)" }

    /// Runs `body` with a fresh lab, and always cleans up.
    static func with(_ name: String, subnet: Int, tls: Bool = false, _ body: (ProbeLab) async throws -> Void) async throws {
        let lab = try await ProbeLab(name, subnet: subnet, tls: tls)
        do { try await body(lab) } catch {
            await lab.close()
            throw error
        }
        await lab.close()
    }

    private init(_ name: String, subnet: Int, tls: Bool) async throws {
        self.subnet = subnet
        lab = NetworkLab(name)
        dir = NSTemporaryDirectory() + "chaos-probes-\(getpid())-\(UUID().uuidString.prefix(8))"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try lab.pair("cli", "10.78.\(subnet).1/24", "srv", "10.78.\(subnet).2/24")
            for (h, a) in [("cli", "fd78:\(subnet)::1/64"), ("srv", "fd78:\(subnet)::2/64")] {
                let r = try lab.run(h, ["/usr/sbin/ip", "-6", "addr", "add", a, "dev", "eth0", "nodad"], timeout: 10)
                guard r.status == 0 else { throw NetworkLab.LabError(description: "ip -6 addr add: \(r.stderr)") }
            }
            let script = dir + "/server.py"
            try ProbeLab.serverScript.write(toFile: script, atomically: true, encoding: .utf8)
            var argv = [ProbeLab.python, "-u", script, String(Self.httpPort), String(Self.stallPort)]
            if tls {
                try ProbeLab.makeCertificates(in: dir, for: "10.78.\(subnet).2")
                argv += [String(Self.tlsPort), dir + "/server.pem", dir + "/server.key"]
            }
            cli = try Namespace(lab.ns("cli"))
            _ = try lab.start("srv", argv)
        } catch {
            lab.destroy()
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
        do {
            try await waitListening(tls ? [Self.httpPort, Self.stallPort, Self.tlsPort] : [Self.httpPort, Self.stallPort])
        } catch {
            await close()
            throw error
        }
    }

    func close() async {
        await cli.close()
        lab.destroy()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// One observation of `spec`, made inside `cli`.
    func observe(_ spec: ProbeSpec) async throws -> Observation {
        let runner = try probes.runner(for: spec)
        return await observe(runner)
    }

    /// One observation of `runner`, made inside `cli`.
    func observe(_ runner: any ProbeRunner) async -> Observation {
        await cli.run { await runner.observe() }
    }

    /// Waits (≤ 10 s) until the server accepts connections on `ports`, probing from `cli`.
    func waitListening(_ ports: [Int]) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        for port in ports {
            let probe = try probes.runner(for: tcp("ready", "\(serverIP):\(port)", timeout: 200))
            while await observe(probe).failure != nil {
                guard ContinuousClock.now < deadline else {
                    throw NetworkLab.LabError(description: "the lab server did not listen on \(port) within 10 s")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// A private CA and a server certificate for `serverIP` (openssl).
    static func makeCertificates(in dir: String, for serverIP: String) throws {
        let ext = dir + "/server.ext"
        try "basicConstraints=CA:FALSE\nsubjectAltName=IP:\(serverIP)\nextendedKeyUsage=serverAuth\n"
            .write(toFile: ext, atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/ca.key",
             "-out", dir + "/ca.pem", "-days", "2", "-subj", "/CN=chaos probe test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/server.key",
             "-out", dir + "/server.csr", "-subj", "/CN=\(serverIP)"],
            ["x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.pem", "-CAkey", dir + "/ca.key", "-CAcreateserial",
             "-out", dir + "/server.pem", "-days", "2", "-extfile", ext],
        ]
        for step in steps {
            let r = try NetworkLab.exec([ProbeLab.openssl] + step, timeout: 30)
            guard r.status == 0 else { throw NetworkLab.LabError(description: "openssl \(step[0]): \(r.stderr)") }
        }
    }

    static let python = "/usr/bin/python3"
    static let openssl = "/usr/bin/openssl"
    static var hasOpenSSL: Bool { FileManager.default.isExecutableFile(atPath: openssl) }

    /// The query the Prometheus stand-in answers 7 to, if it arrives intact (quotes, braces, spaces,
    /// `=~`, `/`, `+`).
    static let complexQuery = #"sum(rate(http_requests_total{job="shop", code=~"5.."}[5m])) / 2 + 1"#

    static let serverScript = #"""
import json, socket, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

COMPLEX = 'sum(rate(http_requests_total{job="shop", code=~"5.."}[5m])) / 2 + 1'

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass

    def send(self, status, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def prometheus(self, q):
        t = time.time()
        if q == "up":
            return 200, {"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"__name__": "up", "job": "a"}, "value": [t, "1"]},
                {"metric": {"__name__": "up", "job": "b"}, "value": [t, "0"]}]}}
        if q == "absent_metric":
            return 200, {"status": "success", "data": {"resultType": "vector", "result": []}}
        if q == "scalar(2.5)":
            return 200, {"status": "success", "data": {"resultType": "scalar", "result": [t, "2.5"]}}
        if q == "up[5m]":
            return 200, {"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {}, "values": [[t, "1"]]}]}}
        if q == COMPLEX:
            return 200, {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [t, "7"]}]}}
        return 400, {"status": "error", "errorType": "bad_data", "error": "unknown query " + q}

    def handle_any(self):
        n = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        url = urlsplit(self.path)
        p = url.path
        if p == "/ok":
            return self.send(200, "hello from the lab")
        if p.startswith("/status/"):
            code = int(p.split("/")[2])
            return self.send(code, "status %d" % code)
        if p == "/big":
            return self.send(200, "x" * 100000)
        if p == "/echo":
            return self.send(200, json.dumps({"method": self.command, "path": self.path, "body": body, "peer": self.client_address[0],
                "headers": {k.lower(): v for k, v in self.headers.items()}}), "application/json")
        if p == "/redirect":
            self.send_response(302)
            self.send_header("location", "/ok")
            self.send_header("content-length", "0")
            self.end_headers()
            return
        if p == "/slowbody":
            self.send_response(200)
            self.send_header("content-length", "100")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            time.sleep(30)
            return
        if p == "/api/v1/query":
            q = parse_qs(url.query, keep_blank_values=True).get("query", [""])[0]
            status, answer = self.prometheus(q)
            return self.send(status, json.dumps(answer), "application/json")
        return self.send(404, "not found")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_any

def stall(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(64)
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)  # accepted, never read, never answered

def main():
    port, stall_port = int(sys.argv[1]), int(sys.argv[2])
    threading.Thread(target=stall, args=(stall_port,), daemon=True).start()
    if len(sys.argv) > 5:
        tls_port, cert, key = int(sys.argv[3]), sys.argv[4], sys.argv[5]
        tls = ThreadingHTTPServer(("0.0.0.0", tls_port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        threading.Thread(target=tls.serve_forever, daemon=True).start()
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()

main()
"""#
}

/// A network namespace to run probes in: a thread that joined it (`setns`, which moves only the
/// calling thread) serves as the task executor of the code that observes, so the sockets that code
/// makes (NIO and AsyncHTTPClient create them on the calling thread) live in the namespace; the
/// probes' event loop threads are made by that same thread, so they are in it too (sockets NIO
/// makes on its loops, e.g. after resolving a name, are as well).
final class Namespace: TaskExecutor, @unchecked Sendable {
    let name: String
    /// Probes made inside the namespace.
    private(set) var probes: Probes! = nil
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private var running = true
    private var startError: String?
    private var started = false

    init(_ name: String) throws {
        self.name = name
        let thread = Thread { [unowned self] in self.main() }
        thread.name = "netns-\(name)"
        thread.start()
        condition.lock()
        while !started { condition.wait() }
        condition.unlock()
        if let startError { throw NetworkLab.LabError(description: startError) }
    }

    private func main() {
        do {
            try Namespace.enter(name)
            probes = Probes(eventLoopThreads: 1)
        } catch {
            startError = "\(error)"
        }
        condition.lock()
        started = true
        if startError != nil { running = false }
        condition.broadcast()
        condition.unlock()
        guard startError == nil else { return }
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                running = false
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        if running {
            jobs.append(job)
            condition.signal()
            condition.unlock()
        } else {
            // Stragglers after close (none expected) still run, outside the namespace.
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    /// Runs `body` with this namespace's thread as its executor.
    func run<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        await withTaskExecutorPreference(self) { await body() }
    }

    /// Shuts the probes down and ends the thread.
    func close() async {
        await probes?.shutdown()
        stop()
    }

    private func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    /// Moves the calling thread (only) into `namespace`, and checks that it is there.
    static func enter(_ namespace: String) throws {
        typealias SetNS = @convention(c) (Int32, Int32) -> Int32
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "setns") else {
            throw NetworkLab.LabError(description: "setns is not available")
        }
        let setns = unsafeBitCast(symbol, to: SetNS.self)
        let path = "/run/netns/\(namespace)"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetworkLab.LabError(description: "open \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        let CLONE_NEWNET: Int32 = 0x4000_0000
        guard setns(fd, CLONE_NEWNET) == 0 else { throw NetworkLab.LabError(description: "setns: \(String(cString: strerror(errno)))") }
        var mine = stat(), target = stat()
        guard stat("/proc/thread-self/ns/net", &mine) == 0, stat(path, &target) == 0, mine.st_ino == target.st_ino else {
            throw NetworkLab.LabError(description: "the thread is not in \(namespace) after setns")
        }
    }
}

// MARK: specs

func http(_ name: String, _ url: String, timeout ms: Int64 = 1000) -> ProbeSpec {
    var s = ProbeSpec(name: name, type: .http, interval: .milliseconds(max(ms, 1000)), timeout: .milliseconds(ms))
    s.url = url
    return s
}

func tcp(_ name: String, _ address: String, timeout ms: Int64 = 1000) -> ProbeSpec {
    var s = ProbeSpec(name: name, type: .tcp, interval: .milliseconds(max(ms, 1000)), timeout: .milliseconds(ms))
    s.address = address
    return s
}

func command(_ name: String, _ argv: [String], timeout ms: Int64 = 5000) -> ProbeSpec {
    var s = ProbeSpec(name: name, type: .command, interval: .milliseconds(max(ms, 1000)), timeout: .milliseconds(ms))
    s.command = argv
    return s
}

func prometheus(_ name: String, _ url: String, _ query: String, timeout ms: Int64 = 1000) -> ProbeSpec {
    var s = ProbeSpec(name: name, type: .prometheus, interval: .milliseconds(max(ms, 1000)), timeout: .milliseconds(ms))
    s.url = url
    s.query = query
    return s
}

/// Wall-clock now in ms since the epoch.
func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// How long `body` takes, in ms.
func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
    let start = ContinuousClock.now
    let value = try await body()
    let d = ContinuousClock.now - start
    return (value, Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
}
