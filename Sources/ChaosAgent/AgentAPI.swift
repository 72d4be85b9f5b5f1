public import ChaosCore
import ChaosEngine
import Foundation
public import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
public import ChaosPKI
import Synchronization
import ChaosServing

/// The request context of the agent: who is calling, from the TLS client certificate.
public struct AgentRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The caller from the TLS client certificate; `nil` without a usable one (refused), and in
    /// plaintext mode (the API then treats the caller as local).
    public func caller(_ peers: PeerVerifier) async -> Caller? { await peers.caller(of: channel) }
}

/// The caller's role and name (OU and CN) from a client certificate checked again against the CA
/// (``VerifiedPeers``: RFC 5280, no intermediates, so the CA's `pathLen 0` holds).
public final class PeerVerifier: Sendable {
    let peers: VerifiedPeers

    /// - Parameter roots: the CA(s) of the agent's `tls.ca`; `nil` skips the second check (plaintext).
    public init(roots: TrustedRoots?) { peers = VerifiedPeers(roots: roots) }
    /// Over peers whose roots and revocation list can be replaced (``AgentCredentials``).
    public init(_ peers: VerifiedPeers) { self.peers = peers }

    func caller(of channel: any Channel) async -> Caller? {
        await peers.identity(of: channel).map { Caller(role: $0.role.rawValue, name: $0.name) }
    }
}

/// The agent's HTTP/JSON API, documented in docs/agent-api.md.
public enum AgentAPI {
    /// The largest request body accepted.
    public static let maxBody = 64 * 1024

    /// - Parameter plaintext: serving without TLS (loopback only): every caller is `local`.
    /// - Parameter discovery: this host's listeners and connections now (`GET /v1/discovery`).
    public static func router(manager: FaultManager, capabilities: @escaping @Sendable () async -> HostCapabilities,
                              discovery: DiscoveryWatch = DiscoveryWatch(snapshot: { HostDiscovery(at: 0, windowMs: 0, listeners: [], connections: []) }),
                              metrics: AgentMetrics, plaintext: Bool, peers: PeerVerifier = PeerVerifier(roots: nil),
                              certificateNotAfter: @escaping @Sendable () -> Date? = { nil }) -> Router<AgentRequestContext> {
        let router = Router(context: AgentRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        /// The caller, or a response refusing the request.
        @Sendable func authorize(_ context: AgentRequestContext, _ action: AgentPolicy.Action, _ manager: FaultManager) async -> Response? {
            guard let caller = plaintext ? Caller.local : await context.caller(peers) else {
                return forbidden("a client certificate issued by the chaos CA, not revoked, with a role (OU) and a name (CN), is required")
            }
            if let why = manager.policy.refusal(caller, action) { return forbidden(why) }
            return nil
        }
        @Sendable func caller(_ context: AgentRequestContext) async -> Caller { plaintext ? .local : await context.caller(peers) ?? .local }
        router.get("/v1/health") { _, context -> Response in
            if let refused = await authorize(context, .read, manager) { return refused }
            let open = (try? await manager.list().count) ?? 0
            return json(AgentHealth(status: "ok", halted: await manager.isHalted, faults: open,
                                    certificateNotAfter: certificateNotAfter().map { Int64($0.timeIntervalSince1970 * 1000) }))
        }
        router.get("/v1/capabilities") { _, context -> Response in
            if let refused = await authorize(context, .read, manager) { return refused }
            return json(await capabilities())
        }
        router.get("/v1/discovery") { _, context -> Response in
            if let refused = await authorize(context, .read, manager) { return refused }
            let bytes = await discovery.encodedView { view in
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                return Array((try? enc.encode(view)) ?? Data("{}".utf8))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.post("/v1/discovery/watch") { request, context -> Response in
            if let refused = await authorize(context, .read, manager) { return refused }
            let text: String
            switch await body(request) { case .text(let t): text = t; case .refused(let r): return r }
            return await run { () throws(ChaosError) in
                let (duration, every) = try WatchBody.parse(text)
                return json(try await discovery.watch(for: duration, every: every))
            }
        }
        router.get("/v1/faults") { request, context -> Response in
            if let refused = await authorize(context, .read, manager) { return refused }
            return await run { () throws(ChaosError) in json(try await manager.list(all: request.uri.queryParameters["all"] == "true")) }
        }
        router.get("/v1/faults/:id") { _, context -> Response in
            if let refused = await authorize(context, .read, manager) { return refused }
            let id = context.parameters.get("id") ?? ""
            return await run { () throws(ChaosError) in
                guard let view = try await manager.get(id) else { throw ChaosError("ledger.unknownFault", "No fault '\(id)' on this agent.") }
                return json(view)
            }
        }
        router.post("/v1/faults") { request, context -> Response in
            if let refused = await authorize(context, .inject, manager) { return refused }
            let text: String
            switch await body(request) { case .text(let t): text = t; case .refused(let r): return r }
            let (parsed, diagnostics) = InjectRequest.read(text)
            guard let inject = parsed else { return invalid(diagnostics) }
            let caller = await caller(context)
            let epoch: UInt64?
            switch controllerEpoch(request) { case .success(let e): epoch = e; case .failure(let e): return error(.badRequest, e) }
            return await run { () throws(ChaosError) in
                let view = try await manager.inject(inject, by: caller, epoch: epoch)
                if view.created == true { metrics.injected(view.kind) }
                return json(view, status: view.created == true ? .created : .ok)
            } onError: { error in metrics.failed(inject.fault.type) }
        }
        router.delete("/v1/faults/:id") { _, context -> Response in
            if let refused = await authorize(context, .revert, manager) { return refused }
            let id = context.parameters.get("id") ?? ""
            let caller = await caller(context)
            return await run { () throws(ChaosError) in
                let view = try await manager.revert(id, reason: "revert by \(caller)", by: caller)
                metrics.reverted(view.kind)
                return json(view)
            }
        }
        router.post("/v1/faults/:id/renew") { request, context -> Response in
            if let refused = await authorize(context, .renew, manager) { return refused }
            let id = context.parameters.get("id") ?? ""
            let text: String
            switch await body(request) { case .text(let t): text = t; case .refused(let r): return r }
            guard let lease = LeaseBody.read(text) else {
                return error(.badRequest, ChaosError.usage("request.invalid", "Send {\"lease\": \"15s\"}: a duration with a unit, at least 500ms."))
            }
            let caller = await caller(context)
            let epoch: UInt64?
            switch controllerEpoch(request) { case .success(let e): epoch = e; case .failure(let e): return error(.badRequest, e) }
            return await run { () throws(ChaosError) in json(try await manager.renew(id, lease: lease, by: caller, epoch: epoch)) }
        }
        // A new leader shows its epoch to every agent before it starts anything, so that a deposed
        // leader is refused even where the new one has not injected yet. Needs the inject permission:
        // raising the epoch fences every other controller.
        router.post("/v1/fence") { request, context -> Response in
            if let refused = await authorize(context, .inject, manager) { return refused }
            let caller = await caller(context)
            let epoch: UInt64?
            switch controllerEpoch(request) { case .success(let e): epoch = e; case .failure(let e): return error(.badRequest, e) }
            guard let epoch else {
                return error(.badRequest, .usage("request.invalid", "Send the controller's epoch in the '\(epochHeader)' header."))
            }
            return await run { () throws(ChaosError) in
                try await manager.admit(epoch: epoch, by: caller)
                return json(FenceAnswer(epoch: await manager.highestEpoch))
            }
        }
        router.post("/v1/halt") { request, context -> Response in
            if let refused = await authorize(context, .halt, manager) { return refused }
            let text: String
            switch await body(request) { case .text(let t): text = t; case .refused(let r): return r }
            let reason = HaltBody.reason(text) ?? "no reason given"
            let done = await manager.halt(reason: reason, by: await caller(context))
            return json(AgentHaltResult(halted: true, reverted: done.filter { $0.error == nil }.map(\.id), failed: done.compactMap { r in r.error.map { "\(r.id): \($0)" } }))
        }
        router.post("/v1/resume") { _, context -> Response in
            if let refused = await authorize(context, .resume, manager) { return refused }
            await manager.resume(by: await caller(context))
            return json(["halted": false])
        }
        router.post("/v1/preview") { request, context -> Response in
            if let refused = await authorize(context, .preview, manager) { return refused }
            let text: String
            switch await body(request) { case .text(let t): text = t; case .refused(let r): return r }
            let (parsed, diagnostics) = InjectRequest.read(text)
            guard let inject = parsed else { return invalid(diagnostics) }
            return await run { () throws(ChaosError) in
                let resolved = try await manager.preview(inject.target, kind: inject.fault.type)
                return json(AgentPreview(target: resolved.description, victims: resolved.victims, matched: resolved.matched.count, unit: resolved.unit))
            }
        }
        router.get("/metrics") { _, context -> Response in
            if let refused = await authorize(context, .read, manager) { return refused }
            let open = (try? await manager.list()) ?? []
            metrics.halted(await manager.isHalted)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.render(active: open))))
        }
        return router
    }

    /// How long a client may take to send a request body (a slow client gets 408, and holds nothing).
    public static let bodyTimeout: Duration = .seconds(5)

    enum Body { case text(String), refused(Response) }

    /// The request body, or the response refusing it: `413` over ``maxBody``, `408` when it does not
    /// arrive within ``bodyTimeout``. The reader runs apart from the handler, so a client that stalls
    /// mid-body cannot hold the handler beyond the timeout.
    static func body(_ request: Request) async -> Body {
        final class Race: Sendable {
            let pending = Mutex<CheckedContinuation<Body, Never>?>(nil)
            let timer = Mutex<Task<Void, Never>?>(nil)
        }
        let race = Race()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Body, Never>) in
            race.pending.withLock { $0 = continuation }
            let reader = Task {
                var request = request
                let outcome: Body
                do { outcome = .text(String(buffer: try await request.collectBody(upTo: maxBody))) } catch { outcome = .refused(tooLarge()) }
                race.timer.withLock { $0?.cancel() }
                race.pending.withLock { $0.take() }?.resume(returning: outcome)
            }
            let t = Task {
                try? await Task.sleep(for: bodyTimeout)
                guard !Task.isCancelled, let c = race.pending.withLock({ $0.take() }) else { return }
                reader.cancel()
                c.resume(returning: .refused(error(.requestTimeout, ChaosError.usage("request.timeout", "The request body did not arrive within \(bodyTimeout.components.seconds) s."))))
            }
            race.timer.withLock { $0 = t }
        }
    }

    /// The header a controller sends its leadership epoch in.
    public static let epochHeader = "chaos-controller-epoch"

    /// The request's controller epoch: none, a whole number, or an error for anything else.
    static func controllerEpoch(_ request: Request) -> Result<UInt64?, ChaosError> {
        controllerEpoch(request.headers.filter { $0.name.canonicalName == epochHeader }.map(\.value))
    }

    /// The epoch of the header's values: none, one whole number (at most 20 digits), or an error.
    public static func controllerEpoch(_ values: [String]) -> Result<UInt64?, ChaosError> {
        guard let text = values.first else { return .success(nil) }
        guard values.count == 1, text.count <= 20, text.utf8.allSatisfy({ (48...57).contains($0) }), let epoch = UInt64(text) else {
            return .failure(.usage("request.invalid", "'\(epochHeader)' must be one whole number (the controller's leadership epoch)."))
        }
        return .success(epoch)
    }

    static func run(_ body: () async throws(ChaosError) -> Response, onError: (ChaosError) async -> Void = { _ in }) async -> Response {
        do { return try await body() } catch {
            await onError(error)
            return Self.error(status(for: error), error)
        }
    }

    /// HTTP status for an error code: what a client can act on.
    static func status(for error: ChaosError) -> HTTPResponse.Status {
        switch error.code {
        case "ledger.unknownFault": return .notFound
        case "policy.denied", "target.protected": return .forbidden
        case "agent.halted", "fault.resourceBusy", "fault.alreadyReverted", "controller.fenced": return .conflict
        default:
            switch error.exit {
            case .usage: return .badRequest
            case .failed: return .unprocessableContent
            case .internalError: return .internalServerError
            case .notConfigured: return .serviceUnavailable
            }
        }
    }

    static func error(_ status: HTTPResponse.Status, _ e: ChaosError, diagnostics: [Diagnostic]? = nil) -> Response {
        json(AgentErrorBody(error: .init(code: e.code, message: VisibleText.of(e.message), diagnostics: diagnostics)), status: status)
    }

    static func forbidden(_ why: String) -> Response { error(.forbidden, ChaosError("agent.forbidden", "Refused: \(why).")) }

    static func tooLarge() -> Response {
        error(.contentTooLarge, ChaosError.usage("request.tooLarge", "The request body is larger than \(maxBody / 1024) KiB."))
    }

    static func invalid(_ diagnostics: [Diagnostic]) -> Response {
        let summary = diagnostics.map(\.description).joined(separator: "; ")
        return error(.badRequest, ChaosError.usage("request.invalid", "The request is not valid: \(summary)"), diagnostics: diagnostics)
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let data = (try? enc.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// `{"lease": "15s"}`, read as JSON only (bounded like every body).
enum LeaseBody {
    static func read(_ text: String) -> ChaosDuration? {
        guard let root = try? DocumentNode.parseJSON(text), case .mapping(let entries, _) = root, entries.count == 1,
              entries[0].key == "lease", case .scalar(let lease, .string, _) = entries[0].value,
              let d = try? ChaosDuration.parse(lease), d.milliseconds >= 500 else { return nil }
        return d
    }
}

/// `{"reason": "..."}` (optional). A halt is a safety action: a body that is not that JSON does not
/// stop it, the reason is just not known.
/// `{"for": "10m", "every": "2s"}` (both optional: 10 minutes, every 2 seconds).
enum WatchBody {
    static func parse(_ text: String) throws(ChaosError) -> (ChaosDuration, ChaosDuration) {
        let root: DocumentNode?
        do { root = text.trimmingWhitespace().isEmpty ? nil : try DocumentNode.parseJSON(text) } catch {
            throw .usage("discovery.badWatch", "The watch request is not JSON; send e.g. {\"for\": \"10m\", \"every\": \"2s\"}.")
        }
        func duration(_ key: String, _ fallback: ChaosDuration) throws(ChaosError) -> ChaosDuration {
            guard let node = root?.value(key) else { return fallback }
            guard case .scalar(let t, _, _) = node, let d = try? ChaosDuration.parse(t) else {
                throw .usage("discovery.badWatch", "'\(key)' must be a duration such as '10m' or '2s'.")
            }
            return d
        }
        return (try duration("for", .milliseconds(600_000)), try duration("every", .milliseconds(2000)))
    }
}

enum HaltBody {
    static func reason(_ text: String) -> String? {
        guard let root = try? DocumentNode.parseJSON(text), case .scalar(let reason, .string, _)? = root.value("reason") else { return nil }
        return String(reason.prefix(500))
    }
}

/// Times every request into `chaos_agent_http_request_duration_seconds{method,status}`.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: AgentMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.request(method: request.method.rawValue, status: response.status.code, duration: ContinuousClock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.request(method: request.method.rawValue, status: status, duration: ContinuousClock.now - start)
            throw error
        }
    }
}
