public import ChaosCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import ChaosServing
import ChaosPKI
import ChaosPOSIX
import Synchronization

/// The controller's HTTP face: the JSON API (`/api/v1/...`), the dashboard (server-rendered HTML,
/// no scripts, nothing fetched), `/metrics` and `/healthz`, over TLS (client certificates optional
/// and verified, or API tokens), on top of a ``ControllerBackend``.
public enum ControllerServer {
    /// A server that is listening; `stop()` ends it.
    public struct Running: Sendable {
        public let port: Int
        public let stop: @Sendable () async -> Void
    }

    /// Starts listening and returns once the port is bound (or throws why it could not be).
    public static func start(_ settings: ControllerAPISettings, backend: any ControllerBackend, metrics: @escaping @Sendable () -> String,
                             logger: Logger) async throws(ChaosError) -> Running {
        if settings.plaintext && !isLoopback(settings.address) {
            throw .usage("controller.plaintext", "api.plaintext is allowed on a loopback address only (127.0.0.1, ::1), not '\(settings.address)'. Use TLS (the default) or listen on loopback behind a proxy.")
        }
        let access = ControllerAccess(settings)
        let router = routes(settings, backend: backend, metrics: metrics, access: access)
        let http = HTTP1Channel.Configuration(idleTimeout: .seconds(30))
        let bound = Once<Result<Int, ChaosError>>()
        let onRunning: @Sendable (any Channel) async -> Void = { channel in bound.set(.success(channel.localAddress?.port ?? settings.port)) }
        let configuration = ApplicationConfiguration(address: .hostname(settings.address, port: settings.port), serverName: "chaos-controller")
        // As the agent's: at most 512 connections, a TLS handshake within 5 s, the oldest silent one dropped over the cap.
        let tls: ReloadableTLS?
        if settings.plaintext { tls = nil } else {
            let configuration = try ControllerAccess.tls(settings)
            do { tls = try ReloadableTLS(configuration) } catch {
                throw ChaosError("controller.tls", "Cannot use the controller's TLS files (\(settings.certificate), \(settings.key)): \(error). Check that the key is the certificate's ('chaos certs show').")
            }
        }
        let server = HTTPServerBuilder.guarded(http, tls: tls, limits: ConnectionLimits(), count: ConnectionCount())
        let app: any Service = Application(router: router, server: server, configuration: configuration, onServerRunning: onRunning, logger: logger)
        // The revocation list and the CA are read again when they change (checked every 30 s).
        let watch = TrustWatch(settings: settings, peers: access.peers, tls: tls, logger: logger, interval: settings.trustCheckInterval)
        let group = ServiceGroup(configuration: .init(services: [.init(service: app), .init(service: watch)], gracefulShutdownSignals: [], logger: logger))
        let task = Task {
            do { try await group.run() } catch {
                bound.set(.failure(ChaosError("controller.listen", "The controller's API cannot listen on \(settings.address):\(settings.port): \(error). Change api.listen or stop what holds the port.")))
            }
            bound.set(.failure(ChaosError("controller.listen", "The controller's API stopped before it listened.")))
        }
        switch await bound.value() {
        case .success(let port):
            return Running(port: port, stop: {
                await group.triggerGracefulShutdown()
                await task.value
            })
        case .failure(let e):
            throw e
        }
    }

    static func isLoopback(_ address: String) -> Bool { address == "localhost" || address == "::1" || address.hasPrefix("127.") }

    static func routes(_ settings: ControllerAPISettings, backend: any ControllerBackend, metrics: @escaping @Sendable () -> String,
                       access: ControllerAccess? = nil) -> Router<ControllerRequestContext> {
        let router = Router(context: ControllerRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware<ControllerRequestContext>())
        let access = access ?? ControllerAccess(settings)
        let dashboard = Dashboard(name: settings.name)

        router.get("/healthz") { _, _ in text("ok\n") }

        // Sign in with a token: a server-side session, its random id in the cookie (never the token).
        router.get("/login") { request, _ in
            let ended = request.uri.queryParameters["ended"] != nil
            return html(dashboard.login(error: ended ? "Your session has ended; sign in again." : nil))
        }
        router.post("/login") { request, _ in
            let form = await Forms.read(request)
            guard ControllerAccess.sameOrigin(request) else {
                return html(dashboard.login(error: "This sign-in was posted from another site."), status: .forbidden)
            }
            switch access.token(form["token"] ?? "") {
            case .failure(let refusal):
                return html(dashboard.login(error: refusal.message), status: .unauthorized)
            case .success(let t):
                let now = access.now()
                let session = access.sessions.open(name: t.name, role: t.role, tokenExpiresAt: t.expiresAt, now: now)
                let seconds = max(1, (session.expiresAt - now) / 1000)
                return Response(status: .seeOther, headers: [.location: "/", .setCookie: sessionCookie(session.id, maxAge: seconds)])
            }
        }
        @Sendable func logout(_ request: Request) -> Response {
            if let id = ControllerAccess.cookieValue(request.headers[.cookie], ControllerAccess.cookie) { access.sessions.close(id) }
            return Response(status: .seeOther, headers: [.location: "/login", .setCookie: sessionCookie("", maxAge: 0)])
        }
        router.get("/logout") { request, _ in logout(request) }
        router.post("/logout") { request, _ in logout(request) }

        /// Runs `body` for a caller whose role allows `action`; API paths answer 401/403 JSON, pages
        /// redirect to the sign-in or show why not.
        @Sendable func authorized(_ request: Request, _ context: ControllerRequestContext, api: Bool, _ action: ControllerAction = .read,
                                  _ body: @escaping @Sendable (ControllerAccess.Identified) async -> Response) async -> Response {
            let who: ControllerAccess.Identified
            switch await access.identify(request, context) {
            case .caller(let c): who = c
            case .refused(let message):
                if api { return json(ErrorBody(error: .init(code: "controller.unauthorized", message: message)), status: .unauthorized) }
                return html(dashboard.login(error: message), status: .unauthorized)
            case .sessionEnded:
                if api { return json(ErrorBody(error: .init(code: "controller.unauthorized", message: "The dashboard session has ended; sign in again at /login.")), status: .unauthorized) }
                return Response(status: .seeOther, headers: [.location: "/login?ended=1", .setCookie: sessionCookie("", maxAge: 0)])
            case .anonymous:
                if api { return json(ErrorBody(error: .init(code: "controller.unauthorized", message: "Send a client certificate from the chaos CA (operator or controller) or 'Authorization: Bearer TOKEN'.")), status: .unauthorized) }
                return Response(status: .seeOther, headers: [.location: "/login"])
            }
            if request.method == .post, who.byCookie, !ControllerAccess.sameOrigin(request) {
                return html(dashboard.message("Refused", "This form was posted from another site.", who: who, halt: nil), status: .forbidden)
            }
            if let refusal = access.refusal(who.caller, action) {
                if api { return json(ErrorBody(error: .init(code: "controller.forbidden", message: refusal)), status: .forbidden) }
                return html(dashboard.message("Not allowed", refusal, who: who, halt: nil), status: .forbidden)
            }
            return await body(who)
        }

        // The dashboard.
        router.get("/") { request, context in
            await authorized(request, context, api: false) { who in
                let o = await backend.overview()
                let recent = (try? await backend.runs(RunFilter(limit: 10))) ?? []
                return html(dashboard.overview(o, recent: recent, who: who))
            }
        }
        router.get("/runs") { request, context in
            await authorized(request, context, api: false) { who in
                let q = request.uri.queryParameters
                var query = Dashboard.RunsQuery()
                query.experiment = q["experiment"].map(String.init) ?? ""
                query.outcome = q["outcome"].map(String.init) ?? ""
                query.since = q["since"].map(String.init) ?? ""
                query.limit = q["limit"].flatMap { Int($0) }.map { min(max($0, 1), 1000) } ?? 100
                let filter = RunFilter(experiment: query.experiment.isEmpty ? nil : query.experiment, outcome: Verdict.Outcome(rawValue: query.outcome),
                                       since: Self.day(query.since), limit: query.limit)
                let halt = await backend.overview().halt
                do throws(ChaosError) {
                    let runs = try await backend.runs(filter)
                    let names = (try? await backend.experimentNames()) ?? []
                    return html(dashboard.runs(runs, query: query, names: names, who: who, halt: halt))
                } catch {
                    return html(dashboard.message("Cannot read the runs", error.message, who: who, halt: halt), status: .internalServerError)
                }
            }
        }
        router.get("/runs/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await authorized(request, context, api: false) { who in
                let halt = await backend.overview().halt
                guard let run = try? await backend.run(id) else {
                    return html(dashboard.message("No such run", "There is no stored run '\(id)'.", who: who, halt: halt), status: .notFound)
                }
                return html(dashboard.run(run, who: who, halt: halt))
            }
        }
        router.get("/audit") { request, context in
            await authorized(request, context, api: false) { who in
                let entries = (try? await backend.audit(limit: 200)) ?? []
                return html(dashboard.audit(entries, who: who, halt: await backend.overview().halt))
            }
        }
        router.get("/halt") { request, context in
            await authorized(request, context, api: false, .halt) { who in html(dashboard.confirmHalt(who: who, halt: await backend.overview().halt)) }
        }
        router.get("/resume") { request, context in
            await authorized(request, context, api: false, .resume) { who in html(dashboard.confirmResume(who: who, halt: await backend.overview().halt)) }
        }
        router.post("/halt") { request, context in
            let form = await Forms.read(request)
            return await authorized(request, context, api: false, .halt) { who in
                guard form["confirm"] == "yes" else {
                    return html(dashboard.message("Not halted", "Tick the confirmation box to halt.", who: who, halt: nil), status: .badRequest)
                }
                let reason = form["reason"].flatMap { $0.isEmpty ? nil : $0 } ?? "halted from the dashboard"
                let outcome = await backend.halt(by: who.caller, reason: reason)
                return html(dashboard.done("Chaos halted", outcome, who: who))
            }
        }
        router.post("/resume") { request, context in
            let form = await Forms.read(request)
            return await authorized(request, context, api: false, .resume) { who in
                guard form["confirm"] == "yes" else {
                    return html(dashboard.message("Not resumed", "Tick the confirmation box to resume.", who: who, halt: nil), status: .badRequest)
                }
                let outcome = await backend.resume(by: who.caller)
                return html(dashboard.done("Chaos resumed", outcome, who: who))
            }
        }

        // The JSON API.
        router.get("/api/v1/overview") { request, context in
            await authorized(request, context, api: true) { _ in json(await backend.overview()) }
        }
        router.get("/api/v1/runs") { request, context in
            await authorized(request, context, api: true) { _ in
                let q = request.uri.queryParameters
                if let o = q["outcome"], Verdict.Outcome(rawValue: String(o)) == nil {
                    return json(ErrorBody(error: .init(code: "request.invalid", message: "outcome must be passed, failed or inconclusive")), status: .badRequest)
                }
                let filter = RunFilter(experiment: q["experiment"].map(String.init), outcome: q["outcome"].flatMap { Verdict.Outcome(rawValue: String($0)) },
                                       since: q["since"].flatMap { Self.day(String($0)) ?? Int64($0) },
                                       limit: q["limit"].flatMap { Int($0) }.map { min(max($0, 1), 1000) } ?? 100)
                do throws(ChaosError) { return json(["runs": try await backend.runs(filter)]) } catch {
                    return json(ErrorBody(error: .init(code: error.code, message: error.message)), status: .internalServerError)
                }
            }
        }
        router.get("/api/v1/runs/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await authorized(request, context, api: true) { _ in
                guard let run = try? await backend.run(id) else {
                    return json(ErrorBody(error: .init(code: "run.unknown", message: "No stored run '\(id)'.")), status: .notFound)
                }
                return json(run)
            }
        }
        router.post("/api/v1/halt") { request, context in
            let reason = (await Forms.json(request)["reason"]).flatMap { $0.isEmpty ? nil : String($0.prefix(500)) } ?? "no reason given"
            return await authorized(request, context, api: true, .halt) { who in
                json(await backend.halt(by: who.caller, reason: reason))
            }
        }
        router.post("/api/v1/resume") { request, context in
            await authorized(request, context, api: true, .resume) { who in json(await backend.resume(by: who.caller)) }
        }
        router.get("/api/v1/audit") { request, context in
            await authorized(request, context, api: true) { _ in
                json(["entries": (try? await backend.audit(limit: request.uri.queryParameters["limit"].flatMap { Int($0) } ?? 100)) ?? []])
            }
        }
        router.get("/metrics") { request, context in
            await authorized(request, context, api: true) { _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics())))
            }
        }
        return router
    }

    /// The dashboard's cookie: only the session's id, for this site's pages, never readable by scripts
    /// or sent over plain HTTP or with requests from other sites. An empty id with `maxAge` 0 deletes it.
    static func sessionCookie(_ id: String, maxAge: Int64) -> String {
        "\(ControllerAccess.cookie)=\(id); Path=/; Max-Age=\(maxAge); HttpOnly; Secure; SameSite=Strict"
    }

    /// `YYYY-MM-DD` (UTC) as ms since the epoch.
    static func day(_ text: String) -> Int64? {
        guard let d = ZoneClock.day(text) else { return nil }
        return Int64(d) * 86_400_000
    }

    struct ErrorBody: Encodable {
        struct Detail: Encodable { var code: String; var message: String }
        var error: Detail
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let data = (try? enc.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    static func text(_ s: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: s)))
    }
}

/// Request bodies: HTML forms and small JSON objects (16 KiB at most).
enum Forms {
    static func body(_ request: Request) async -> String {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: 16 * 1024) else { return "" }
        return String(buffer: buffer)
    }

    /// `application/x-www-form-urlencoded` fields.
    static func read(_ request: Request) async -> [String: String] { decode(await body(request)) }

    /// Fields of a urlencoded body; a field that is not valid percent-encoding is taken as written
    /// (URLComponents traps on such input, so this is done by hand).
    static func decode(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func clean(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            out[clean(parts[0])] = parts.count > 1 ? clean(parts[1]) : ""
        }
        return out
    }

    /// The string fields of a JSON object body (JSON only, bounded like the agent's; anything else reads as none).
    static func json(_ request: Request) async -> [String: String] {
        let text = await body(request)
        guard let root = try? DocumentNode.parseJSON(text), case .mapping(let entries, _) = root else { return [:] }
        var out: [String: String] = [:]
        for entry in entries { if case .scalar(let value, .string, _) = entry.value { out[entry.key] = value } }
        return out
    }
}

/// A value set once, awaited by one reader.
final class Once<T: Sendable>: Sendable {
    private let state = Mutex<(value: T?, waiter: CheckedContinuation<T, Never>?)>((nil, nil))
    func set(_ v: T) {
        let w: CheckedContinuation<T, Never>? = state.withLock { s in
            guard s.value == nil else { return nil }
            s.value = v
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume(returning: v)
    }
    func value() async -> T {
        await withCheckedContinuation { c in
            let v: T? = state.withLock { s in
                if let v = s.value { return v }
                s.waiter = c
                return nil
            }
            if let v { c.resume(returning: v) }
        }
    }
}

/// Reads the controller's TLS files again when one changes: its certificate and key (a renewal is served
/// to new connections, runs go on), its CA bundle and its revocation list (a certificate revoked with
/// `chaos certs revoke` is refused within `interval`). Files that do not load together keep the previous
/// ones (and say so in the log).
struct TrustWatch: Service {
    let settings: ControllerAPISettings
    let peers: VerifiedPeers
    let tls: ReloadableTLS?
    let logger: Logger
    var interval: Duration = .seconds(30)

    func run() async throws {
        // Returning would end the server's service group: without TLS, just wait for the shutdown.
        guard !settings.plaintext else { try? await gracefulShutdown(); return }
        try await cancelWhenGracefulShutdown {
            var seen = stamps()
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                let now = stamps()
                guard now != seen else { continue }
                seen = now
                do {
                    let roots = try TrustedRoots(pemFiles: [settings.ca])
                    let revoked = try settings.revoked.map { path throws(ChaosError) in try RevocationList.load(path) } ?? RevocationList()
                    try tls?.replace(try ControllerAccess.tls(settings))
                    peers.replace(roots: roots, revoked: revoked)
                    logger.notice("TLS files reloaded", metadata: ["revoked": "\(revoked.serials.count)"])
                } catch let error as ChaosError {
                    logger.error("TLS files not reloaded; the previous certificate, CA and revocation list stay", metadata: ["error": "\(error.message)"])
                } catch {
                    logger.error("TLS files not reloaded; the previous certificate, CA and revocation list stay", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    func stamps() -> [String] { [settings.certificate, settings.key, settings.ca, settings.revoked].compactMap { $0 }.map(POSIXFiles.stamp) }
}
