import ChaosCore
import Foundation
import X509

/// Where a moment falls in a certificate's validity period.
public enum CertificateValidity: Hashable, Sendable, Codable {
    /// Within `notValidBefore ... notValidAfter`, with this much time left.
    case valid(remaining: TimeInterval)
    /// Before `notValidBefore` (the certificate is newer than this host's clock).
    case notYetValid(startsIn: TimeInterval)
    /// After `notValidAfter`, by this much.
    case expired(since: TimeInterval)

    /// Checks `certificate` at `now`. Pure; the bounds are inclusive, as in RFC 5280.
    /// - Parameters:
    ///   - certificate: The certificate.
    ///   - now: The moment to check.
    /// - Returns: `.valid`, `.notYetValid` or `.expired`.
    public static func of(_ certificate: Certificate, at now: Date = Date()) -> CertificateValidity {
        if now < certificate.notValidBefore { return .notYetValid(startsIn: certificate.notValidBefore.timeIntervalSince(now)) }
        if now > certificate.notValidAfter { return .expired(since: now.timeIntervalSince(certificate.notValidAfter)) }
        return .valid(remaining: certificate.notValidAfter.timeIntervalSince(now))
    }

    /// Whether the certificate may be used now.
    public var isValid: Bool {
        if case .valid = self { return true }
        return false
    }

    /// `valid`, `notYetValid` or `expired`: a stable word for JSON and tables.
    public var status: String {
        switch self {
        case .valid: return "valid"
        case .notYetValid: return "notYetValid"
        case .expired: return "expired"
        }
    }

    /// For people: `valid, 89 days left`, `EXPIRED 3 days ago`, `NOT YET VALID (starts in 2 hours)`.
    public var summary: String {
        switch self {
        case .valid(let left): return "valid, \(PKIFormat.span(left)) left"
        case .notYetValid(let wait): return "NOT YET VALID (starts in \(PKIFormat.span(wait)))"
        case .expired(let since): return "EXPIRED \(PKIFormat.span(since)) ago"
        }
    }

    /// Throws unless `certificate` is valid at `now`.
    /// - Parameters:
    ///   - certificate: The certificate.
    ///   - source: How to name it in the message (a path or a subject).
    ///   - now: The moment to check.
    /// - Throws: `pki.notValid`, saying when it expired or starts and what to do.
    public static func require(_ certificate: Certificate, source: String? = nil, at now: Date = Date()) throws(ChaosError) {
        let what = source.map { "'\($0)' (\(certificate.subject))" } ?? "'\(certificate.subject)'"
        switch of(certificate, at: now) {
        case .valid: return
        case .expired:
            throw PKIError.notValid("Certificate \(what) expired on \(PKIFormat.timestamp(certificate.notValidAfter)). Issue a new one with 'chaos certs issue' (docs/certificates.md, 'Renewing').")
        case .notYetValid:
            throw PKIError.notValid("Certificate \(what) is not valid before \(PKIFormat.timestamp(certificate.notValidBefore)). Check this host's clock (timedatectl).")
        }
    }
}
