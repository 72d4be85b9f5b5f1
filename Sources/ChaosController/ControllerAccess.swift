import ChaosCore
import ChaosPKI
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

/// Who is calling: an operator's (or controller's) certificate from the chaos CA, or an API token
/// (the `Authorization: Bearer` header, or the dashboard's session cookie). Pure but for reading the
/// certificate off the channel.
struct ControllerAccess: Sendable {
    static let cookie = "chaos_session"
    let tokens: [ControllerAPISettings.Token]
    let plaintext: Bool

    struct Identified {
        var who: String
        var byCookie: Bool
    }

    /// The caller, or nil (refused).
    func identify(_ request: Request, _ context: ControllerRequestContext) async -> Identified? {
        if !plaintext, let cn = await Self.certificateName(context.channel) { return Identified(who: cn, byCookie: false) }
        if let auth = request.headers[.authorization], auth.lowercased().hasPrefix("bearer "),
           let name = tokenName(String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)) {
            return Identified(who: name, byCookie: false)
        }
        if let secret = Self.cookieValue(request.headers[.cookie], Self.cookie), let name = tokenName(secret) {
            return Identified(who: name, byCookie: true)
        }
        return nil
    }

    /// The token's name when `secret` is one of the configured tokens.
    func tokenName(_ secret: String) -> String? {
        guard !secret.isEmpty else { return nil }
        let digest = Self.sha256(secret)
        return tokens.first { $0.sha256.lowercased() == digest }?.name
    }

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
    static func certificateName(_ channel: any Channel) async -> String? {
        let der: [UInt8]?
        do {
            der = try await channel.pipeline.handler(type: NIOSSLServerHandler.self).flatMapThrowing { try $0.peerCertificate?.toDERBytes() }.get()
        } catch { return nil }
        guard let der, let identity = try? CertificateIdentity(derEncoded: der), identity.role != .agent else { return nil }
        return identity.name
    }

    /// The server's TLS: its certificate, and client certificates optional but verified when given
    /// (browsers log in with a token instead).
    static func tls(_ s: ControllerAPISettings) throws(ChaosError) -> TLSConfiguration {
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
