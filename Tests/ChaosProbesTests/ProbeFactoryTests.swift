import ChaosCore
@testable import ChaosProbes
import Foundation
import Synchronization
import Testing

/// The factory, misconfigured probes and the pure parts (no network: nothing here connects).
@Suite("Probe factory and parsing")
struct ProbeFactoryTests {
    @Test("a probe without its required field cannot be made; an unreadable CA bundle neither")
    func factoryErrors() async throws {
        let probes = Probes()
        var noURL = ProbeSpec(name: "web", type: .http)
        #expect(throws: ChaosError.self) { try probes.runner(for: noURL) }
        noURL.url = "http://10.0.0.1/"
        noURL.caFile = "/nonexistent/ca.pem"
        do {
            _ = try probes.runner(for: noURL)
            Issue.record("a missing CA bundle must be refused")
        } catch { #expect(error.code == "probe.caFile" && error.message.contains("/nonexistent/ca.pem"), "\(error)") }
        let notPEM = NSTemporaryDirectory() + "chaos-probes-notpem-\(getpid()).pem"
        try "not a certificate".write(toFile: notPEM, atomically: true, encoding: .utf8)
        defer { unlink(notPEM) }
        noURL.caFile = notPEM
        #expect(throws: ChaosError.self) { try probes.runner(for: noURL) }
        #expect(throws: ChaosError.self) { try probes.runner(for: ProbeSpec(name: "p", type: .tcp)) }
        #expect(throws: ChaosError.self) { try probes.runner(for: command("c", [])) }
        var noQuery = ProbeSpec(name: "prom", type: .prometheus)
        noQuery.url = "http://10.0.0.5:9090"
        #expect(throws: ChaosError.self) { try probes.runner(for: noQuery) }
        await probes.shutdown()
        do {
            _ = try probes.runner(for: command("c", ["true"]))
            Issue.record("no probe after shutdown")
        } catch { #expect(error.code == "probe.closed") }
        await probes.shutdown()  // twice is fine
    }

    @Test("one HTTP client per TLS setting and timeout, shared by probes that agree")
    func clientsPerSetting() async throws {
        let probes = Probes(eventLoopThreads: 1)
        let a = http("a", "http://10.0.0.1/"), b = http("b", "https://10.0.0.2/")
        var insecure = http("c", "https://10.0.0.3/")
        insecure.insecure = true
        let shorter = http("d", "http://10.0.0.1/", timeout: 200)
        for s in [a, b, insecure, shorter] { _ = try probes.runner(for: s) }
        #expect(probes.state.withLock { $0.clients.count } == 3)
        await probes.shutdown()
        #expect(probes.state.withLock { $0.clients.isEmpty })
    }

    @Test("an invalid URL is blind at once, without connecting")
    func invalidURL() async throws {
        let probes = Probes()
        for url in ["not a url", "ftp://10.0.0.1/", "http://", "http:///path", "10.0.0.1:8080/health"] {
            let (o, ms) = try await timed { try await probes.runner(for: http("web", url)).observe() }
            #expect(o.blind != nil && o.failure == nil && o.status == nil, "\(url): \(o)")
            #expect(ms < 200)
            #expect(o.tolerance(http("web", url)).isBlind)
        }
        await probes.shutdown()
    }

    @Test("a malformed TCP address is blind at once")
    func malformedAddress() async throws {
        let probes = Probes()
        for address in ["10.0.0.1", "10.0.0.1:", ":80", "10.0.0.1:http", "10.0.0.1:0", "10.0.0.1:70000", "[::1:80", "[::1]80", "fd00::1::2:80 x"] {
            let o = try await probes.runner(for: tcp("port", address)).observe()
            #expect(o.blind != nil && o.failure == nil, "\(address): \(o)")
        }
        await probes.shutdown()
    }

    @Test("host:port parsing: names, IPv4, bracketed and bare IPv6")
    func addressParsing() {
        #expect(TCPAddress("10.0.0.31:6379").map { [$0.host, String($0.port)] } == ["10.0.0.31", "6379"])
        #expect(TCPAddress("redis.internal:6379")?.host == "redis.internal")
        #expect(TCPAddress("[::1]:6379").map { [$0.host, String($0.port)] } == ["::1", "6379"])
        #expect(TCPAddress("fd77:26::2:8080").map { [$0.host, String($0.port)] } == ["fd77:26::2", "8080"])
        #expect(TCPAddress("10.0.0.31:6379")?.literal != nil)
        #expect(TCPAddress("redis.internal:6379")?.literal == nil)
        #expect(TCPAddress("a:b:80") == nil, "a bare host with colons must be an IPv6 literal")
    }

    @Test("the query is percent-encoded: only unreserved characters stay")
    func percentEncoding() {
        #expect(PrometheusProbe.percentEncoded(#"up{job="a b"} > 0.5"#) == "up%7Bjob%3D%22a%20b%22%7D%20%3E%200.5")
        #expect(PrometheusProbe.percentEncoded("rate(x[5m])/2+1") == "rate%28x%5B5m%5D%29%2F2%2B1")
        #expect(PrometheusProbe.percentEncoded("é") == "%C3%A9")
        #expect(PrometheusProbe.queryURL(base: "http://p:9090//", query: "up") == "http://p:9090/api/v1/query?query=up")
    }

    @Test("Prometheus answers: vector, scalar, empty, special values, errors")
    func prometheusAnswers() throws {
        func value(_ json: String, status: Int = 200) -> Result<Double?, ChaosError> {
            PrometheusProbe.value(status: status, body: Array(json.utf8))
        }
        #expect(try value(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.5,"3.25"]},{"metric":{},"value":[1.5,"9"]}]}}"#).get() == 3.25)
        #expect(try value(#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"-2"]}}"#).get() == -2)
        #expect(try value(#"{"status":"success","data":{"resultType":"vector","result":[]}}"#).get() == nil)
        #expect(try value(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"+Inf"]}]}}"#).get() == .infinity)
        #expect(try value(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}"#).get()?.isNaN == true)
        #expect(throws: ChaosError.self) { try value(#"{"status":"error","errorType":"bad_data","error":"parse error"}"#, status: 400).get() }
        #expect(throws: ChaosError.self) { try value("Service Unavailable", status: 503).get() }
        #expect(throws: ChaosError.self) { try value("<html>").get() }
        #expect(throws: ChaosError.self) { try value(#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#).get() }
        #expect(throws: ChaosError.self) { try value(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"many"]}]}}"#).get() }
    }

    @Test("socket errors read as a few words")
    func reasons() {
        #expect(NetworkTrouble.errnoReason(ECONNREFUSED, timeout: .seconds(1)) == "connection refused")
        #expect(NetworkTrouble.errnoReason(ECONNRESET, timeout: .seconds(1)) == "connection reset")
        #expect(NetworkTrouble.errnoReason(ETIMEDOUT, timeout: .seconds(2)) == "timed out after 2s")
        #expect(NetworkTrouble.errnoReason(EHOSTUNREACH, timeout: .seconds(1)) == "host unreachable")
    }
}

extension Observation {
    /// The judgement of this observation under the spec's tolerance.
    func tolerance(_ spec: ProbeSpec) -> Judgement { spec.tolerance.judge(self, kind: spec.type) }
}
