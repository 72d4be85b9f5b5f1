import ChaosCore
import Glibc
import SwiftASN1
import X509

/// What to put in a leaf certificate: its role, its name and its subject alternative names. Pure.
///
/// | role | subject | SANs | extended key usage |
/// |---|---|---|---|
/// | agent | `O=chaos, OU=agent, CN=<host>` | the given DNS names and IP addresses, plus the host name when it is a DNS name | serverAuth, clientAuth |
/// | controller | `O=chaos, OU=controller, CN=controller` | the given ones (optional) | serverAuth, clientAuth |
/// | operator | `O=chaos, OU=operator, CN=<name>` | none | clientAuth |
/// | observer | `O=chaos, OU=observer, CN=<name>` | none | clientAuth (read-only callers such as Prometheus) |
public struct CertificateRequest: Hashable, Sendable {
    /// The role, written as `OU`.
    public var role: CertificateRole
    /// The name, written as `CN`; also the base of the file names (`<name>.pem`, `<name>-key.pem`).
    public var name: String
    /// DNS names for the subject alternative name extension, lower-cased.
    public var dnsNames: [String]
    /// IP addresses (IPv4 or IPv6, in text form) for the subject alternative name extension.
    public var ipAddresses: [String]

    /// The name every controller certificate carries.
    public static let controllerName = "controller"

    /// A checked request.
    /// - Parameters:
    ///   - role: The role.
    ///   - name: The host name (agent) or person's name (operator); ignored for the controller, whose name is `controller`.
    ///   - subjectAlternativeNames: DNS names and IP addresses, in any order; IP addresses are recognised.
    ///     Agents also get their own name when it is a valid DNS name.
    /// - Throws: `pki.usage` (exit 64) for a bad name, a bad SAN, SANs on an operator, or an agent without any SAN.
    public init(role: CertificateRole, name: String, subjectAlternativeNames: [String] = []) throws(ChaosError) {
        let name = role == .controller ? Self.controllerName : name
        try Self.checkName(name, role: role)
        // An agent's own name comes first, when it is a DNS name: the controller may reach it by that name.
        var dns: [String] = role == .agent && SubjectAlternativeName.isDNSName(name) ? [name.lowercased()] : []
        var ips: [String] = []
        if (role == .operator || role == .observer) && !subjectAlternativeNames.isEmpty {
            throw PKIError.usage("\(role == .operator ? "Operator" : "Observer") certificates are for clients only and carry no SANs; drop --san.")
        }
        for raw in subjectAlternativeNames {
            let san = raw.trimmedOfBlanks()
            if san.isEmpty { continue }
            switch try SubjectAlternativeName.parse(san) {
            case .ip(let text): if !ips.contains(text) { ips.append(text) }
            case .dns(let text): if !dns.contains(text) { dns.append(text) }
            }
        }
        if role == .agent && dns.isEmpty && ips.isEmpty {
            throw PKIError.usage("Agent '\(name)' needs at least one SAN the controller can reach it by: give its inventory address, e.g. --san 10.0.0.11.")
        }
        self.role = role
        self.name = name
        self.dnsNames = dns
        self.ipAddresses = ips
    }

    /// The subject: `O=chaos, OU=<role>, CN=<name>`.
    func subject() throws -> DistinguishedName {
        try DistinguishedName {
            OrganizationName(PKIConstants.organization)
            OrganizationalUnitName(role.rawValue)
            CommonName(name)
        }
    }

    /// The subject alternative names in certificate form: DNS names first, then IP addresses.
    func generalNames() -> [GeneralName] {
        dnsNames.map { GeneralName.dnsName($0) }
            + ipAddresses.compactMap { SubjectAlternativeName.ipBytes($0).map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0[...])) } }
    }

    /// Names become a `CN` and file names: a letter or digit, then letters, digits, `.`, `_`, `-`, `@`; at most 64.
    static func checkName(_ name: String, role: CertificateRole) throws(ChaosError) {
        let flag = "--\(role.rawValue)"
        guard !name.isEmpty, name.utf8.count <= 64 else {
            throw PKIError.usage("The \(role) name must be 1 to 64 characters long; got '\(name)'.")
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@".unicodeScalars)
        guard let first = name.unicodeScalars.first, ("0"..."9").contains(first) || ("a"..."z").contains(first) || ("A"..."Z").contains(first),
              name.unicodeScalars.allSatisfy({ allowed.contains($0) }) else {
            throw PKIError.usage("\(flag) '\(name)': a name starts with a letter or digit and holds only letters, digits, '.', '_', '-' and '@'. Use the host's inventory name, e.g. \(flag) db1.")
        }
        if name.contains("..") {
            throw PKIError.usage("\(flag) '\(name)': a name must not contain '..'.")
        }
        if name == "ca" || name.hasSuffix("-key") {
            throw PKIError.usage("\(flag) '\(name)': 'ca' and names ending in '-key' are reserved for the CA's and private key files; choose another name.")
        }
    }
}

/// One subject alternative name, classified: an IP address or a DNS name.
public enum SubjectAlternativeName: Hashable, Sendable {
    /// An IPv4 or IPv6 address, in canonical text form.
    case ip(String)
    /// A DNS name, lower-cased.
    case dns(String)

    /// Classifies `text`: an IP address when it parses as one, else a DNS name.
    /// - Throws: `pki.usage` when it is neither.
    public static func parse(_ text: String) throws(ChaosError) -> SubjectAlternativeName {
        if let bytes = ipBytes(text), let canonical = ipText(bytes) { return .ip(canonical) }
        let lower = text.lowercased()
        if isDNSName(lower) { return .dns(lower) }
        throw PKIError.usage("--san '\(text)' is neither an IP address nor a DNS name; give e.g. --san 10.0.0.11,db1.staging.")
    }

    /// Whether `text` is a DNS name: dot-separated labels of letters, digits and inner hyphens, 1-63 each,
    /// at most 253 in all, and a last label that is not all digits (so a mistyped address is not taken for a name).
    public static func isDNSName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
            guard label.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }) else { return false }
        }
        if let last = labels.last, last.allSatisfy(\.isNumber) { return false }
        return true
    }

    /// The network-order bytes of an IPv4 (4 bytes) or IPv6 (16 bytes) address, or `nil`.
    static func ipBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// The text form of a 4- or 16-byte address, or `nil` for any other length.
    public static func ipText(_ bytes: [UInt8]) -> String? {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { src in inet_ntop(family, src.baseAddress, &buffer, socklen_t(buffer.count)) != nil }
        guard ok else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Fixed values of every chaos certificate.
enum PKIConstants {
    /// `O` of every subject.
    static let organization = "chaos"
    /// `notValidBefore` is set this far in the past, so a host whose clock is a little behind accepts a new certificate.
    static let clockSkewAllowance: Double = 300
    /// One day in seconds.
    static let day: Double = 86_400
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    func trimmedOfBlanks() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
