import ChaosCore
import SwiftASN1
import X509

/// What a chaos certificate is for. Written into the subject as `OU=<role>`.
public enum CertificateRole: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// A per-host agent: serves the agent API (serverAuth) and may call other agents' APIs (clientAuth).
    case agent
    /// The controller: calls agents (clientAuth) and serves its own API (serverAuth).
    case controller
    /// A person or a script calling agents or the controller (clientAuth only).
    case `operator`
    /// A read-only client such as Prometheus: agents let it `read` (their `/metrics`, health, faults)
    /// and nothing else unless their policy says so (clientAuth only).
    case observer

    public var description: String { rawValue }

    /// The extended key usages a certificate of this role carries.
    public var extendedKeyUsages: [ExtendedKeyUsage.Usage] {
        switch self {
        case .agent, .controller: return [.serverAuth, .clientAuth]
        case .operator, .observer: return [.clientAuth]
        }
    }
}

/// Who a certificate says its holder is: the role (`OU`) and the name (`CN`) of its subject.
///
/// The agent's policy decides what a caller may do from this value, so reading it is strict: the subject
/// must hold exactly one `CN` and exactly one `OU`, and the `OU` must be a known role. This does not check
/// the signature or the validity period; verify the chain first (``TrustedRoots/verify(_:intermediates:usage:)``).
public struct CertificateIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    /// `OU` of the subject.
    public var role: CertificateRole
    /// `CN` of the subject: the host name of an agent, `controller`, or the operator's name.
    public var name: String

    /// An identity from its parts.
    public init(role: CertificateRole, name: String) {
        self.role = role
        self.name = name
    }

    /// Reads the identity from the subject of `certificate`.
    /// - Throws: `pki.noIdentity` when the subject has no `CN` or `OU`, several of either, or an `OU` that is not a role.
    public init(certificate: Certificate) throws(ChaosError) {
        let subject = certificate.subject
        let names = Self.values(of: .RDNAttributeType.commonName, in: subject)
        let units = Self.values(of: .RDNAttributeType.organizationalUnitName, in: subject)
        // The name goes into logs, audit fields and messages: printable text only, so a CN with a
        // newline or an escape sequence cannot forge a log line.
        guard names.count == 1, let name = names.first, !name.isEmpty, name.utf8.count <= 64,
              name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value) && !$0.properties.isBidiControl }) else {
            throw PKIError.noIdentity("Certificate has \(names.count) common names (CN), or one that is empty, longer than 64 bytes or holds control characters; a chaos certificate has exactly one printable name. Issue it with 'chaos certs issue'.")
        }
        guard units.count == 1, let unit = units.first else {
            throw PKIError.noIdentity("Certificate '\(subject)' has \(units.count) organizational units (OU); a chaos certificate has exactly one role: \(Self.roleList).")
        }
        guard let role = CertificateRole(rawValue: unit) else {
            throw PKIError.noIdentity("Certificate '\(subject)' has role OU='\(unit)', which is not one of \(Self.roleList).")
        }
        self.init(role: role, name: name)
    }

    /// Reads the identity of a DER-encoded certificate, as a TLS library hands over a peer's certificate.
    /// - Throws: `pki.invalid` when the bytes are not a certificate; `pki.noIdentity` as ``init(certificate:)``.
    public init(derEncoded bytes: [UInt8]) throws(ChaosError) {
        let certificate: Certificate
        do { certificate = try Certificate(derEncoded: bytes) } catch {
            throw PKIError.invalid("peer certificate", "is not a DER-encoded X.509 certificate: \(error).")
        }
        try self.init(certificate: certificate)
    }

    /// `role:name`, e.g. `agent:db1`.
    public var description: String { "\(role.rawValue):\(name)" }

    static let roleList = CertificateRole.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")

    /// Every textual value of attribute `type` in `name`, in order.
    static func values(of type: ASN1ObjectIdentifier, in name: DistinguishedName) -> [String] {
        name.flatMap { rdn in rdn.filter { $0.type == type } }.map { String($0.value) ?? String(describing: $0.value) }
    }
}
