public import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosLinux
import ChaosPKI
import ChaosPOSIX
import ChaosServing
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
public import Logging
import NIOSSL
import ServiceLifecycle
import UnixSignals

/// Runs an agent: reverts what a previous agent left *before* it listens, serves the API, reverts
/// faults whose lease or deadline runs out, and on SIGTERM/SIGINT reverts everything, then exits.
public enum AgentServer {
    /// Hooks for the service manager (sd_notify), called as the agent's state changes.
    public struct Hooks: Sendable {
        public var ready: @Sendable (String) -> Void
        public var stopping: @Sendable () -> Void
        public var status: @Sendable (String) -> Void
        public init(ready: @escaping @Sendable (String) -> Void = { _ in }, stopping: @escaping @Sendable () -> Void = {},
                    status: @escaping @Sendable (String) -> Void = { _ in }) {
            self.ready = ready; self.stopping = stopping; self.status = status
        }
    }

    public static func run(_ config: AgentConfiguration, logger: Logger, hooks: Hooks = Hooks(),
                           extraServices: [any Service] = []) async throws {
        if let why = config.problem() { throw ChaosError.usage("agent.config", "The agent cannot start: \(why).") }
        // Helpers (stress workers, the delay relay) are hidden commands of `chaos`, installed beside
        // `chaos-agent`; the agent's own executable has none of them.
        let helper = helperExecutable()
        if helper == nil { logger.warning("no 'chaos' executable beside chaos-agent: stress and relayed delay faults will fail to start their helpers") }
        let host = LinuxHost(executable: helper)
        let engine = FaultEngine(ledger: try FaultLedger(directory: config.stateDir + "/ledger"), host: host)
        let me = ProcFS.process(ThisProcess.id)?.identity ?? ProcessIdentity(pid: ThisProcess.id, startTime: 0)
        let hostname = config.name ?? host.facts.hostname
        let resolver = TargetResolver(host: host, inventory: nil, localNames: { LocalIdentity.names(hostname: hostname) }, revealsProcessNames: false) { (argv, _) throws(ChaosError) -> String in
            throw ChaosError.usage("agent.noResolver", "The agent does not run resolver commands ('\(argv.joined(separator: " "))'); the caller resolves inventory targets.")
        }
        let manager = FaultManager(engine: engine, resolver: resolver, policy: config.policy, controlPort: config.port, me: me, stateDir: config.stateDir,
                                  defaultLease: config.defaultLease, maxLease: config.maxLease, audit: logger)
        let metrics = AgentMetrics()
        metrics.halted(await manager.isHalted)

        // Room for its connections (capped by ConnectionLimits) and the files of its faults.
        if let (before, after) = ResourceLimits.raiseOpenFiles() {
            logger.info("open files limit raised", metadata: ["from": "\(before)", "to": "\(after)"])
        }

        // 1. Recovery comes first: nothing is served until every leftover is reverted.
        hooks.status("reverting leftovers")
        for r in await manager.reap() {
            if let e = r.error { logger.error("could not revert leftover fault", metadata: ["fault.id": "\(r.id)", "fault.kind": "\(r.kind)", "error": "\(e)"]) }
            else { logger.notice("reverted leftover fault", metadata: ["fault.id": "\(r.id)", "fault.kind": "\(r.kind)", "reason": "\(r.reason)"]) }
        }

        // 2. Its identity: the certificate (or, on the first start, a key and a CSR and exit 78), reloadable.
        let credentials = config.plaintext ? nil : try AgentCredentials(config, hostname: hostname, metrics: metrics, logger: logger)
        let peers = PeerVerifier(credentials?.peers ?? VerifiedPeers(roots: nil))

        // 3. The API.
        let discovery = DiscoveryWatch()
        let router = AgentAPI.router(manager: manager, capabilities: { await host.capabilities() }, discovery: discovery,
                                     metrics: metrics, plaintext: config.plaintext, peers: peers,
                                     certificateNotAfter: { credentials?.notValidAfter })
        let http = HTTP1Channel.Configuration(idleTimeout: .seconds(30))
        let address = BindAddress.hostname(config.address, port: config.port)
        let onRunning: @Sendable (any Channel) async -> Void = { channel in
            let port = channel.localAddress?.port ?? config.port
            logger.notice("agent listening", metadata: ["address": "\(config.address)", "port": "\(port)", "tls": "\(!config.plaintext)"])
            hooks.ready("listening on \(config.address):\(port)")
        }
        // Bounded connections: a cap, and a TLS handshake that must finish in seconds.
        let connections = ConnectionCount()
        let server = HTTPServerBuilder.guarded(http, tls: credentials?.tls,
                                               limits: ConnectionLimits(maxConnections: config.maxConnections, handshakeTimeout: .nanoseconds(Int64(config.handshakeTimeout.components.seconds) * 1_000_000_000 + config.handshakeTimeout.components.attoseconds / 1_000_000_000)), count: connections)
        let app = Application(router: router, server: server,
                              configuration: .init(address: address, serverName: "chaos-agent"), onServerRunning: onRunning, logger: logger)

        // 4. The dead-man's switch, credentials reloaded on SIGHUP or a changed file, and graceful shutdown.
        let reaper = LeaseReaper(manager: manager, metrics: metrics, logger: logger)
        let watch: [any Service] = credentials.map { [CredentialWatch(credentials: $0, interval: credentialCheckInterval())] } ?? []
        let group = ServiceGroup(configuration: .init(services: [.init(service: app), .init(service: reaper)] + (watch + extraServices).map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await discovery.stop()
        hooks.stopping()
        hooks.status("reverting every fault before exit")
        for r in await manager.revertAll(reason: "agent shutting down") {
            logger.notice("reverted at shutdown", metadata: ["fault.id": "\(r.id)", "error": "\(r.error ?? "none")"])
        }
    }

    /// `chaos` in this executable's directory, if it is there.
    static func helperExecutable() -> String? {
        let chaos = ThisProcess.sibling("chaos")
        return POSIXFiles.isExecutable(chaos) ? chaos : nil
    }

    /// How often the credential files are checked for a change: 30 s, or `CHAOS_CREDENTIAL_CHECK_MS`
    /// (100 ms to 1 h; tests use it).
    static func credentialCheckInterval() -> Duration {
        if let text = ProcessInfo.processInfo.environment["CHAOS_CREDENTIAL_CHECK_MS"], let ms = Int(text), (100...3_600_000).contains(ms) { return .milliseconds(ms) }
        return .seconds(30)
    }
}

/// Reverts faults whose lease or deadline has run out, waking exactly when the next one is due, or
/// when a fault is added or renewed (the manager rings `changed`). With no fault open it sleeps
/// until one is: an idle agent does not wake at all.
struct LeaseReaper: Service {
    let manager: FaultManager
    let metrics: AgentMetrics
    let logger: Logger

    func run() async throws {
        let alarm = manager.changed
        var backoff = RetryBackoff()
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    let reaped = await manager.reap()
                    for r in reaped {
                        if r.error == nil {
                            if r.reason == "its lease ran out" { metrics.leaseExpired(r.kind) } else { metrics.reverted(r.kind) }
                            logger.notice("reverted expired fault", metadata: ["fault.id": "\(r.id)", "fault.kind": "\(r.kind)", "reason": "\(r.reason)"])
                        } else if backoff.shouldLog {
                            logger.error("could not revert expired fault; retrying", metadata: ["fault.id": "\(r.id)", "fault.kind": "\(r.kind)", "reason": "\(r.reason)",
                                                                                               "error": "\(r.error ?? "")", "retry.ms": "\(backoff.delayMs)"])
                        }
                    }
                    // A revert that fails (a full disk, a tool that hangs) is retried with growing pauses
                    // (100 ms doubling to 30 s), never in a tight loop.
                    let failed = reaped.contains { $0.error != nil }
                    let floor = failed ? backoff.next() : backoff.reset()
                    let now = SystemWallClock().now()
                    let due = await manager.nextExpiry().map { max(1, $0 - now) }
                    await alarm.sleep(milliseconds: failed ? max(floor, due ?? floor) : due)
                }
            } onCancel: { alarm.ring() }
        } onGracefulShutdown: { alarm.ring() }
    }
}

/// Growing pauses between retries of a failing revert: 100 ms, doubling, at most 30 s; and a log
/// line at each doubling and then every 30 s, so a fault that cannot be reverted neither floods the
/// journal nor goes quiet.
struct RetryBackoff {
    static let capMs: Int64 = 30_000
    private(set) var delayMs: Int64 = 0
    private(set) var shouldLog = true

    mutating func next() -> Int64 {
        let grown = delayMs == 0 ? 100 : min(delayMs * 2, Self.capMs)
        shouldLog = grown != delayMs || grown == Self.capMs
        delayMs = grown
        return delayMs
    }

    @discardableResult
    mutating func reset() -> Int64 {
        delayMs = 0
        shouldLog = true
        return 0
    }
}
