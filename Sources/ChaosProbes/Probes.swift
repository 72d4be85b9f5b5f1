import AsyncHTTPClient
public import ChaosCore
public import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Makes the runners of probes and owns what they share: the HTTP clients (one per TLS setting and
/// connect timeout, made when a probe first needs it) and the event loops.
///
/// Every HTTP observation uses a connection of its own (no keep-alive between observations), so each
/// one measures connect, TLS and response as a new client would, and a connection cut by a fault is
/// never reused. Redirects are not followed: a 3xx is what the probe saw.
public final class Probes: ProbeFactory {
    /// How an HTTP client verifies servers.
    enum Trust: Hashable, Sendable {
        /// Full verification against the system's roots.
        case system
        /// Full verification against the certificates of one CA bundle (a file).
        case bundle(String)
        /// No verification (`insecure: true`).
        case none
    }

    /// What makes two probes need different clients.
    struct ClientKey: Hashable, Sendable {
        var trust: Trust
        /// The connect timeout: just under the probe's timeout, so that a connection attempt never
        /// outlives the observation that started it (a later observation would otherwise wait for it).
        var connectTimeoutMs: Int64
    }

    struct State: Sendable {
        var clients: [ClientKey: HTTPClient] = [:]
        var closed = false
    }

    let group: any EventLoopGroup
    /// Event loops made by ``init(eventLoopThreads:)``, shut down with the clients.
    let ownedGroup: MultiThreadedEventLoopGroup?
    let state = Mutex(State())

    /// - Parameter eventLoopGroup: the event loops for HTTP, Prometheus and TCP probes (default: NIO's
    ///   shared singleton). The caller keeps ownership: ``shutdown()`` does not shut it down.
    public init(eventLoopGroup: (any EventLoopGroup)? = nil) {
        group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        ownedGroup = nil
    }

    /// Probes with event loops of their own, shut down by ``shutdown()``. The threads are made now,
    /// by the calling thread, and so share its network namespace. NIO and AsyncHTTPClient create
    /// most sockets on the thread that calls them, though: to probe from inside another namespace,
    /// make these on a thread that joined it (`setns`) and also run `observe()` on such a thread
    /// (a task executor); the tests do both.
    public init(eventLoopThreads: Int) {
        let made = MultiThreadedEventLoopGroup(numberOfThreads: max(1, eventLoopThreads))
        group = made
        ownedGroup = made
    }

    public func runner(for spec: ProbeSpec) throws(ChaosError) -> any ProbeRunner {
        if state.withLock({ $0.closed }) { throw closedError() }
        switch spec.type {
        case .http:
            guard spec.url != nil else { throw missing(spec, "url", "e.g. 'url: http://10.0.0.10/health'") }
            return HTTPProbe(spec: spec, client: try client(for: spec))
        case .prometheus:
            guard spec.url != nil else { throw missing(spec, "url", "the Prometheus base URL, e.g. 'url: http://10.0.0.5:9090'") }
            guard spec.query != nil else { throw missing(spec, "query", "an instant query, e.g. 'query: up{job=\"redis\"}'") }
            return PrometheusProbe(spec: spec, client: try client(for: spec))
        case .tcp:
            guard spec.address != nil else { throw missing(spec, "address", "e.g. 'address: 10.0.0.21:6379'") }
            return TCPProbe(spec: spec, eventLoopGroup: group)
        case .command:
            guard let argv = spec.command, !argv.isEmpty, !argv[0].isEmpty else { throw missing(spec, "command", "the argv, e.g. 'command: [redis-cli, ping]'") }
            return CommandProbe(spec: spec)
        }
    }

    /// Shuts every HTTP client down, and the event loops if these probes made them (a group given
    /// to ``init(eventLoopGroup:)`` stays the caller's).
    /// Runners made before keep their clients and observe `blind` afterwards.
    public func shutdown() async {
        let (clients, first) = state.withLock { s -> ([HTTPClient], Bool) in
            defer { s.closed = true; s.clients = [:] }
            return (Array(s.clients.values), !s.closed)
        }
        for c in clients { try? await c.shutdown() }
        if first { try? await ownedGroup?.shutdownGracefully() }
    }

    /// The client for a probe's TLS settings and timeout, made on first use.
    func client(for spec: ProbeSpec) throws(ChaosError) -> HTTPClient {
        let trust: Trust = spec.insecure == true ? .none : spec.caFile.map { .bundle($0) } ?? .system
        let key = ClientKey(trust: trust, connectTimeoutMs: max(1, spec.timeout.milliseconds * 9 / 10))
        if let existing = try existingClient(key) { return existing }
        // The CA bundle is read outside the lock; the client is made under it (no I/O), once per key.
        let configuration = try Self.configuration(key)
        let group = self.group
        let chosen = state.withLock { s -> HTTPClient? in
            if s.closed { return nil }
            if let other = s.clients[key] { return other }
            let made = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
            s.clients[key] = made
            return made
        }
        guard let chosen else { throw closedError() }
        return chosen
    }

    func existingClient(_ key: ClientKey) throws(ChaosError) -> HTTPClient? {
        let (client, closed) = state.withLock { s in (s.clients[key], s.closed) }
        if closed { throw closedError() }
        return client
    }

    func closedError() -> ChaosError {
        .internalError("probe.closed", "The probes were shut down; no new probe can start.")
    }

    func missing(_ spec: ProbeSpec, _ field: String, _ example: String) -> ChaosError {
        .usage("probe.invalid", "Probe '\(spec.name)' (\(spec.type.rawValue)) has no '\(field)'. Add \(example).")
    }

    static func configuration(_ key: ClientKey) throws(ChaosError) -> HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch key.trust {
        case .system:
            tls.certificateVerification = .fullVerification
        case .none:
            tls.certificateVerification = .none
        case .bundle(let path):
            tls.certificateVerification = .fullVerification
            tls.trustRoots = .certificates(try caBundle(path))
        }
        var config = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                              timeout: .init(connect: .milliseconds(key.connectTimeoutMs)))
        config.httpVersion = .http1Only
        config.maximumUsesPerConnection = 1
        // Fail an observation at its first refused connect instead of retrying until the deadline.
        config.connectionPool.retryConnectionEstablishment = false
        config.decompression = .disabled
        return config
    }

    /// The certificates of a PEM CA bundle.
    static func caBundle(_ path: String) throws(ChaosError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do { certificates = try NIOSSLCertificate.fromPEMFile(path) } catch {
            throw .usage("probe.caFile", "Cannot read the CA bundle '\(path)' (\(error)). Give 'caFile' as a readable PEM file of CA certificates.")
        }
        guard !certificates.isEmpty else {
            throw .usage("probe.caFile", "'\(path)' holds no PEM certificate. Give 'caFile' as a PEM file of CA certificates.")
        }
        return certificates
    }
}
