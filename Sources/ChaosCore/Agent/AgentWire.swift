import Foundation
/// The bodies of the agent API (docs/agent-api.md), shared by the agent that writes them and the
/// clients that read them, so the two cannot drift apart.

/// A fault as the agent API shows it.
public struct AgentFault: Codable, Hashable, Sendable {
    public var id: String
    public var kind: FaultKind
    /// planned, injecting, injected, reverting, reverted; `applied` for a kill that is done.
    public var state: String
    public var target: String
    public var actions: [String]
    public var deadline: Int64?
    public var leaseExpiresAt: Int64?
    public var runID: String?
    public var idempotencyKey: String?
    public var requestedBy: String?
    public var failure: String?
    /// The note of its last change, e.g. why it was reverted ("its lease ran out", "halt by operator/alice: ...").
    public var note: String?
    /// For kills: whether the victims were confirmed gone ("active") or what was found instead.
    public var verified: String?
    /// Whether this call created it (false when the idempotency key matched an earlier fault).
    public var created: Bool?

    public init(id: String, kind: FaultKind, state: String, target: String, actions: [String], deadline: Int64? = nil,
                leaseExpiresAt: Int64? = nil, runID: String? = nil, idempotencyKey: String? = nil, requestedBy: String? = nil,
                failure: String? = nil, note: String? = nil, verified: String? = nil, created: Bool? = nil) {
        self.id = id; self.kind = kind; self.state = state; self.target = target; self.actions = actions
        self.deadline = deadline; self.leaseExpiresAt = leaseExpiresAt; self.runID = runID
        self.idempotencyKey = idempotencyKey; self.requestedBy = requestedBy; self.failure = failure
        self.note = note; self.verified = verified; self.created = created
    }

    /// Whether the fault is over (reverted, or a kill that was applied).
    public var isFinished: Bool { state == "reverted" || state == "applied" }
}

/// `GET /v1/health`.
public struct AgentHealth: Codable, Hashable, Sendable {
    public var status: String
    public var halted: Bool
    public var faults: Int
    /// When the agent's serving certificate expires (ms since the epoch); absent in plaintext mode and from older agents.
    public var certificateNotAfter: Int64?
    public init(status: String, halted: Bool, faults: Int, certificateNotAfter: Int64? = nil) {
        self.status = status; self.halted = halted; self.faults = faults; self.certificateNotAfter = certificateNotAfter
    }

    /// Days a certificate must have left before `chaos status` stops warning about it.
    public static let certificateWarningDays: Int64 = 14

    /// A warning when the certificate expires within ``certificateWarningDays`` (or did), else `nil`.
    public func certificateWarning(now: Int64) -> String? {
        guard let end = certificateNotAfter else { return nil }
        let left = end - now
        if left <= 0 { return "its certificate EXPIRED \(max(0, -left) / 86_400_000) days ago: callers cannot reach it; renew it (chaos certs approve/enrol, then systemctl reload chaos-agent)" }
        if left < Self.certificateWarningDays * 86_400_000 {
            return "its certificate expires in \(left / 86_400_000) days: renew it (chaos certs approve/enrol, then systemctl reload chaos-agent; faults are kept)"
        }
        return nil
    }
}

/// `POST /v1/fence`: the highest controller epoch the agent has seen (after admitting the request's).
public struct FenceAnswer: Codable, Hashable, Sendable {
    public var epoch: UInt64
    public init(epoch: UInt64) { self.epoch = epoch }
}

/// `POST /v1/halt`: the faults reverted, and those that could not be (`id: why`).
public struct AgentHaltResult: Codable, Hashable, Sendable {
    public var halted: Bool
    public var reverted: [String]
    public var failed: [String]
    public init(halted: Bool, reverted: [String], failed: [String]) { self.halted = halted; self.reverted = reverted; self.failed = failed }
}

/// `POST /v1/preview`: which processes a selection would hit.
public struct AgentPreview: Codable, Hashable, Sendable {
    public var target: String
    public var victims: [ProcessEntry]
    public var matched: Int
    public var unit: String?
    public init(target: String, victims: [ProcessEntry], matched: Int, unit: String?) {
        self.target = target; self.victims = victims; self.matched = matched; self.unit = unit
    }
}

/// Every error response: `{"error": {"code", "message", "diagnostics"?}}`.
public struct AgentErrorBody: Codable, Sendable {
    public var error: Detail
    public struct Detail: Codable, Sendable {
        public var code: String
        public var message: String
        public var diagnostics: [Diagnostic]?
        public init(code: String, message: String, diagnostics: [Diagnostic]? = nil) {
            self.code = code; self.message = message; self.diagnostics = diagnostics
        }
    }
    public init(error: Detail) { self.error = error }
}

/// One agent, as a client sees it. Every call throws ``ChaosError``: the agent's own error (its code
/// and message) or `agent.unreachable` / `agent.protocol` when it could not be asked.
public protocol AgentClient: Sendable {
    /// The inventory host name of this agent, for messages.
    var hostName: String { get }
    func health() async throws(ChaosError) -> AgentHealth
    func faults(all: Bool) async throws(ChaosError) -> [AgentFault]
    func fault(_ id: String) async throws(ChaosError) -> AgentFault
    func inject(_ request: InjectRequest) async throws(ChaosError) -> AgentFault
    func revert(_ id: String) async throws(ChaosError) -> AgentFault
    func renew(_ id: String, lease: ChaosDuration) async throws(ChaosError) -> AgentFault
    func halt(reason: String) async throws(ChaosError) -> AgentHaltResult
    func resume() async throws(ChaosError)
    func preview(_ request: InjectRequest) async throws(ChaosError) -> AgentPreview
    /// The host's view of the architecture (`GET /v1/discovery`).
    func discovery() async throws(ChaosError) -> HostDiscovery
    /// Starts (or extends) a watch of the host's connections (`POST /v1/discovery/watch`).
    func watchDiscovery(for duration: ChaosDuration, every: ChaosDuration) async throws(ChaosError) -> DiscoveryWatchStatus
    /// Shows the agent this controller's leadership epoch (`POST /v1/fence`), so that it refuses a
    /// deposed leader before the new one ever injects there. Returns the highest epoch it has seen.
    func fence() async throws(ChaosError) -> UInt64
}

extension AgentClient {
    public func fence() async throws(ChaosError) -> UInt64 {
        throw ChaosError("agent.unsupported", "\(hostName): this agent client cannot show a controller epoch.")
    }
}

/// The files of a client identity: its certificate and key, and the CA the agents' certificates
/// must chain to.
public struct ClientCredentials: Hashable, Sendable {
    public var certificate: String
    public var key: String
    public var ca: String
    public init(certificate: String, key: String, ca: String) { self.certificate = certificate; self.key = key; self.ca = ca }
}

/// Opens connections to agents with one identity. Close the session when done.
public protocol AgentConnector: Sendable {
    func open(_ credentials: ClientCredentials) throws(ChaosError) -> any AgentSession
    /// The same connector, sending `epoch` (when it has one) with every inject, renew and fence:
    /// what a controller leading a shared store uses (`chaos-controller-epoch`).
    func fenced(by epoch: FencingEpoch) -> any AgentConnector
}

extension AgentConnector {
    public func fenced(by epoch: FencingEpoch) -> any AgentConnector { self }
}

/// A set of connections to agents, with one identity.
public protocol AgentSession: Sendable {
    /// A client for the agent at `url` (e.g. `https://10.0.0.11:7433`) of host `name`.
    func agent(url: String, hostName: String) throws(ChaosError) -> any AgentClient
    func close() async
}

/// Calls a controller's API (`chaos halt --controller URL`): with the caller's certificate when it
/// has one, else with an API token; the controller's certificate must chain to `ca`.
public protocol ControllerConnector: Sendable {
    /// The response body of a 2xx answer; else throws with the controller's error message.
    func call(base: String, method: String, path: String, json: Data?, credentials: ClientCredentials?, ca: String, token: String?) async throws(ChaosError) -> Data
}
