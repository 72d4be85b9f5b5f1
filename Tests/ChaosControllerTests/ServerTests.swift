import ChaosCore
@testable import ChaosController
import ChaosPKI
import Foundation
import Synchronization
import Logging
import Testing

/// The controller's API and dashboard over real TLS on loopback, called with curl: who gets in
/// (operator certificates, tokens, the dashboard's cookie; not agents, strangers or nobody), and
/// what halts and resumes record.
@Suite("Controller API and dashboard over TLS", .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs curl"))
struct ServerTests {
    static let token = "chaos_test-token-0123456789"

    struct Server {
        var base: String
        var pki: Fixtures.PKI
        var backend: FakeBackend
        var stop: @Sendable () async -> Void
        func cert(_ f: WrittenFiles) -> [String] { ["--cacert", pki.ca, "--cert", f.certificate, "--key", f.privateKey] }
        var anonymous: [String] { ["--cacert", pki.ca] }
        var bearer: [String] { anonymous + ["-H", "Authorization: Bearer \(ServerTests.token)"] }
    }

    static func start(runs: [RunRecord] = []) async throws -> Server {
        let dir = Fixtures.scratch("server")
        let pki = try Fixtures.pki(dir)
        let backend = FakeBackend(runs: runs)
        let settings = ControllerAPISettings(address: "127.0.0.1", port: 0, certificate: pki.controller.certificate, key: pki.controller.privateKey,
                                             ca: pki.ca, tokens: [.init(name: "ci-bot", sha256: ControllerAccess.sha256(token))], name: "test")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let running = try await ControllerServer.start(settings, backend: backend, metrics: { "chaos_controller_halts_total 0\n" }, logger: logger)
        return Server(base: "https://127.0.0.1:\(running.port)", pki: pki, backend: backend, stop: {
            await running.stop()
            try? FileManager.default.removeItem(atPath: dir)
        })
    }

    @Test("the API lets in operator certificates and tokens; not agents, other CAs' certificates or nobody")
    func whoGetsIn() async throws {
        let s = try await Self.start()
        defer { Task { await s.stop() } }
        #expect(try Curl.request(s.base + "/api/v1/overview", args: s.anonymous).status == 401)
        #expect(try Curl.request(s.base + "/api/v1/overview", args: s.cert(s.pki.agent)).status == 401)
        let ok = try Curl.request(s.base + "/api/v1/overview", args: s.cert(s.pki.alice))
        #expect(ok.status == 200)
        #expect(ok.body.contains("\"scheduled\":2"))
        #expect(try Curl.request(s.base + "/api/v1/overview", args: s.bearer).status == 200)
        #expect(try Curl.request(s.base + "/api/v1/overview", args: s.anonymous + ["-H", "Authorization: Bearer nope"]).status == 401)
        // A certificate from another CA fails the handshake (curl reports status 0).
        #expect(try Curl.request(s.base + "/api/v1/overview", args: ["--cacert", s.pki.ca, "--cert", s.pki.stranger.certificate, "--key", s.pki.stranger.privateKey]).status == 0)
        #expect(try Curl.request(s.base + "/healthz", args: s.anonymous).status == 200)
        let metrics = try Curl.request(s.base + "/metrics", args: s.bearer)
        #expect(metrics.status == 200 && metrics.body.contains("chaos_controller_halts_total"))
        await s.stop()
    }

    @Test("halt and resume through the API record who: the certificate's name or the token's")
    func haltResume() async throws {
        let s = try await Self.start()
        let halted = try Curl.request(s.base + "/api/v1/halt", method: "POST", args: s.cert(s.pki.alice), data: "{\"reason\": \"incident 4711\"}")
        #expect(halted.status == 200)
        let outcome = try JSONDecoder().decode(HaltOutcome.self, from: Data(halted.body.utf8))
        #expect(outcome.halt.halted && outcome.halt.by == "alice" && outcome.halt.reason == "incident 4711")
        #expect(outcome.abortedRuns == ["r-live"])
        #expect(try Curl.request(s.base + "/api/v1/resume", method: "POST", args: s.bearer).status == 200)
        #expect(s.backend.calls.withLock { $0 } == ["halt by alice: incident 4711", "resume by ci-bot"])
        await s.stop()
    }

    @Test("the dashboard: sign in with a token (cookie), confirmation required, posts from other sites refused")
    func dashboardFlow() async throws {
        let s = try await Self.start(runs: [Fixtures.run("r-1", experiment: "pause-app", failing: true)])
        let redirect = try Curl.request(s.base + "/", args: s.anonymous)
        #expect(redirect.status == 303 && redirect.headers.lowercased().contains("location: /login"))
        #expect(try Curl.request(s.base + "/login", method: "POST", args: s.anonymous, data: "token=wrong").status == 401)
        let login = try Curl.request(s.base + "/login", method: "POST", args: s.anonymous, data: "token=\(Self.token)")
        #expect(login.status == 303)
        let setCookie = login.headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") } ?? ""
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Secure"))
        let cookie = ["-H", "Cookie: chaos_session=\(Self.token)"]
        let overview = try Curl.request(s.base + "/", args: s.anonymous + cookie)
        #expect(overview.status == 200 && overview.body.contains("signed in as ci-bot") && overview.body.contains("href=\"/runs/r-1\""))
        #expect(try Curl.request(s.base + "/runs?outcome=failed", args: s.anonymous + cookie).body.contains("r-1"))
        #expect(try Curl.request(s.base + "/runs/r-1", args: s.anonymous + cookie).body.contains("<svg"))
        #expect(try Curl.request(s.base + "/runs/r-404", args: s.anonymous + cookie).status == 404)
        // A cross-site form post is refused; no confirmation box, no halt.
        let evil = try Curl.request(s.base + "/halt", method: "POST", args: s.anonymous + cookie + ["-H", "Origin: https://evil.example"], data: "reason=x&confirm=yes")
        #expect(evil.status == 403)
        let unconfirmed = try Curl.request(s.base + "/halt", method: "POST", args: s.anonymous + cookie + ["-H", "Origin: \(s.base)"], data: "reason=x")
        #expect(unconfirmed.status == 400)
        #expect(s.backend.calls.withLock { $0 }.isEmpty)
        let done = try Curl.request(s.base + "/halt", method: "POST", args: s.anonymous + cookie + ["-H", "Origin: \(s.base)"], data: "reason=game+day+over&confirm=yes")
        #expect(done.status == 200 && done.body.contains("Chaos halted"))
        #expect(s.backend.calls.withLock { $0 } == ["halt by ci-bot: game day over"])
        #expect(try Curl.request(s.base + "/audit", args: s.anonymous + cookie).body.contains("&lt;incident&gt;"))
        await s.stop()
    }

    @Test("plain HTTP only on loopback; a port in use is a clear error")
    func listening() async throws {
        let backend = FakeBackend()
        let plain = ControllerAPISettings(address: "0.0.0.0", port: 0, plaintext: true, certificate: "", key: "", ca: "")
        await #expect(throws: ChaosError.self) { _ = try await ControllerServer.start(plain, backend: backend, metrics: { "" }, logger: Logger(label: "t")) }
        let s = try await Self.start()
        let port = Int(s.base.split(separator: ":").last!)!
        let taken = ControllerAPISettings(address: "127.0.0.1", port: port, certificate: s.pki.controller.certificate, key: s.pki.controller.privateKey, ca: s.pki.ca)
        do {
            _ = try await ControllerServer.start(taken, backend: backend, metrics: { "" }, logger: Logger(label: "t"))
            Issue.record("a second server on the same port started")
        } catch {
            #expect(error.code == "controller.listen")
        }
        await s.stop()
    }
}
