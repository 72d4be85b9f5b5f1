import ChaosCore
import Crypto
import Foundation
import SwiftASN1
import X509

/// The chaos certificate authority: a self-signed ECDSA P-256 root that signs the certificates of agents,
/// the controller and operators for mutual TLS.
///
/// The CA certificate carries `basicConstraints` CA:true with path length 0 (it signs leaves only, never
/// another CA), `keyUsage` keyCertSign + cRLSign (both critical) and a `subjectKeyIdentifier`. Its files are
/// `ca.pem` (the certificate, for everyone to trust) and `ca-key.pem` (the private key, mode 0600, to be kept
/// offline between issues).
public struct CertificateAuthority: Sendable {
    /// The CA certificate.
    public let certificate: Certificate
    /// The CA's signing key (P-256). Held as `Certificate.PrivateKey`, which is `Sendable`;
    /// swift-crypto's `P256.Signing.PrivateKey` is not on Linux.
    let privateKey: Certificate.PrivateKey

    /// Default validity of a new CA: ten years.
    public static let defaultDays = 3650
    /// Default validity of a leaf certificate: 90 days.
    public static let defaultLeafDays = 90
    /// The CA certificate's file name in the PKI directory.
    public static let certificateFileName = "ca.pem"
    /// The CA private key's file name in the PKI directory.
    public static let privateKeyFileName = "ca-key.pem"

    init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.privateKey = Certificate.PrivateKey(privateKey)
    }

    // MARK: Creating and loading

    /// Creates a new self-signed CA with a fresh P-256 key.
    /// - Parameters:
    ///   - name: `CN` of the CA; by default `chaos CA <date>`, so that two CAs told apart during a rotation.
    ///   - days: Validity in days, from now (less a few minutes for clock skew).
    ///   - now: The current time.
    /// - Returns: The CA; nothing is written (see ``write(to:force:)``).
    /// - Throws: `pki.usage` for a bad name or number of days.
    public static func create(name: String? = nil, days: Int = defaultDays, now: Date = Date()) throws(ChaosError) -> CertificateAuthority {
        guard (1...36_500).contains(days) else { throw PKIError.usage("--days must be 1 to 36500 for a CA; got \(days).") }
        let name = name ?? "chaos CA \(PKIFormat.day(now))"
        guard !name.isEmpty, name.utf8.count <= 64 else { throw PKIError.usage("The CA name must be 1 to 64 characters long; got '\(name)'.") }
        let key = P256.Signing.PrivateKey()
        let signer = Certificate.PrivateKey(key)
        do {
            let subject = try DistinguishedName {
                OrganizationName(PKIConstants.organization)
                CommonName(name)
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: signer.publicKey)
            }
            let certificate = try Certificate(
                version: .v3,
                serialNumber: PKIRandom.serialNumber(),
                publicKey: signer.publicKey,
                notValidBefore: now.addingTimeInterval(-PKIConstants.clockSkewAllowance),
                notValidAfter: now.addingTimeInterval(Double(days) * PKIConstants.day),
                issuer: subject,
                subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: signer
            )
            return CertificateAuthority(certificate: certificate, privateKey: key)
        } catch {
            throw PKIError.crypto("create the CA certificate", error)
        }
    }

    /// A CA from its PEM texts.
    /// - Parameters:
    ///   - certificatePEM: The CA certificate (`ca.pem`).
    ///   - privateKeyPEM: Its P-256 private key (`ca-key.pem`, PKCS#8 or SEC 1).
    ///   - certificateSource: How to name the certificate in errors (its path).
    ///   - keySource: How to name the key in errors (its path).
    /// - Throws: `pki.invalid` when either does not parse, the certificate is not a CA, or the key does not belong to it.
    public init(certificatePEM: String, privateKeyPEM: String,
                certificateSource: String = certificateFileName, keySource: String = privateKeyFileName) throws(ChaosError) {
        let certificate: Certificate
        do { certificate = try Certificate(pemEncoded: certificatePEM) } catch {
            throw PKIError.invalid(certificateSource, "is not a PEM certificate (\(error)). Point --pki-dir at the directory 'chaos certs init' wrote.")
        }
        let key: P256.Signing.PrivateKey
        do { key = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM) } catch {
            throw PKIError.invalid(keySource, "is not a PEM ECDSA P-256 private key (\(error)). chaos CAs use P-256 keys; create one with 'chaos certs init'.")
        }
        guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
            throw PKIError.invalid(keySource, "is not the private key of '\(certificateSource)' (\(certificate.subject)). Put the two files of the same CA side by side.")
        }
        guard case .isCertificateAuthority? = try? certificate.extensions.basicConstraints else {
            throw PKIError.invalid(certificateSource, "is not a CA certificate (no basicConstraints CA:true). Use the ca.pem that 'chaos certs init' wrote.")
        }
        self.init(certificate: certificate, privateKey: key)
    }

    /// Loads `ca.pem` and `ca-key.pem` from `directory`.
    /// - Throws: `pki.io` when a file cannot be read (with a hint to run `chaos certs init`), `pki.invalid` as ``init(certificatePEM:privateKeyPEM:certificateSource:keySource:)``.
    public static func load(directory: String) throws(ChaosError) -> CertificateAuthority {
        let certPath = PKIFiles.join(directory, certificateFileName)
        let keyPath = PKIFiles.join(directory, privateKeyFileName)
        let hint = "Create a CA with 'chaos certs init --pki-dir \(directory)', or point --pki-dir (or CHAOS_PKI_DIR) at the CA's directory."
        let certPEM = try PKIFiles.readText(certPath, hint: hint)
        let keyPEM = try PKIFiles.readText(keyPath, hint: hint)
        return try CertificateAuthority(certificatePEM: certPEM, privateKeyPEM: keyPEM, certificateSource: certPath, keySource: keyPath)
    }

    /// Writes `ca.pem` (mode 0644) and `ca-key.pem` (mode 0600) into `directory`, creating it if needed.
    /// - Parameter force: Replace existing files; without it, nothing is written when either file exists.
    /// - Returns: The paths written.
    /// - Throws: `pki.exists` or `pki.io`.
    @discardableResult
    public func write(to directory: String, force: Bool) throws(ChaosError) -> WrittenFiles {
        let files = WrittenFiles(certificate: PKIFiles.join(directory, Self.certificateFileName),
                                 privateKey: PKIFiles.join(directory, Self.privateKeyFileName))
        try PKIFiles.writePair(certificatePEM: try certificatePEM(), to: files.certificate,
                               privateKeyPEM: try PKIFormat.pem(privateKey), to: files.privateKey, force: force,
                               existsHint: "Pass --force to replace the CA: certificates it signed stop being trusted once agents trust only the new one (docs/certificates.md, 'Rotating the CA').")
        return files
    }

    /// The CA certificate in PEM.
    public func certificatePEM() throws(ChaosError) -> String {
        try PKIFormat.pem(certificate)
    }

    // MARK: Issuing

    /// Issues a leaf certificate with a fresh P-256 key.
    /// - Parameters:
    ///   - request: Role, name and SANs.
    ///   - days: Validity in days, from now (less a few minutes for clock skew).
    ///   - now: The current time.
    /// - Returns: The certificate and its private key.
    /// - Throws: `pki.usage` for a bad number of days or a certificate that would outlive the CA.
    public func issue(_ request: CertificateRequest, days: Int = defaultLeafDays, now: Date = Date()) throws(ChaosError) -> IssuedCertificate {
        let (from, until) = try validity(days: days, now: now)
        return try issue(request, notValidBefore: from, notValidAfter: until)
    }

    /// Signs a certificate for a key someone else holds (a CSR's: the key never leaves its host).
    /// - Parameters:
    ///   - request: Role, name and SANs: what the CA decides, never what the CSR asked for.
    ///   - publicKey: The key to certify (checked by the caller: a CSR whose signature verified).
    /// - Throws: `pki.usage` for a bad number of days or a certificate that would outlive the CA.
    public func sign(_ request: CertificateRequest, publicKey: Certificate.PublicKey, days: Int = defaultLeafDays, now: Date = Date()) throws(ChaosError) -> Certificate {
        let (from, until) = try validity(days: days, now: now)
        return try leaf(request, publicKey: publicKey, notValidBefore: from, notValidAfter: until)
    }

    /// From a few minutes ago (clock skew) to `days` from now, checked against the CA's own end.
    private func validity(days: Int, now: Date) throws(ChaosError) -> (Date, Date) {
        guard (1...36_500).contains(days) else { throw PKIError.usage("--days must be 1 to 36500; got \(days).") }
        let notAfter = now.addingTimeInterval(Double(days) * PKIConstants.day)
        if notAfter > certificate.notValidAfter {
            let left = Int((certificate.notValidAfter.timeIntervalSince(now) / PKIConstants.day).rounded(.down))
            throw PKIError.usage("The CA '\(certificate.subject)' expires on \(PKIFormat.day(certificate.notValidAfter)), before a \(days)-day certificate would. "
                + (left >= 1 ? "Issue with --days \(left) or fewer, or rotate the CA (docs/certificates.md)." : "Rotate the CA (docs/certificates.md).")
            )
        }
        return (now.addingTimeInterval(-PKIConstants.clockSkewAllowance), notAfter)
    }

    /// Issues a leaf certificate valid exactly from `notValidBefore` to `notValidAfter` (tests use it to make
    /// certificates that are expired or not yet valid).
    func issue(_ request: CertificateRequest, notValidBefore: Date, notValidAfter: Date) throws(ChaosError) -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let leaf = try leaf(request, publicKey: Certificate.PrivateKey(key).publicKey, notValidBefore: notValidBefore, notValidAfter: notValidAfter)
        return IssuedCertificate(request: request, certificate: leaf, certificatePEM: try PKIFormat.pem(leaf),
                                 privateKeyPEM: key.pemRepresentation + "\n")
    }

    /// The signed leaf for `publicKey`.
    func leaf(_ request: CertificateRequest, publicKey: Certificate.PublicKey, notValidBefore: Date, notValidAfter: Date) throws(ChaosError) -> Certificate {
        do {
            let authorityKeyID = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
                ?? SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
            let names = request.generalNames()
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage(request.role.extendedKeyUsages)
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: authorityKeyID)
                if !names.isEmpty { SubjectAlternativeNames(names) }
            }
            return try Certificate(
                version: .v3,
                serialNumber: PKIRandom.serialNumber(),
                publicKey: publicKey,
                notValidBefore: notValidBefore,
                notValidAfter: notValidAfter,
                issuer: certificate.subject,
                subject: try request.subject(),
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: privateKey
            )
        } catch let error as ChaosError {
            throw error
        } catch {
            throw PKIError.crypto("issue the \(request.role) certificate for '\(request.name)'", error)
        }
    }

    /// The CA's pin: the SHA-256 of its certificate's DER bytes, in hex. Join tokens carry it, so a new
    /// host trusts the CA it is handed only if it is this one.
    public var pin: String { PKIFormat.pin(certificate) }
}

/// A leaf certificate just issued, with its private key.
public struct IssuedCertificate: Sendable {
    /// What was asked for.
    public let request: CertificateRequest
    /// The signed certificate.
    public let certificate: Certificate
    /// The certificate in PEM.
    public let certificatePEM: String
    /// The private key in PEM (PKCS#8, `-----BEGIN PRIVATE KEY-----`). Write it with mode 0600 only.
    public let privateKeyPEM: String

    /// The file names in a directory: `<name>.pem` and `<name>-key.pem`.
    public func files(in directory: String) -> WrittenFiles {
        WrittenFiles(certificate: PKIFiles.join(directory, "\(request.name).pem"),
                     privateKey: PKIFiles.join(directory, "\(request.name)-key.pem"))
    }

    /// Writes `<name>.pem` (0644) and `<name>-key.pem` (0600) into `directory`, creating it if needed.
    /// - Parameter force: Replace existing files; without it, nothing is written when either file exists.
    /// - Returns: The paths written.
    /// - Throws: `pki.exists` or `pki.io`.
    @discardableResult
    public func write(to directory: String, force: Bool) throws(ChaosError) -> WrittenFiles {
        let files = files(in: directory)
        try PKIFiles.writePair(certificatePEM: certificatePEM, to: files.certificate, privateKeyPEM: privateKeyPEM, to: files.privateKey,
                               force: force, existsHint: "Pass --force to replace it (for example to renew the certificate before it expires).")
        return files
    }
}

/// The two files of a certificate and its key.
public struct WrittenFiles: Hashable, Sendable, Codable {
    /// The certificate's path.
    public var certificate: String
    /// The private key's path.
    public var privateKey: String
}

/// Randomness for certificates.
enum PKIRandom {
    /// A random positive serial number of exactly 20 bytes (RFC 5280's maximum).
    ///
    /// `Certificate.SerialNumber()` also draws 20 random bytes, but when the first has its top bit set the
    /// DER INTEGER needs a leading zero and becomes 21 bytes, which RFC 5280 forbids. Clearing the top bit and
    /// setting the next one keeps the encoding at exactly 20 bytes with 158 random bits.
    static func serialNumber() -> Certificate.SerialNumber {
        var rng = SystemRandomNumberGenerator()
        var bytes = (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        bytes[0] = (bytes[0] & 0x3F) | 0x40
        return Certificate.SerialNumber(bytes: bytes)
    }
}
