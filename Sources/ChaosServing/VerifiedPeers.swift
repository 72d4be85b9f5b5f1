public import ChaosPKI
import NIOCore
import NIOSSL
import SwiftASN1
import Synchronization
import X509

/// Who is on the other end of a TLS connection, from its client certificate, checked again against the
/// chaos CA with RFC 5280 rules (swift-certificates' verifier) and no intermediates: the TLS library let
/// a leaf signed by a sub-CA through, though the CA says `pathLen 0`. The identity must be strict (one
/// printable CN, one OU naming a role: ChaosPKI). Verified certificates are remembered by their DER bytes
/// (up to 1,024), so a request costs a lookup, not a signature check.
public final class VerifiedPeers: Sendable {
    private struct Trust { var roots: TrustedRoots?; var revoked: RevocationList }
    private let trust: Mutex<Trust>
    private let verified = Mutex<[[UInt8]: (identity: CertificateIdentity, revoked: Bool)]>([:])

    /// - Parameters:
    ///   - roots: the trusted CA(s); `nil` takes the TLS library's word (tests, plaintext).
    ///   - revoked: certificates refused whatever their chain (``RevocationList``).
    public init(roots: TrustedRoots?, revoked: RevocationList = RevocationList()) {
        trust = Mutex(Trust(roots: roots, revoked: revoked))
    }

    /// Replaces the trusted CAs and the revocation list (a reload); what was verified is forgotten.
    public func replace(roots: TrustedRoots?, revoked: RevocationList) {
        trust.withLock { $0 = Trust(roots: roots, revoked: revoked) }
        verified.withLock { $0.removeAll() }
    }

    /// How many serial numbers the revocation list holds now.
    public var revokedCount: Int { trust.withLock { $0.revoked.serials.count } }

    /// The peer's identity, or `nil` without a certificate, with one that is not strict, or with one that
    /// does not chain straight to a trusted CA.
    public func identity(of channel: any Channel) async -> CertificateIdentity? {
        // The TLS handler lives on the channel's event loop; read the certificate there.
        let der: [UInt8]?
        do {
            der = try await channel.pipeline.handler(type: NIOSSLServerHandler.self).flatMapThrowing { try $0.peerCertificate?.toDERBytes() }.get()
        } catch {
            return nil
        }
        guard let der else { return nil }
        if let known = verified.withLock({ $0[der] }) { return known.revoked ? nil : known.identity }
        guard let certificate = try? Certificate(derEncoded: der), let identity = try? CertificateIdentity(certificate: certificate) else { return nil }
        let (roots, revoked) = trust.withLock { ($0.roots, $0.revoked) }
        if let roots {
            guard case .trusted = await roots.verify(certificate, usage: .clientAuth) else { return nil }
        }
        let isRevoked = revoked.isRevoked(certificate)
        verified.withLock { cache in
            if cache.count >= 1024 { cache.removeAll() }
            cache[der] = (identity, isRevoked)
        }
        return isRevoked ? nil : identity
    }
}
