import ChaosCore
import SwiftASN1
import X509

/// The CA certificates a party trusts, and chain verification against them with swift-certificates' `Verifier`.
///
/// During a CA rotation this holds both the old and the new CA (see docs/certificates.md), so certificates of
/// either validate. Verification applies `RFC5280Policy` (signatures, validity at the current time, basic
/// constraints, name constraints) plus, when asked, the extended key usage the peer must have.
public struct TrustedRoots: Sendable {
    /// The trusted CA certificates.
    public var certificates: [Certificate]

    /// Trust these CA certificates.
    public init(_ certificates: [Certificate]) {
        self.certificates = certificates
    }

    /// Trust every certificate in these PEM files (each a single CA or a bundle of several).
    /// - Throws: `pki.io` or `pki.invalid` naming the file; `pki.usage` when no file is given.
    public init(pemFiles paths: [String]) throws(ChaosError) {
        guard !paths.isEmpty else { throw PKIError.usage("No CA bundle given: list at least one CA certificate file (e.g. /etc/chaos/pki/ca.pem).") }
        var all: [Certificate] = []
        for path in paths { all += try PKIFiles.readCertificates(path) }
        self.init(all)
    }

    /// The outcome of a verification.
    public enum Verification: Hashable, Sendable {
        /// The chain from the leaf to a trusted CA (leaf first, root last).
        case trusted(chain: [Certificate])
        /// No chain validates; why, for the log and the operator.
        case untrusted(reason: String)

        /// Whether the leaf is trusted.
        public var isTrusted: Bool {
            if case .trusted = self { return true }
            return false
        }
    }

    /// Verifies `leaf` against these roots, at the current time.
    /// - Parameters:
    ///   - leaf: The peer's certificate.
    ///   - intermediates: Other certificates the peer sent (chaos issues none; kept for completeness).
    ///   - usage: The extended key usage the leaf must carry: `.clientAuth` when a server checks a client,
    ///     `.serverAuth` when a client checks a server; `nil` for no check.
    /// - Returns: `.trusted` with the chain, or `.untrusted` with the reasons.
    public func verify(_ leaf: Certificate, intermediates: [Certificate] = [], usage: ExtendedKeyUsage.Usage? = nil) async -> Verification {
        var verifier = Verifier(rootCertificates: CertificateStore(certificates)) {
            RFC5280Policy()
            ExtendedKeyUsagePolicy(required: usage)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates))
        switch result {
        case .validCertificate(let chain):
            return .trusted(chain: Array(chain))
        case .couldNotValidate(let failures):
            if failures.isEmpty {
                let validity = CertificateValidity.of(leaf)
                let extra = validity.isValid ? "" : " (it is also \(validity.summary))"
                return .untrusted(reason: "'\(leaf.subject)' was not issued by a trusted CA (issuer '\(leaf.issuer)')\(extra).")
            }
            let reasons = Set(failures.map { String(describing: $0.policyFailureReason) }).sorted()
            return .untrusted(reason: "'\(leaf.subject)': " + reasons.joined(separator: "; "))
        }
    }
}

/// A `VerifierPolicy`: the leaf is no CA, and carries the required extended key usage (or no EKU extension at
/// all, which RFC 5280 reads as any usage; chaos leaves always carry one).
struct ExtendedKeyUsagePolicy: VerifierPolicy {
    let required: ExtendedKeyUsage.Usage?
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        guard let required else { return .meetsPolicy }
        if case .isCertificateAuthority? = (try? chain.leaf.extensions.basicConstraints) ?? nil {
            return .failsToMeetPolicy(reason: "a CA certificate is not a \(required) certificate")
        }
        let eku: ExtendedKeyUsage?
        do { eku = try chain.leaf.extensions.extendedKeyUsage } catch {
            return .failsToMeetPolicy(reason: "the extended key usage extension does not parse")
        }
        guard let eku else { return .meetsPolicy }
        if eku.contains(required) || eku.contains(.any) { return .meetsPolicy }
        let has = eku.map { String(describing: $0) }.joined(separator: ", ")
        return .failsToMeetPolicy(reason: "the certificate is not for \(required) (extended key usage: \(has))")
    }
}
