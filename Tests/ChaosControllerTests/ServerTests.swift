import ChaosCore
@testable import ChaosController
import ChaosPKI
import Foundation
import Synchronization
import Logging
import Testing

/// The controller's API and dashboard over real TLS on loopback, called with curl: who gets in
/// (operator certificates, tokens, the dashboard's session cookie; not agents, strangers or nobody),
/// what each role may do, and what halts and resumes record.
@Suite("Controller API and dashboard over TLS", .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs curl"))
struct ServerTests {
    /// An operator token (ci-bot), a token without a role (bob: viewer), an expired operator token (old).
    static let token = "chaos_test-token-0123456789"
    static let viewerToken = "chaos_viewer-token-0123456789"
    static let expiredToken = "chaos_expired-token-0123456789"

    struct Server {
        var base: String
        var pki: Fixtures.PKI
        var backend: FakeBackend
        var stop: @Sendable () async -> Void
        func cert(_ f: WrittenFiles) -> [String] { ["--cacert", pki.ca, "--cert", f.certificate, "--key", f.privateKey] }
        var anonymous: [String] { ["--cacert", pki.ca] }
        var bearer: [String] { anonymous + ["-H", "Authorization: Bearer \(ServerTests.token)"] }
        func bearer(_ token: String) -> [String] { ["-H", "Authorization: Bearer \(token)"] }
    }

    /// alice's certificate is an operator (api.access); grafana's and the controller's are not listed.
    static func start(runs: [RunRecord] = [], revoked: Bool = false) async throws -> Server {
        let dir = Fixtures.scratch("server")
        let pki = try Fixtures.pki(dir)
        let backend = FakeBackend(runs: runs)
        var settings = ControllerAPISettings(address: "127.0.0.1", port: 0, certificate: pki.controller.certificate, key: pki.controller.privateKey, ca: pki.ca,
                                             tokens: [.init(name: "ci-bot", sha256: ControllerAccess.sha256(token), role: .operator),
                                                      .init(name: "bob", sha256: ControllerAccess.sha256(viewerToken)),
                                                      .init(name: "old", sha256: ControllerAccess.sha256(expiredToken), role: .operator, expiresAt: 1_700_000_000_000)],
                                             access: [.init(certificate: "alice", role: .operator)], name: "test")
        if revoked {
            settings.revoked = dir + "/revoked.txt"
            settings.trustCheckInterval = .milliseconds(200)
            try "".write(toFile: dir + "/revoked.txt", atomically: true, encoding: .utf8)
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let running = try await ControllerServer.start(settings, backend: backend, metrics: { "chaos_controller_halts_total 0\n" }, logger: logger)
        return Server(base: "https://127.0.0.1:\(running.port)", pki: pki, backend: backend, stop: {
            await running.stop()
            try? FileManager.default.removeItem(atPath: dir)
        })
    }

    /// The value of the first `name:` header line.
    static func header(_ answer: Curl.Answer, _ name: String) -> String? {
        answer.headers.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
    }

    static func errorMessage(_ answer: Curl.Answer) -> String {
        (((try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? answer.body
    }

    @Test("the API lets in operator certificates and tokens; not agents, other CAs' certificates or nobody")
    func whoGetsIn() async throws {
        let s = try await Self.start()
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

    @Test("a revoked certificate is refused within the check interval, without a restart; a renewed server certificate is served; an unreadable list stops the start")
    func revocation() async throws {
        let s = try await Self.start(revoked: true)
        #expect(try Curl.request(s.base + "/api/v1/overview", args: s.cert(s.pki.alice)).status == 200)
        let dir = (s.pki.ca as NSString).deletingLastPathComponent
        let alice = try PKIFiles.readCertificates(s.pki.alice.certificate)[0]
        try RevocationList.line(serial: PKIFormat.serialHex(alice), subject: "alice", reason: "test", at: Date())
            .write(toFile: dir + "/revoked.txt.new", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: dir + "/revoked.txt")
        try FileManager.default.moveItem(atPath: dir + "/revoked.txt.new", toPath: dir + "/revoked.txt")
        var refused = false
        for _ in 0..<50 where !refused {
            try await Task.sleep(for: .milliseconds(100))
            refused = try Curl.request(s.base + "/api/v1/overview", args: s.cert(s.pki.alice)).status == 401
        }
        #expect(refused, "alice's revoked certificate is still let in")
        #expect(try Curl.request(s.base + "/api/v1/overview", args: s.cert(s.pki.grafana)).status == 200)

        // Its own certificate renewed on disk (7 days, written in place as 'chaos certs issue --force' does): served
        // to new connections without a restart.
        let ca = try CertificateAuthority.load(directory: dir)
        try ca.issue(try CertificateRequest(role: .controller, name: "controller", subjectAlternativeNames: ["127.0.0.1"]), days: 7).write(to: dir, force: true)
        let port = s.base.split(separator: ":").last.map(String.init) ?? "0"
        func servedEnd() -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "echo | openssl s_client -connect 127.0.0.1:\(port) -CAfile \(s.pki.ca) 2>/dev/null | openssl x509 -noout -enddate"]
            let out = Pipe()
            p.standardOutput = out
            try? p.run()
            p.waitUntilExit()
            return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        let week = Date().addingTimeInterval(7 * 86_400)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d"
        let day = formatter.string(from: week).replacingOccurrences(of: " ", with: "")
        var renewed = false
        for _ in 0..<50 where !renewed {
            try await Task.sleep(for: .milliseconds(100))
            renewed = servedEnd().replacingOccurrences(of: " ", with: "").contains("notAfter=" + day)
        }
        #expect(renewed, "the renewed certificate is not served: \(servedEnd())")
        #expect(try Curl.request(s.base + "/api/v1/overview", args: s.cert(s.pki.grafana)).status == 200)

        var settings = ControllerAPISettings(address: "127.0.0.1", port: 0, certificate: s.pki.controller.certificate, key: s.pki.controller.privateKey, ca: s.pki.ca)
        settings.revoked = dir + "/no-such-list.txt"
        await #expect(throws: ChaosError.self) { _ = try await ControllerServer.start(settings, backend: FakeBackend(runs: []), metrics: { "" }, logger: Logger(label: "test")) }
        await s.stop()
    }

    @Test("halt and resume through the API record who and their role: the certificate's name or the token's")
    func haltResume() async throws {
        let s = try await Self.start()
        let halted = try Curl.request(s.base + "/api/v1/halt", method: "POST", args: s.cert(s.pki.alice), data: "{\"reason\": \"incident 4711\"}")
        #expect(halted.status == 200)
        let outcome = try JSONDecoder().decode(HaltOutcome.self, from: Data(halted.body.utf8))
        #expect(outcome.halt.halted && outcome.halt.by == "alice" && outcome.halt.reason == "incident 4711")
        #expect(outcome.abortedRuns == ["r-live"])
        #expect(try Curl.request(s.base + "/api/v1/resume", method: "POST", args: s.bearer).status == 200)
        #expect(s.backend.calls.withLock { $0 } == ["halt by alice (operator, certificate): incident 4711", "resume by ci-bot (operator, token)"])
        await s.stop()
    }

    @Test("viewers read and cannot halt or resume: an unlisted certificate, the controller's own, a token without a role")
    func viewers() async throws {
        let s = try await Self.start()
        for who in [s.cert(s.pki.grafana), s.cert(s.pki.controller), s.anonymous + s.bearer(Self.viewerToken)] {
            #expect(try Curl.request(s.base + "/api/v1/overview", args: who).status == 200)
            #expect(try Curl.request(s.base + "/api/v1/runs", args: who).status == 200)
            #expect(try Curl.request(s.base + "/api/v1/audit", args: who).status == 200)
            #expect(try Curl.request(s.base + "/metrics", args: who).status == 200)
            #expect(try Curl.request(s.base + "/", args: who).status == 200)
        }
        let halt = try Curl.request(s.base + "/api/v1/halt", method: "POST", args: s.cert(s.pki.grafana), data: "{\"reason\": \"x\"}")
        #expect(halt.status == 403)
        #expect(Self.errorMessage(halt) == "'grafana' (viewer) may not halt; ask for the operator role in controller.yaml 'api.access'.", "\(halt.body)")
        #expect(halt.body.contains("\"code\":\"controller.forbidden\""))
        let resume = try Curl.request(s.base + "/api/v1/resume", method: "POST", args: s.cert(s.pki.controller))
        #expect(resume.status == 403 && Self.errorMessage(resume).contains("'controller' (viewer) may not resume"), "\(resume.body)")
        let byToken = try Curl.request(s.base + "/api/v1/halt", method: "POST", args: s.anonymous + s.bearer(Self.viewerToken), data: "{}")
        #expect(byToken.status == 403 && Self.errorMessage(byToken) == "'bob' (viewer) may not halt; ask for the operator role in controller.yaml 'api.tokens'.", "\(byToken.body)")
        // The dashboard shows no halt button and refuses the confirmation page and the post.
        let page = try Curl.request(s.base + "/", args: s.cert(s.pki.grafana))
        #expect(page.body.contains("signed in as grafana (viewer)") && !page.body.contains("href=\"/halt\""))
        #expect(try Curl.request(s.base + "/halt", args: s.cert(s.pki.grafana)).status == 403)
        let post = try Curl.request(s.base + "/halt", method: "POST", args: s.cert(s.pki.grafana), data: "reason=x&confirm=yes")
        #expect(post.status == 403 && post.body.contains("may not halt"))
        #expect(s.backend.calls.withLock { $0 }.isEmpty, "nothing was halted or resumed")
        await s.stop()
    }

    @Test("a Bearer token decides alone: its role counts over the certificate sent with it; an expired one is refused")
    func bearerTokens() async throws {
        let s = try await Self.start()
        // A viewer's certificate with an operator's token: the token's role.
        let up = try Curl.request(s.base + "/api/v1/halt", method: "POST", args: s.cert(s.pki.grafana) + s.bearer(Self.token), data: "{\"reason\": \"r\"}")
        #expect(up.status == 200)
        // An operator's certificate with a viewer's token: the token's role too.
        #expect(try Curl.request(s.base + "/api/v1/resume", method: "POST", args: s.cert(s.pki.alice) + s.bearer(Self.viewerToken)).status == 403)
        #expect(s.backend.calls.withLock { $0 } == ["halt by ci-bot (operator, token): r"])
        let expired = try Curl.request(s.base + "/api/v1/overview", args: s.anonymous + s.bearer(Self.expiredToken))
        #expect(expired.status == 401)
        #expect(Self.errorMessage(expired).hasPrefix("The token 'old' expired on 2023-11-14 22:13:20 UTC. Ask for a new one"), "\(expired.body)")
        let login = try Curl.request(s.base + "/login", method: "POST", args: s.anonymous, data: "token=\(Self.expiredToken)")
        #expect(login.status == 401 && login.body.contains("expired on 2023-11-14") && Self.header(login, "set-cookie") == nil)
        await s.stop()
    }

    @Test("the dashboard: sign in with a token (a server-side session; the cookie holds neither the token nor its hash), confirmation required, posts from other sites refused, sign-out ends it")
    func dashboardFlow() async throws {
        let s = try await Self.start(runs: [Fixtures.run("r-1", experiment: "pause-app", failing: true)])
        let redirect = try Curl.request(s.base + "/", args: s.anonymous)
        #expect(redirect.status == 303 && redirect.headers.lowercased().contains("location: /login"))
        #expect(try Curl.request(s.base + "/login", method: "POST", args: s.anonymous, data: "token=wrong").status == 401)
        let login = try Curl.request(s.base + "/login", method: "POST", args: s.anonymous, data: "token=\(Self.token)")
        #expect(login.status == 303)
        let setCookie = try #require(Self.header(login, "set-cookie"))
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Secure") && setCookie.contains("Path=/"))
        #expect(setCookie.contains("Max-Age=43200"), "12 hours: \(setCookie)")
        let session = try #require(setCookie.split(separator: ";").first.map { String($0.dropFirst("chaos_session=".count)) })
        #expect(session.count == 43)
        #expect(!setCookie.contains(Self.token) && !setCookie.contains(ControllerAccess.sha256(Self.token)), "\(setCookie)")
        let cookie = ["-H", "Cookie: chaos_session=\(session)"]
        let overview = try Curl.request(s.base + "/", args: s.anonymous + cookie)
        #expect(overview.status == 200 && overview.body.contains("signed in as ci-bot (operator)") && overview.body.contains("href=\"/runs/r-1\""))
        #expect(overview.body.contains("href=\"/halt\"") && overview.body.contains("id=\"logout\""))
        #expect(try Curl.request(s.base + "/runs?outcome=failed", args: s.anonymous + cookie).body.contains("r-1"))
        #expect(try Curl.request(s.base + "/runs/r-1", args: s.anonymous + cookie).body.contains("<svg"))
        #expect(try Curl.request(s.base + "/runs/r-404", args: s.anonymous + cookie).status == 404)
        // The token itself is not a session.
        let tokenAsCookie = try Curl.request(s.base + "/", args: s.anonymous + ["-H", "Cookie: chaos_session=\(Self.token)"])
        #expect(tokenAsCookie.status == 303 && Self.header(tokenAsCookie, "location") == "/login?ended=1")
        // A cross-site form post is refused; no confirmation box, no halt.
        let evil = try Curl.request(s.base + "/halt", method: "POST", args: s.anonymous + cookie + ["-H", "Origin: https://evil.example"], data: "reason=x&confirm=yes")
        #expect(evil.status == 403)
        let unconfirmed = try Curl.request(s.base + "/halt", method: "POST", args: s.anonymous + cookie + ["-H", "Origin: \(s.base)"], data: "reason=x")
        #expect(unconfirmed.status == 400)
        #expect(s.backend.calls.withLock { $0 }.isEmpty)
        let done = try Curl.request(s.base + "/halt", method: "POST", args: s.anonymous + cookie + ["-H", "Origin: \(s.base)"], data: "reason=game+day+over&confirm=yes")
        #expect(done.status == 200 && done.body.contains("Chaos halted"))
        #expect(s.backend.calls.withLock { $0 } == ["halt by ci-bot (operator, token): game day over"])
        #expect(try Curl.request(s.base + "/audit", args: s.anonymous + cookie).body.contains("&lt;incident&gt;"))
        // Sign-out ends the session on the server: the same cookie no longer gets in.
        let out = try Curl.request(s.base + "/logout", method: "POST", args: s.anonymous + cookie + ["-H", "Origin: \(s.base)"])
        #expect(out.status == 303 && (Self.header(out, "set-cookie") ?? "").contains("Max-Age=0"))
        #expect(try Curl.request(s.base + "/", args: s.anonymous + cookie).status == 303)
        #expect(try Curl.request(s.base + "/api/v1/overview", args: s.anonymous + cookie).status == 401)
        await s.stop()
    }

    @Test("a forged or unknown session id is refused; a viewer's sign-in shows no halt button and cannot halt")
    func sessions() async throws {
        let s = try await Self.start()
        for forged in [String(repeating: "A", count: 43), "x", ControllerAccess.sha256(Self.token)] {
            let page = try Curl.request(s.base + "/", args: s.anonymous + ["-H", "Cookie: chaos_session=\(forged)"])
            #expect(page.status == 303 && Self.header(page, "location") == "/login?ended=1")
            #expect(try Curl.request(s.base + "/api/v1/overview", args: s.anonymous + ["-H", "Cookie: chaos_session=\(forged)"]).status == 401)
        }
        #expect(try Curl.request(s.base + "/login?ended=1", args: s.anonymous).body.contains("Your session has ended; sign in again."))
        let login = try Curl.request(s.base + "/login", method: "POST", args: s.anonymous, data: "token=\(Self.viewerToken)")
        let session = try #require(Self.header(login, "set-cookie")?.split(separator: ";").first.map(String.init))
        let cookie = ["-H", "Cookie: \(session)", "-H", "Origin: \(s.base)"]
        let page = try Curl.request(s.base + "/", args: s.anonymous + cookie)
        #expect(page.status == 200 && page.body.contains("signed in as bob (viewer)") && !page.body.contains("href=\"/halt\""))
        let halt = try Curl.request(s.base + "/halt", method: "POST", args: s.anonymous + cookie, data: "reason=x&confirm=yes")
        #expect(halt.status == 403 && halt.body.contains("bob") && halt.body.contains("(viewer) may not halt; ask for the operator role"), "\(halt.body)")
        #expect(s.backend.calls.withLock { $0 }.isEmpty)
        await s.stop()
    }

    @Test("every response forbids framing and loads nothing from elsewhere")
    func headers() async throws {
        let s = try await Self.start()
        let answers = [try Curl.request(s.base + "/login", args: s.anonymous), try Curl.request(s.base + "/", args: s.anonymous),
                       try Curl.request(s.base + "/", args: s.cert(s.pki.alice)), try Curl.request(s.base + "/api/v1/overview", args: s.bearer),
                       try Curl.request(s.base + "/nowhere", args: s.bearer)]
        for a in answers {
            let csp = Self.header(a, "content-security-policy") ?? ""
            #expect(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "\(a.status): \(a.headers)")
            #expect(Self.header(a, "x-frame-options") == "DENY", "\(a.headers)")
            #expect(Self.header(a, "x-content-type-options") == "nosniff")
        }
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
