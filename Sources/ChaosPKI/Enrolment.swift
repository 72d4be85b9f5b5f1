import ChaosCore
import Foundation
import X509

/// Enrolment with a join token, both ends, without the network: the server's answer to a request, and the
/// host's checks of that answer. `chaos certs serve` and `chaos certs enrol` carry these over HTTPS.
public enum Enrolment {
    /// What a host sends: the token's id and secret (never its CA pin, which stays with the host), and its CSR.
    public struct Request: Codable, Sendable {
        public var id: String
        public var secret: String
        public var csr: String
        public init(token: JoinToken, csr: String) { id = token.id; secret = token.secret; self.csr = csr }
    }

    /// What it gets back.
    public struct Response: Codable, Sendable {
        public var name: String
        public var certificate: String
        public var ca: String
        public var notValidAfter: String
    }

    /// A refusal: the HTTP status, what the caller reads, and what the server logs.
    public struct Refusal: Error, Sendable {
        public let status: Int
        public let message: String
        public let detail: String
    }

    /// The server's answer. The CSR is checked before the token is spent, so a broken request does not burn it.
    public static func answer(_ request: Request, ca: CertificateAuthority, tokens: JoinTokenStore, now: Date = Date()) -> Result<(Response, JoinTokenStore.Entry), Refusal> {
        guard JoinToken.isHex(request.id, count: 16), JoinToken.isHex(request.secret, count: 64) else {
            return .failure(Refusal(status: 403, message: TokenRefusal.publicMessage, detail: "malformed token"))
        }
        let verified: SigningRequest.Verified
        do { verified = try SigningRequest.verify(pem: request.csr, source: "the certificate signing request") } catch {
            return .failure(Refusal(status: 400, message: error.message, detail: error.message))
        }
        let entry: JoinTokenStore.Entry
        do { entry = try tokens.redeem(JoinToken(id: request.id, secret: request.secret, caPin: ca.pin), now: now) } catch {
            return .failure(Refusal(status: 403, message: TokenRefusal.publicMessage, detail: error.detail))
        }
        do {
            let certRequest = try CertificateRequest(role: .agent, name: entry.host, subjectAlternativeNames: entry.sans)
            let certificate = try ca.sign(certRequest, publicKey: verified.publicKey, days: entry.days, now: now)
            return .success((Response(name: entry.host, certificate: try PKIFormat.pem(certificate), ca: try ca.certificatePEM(),
                                      notValidAfter: PKIFormat.day(certificate.notValidAfter)), entry))
        } catch {
            return .failure(Refusal(status: 500, message: "The CA could not sign: \(error.message)", detail: error.message))
        }
    }

    /// The host's checks of an answer: the CA is the one the token pins, the certificate certifies this host's
    /// key, chains to that CA, and is an agent certificate. Returns the CA and the certificate.
    /// - Throws: `pki.enrolment` saying which check failed (nothing is written then).
    public static func check(_ response: Response, pin: String, key: Certificate.PrivateKey, now: Date = Date()) async throws(ChaosError) -> (ca: Certificate, certificate: Certificate) {
        let ca: Certificate, leaf: Certificate
        do {
            ca = try PKIFiles.certificates(inPEM: response.ca, source: "the CA certificate sent")[0]
            leaf = try PKIFiles.certificates(inPEM: response.certificate, source: "the certificate sent")[0]
        }
        guard PKIFormat.pin(ca) == pin else {
            throw ChaosError("pki.enrolment", "The enrolment server sent a CA whose SHA-256 (\(PKIFormat.pin(ca).prefix(16))…) is not the one in the token (\(pin.prefix(16))…). Nothing was written. Check that --server names the CA host the token came from.")
        }
        guard leaf.publicKey == key.publicKey else {
            throw ChaosError("pki.enrolment", "The certificate sent is not for this host's key. Nothing was written.")
        }
        guard case .trusted = await TrustedRoots([ca]).verify(leaf, usage: .serverAuth) else {
            throw ChaosError("pki.enrolment", "The certificate sent does not chain to the pinned CA. Nothing was written.")
        }
        guard let identity = try? CertificateIdentity(certificate: leaf), identity.role == .agent else {
            throw ChaosError("pki.enrolment", "The certificate sent is not an agent certificate. Nothing was written.")
        }
        return (ca, leaf)
    }
}
