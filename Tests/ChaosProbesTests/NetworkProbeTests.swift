import ChaosCore
import ChaosProbes
import ChaosTesting
import Foundation
import Testing

/// HTTP, TCP and Prometheus probes against a real server in a throwaway network (``ProbeLab``):
/// the probes connect from namespace `cli` to `srv` (10.78.N.x); every test is bounded and destroys
/// its lab.
@Suite("Network probes in network namespaces", .serialized, .timeLimit(.minutes(2)),
       .enabled(if: integration, "needs root and CHAOS_INTEGRATION=1"))
struct NetworkProbeTests {
    @Test("http: 200 with its body, 503 as seen, a redirect not followed, a body cut at the limit, HEAD")
    func httpStatusesAndBodies() async throws {
        try await ProbeLab.with("http", subnet: 1) { lab in
            let before = nowMs()
            let ok = try await lab.observe(http("web", lab.base + "/ok"))
            #expect(ok.probe == "web")
            #expect(ok.status == 200 && ok.body == "hello from the lab" && ok.failure == nil && ok.blind == nil, "\(ok)")
            #expect(ok.at >= before && ok.at <= nowMs(), "at is the wall-clock start")
            #expect(ok.latencyMs > 0 && ok.latencyMs < 1000)

            let down = try await lab.observe(http("web", lab.base + "/status/503"))
            #expect(down.status == 503 && down.body == "status 503" && down.failure == nil, "a 503 is an answer, not a failure: \(down)")

            let moved = try await lab.observe(http("web", lab.base + "/redirect"))
            #expect(moved.status == 302, "redirects are not followed: \(moved)")

            let big = try await lab.observe(http("web", lab.base + "/big"))
            #expect(big.status == 200 && big.body?.utf8.count == Observation.bodyLimit, "cut to \(Observation.bodyLimit) bytes: \(big.body?.utf8.count ?? -1)")

            var head = http("web", lab.base + "/ok")
            head.method = "HEAD"
            let h = try await lab.observe(head)
            #expect(h.status == 200 && h.body == "", "\(h)")

            // Many observations through one runner: each gets its own answer.
            let runner = try lab.probes.runner(for: http("web", lab.base + "/ok"))
            for _ in 0..<5 { #expect(await lab.observe(runner).status == 200) }
        }
    }

    @Test("http: the method, headers and body are sent as given")
    func httpRequestAsGiven() async throws {
        try await ProbeLab.with("echo", subnet: 2) { lab in
            var spec = http("api", lab.base + "/echo?x=1")
            spec.method = "POST"
            spec.headers = ["X-Probe": "chaos", "Host": "shop.staging.example", "Content-Type": "text/plain"]
            spec.body = "ping"
            let o = try await lab.observe(spec)
            #expect(o.status == 200, "\(o)")
            let body = try #require(o.body)
            #expect(JSONPath.value(at: "$.method", in: body) == "POST")
            #expect(JSONPath.value(at: "$.path", in: body) == "/echo?x=1")
            #expect(JSONPath.value(at: "$.body", in: body) == "ping")
            #expect(JSONPath.value(at: "$.headers.x-probe", in: body) == "chaos")
            #expect(JSONPath.value(at: "$.headers.host", in: body) == "shop.staging.example", "a Host header replaces the URL's: \(body)")
            #expect(JSONPath.value(at: "$.peer", in: body) == "10.78.2.1", "sent from the lab's client: \(body)")
        }
    }

    @Test("http: a closed port is a failure, 'connection refused', at once")
    func httpRefused() async throws {
        try await ProbeLab.with("refuse", subnet: 3) { lab in
            let runner = try lab.probes.runner(for: http("web", "http://\(lab.serverIP):9/ok"))
            for _ in 0..<2 {
                let (o, ms) = await timed { await lab.observe(runner) }
                #expect(o.failure == "connection refused" && o.blind == nil && o.status == nil, "\(o)")
                #expect(ms < 500, "refused is immediate, no retries until the deadline: \(ms) ms")
            }
        }
    }

    @Test("http: a server that accepts and never answers (or stalls in the body) fails within timeout + 0.5 s")
    func httpTimeout() async throws {
        try await ProbeLab.with("stall", subnet: 4) { lab in
            let stalled = try lab.probes.runner(for: http("web", "http://\(lab.serverIP):\(ProbeLab.stallPort)/", timeout: 1000))
            let (o, ms) = await timed { await lab.observe(stalled) }
            #expect(o.failure == "timed out after 1s", "\(o)")
            #expect(ms >= 950 && ms < 1500, "took \(ms) ms")
            #expect(o.latencyMs >= 950 && o.latencyMs < 1500)

            let slowBody = try lab.probes.runner(for: http("web", lab.base + "/slowbody", timeout: 700))
            let (b, bms) = await timed { await lab.observe(slowBody) }
            #expect(b.failure == "timed out after 700ms", "headers then a stalled body: \(b)")
            #expect(bms >= 650 && bms < 1200, "took \(bms) ms")

            // Cancelled by its caller (a run that ends): blind, at once, not an outage.
            let task = Task { await lab.observe(stalled) }
            try await Task.sleep(for: .milliseconds(100))
            let (c, cms) = await timed {
                task.cancel()
                return await task.value
            }
            #expect(c.blind == "the observation was cancelled" && c.failure == nil && cms < 300, "\(c) after \(cms) ms")

            // A timed-out observation leaves nothing behind that delays the next one.
            let ok = try lab.probes.runner(for: http("web", lab.base + "/ok", timeout: 1000))
            let (after, ams) = await timed { await lab.observe(ok) }
            #expect(after.status == 200 && ams < 500, "\(after) in \(ams) ms")
        }
    }

    @Test("tcp: an open port connects over IPv4 and IPv6, a closed port is refused, a name resolves")
    func tcpConnects() async throws {
        try await ProbeLab.with("tcp", subnet: 5) { lab in
            for address in ["\(lab.serverIP):\(ProbeLab.stallPort)", "[\(lab.serverIPv6)]:\(ProbeLab.stallPort)",
                            "\(lab.serverIPv6):\(ProbeLab.stallPort)"] {
                let o = try await lab.observe(tcp("port", address))
                #expect(o.failure == nil && o.blind == nil && o.latencyMs < 500, "\(address): \(o)")
            }
            let closed = try await lab.observe(tcp("port", "\(lab.serverIP):9"))
            #expect(closed.failure == "connection refused", "\(closed)")
            // 'localhost' comes from /etc/hosts; nothing listens on the client's own loopback.
            let named = try await lab.observe(tcp("port", "localhost:\(ProbeLab.stallPort)"))
            #expect(named.failure == "connection refused", "a name is resolved and connected to from the namespace: \(named)")
        }
    }

    @Test("tcp: an address that does not answer (no route inside the lab) times out within timeout + 0.5 s")
    func tcpTimeout() async throws {
        try await ProbeLab.with("tcpto", subnet: 6) { lab in
            // On the lab's link but nobody has it: ARP fails, the connect hangs.
            let (o, ms) = await timed { try! await lab.observe(tcp("port", "10.78.6.77:80", timeout: 500)) }
            #expect(o.failure != nil && o.blind == nil, "\(o)")
            #expect(o.failure == "timed out after 500ms" || o.failure == "host unreachable", "\(o)")
            #expect(ms < 1000, "took \(ms) ms")
        }
    }

    @Test("prometheus: the first sample of a vector, a scalar, an empty result (no value), a query sent intact")
    func prometheusValues() async throws {
        try await ProbeLab.with("prom", subnet: 7) { lab in
            let up = try await lab.observe(prometheus("prom", lab.base, "up"))
            #expect(up.value == 1 && up.blind == nil && up.failure == nil, "\(up)")
            let scalar = try await lab.observe(prometheus("prom", lab.base + "/", "scalar(2.5)"))
            #expect(scalar.value == 2.5, "a trailing slash on the base URL is fine: \(scalar)")
            let empty = try await lab.observe(prometheus("prom", lab.base, "absent_metric"))
            #expect(empty.value == nil && empty.blind == nil && empty.failure == nil, "\(empty)")
            let complex = try await lab.observe(prometheus("prom", lab.base, ProbeLab.complexQuery))
            #expect(complex.value == 7, "the query arrives percent-encoded and intact: \(complex)")
        }
    }

    @Test("prometheus: unreachable, timing out, an HTTP error, a query error or a matrix is blind, never a failure")
    func prometheusBlind() async throws {
        try await ProbeLab.with("promb", subnet: 8) { lab in
            let refused = try await lab.observe(prometheus("prom", "http://\(lab.serverIP):9", "up"))
            #expect(refused.failure == nil && refused.blind?.contains("connection refused") == true, "\(refused)")
            let (stalled, ms) = await timed {
                try! await lab.observe(prometheus("prom", "http://\(lab.serverIP):\(ProbeLab.stallPort)", "up", timeout: 500))
            }
            #expect(stalled.failure == nil && stalled.blind != nil && ms < 1000, "\(stalled) in \(ms) ms")
            let http503 = try await lab.observe(prometheus("prom", lab.base + "/status/503", "up"))
            #expect(http503.failure == nil && http503.blind?.contains("503") == true, "\(http503)")
            let bad = try await lab.observe(prometheus("prom", lab.base, "sum("))
            #expect(bad.blind?.contains("bad_data") == true && bad.value == nil, "\(bad)")
            let matrix = try await lab.observe(prometheus("prom", lab.base, "up[5m]"))
            #expect(matrix.blind?.contains("matrix") == true, "\(matrix)")
            let notURL = try await lab.observe(prometheus("prom", "prometheus:9090", "up"))
            #expect(notURL.blind != nil, "\(notURL)")
        }
    }

    @Test("isolation: the server sees the probes come from the lab's client; from a namespace with no link they cannot reach it")
    func isolation() async throws {
        try await ProbeLab.with("iso", subnet: 9) { lab in
            let echo = try await lab.observe(http("web", lab.base + "/echo"))
            #expect(echo.body.flatMap { JSONPath.value(at: "$.peer", in: $0) } == "10.78.9.1", "the request came from cli: \(echo)")
            // Same code, another namespace (loopback only): nothing there routes to the server.
            try lab.lab.addHost("lone")
            let lone = try Namespace(lab.lab.ns("lone"))
            let tcpProbe = try lone.probes.runner(for: tcp("port", "\(lab.serverIP):\(ProbeLab.stallPort)", timeout: 300))
            let webProbe = try lone.probes.runner(for: http("web", lab.base + "/ok", timeout: 300))
            let viaTCP = await lone.run { await tcpProbe.observe() }
            let viaHTTP = await lone.run { await webProbe.observe() }
            await lone.close()
            #expect(viaTCP.failure == "network unreachable", "\(viaTCP)")
            #expect(viaHTTP.status == nil && viaHTTP.failure == "network unreachable", "\(viaHTTP)")
        }
    }

    @Test("https: system roots reject a private CA; caFile trusts it; insecure accepts any certificate",
          .enabled(if: ProbeLab.hasOpenSSL, "needs openssl"))
    func https() async throws {
        try await ProbeLab.with("tls", subnet: 10, tls: true) { lab in
            let url = "https://\(lab.serverIP):\(ProbeLab.tlsPort)/ok"
            let strict = try await lab.observe(http("web", url))
            #expect(strict.status == nil && strict.failure == "TLS handshake failed: certificate verify failed", "\(strict)")
            var pinned = http("web", url)
            pinned.caFile = lab.caFile
            let withCA = try await lab.observe(pinned)
            #expect(withCA.status == 200 && withCA.body == "hello from the lab", "\(withCA)")
            var insecure = http("web", url)
            insecure.insecure = true
            let any = try await lab.observe(insecure)
            #expect(any.status == 200, "\(any)")
            // The CA trusted for one probe is not trusted for another: clients are per TLS setting.
            let strictAgain = try await lab.observe(http("web", url))
            #expect(strictAgain.failure?.hasPrefix("TLS handshake failed") == true, "\(strictAgain)")
        }
    }

    @Test("judging real observations: status, body, JSONPath, latency, refused, Prometheus value and blindness")
    func judging() async throws {
        try await ProbeLab.with("judge", subnet: 11) { lab in try await judging(lab) }
    }

    func judging(_ lab: ProbeLab) async throws {
        func judged(_ spec: ProbeSpec) async throws -> Judgement {
            let o = try await lab.observe(spec)
            return spec.tolerance.judge(o, kind: spec.type)
        }
        #expect(try await judged(http("web", lab.base + "/ok")) == .ok)
        #expect(try await judged(http("web", lab.base + "/status/503")) == .fail("status 503, expected 200-399"))
        var accept503 = http("web", lab.base + "/status/503")
        accept503.tolerance.status = [StatusRange(500, 599)]
        #expect(try await judged(accept503) == .ok)
        var json = http("web", lab.base + "/echo")
        json.tolerance.jsonPath = "$.method"
        json.tolerance.equals = "GET"
        json.tolerance.bodyMatches = #""path": "/echo""#
        json.tolerance.latencyBelow = .seconds(1)
        #expect(try await judged(json) == .ok)
        json.tolerance.equals = "POST"
        #expect(try await judged(json) == .fail("$.method is GET, expected POST"))
        #expect(try await judged(http("web", "http://\(lab.serverIP):9/")) == .fail("connection refused"))
        #expect(try await judged(http("web", "http://\(lab.serverIP):\(ProbeLab.stallPort)/", timeout: 300)) == .fail("timed out after 300ms"))
        #expect(try await judged(tcp("port", "\(lab.serverIP):\(ProbeLab.stallPort)")) == .ok)
        var slowTCP = tcp("port", "\(lab.serverIP):\(ProbeLab.stallPort)")
        slowTCP.tolerance.latencyBelow = .milliseconds(0)
        #expect(try await judged(slowTCP).reason?.hasPrefix("took") == true)

        var one = prometheus("prom", lab.base, "up")
        one.tolerance.valueEquals = 1
        #expect(try await judged(one) == .ok)
        one.tolerance.valueEquals = nil
        one.tolerance.valueAbove = 1
        #expect(try await judged(one) == .fail("value 1.0, expected above 1.0"))
        #expect(try await judged(prometheus("prom", lab.base, "absent_metric")) == .blind("the query returned no value"))
        #expect(try await judged(prometheus("prom", "http://\(lab.serverIP):9", "up")).isBlind, "Prometheus down says nothing about the system")
    }
}
