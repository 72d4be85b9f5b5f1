public import ChaosCore
import ChaosPKI
import ChaosPOSIX
import ChaosServing
import Foundation
public import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization
import UnixSignals
import X509

/// The agent's TLS identity: its certificate and key, the CAs it trusts and the certificates it refuses.
///
/// - **First start:** with no certificate yet, the agent makes its own key (0600) and a CSR beside the
///   certificate's path (`agent.csr`), says what to do with it, and stops with exit 78 (EX_CONFIG; the unit
///   does not restart on it). The private key never leaves the host: the CSR is signed by `chaos certs
///   approve` or through a join token (`chaos certs enrol`).
/// - **Reload:** on SIGHUP, and when one of the files changes on disk (checked every 30 s), everything is
///   read again and replaces the old only if all of it is valid: new connections get the new certificate,
///   open ones and every fault are kept. A reload that fails keeps the old credentials and says why.
public final class AgentCredentials: Sendable {
    let config: AgentConfiguration
    let tls: ReloadableTLS
    let peers: VerifiedPeers
    let metrics: AgentMetrics
    let logger: Logger
    private let stamps: Mutex<[String]>
    private let expires: Mutex<Date?>

    /// Loads the credentials of a TLS agent.
    /// - Throws: `agent.tls` naming the file and what to do; `agent.enrolment` (exit 78) when the agent has
    ///   no certificate yet (after making its key and CSR).
    init(_ config: AgentConfiguration, hostname: String, metrics: AgentMetrics, logger: Logger) throws(ChaosError) {
        self.config = config
        self.metrics = metrics
        self.logger = logger
        try Self.enrolIfNeeded(config, hostname: hostname, logger: logger)
        let loaded = try Self.load(config)
        do { tls = try ReloadableTLS(loaded.tls) } catch {
            throw Self.tlsError(config, error)
        }
        peers = VerifiedPeers(roots: loaded.roots, revoked: loaded.revoked)
        stamps = Mutex(Self.stamps(config))
        expires = Mutex(loaded.notAfter)
        metrics.certificateExpires(loaded.notAfter)
    }

    /// When the serving certificate expires.
    public var notValidAfter: Date? { expires.withLock { $0 } }

    // MARK: First start

    /// The CSR's path: the certificate's with `.csr` for `.pem` (`/var/lib/chaos/pki/agent.csr`).
    static func csrPath(_ certificate: String) -> String {
        (certificate.hasSuffix(".pem") ? String(certificate.dropLast(4)) : certificate) + ".csr"
    }

    static func enrolIfNeeded(_ config: AgentConfiguration, hostname: String, logger: Logger) throws(ChaosError) {
        guard let certificate = config.certificate, let keyPath = config.key, !POSIXFiles.exists(certificate) else { return }
        let (key, created) = try SigningRequest.ensureKey(at: keyPath)
        let csrPath = csrPath(certificate)
        let csr = try SigningRequest.make(name: hostname, key: key)
        try PKIFiles.write(csr, to: csrPath, mode: PKIFiles.certificateMode, force: true)
        let fingerprint = (try? SigningRequest.verify(pem: csr, source: csrPath).keyFingerprint) ?? "?"
        logger.notice("waiting for a certificate", metadata: ["key": "\(keyPath)", "key.created": "\(created)", "csr": "\(csrPath)", "key.sha256": "\(fingerprint)"])
        throw ChaosError("agent.enrolment", """
            The agent has no certificate yet ('\(certificate)' does not exist). It \(created ? "made" : "kept") its private key \
            '\(keyPath)' (it never leaves this host) and wrote a signing request '\(csrPath)' for '\(hostname)' \
            (key SHA-256 \(fingerprint)). Either enrol with a join token: 'chaos certs enrol --token TOKEN --server CA-HOST:7435' \
            (make the token on the CA host with 'chaos certs token --host \(hostname) --san ADDRESS'), or copy the CSR to the CA \
            host and sign it there: 'chaos certs approve agent.csr --name \(hostname) --san ADDRESS', then put the certificate \
            at '\(certificate)' and the CA at '\(config.ca ?? "tls.ca")'. Then start the agent again.
            """, exit: .notConfigured)
    }

    // MARK: Loading

    struct Loaded {
        var tls: TLSConfiguration
        var roots: TrustedRoots
        var revoked: RevocationList
        var notAfter: Date?
    }

    static func load(_ c: AgentConfiguration) throws(ChaosError) -> Loaded {
        guard let cert = c.certificate, let key = c.key, let ca = c.ca else {
            throw ChaosError.usage("agent.config", "TLS needs 'tls.certificate', 'tls.key' and 'tls.ca'.")
        }
        let roots = try TrustedRoots(pemFiles: [ca])
        let revoked = try c.revoked.map { path throws(ChaosError) in try RevocationList.load(path) } ?? RevocationList()
        let leaf = try PKIFiles.readCertificates(cert)[0]
        if revoked.isRevoked(leaf) {
            throw ChaosError("agent.tls", "The agent's own certificate '\(cert)' (serial \(PKIFormat.serialHex(leaf))) is on the revocation list '\(c.revoked ?? "")'. Issue it a new one.")
        }
        do {
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            tls.trustRoots = .file(ca)
            // Mutual TLS: a client without a certificate from this CA is refused in the handshake.
            tls.certificateVerification = .noHostnameVerification
            tls.minimumTLSVersion = .tlsv12
            // A key that is not the certificate's fails here, not at the first handshake.
            _ = try NIOSSLContext(configuration: tls)
            return Loaded(tls: tls, roots: roots, revoked: revoked, notAfter: leaf.notValidAfter)
        } catch {
            throw tlsError(c, error)
        }
    }

    static func tlsError(_ c: AgentConfiguration, _ error: any Error) -> ChaosError {
        ChaosError("agent.tls", "Cannot load the agent's TLS files (\(c.certificate ?? "?"), \(c.key ?? "?"), \(c.ca ?? "?")): \(error). Check that the certificate and the key belong together ('chaos certs show'), or enrol again ('chaos certs enrol').")
    }

    // MARK: Reloading

    /// Reads everything again; replaces the credentials only if all of it is valid.
    /// - Returns: `nil` when reloaded, else why not (the old credentials stay).
    @discardableResult
    public func reload(reason: String) -> String? {
        let now = Self.stamps(config)
        do {
            let loaded = try Self.load(config)
            try tls.replace(loaded.tls)
            peers.replace(roots: loaded.roots, revoked: loaded.revoked)
            stamps.withLock { $0 = now }
            expires.withLock { $0 = loaded.notAfter }
            metrics.certificateExpires(loaded.notAfter)
            metrics.credentialsReloaded(ok: true)
            logger.notice("credentials reloaded", metadata: ["reason": "\(reason)", "certificate.notValidAfter": "\(loaded.notAfter.map { PKIFormat.day($0) } ?? "?")",
                                                              "revoked": "\(loaded.revoked.serials.count)"])
            return nil
        } catch {
            // Do not retry the same broken files every 30 s; a change or a SIGHUP tries again.
            stamps.withLock { $0 = now }
            metrics.credentialsReloaded(ok: false)
            let why = (error as? ChaosError)?.message ?? "\(error)"
            logger.error("credentials not reloaded; the previous ones stay in use", metadata: ["reason": "\(reason)", "error": "\(why)"])
            return why
        }
    }

    /// Whether a file changed since the last (re)load.
    func changed() -> Bool { stamps.withLock { $0 } != Self.stamps(config) }

    static func stamps(_ c: AgentConfiguration) -> [String] {
        [c.certificate, c.key, c.ca, c.revoked].compactMap { $0 }.map(POSIXFiles.stamp)
    }
}

/// Reloads the credentials on SIGHUP, and when their files change (checked every `interval`).
struct CredentialWatch: Service {
    let credentials: AgentCredentials
    var interval: Duration = .seconds(30)

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        try await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in hangups { credentials.reload(reason: "SIGHUP") }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        if !Task.isCancelled && credentials.changed() { credentials.reload(reason: "a file changed") }
                    }
                }
                await group.waitForAll()
            }
        }
    }
}
