import ChaosCore
import ChaosPOSIX
import Crypto
import Foundation
import SwiftASN1
import X509

/// A host's own key and its certificate signing request (PKCS#10): enrolment without moving private keys.
///
/// The agent makes its key on its first start and writes a CSR beside it. The CSR carries the public key and a
/// signature made with the private one (proof of possession); the CA checks that signature and signs a
/// certificate for that public key. What the certificate says (role, name, SANs) is decided by whoever signs
/// (`chaos certs approve`, a join token), never taken from the CSR.
public enum SigningRequest {
    /// The private key at `path`, made (P-256, mode 0600) when there is none.
    /// - Returns: The key, and whether it was made now.
    /// - Throws: `pki.io` when it cannot be read or written, `pki.invalid` when the file is not a P-256 key.
    public static func ensureKey(at path: String) throws(ChaosError) -> (key: Certificate.PrivateKey, created: Bool) {
        if PKIFiles.exists(path) { return (try readKey(path), false) }
        let key = P256.Signing.PrivateKey()
        do {
            try PKIFiles.write(key.pemRepresentation + "\n", to: path, mode: PKIFiles.privateKeyMode, force: false)
        } catch where error.code == "pki.exists" {
            // Another process made it between our check and our write: use theirs.
            return (try readKey(path), false)
        }
        return (Certificate.PrivateKey(key), true)
    }

    /// The P-256 private key in the PEM file at `path`.
    public static func readKey(_ path: String) throws(ChaosError) -> Certificate.PrivateKey {
        let text = try PKIFiles.readText(path)
        do { return Certificate.PrivateKey(try P256.Signing.PrivateKey(pemRepresentation: text)) } catch {
            throw PKIError.invalid(path, "is not a PEM ECDSA P-256 private key (\(error)). Move it away to let the agent make a new one.")
        }
    }

    /// A CSR in PEM for `key`, with subject `O=chaos, OU=<role>, CN=<name>` (a request only: the signer decides).
    public static func make(name: String, role: CertificateRole = .agent, key: Certificate.PrivateKey) throws(ChaosError) -> String {
        do {
            let subject = try DistinguishedName {
                OrganizationName(PKIConstants.organization)
                OrganizationalUnitName(role.rawValue)
                CommonName(name)
            }
            let csr = try CertificateSigningRequest(version: .v1, subject: subject, privateKey: key, attributes: .init())
            return try csr.serializeAsPEM().pemString + "\n"
        } catch {
            throw PKIError.crypto("make the certificate signing request for '\(name)'", error)
        }
    }

    /// A CSR whose signature verified: the key it proves, and the name it asks for (if any).
    public struct Verified: Sendable {
        public let publicKey: Certificate.PublicKey
        /// The `CN` it asks for, if it has exactly one printable one; only a suggestion.
        public let requestedName: String?
        /// SHA-256 of the public key (SubjectPublicKeyInfo DER) in hex: what an operator compares before approving.
        public let keyFingerprint: String
    }

    /// Parses and checks a CSR: PEM, one request, a P-256 key, a valid self-signature.
    /// - Parameter source: How to name it in errors (its path, or "the request").
    /// - Throws: `pki.invalid`.
    public static func verify(pem text: String, source: String) throws(ChaosError) -> Verified {
        guard text.utf8.count <= 64 << 10 else { throw PKIError.invalid(source, "is larger than 64 KiB; it is not a certificate signing request.") }
        let csr: CertificateSigningRequest
        do { csr = try CertificateSigningRequest(pemEncoded: text) } catch {
            throw PKIError.invalid(source, "is not a PEM certificate signing request (\(error)). The agent writes one beside its key on first start (agent.csr).")
        }
        guard P256.Signing.PublicKey(csr.publicKey) != nil else {
            throw PKIError.invalid(source, "holds a key that is not ECDSA P-256; chaos certificates use P-256 keys only.")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw PKIError.invalid(source, "has a signature that does not verify with its own key: it was altered or is not a proof of possession.")
        }
        let names = CertificateIdentity.values(of: .RDNAttributeType.commonName, in: csr.subject)
        let name = names.count == 1 ? names[0] : nil
        let spki = csr.publicKey.spkiDER
        return Verified(publicKey: csr.publicKey, requestedName: name.flatMap { (try? CertificateRequest.checkName($0, role: .agent)) == nil ? nil : $0 },
                        keyFingerprint: SHA256.hash(data: spki).map { PKIFormat.hex($0) }.joined().lowercased())
    }
}

extension Certificate.PublicKey {
    /// The DER bytes of this key's SubjectPublicKeyInfo.
    var spkiDER: [UInt8] {
        var serializer = DER.Serializer()
        do { try serializer.serialize(self) } catch { return [] }
        return serializer.serializedBytes
    }
}

/// Certificates that must no longer be accepted, by serial number: a text file, one serial in hex per line
/// (separators `:` allowed), `#` comments. `chaos certs revoke` appends to it; agents and the controller
/// read it at start, on SIGHUP and when it changes, and refuse the callers it names.
public struct RevocationList: Hashable, Sendable {
    public private(set) var serials: Set<String>

    public init(serials: Set<String> = []) { self.serials = serials }

    /// Parses the file's text.
    /// - Throws: `pki.invalid` naming the first line that is not a hex serial.
    public init(text: String, source: String) throws(ChaosError) {
        var serials = Set<String>()
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?.trimmedOfBlanks() ?? ""
            if line.isEmpty { continue }
            let first = String(line.split(separator: " ").first ?? "")
            guard let serial = Self.normalized(first) else {
                throw PKIError.invalid(source, "line \(i + 1): '\(first.prefix(80))' is not a serial number in hex (e.g. 4f:1a:... or 4f1a...). Write entries with 'chaos certs revoke'.")
            }
            serials.insert(serial)
        }
        self.serials = serials
    }

    /// Reads the list at `path`.
    public static func load(_ path: String) throws(ChaosError) -> RevocationList {
        try RevocationList(text: try PKIFiles.readText(path, hint: "Create it with 'chaos certs revoke', or remove 'tls.revoked' from the configuration."), source: path)
    }

    /// Lower-case hex without separators or leading zero bytes, or `nil` when `text` is not hex.
    public static func normalized(_ text: String) -> String? {
        let hex = text.replacingOccurrences(of: ":", with: "").lowercased()
        guard !hex.isEmpty, hex.count <= 64, hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        var s = Substring(hex)
        while s.count > 2 && s.hasPrefix("00") { s = s.dropFirst(2) }
        return s.count % 2 == 1 ? "0" + s : String(s)
    }

    public func isRevoked(_ certificate: Certificate) -> Bool {
        !serials.isEmpty && serials.contains(Self.normalized(PKIFormat.serialHex(certificate)) ?? "")
    }

    /// The line `chaos certs revoke` appends.
    public static func line(serial: String, subject: String, reason: String?, at date: Date) -> String {
        var comment = "\(PKIFormat.day(date)) \(subject)"
        if let reason, !reason.isEmpty { comment += ": " + String(reason.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(200)) }
        return "\(serial)  # \(comment)\n"
    }
}
