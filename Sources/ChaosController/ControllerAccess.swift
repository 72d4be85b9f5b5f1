import ChaosCore
import ChaosPKI
import ChaosServing
import Crypto
import Foundation
import Hummingbird
import NIOCore
import NIOSSL

/// The request context of the controller's API: the channel, to read the caller's certificate.
struct ControllerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// What a request asks the controller to do, and the least role that may.
enum ControllerAction: String, Sendable {
    /// GET: the overview, runs, the audit log, the dashboard's pages, `/metrics`.
    case read
    case halt
    case resume

    var needs: ControllerRole {
        switch self {
        case .read: return .viewer
        case .halt, .resume: return .operator
        }
    }
}

/// Who is calling and what they may do: an operator's (or controller's) certificate from the chaos CA
/// with its role from `api.access`, an API token (`Authorization: Bearer`) with its own role and
/// expiry, or the dashboard's session cookie (a server-side session opened by signing in with a
/// token). Unlisted certificates and tokens without a role are viewers. Pure but for reading the
/// certificate off the channel and the sessions.
struct ControllerAccess: Sendable {
    static let cookie = "chaos_session"
    let settings: ControllerAPISettings
    let sessions: SessionStore
    /// Client certificates, checked again against the CA (RFC 5280: the CA's `pathLen 0` holds).
    let peers: VerifiedPeers
    /// Milliseconds since the epoch.
    let now: @Sendable () -> Int64

    init(_ settings: ControllerAPISettings, now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.settings = settings
        self.now = now
        sessions = SessionStore(lifetime: settings.sessionLifetime, capacity: settings.maxSessions)
        // Fail closed: a CA file the verifier cannot read trusts no certificate (tokens still work).
        peers = VerifiedPeers(roots: settings.plaintext ? nil : (try? TrustedRoots(pemFiles: [settings.ca])) ?? TrustedRoots([]),
                              revoked: settings.revoked.flatMap { try? RevocationList.load($0) } ?? RevocationList())
    }

    /// An identified caller, and whether a session cookie vouched for them (its form posts must come
    /// from the dashboard itself).
    struct Identified: Sendable {
        var caller: ControllerCaller
        var byCookie: Bool
        var who: String { caller.name }
    }

    /// The outcome of identifying a request.
    enum Identification: Sendable {
        case caller(Identified)
        /// Credentials were sent but are not good (unknown or expired token); the message says what to do.
        case refused(String)
        /// The session cookie names no live session (signed out, expired, restarted, or forged).
        case sessionEnded
        /// Nothing to go by.
        case anonymous
    }

    /// Who is calling. A `Bearer` token decides alone when sent (the CLI also presents its certificate
    /// when it has one; the token the user named is what counts); then a live dashboard session; then
    /// the client certificate.
    func identify(_ request: Request, _ context: ControllerRequestContext) async -> Identification {
        if let auth = request.headers[.authorization], auth.lowercased().hasPrefix("bearer ") {
            switch token(String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)) {
            case .success(let t): return .caller(Identified(caller: ControllerCaller(name: t.name, role: t.role, credential: .token), byCookie: false))
            case .failure(let refusal): return .refused(refusal.message)
            }
        }
        var ended = false
        if let id = Self.cookieValue(request.headers[.cookie], Self.cookie), !id.isEmpty {
            if let s = sessions.find(id, now: now()) {
                return .caller(Identified(caller: ControllerCaller(name: s.name, role: s.role, credential: .token), byCookie: true))
            }
            ended = true
        }
        if !settings.plaintext, let cn = await certificateName(context.channel) {
            return .caller(Identified(caller: ControllerCaller(name: cn, role: settings.role(ofCertificate: cn), credential: .certificate), byCookie: false))
        }
        return ended ? .sessionEnded : .anonymous
    }

    struct Refusal: Error { var message: String }

    /// The configured token whose SHA-256 `secret` has, if it has not expired.
    func token(_ secret: String) -> Result<ControllerAPISettings.Token, Refusal> {
        guard !secret.isEmpty else { return .failure(Refusal(message: Self.unknownToken)) }
        let digest = Self.sha256(secret)
        // Every configured hash is compared, in constant time each, so the answer's timing says nothing.
        var found: ControllerAPISettings.Token?
        for t in settings.tokens where Self.constantTimeEqual(t.sha256.lowercased(), digest) && found == nil { found = t }
        guard let t = found else { return .failure(Refusal(message: Self.unknownToken)) }
        if let end = t.expiresAt, now() >= end {
            return .failure(Refusal(message: "The token '\(t.name)' expired on \(Self.instant(end)). Ask for a new one: an admin runs 'chaos controller token --name \(t.name) --role \(t.role) --expires 90d' and replaces its line in controller.yaml 'api.tokens'."))
        }
        return .success(t)
    }

    /// The token's name when `secret` is one of the configured, unexpired tokens.
    func tokenName(_ secret: String) -> String? { try? token(secret).get().name }

    static let unknownToken = "That token is not known to this controller. Check it, or ask for one ('chaos controller token --name NAME --role ROLE' adds a line to controller.yaml 'api.tokens')."

    /// Why `caller` may not do `action`, or nil when they may.
    func refusal(_ caller: ControllerCaller, _ action: ControllerAction) -> String? {
        guard caller.role < action.needs else { return nil }
        let section = caller.credential == .certificate ? "api.access" : "api.tokens"
        return "'\(caller.name)' (\(caller.role)) may not \(action.rawValue); ask for the \(action.needs) role in controller.yaml '\(section)'."
    }

    /// `2027-01-31 00:00:00 UTC`.
    static func instant(_ ms: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) + " UTC"
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool { JoinTokenStore.constantTimeEqual(a, b) }

    static func sha256(_ text: String) -> String { SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined() }

    static func cookieValue(_ header: String?, _ name: String) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let kv = part.trimmingCharacters(in: .whitespaces)
            if kv.hasPrefix(name + "=") { return String(kv.dropFirst(name.count + 1)).removingPercentEncoding }
        }
        return nil
    }

    /// A form post authenticated by the cookie must come from the dashboard itself (no cross-site forms).
    static func sameOrigin(_ request: Request) -> Bool {
        func header(_ name: String) -> String? { request.headers.first { $0.name.canonicalName == name }?.value }
        if let site = header("sec-fetch-site") { return site == "same-origin" || site == "none" }
        guard let origin = header("origin") else { return true }
        guard let host = request.head.authority else { return false }
        return URL(string: origin)?.host.map { h in host == h || host.hasPrefix(h + ":") || host.hasPrefix("[" + h + "]") } ?? false
    }

    /// The CN of a verified operator or controller certificate (agents' certificates are not let in).
    /// The controller's own certificate (role `controller`) is a viewer unless `api.access` names it:
    /// whoever holds its key can already act on the agents directly, and gains nothing here.
    func certificateName(_ channel: any Channel) async -> String? {
        guard let identity = await peers.identity(of: channel), identity.role != .agent else { return nil }
        return identity.name
    }

    /// The server's TLS: its certificate, and client certificates optional but verified when given
    /// (browsers log in with a token instead).
    static func tls(_ s: ControllerAPISettings) throws(ChaosError) -> TLSConfiguration {
        // A revocation list that is configured but unreadable must stop the start, not let revoked callers in.
        if let revoked = s.revoked { _ = try RevocationList.load(revoked) }
        do {
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(s.certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: s.key, format: .pem)))
            tls.trustRoots = .file(s.ca)
            tls.certificateVerification = .optionalVerification
            tls.minimumTLSVersion = .tlsv12
            return tls
        } catch {
            throw ChaosError("controller.tls", "Cannot load the controller's TLS files (\(s.certificate), \(s.key), \(s.ca)): \(error). Create them with 'chaos certs issue --controller NAME'.")
        }
    }
}
