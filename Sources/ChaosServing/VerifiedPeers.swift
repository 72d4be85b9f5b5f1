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
    let roots: TrustedRoots?
    private let verified = Mutex<[[UInt8]: CertificateIdentity]>([:])

    /// - Parameter roots: the trusted CA(s); `nil` takes the TLS library's word (tests, plaintext).
    public init(roots: TrustedRoots?) { self.roots = roots }

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
        if let known = verified.withLock({ $0[der] }) { return known }
        guard let certificate = try? Certificate(derEncoded: der), let identity = try? CertificateIdentity(certificate: certificate) else { return nil }
        if let roots {
            guard case .trusted = await roots.verify(certificate, usage: .clientAuth) else { return nil }
        }
        verified.withLock { cache in
            if cache.count >= 1024 { cache.removeAll() }
            cache[der] = identity
        }
        return identity
    }
}
