import ChaosCore
import Crypto
import Foundation
import SwiftASN1
import X509

/// What `chaos certs show` prints about one certificate. Pure: built from a `Certificate` and a moment.
public struct CertificateSummary: Hashable, Sendable, Codable {
    /// The subject, RFC 4514 style (`CN=db1,OU=agent,O=chaos`).
    public var subject: String
    /// The issuer, same style.
    public var issuer: String
    /// `OU` of the subject, when it is a chaos role.
    public var role: CertificateRole?
    /// `CN` of the subject.
    public var name: String?
    /// Serial number, hex.
    public var serial: String
    /// Subject alternative names: `DNS:db1.staging`, `IP:10.0.0.11`.
    public var subjectAlternativeNames: [String]
    /// Start of validity, ISO 8601 UTC.
    public var notValidBefore: String
    /// End of validity, ISO 8601 UTC.
    public var notValidAfter: String
    /// `valid`, `notYetValid` or `expired` at the moment of the summary.
    public var status: String
    /// Whole days until `notValidAfter` (negative once expired).
    public var daysLeft: Int
    /// Whether this is a CA certificate (basicConstraints CA:true).
    public var isCertificateAuthority: Bool
    /// Key usages, e.g. `digitalSignature`.
    public var keyUsage: [String]
    /// Extended key usages, e.g. `serverAuth`, `clientAuth`.
    public var extendedKeyUsage: [String]
    /// SHA-256 of the DER encoding, upper-case hex pairs joined by colons (as `openssl x509 -fingerprint -sha256`).
    public var sha256Fingerprint: String

    /// Summarises `certificate` at `now`.
    public init(_ certificate: Certificate, at now: Date = Date()) {
        subject = certificate.subject.description
        issuer = certificate.issuer.description
        let identity = try? CertificateIdentity(certificate: certificate)
        role = identity?.role
        name = identity?.name ?? CertificateIdentity.values(of: .RDNAttributeType.commonName, in: certificate.subject).first
        serial = certificate.serialNumber.bytes.map { PKIFormat.hex($0) }.joined(separator: ":")
        subjectAlternativeNames = ((try? certificate.extensions.subjectAlternativeNames) ?? nil).map { $0.map(PKIFormat.generalName) } ?? []
        notValidBefore = PKIFormat.timestamp(certificate.notValidBefore)
        notValidAfter = PKIFormat.timestamp(certificate.notValidAfter)
        let validity = CertificateValidity.of(certificate, at: now)
        status = validity.status
        daysLeft = Int((certificate.notValidAfter.timeIntervalSince(now) / PKIConstants.day).rounded(.down))
        if case .isCertificateAuthority? = (try? certificate.extensions.basicConstraints) ?? nil { isCertificateAuthority = true } else { isCertificateAuthority = false }
        keyUsage = ((try? certificate.extensions.keyUsage) ?? nil).map(PKIFormat.keyUsages) ?? []
        extendedKeyUsage = ((try? certificate.extensions.extendedKeyUsage) ?? nil).map { $0.map { String(describing: $0) } } ?? []
        sha256Fingerprint = PKIFormat.fingerprint(certificate)
    }

    /// The certificate's validity at the moment of the summary, for people.
    public var validitySummary: String {
        switch status {
        case "expired": return "EXPIRED \(-daysLeft) day\(-daysLeft == 1 ? "" : "s") ago"
        case "notYetValid": return "NOT YET VALID"
        default: return "valid, \(daysLeft) day\(daysLeft == 1 ? "" : "s") left"
        }
    }
}

/// Text forms of certificate parts.
public enum PKIFormat {
    /// A certificate in PEM.
    /// - Throws: `pki.crypto` (a library failure).
    public static func pem(_ certificate: Certificate) throws(ChaosError) -> String {
        do { return try certificate.serializeAsPEM().pemString + "\n" } catch { throw PKIError.crypto("encode the certificate as PEM", error) }
    }

    /// A private key in PEM (PKCS#8, `-----BEGIN PRIVATE KEY-----`).
    /// - Throws: `pki.crypto` (a library failure).
    static func pem(_ key: Certificate.PrivateKey) throws(ChaosError) -> String {
        do { return try key.serializeAsPEM().pemString + "\n" } catch { throw PKIError.crypto("encode the private key as PEM", error) }
    }

    /// The DER bytes of a certificate.
    public static func der(_ certificate: Certificate) -> [UInt8] {
        var serializer = DER.Serializer()
        // A parsed or freshly built certificate always serializes; an empty result makes a wrong fingerprint, never a crash.
        do { try serializer.serialize(certificate) } catch { return [] }
        return serializer.serializedBytes
    }

    /// SHA-256 of the DER encoding, `AB:CD:...`.
    public static func fingerprint(_ certificate: Certificate) -> String {
        SHA256.hash(data: der(certificate)).map { hex($0) }.joined(separator: ":")
    }

    /// SHA-256 of the DER encoding in lower-case hex without separators: the CA pin of join tokens.
    public static func pin(_ certificate: Certificate) -> String {
        SHA256.hash(data: der(certificate)).map { hex($0) }.joined().lowercased()
    }

    /// A serial number in lower-case hex without separators, as revocation lists hold it.
    public static func serialHex(_ certificate: Certificate) -> String {
        certificate.serialNumber.bytes.map { hex($0) }.joined().lowercased()
    }

    /// `DNS:name`, `IP:address`, `URI:...`, `email:...`.
    public static func generalName(_ name: GeneralName) -> String {
        switch name {
        case .dnsName(let n): return "DNS:\(n)"
        case .ipAddress(let bytes): return "IP:\(SubjectAlternativeName.ipText(Array(bytes.bytes)) ?? bytes.bytes.map { hex($0) }.joined())"
        case .uniformResourceIdentifier(let u): return "URI:\(u)"
        case .rfc822Name(let e): return "email:\(e)"
        default: return String(describing: name)
        }
    }

    static func keyUsages(_ usage: KeyUsage) -> [String] {
        [("digitalSignature", usage.digitalSignature), ("nonRepudiation", usage.nonRepudiation),
         ("keyEncipherment", usage.keyEncipherment), ("dataEncipherment", usage.dataEncipherment),
         ("keyAgreement", usage.keyAgreement), ("keyCertSign", usage.keyCertSign), ("cRLSign", usage.cRLSign),
         ("encipherOnly", usage.encipherOnly), ("decipherOnly", usage.decipherOnly)].filter(\.1).map(\.0)
    }

    /// Two upper-case hex digits.
    static func hex(_ byte: UInt8) -> String {
        let s = String(byte, radix: 16, uppercase: true)
        return s.count == 1 ? "0" + s : s
    }

    /// `2025-01-30T12:00:00Z`.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
    }

    /// `2025-01-30` (UTC).
    public static func day(_ date: Date) -> String {
        String(timestamp(date).prefix(10))
    }

    /// A rough span for people: `42 seconds`, `5 minutes`, `3 hours`, `89 days`.
    static func span(_ seconds: TimeInterval) -> String {
        let s = Int(seconds.rounded(.down))
        func unit(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        if s < 120 { return unit(s, "second") }
        if s < 7200 { return unit(s / 60, "minute") }
        if s < 86_400 { return unit(s / 3600, "hour") }
        return unit(s / 86_400, "day")
    }
}
