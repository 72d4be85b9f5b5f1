import ChaosCore
import ChaosPOSIX
import ChaosEngine
import Glibc
import Synchronization

/// The agents of an inventory, reached with the caller's certificate.
public struct AgentFleet: Sendable {
    public let inventory: Inventory
    public let session: any AgentSession
    /// Lent by a longer-lived owner (the controller's one session): `close()` leaves it open.
    public var borrowed = false

    public init(inventory: Inventory, session: any AgentSession, borrowed: Bool = false) {
        self.inventory = inventory; self.session = session; self.borrowed = borrowed
    }

    /// The same session, for a user that must not close it.
    public func lent() -> AgentFleet { AgentFleet(inventory: inventory, session: session, borrowed: true) }

    /// Opens a session through `connector` with the identity of `settings`.
    public static func open(_ inventory: Inventory, connector: any AgentConnector, settings: RunSettings) throws(ChaosError) -> AgentFleet {
        AgentFleet(inventory: inventory, session: try connector.open(try credentials(settings)))
    }

    /// Opens a session with the environment's connector and identity.
    public static func open(_ inventory: Inventory, environment: RunEnvironment) throws(ChaosError) -> AgentFleet {
        try open(inventory, connector: try environment.agents(), settings: environment.settings)
    }

    /// The certificate, key and CA of the caller's identity.
    public static func credentials(_ settings: RunSettings) throws(ChaosError) -> ClientCredentials {
        let dir = settings.pkiDir ?? Environment.value("CHAOS_PKI_DIR") ?? "/etc/chaos/pki"
        let name = settings.identity ?? Environment.value("CHAOS_IDENTITY") ?? Environment.value("USER") ?? loginName()
        // Under a systemd unit with LoadCredential= (the controller's), each file may come from $CREDENTIALS_DIRECTORY.
        let c = ClientCredentials(certificate: SystemdCredentials.resolve("\(dir)/\(name).pem"), key: SystemdCredentials.resolve("\(dir)/\(name)-key.pem"),
                                  ca: SystemdCredentials.resolve("\(dir)/ca.pem"))
        for file in [c.certificate, c.key, c.ca] {
            do throws(SyscallError) { try POSIXFiles.checkReadable(file) } catch {
                if error.tooManyOpenFiles {
                    throw ChaosError("host.tooManyFiles", "Cannot read '\(file)': too many open files (the limit is \(ResourceLimits.openFiles.map(String.init) ?? "unknown")). Raise it: LimitNOFILE= in the systemd unit, or 'ulimit -n 65536'.")
                }
                throw .usage("agent.noIdentity", "Cannot read '\(file)' (\(error.reason)): agents need your certificate to accept you. Issue one with 'chaos certs issue --operator \(name) --pki-dir \(dir)', or name yours with '--identity NAME' and '--pki-dir DIR' (env CHAOS_IDENTITY, CHAOS_PKI_DIR).")
            }
        }
        return c
    }

    static func loginName() -> String { ThisProcess.userName() ?? "root" }

    /// A client for `host`'s agent.
    public func client(_ host: Inventory.Host) throws(ChaosError) -> any AgentClient {
        guard let url = host.agent else {
            throw .usage("inventory.noAgent", "Host '\(host.name)' has no 'agent' in the inventory. Add e.g. 'agent: https://\(host.address):7433'.")
        }
        return try session.agent(url: url, hostName: host.name)
    }

    /// The hosts named in `only` (all hosts with an agent when empty).
    public func hosts(_ only: [String]) throws(ChaosError) -> [Inventory.Host] {
        if only.isEmpty {
            let hosts = inventory.hosts.filter { $0.agent != nil }
            if hosts.isEmpty { throw .usage("inventory.noAgent", "No host in the inventory has an 'agent' URL; add e.g. 'agent: https://ADDRESS:7433' to each host.") }
            return hosts
        }
        return try only.map { (name: String) throws(ChaosError) -> Inventory.Host in
            guard let h = inventory.host(named: name) else {
                let hint = Spelling.closest(to: name, in: inventory.hosts.map(\.name)).map { " Did you mean '\($0)'?" } ?? ""
                throw .usage("target.unknownHost", "No host '\(name)' in the inventory.\(hint)")
            }
            return h
        }
    }

    /// Runs `body` on every host's agent at once; results in the order of `hosts`.
    public func each<T: Sendable>(_ hosts: [Inventory.Host], _ body: @escaping @Sendable (any AgentClient) async throws(ChaosError) -> T) async -> [(Inventory.Host, Result<T, ChaosError>)] {
        var clients: [(Int, Result<any AgentClient, ChaosError>)] = []
        for (i, h) in hosts.enumerated() {
            do { clients.append((i, .success(try client(h)))) } catch { clients.append((i, .failure(error))) }
        }
        let results = await withTaskGroup(of: (Int, Result<T, ChaosError>).self) { group in
            for (i, c) in clients {
                group.addTask {
                    switch c {
                    case .failure(let e): return (i, .failure(e))
                    case .success(let client): return (i, await Self.attempt(client, body))
                    }
                }
            }
            var out: [(Int, Result<T, ChaosError>)] = []
            for await r in group { out.append(r) }
            return out
        }
        let byIndex = Dictionary(uniqueKeysWithValues: results)
        return hosts.indices.map { (hosts[$0], byIndex[$0]!) }
    }

    private static func attempt<T>(_ client: any AgentClient, _ body: @Sendable (any AgentClient) async throws(ChaosError) -> T) async -> Result<T, ChaosError> {
        do { return .success(try await body(client)) } catch { return .failure(error) }
    }

    public func close() async { if !borrowed { await session.close() } }
}

/// Renews a fault's lease every third of it, and says once when renewals fail.
public final class LeaseKeeper: Sendable {
    /// The lease of held faults: renewed every third of it, so two renewals may fail in a row.
    public static let lease = ChaosDuration.seconds(9)

    public let agent: any AgentClient
    public let id: String
    public let lease: ChaosDuration
    private let clock: any ChaosClock
    private let state = Mutex<(next: Int64, expiry: Int64?, warned: Bool, ended: Bool)>((0, nil, false, false))

    public init(agent: any AgentClient, id: String, lease: ChaosDuration, clock: any ChaosClock = SystemWallClock()) {
        self.agent = agent; self.id = id; self.lease = lease; self.clock = clock
        let next = clock.now() + lease.milliseconds / 3
        state.withLock { $0.next = next }
    }

    public var lastExpiry: Int64? { state.withLock { $0.expiry } }
    /// Whether the fault is over on the agent (reverted there, or unknown to it): nothing to renew.
    public var ended: Bool { state.withLock { $0.ended } }

    public func renewIfDue() async {
        let now = clock.now()
        guard state.withLock({ now >= $0.next }) else { return }
        do {
            let f = try await agent.renew(id, lease: lease)
            state.withLock { $0.next = now + lease.milliseconds / 3; $0.expiry = f.leaseExpiresAt; $0.warned = false }
        } catch where ["fault.alreadyReverted", "ledger.unknownFault", "agent.halted"].contains(error.code) {
            state.withLock { $0.ended = true }
        } catch {
            let warn = state.withLock { s -> Bool in
                s.next = now + 1000
                defer { s.warned = true }
                return !s.warned
            }
            if warn { Terminal.err("warning: could not renew the lease of \(id) on \(agent.hostName): \(error.message) Retrying; if the lease runs out, the agent reverts the fault.") }
        }
    }
}
