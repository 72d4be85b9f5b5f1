/// What the controller shows and does through its API and dashboard, as values. The controller
/// (ChaosRun) implements ``ControllerBackend``; the HTTP face (ChaosController) only calls it.

/// One line of the audit log: who did what, when.
public struct AuditEntry: Hashable, Sendable, Codable {
    public var at: Int64
    /// The caller with its role and credential (`alice (operator, certificate)`, see ``ControllerCaller``);
    /// `controller` for its own acts.
    public var who: String
    /// `halt`, `resume`, ...
    public var action: String
    public var detail: String
    public init(at: Int64, who: String, action: String, detail: String) { self.at = at; self.who = who; self.action = action; self.detail = detail }
}

/// The audit log (in the controller's store).
public protocol AuditStoring: Sendable {
    func append(_ entry: AuditEntry) async throws(ChaosError)
    /// Newest first.
    func auditEntries(limit: Int) async throws(ChaosError) -> [AuditEntry]
}

/// Whether chaos is halted, by whom and why. Kept in the store: a restarted controller stays halted.
public struct HaltState: Hashable, Sendable, Codable {
    public var halted: Bool
    public var by: String?
    public var reason: String?
    public var at: Int64?
    public init(halted: Bool, by: String? = nil, reason: String? = nil, at: Int64? = nil) {
        self.halted = halted; self.by = by; self.reason = reason; self.at = at
    }
    public static let running = HaltState(halted: false)
}

/// A fire the schedule plans in the coming hours (or why it will not happen).
public struct UpcomingFire: Hashable, Sendable, Codable {
    public var experiment: String
    public var target: String
    public var at: Int64
    public var trigger: String
    /// `blackout`, `holiday`, `spacing_target`, ... when it will be skipped.
    public var skipCode: String?
    public var skipReason: String?
    public init(experiment: String, target: String, at: Int64, trigger: String, skipCode: String? = nil, skipReason: String? = nil) {
        self.experiment = experiment; self.target = target; self.at = at; self.trigger = trigger; self.skipCode = skipCode; self.skipReason = skipReason
    }
}

/// A probe of a run in progress, as last observed.
public struct LiveProbe: Hashable, Sendable, Codable {
    public var name: String
    /// `ok`, `failing`, `blind` or `waiting` (no observation yet).
    public var status: String
    public var detail: String?
    public init(name: String, status: String, detail: String? = nil) { self.name = name; self.status = status; self.detail = detail }
}

/// A run in progress.
public struct LiveRun: Hashable, Sendable, Codable {
    public var runID: String
    public var experiment: String
    public var target: String
    public var startedAt: Int64
    /// The last step reached (`started`, `gateMet`, `injected`, `reverted`, ...).
    public var step: String
    public var probes: [LiveProbe]
    public init(runID: String, experiment: String, target: String, startedAt: Int64, step: String, probes: [LiveProbe]) {
        self.runID = runID; self.experiment = experiment; self.target = target; self.startedAt = startedAt; self.step = step; self.probes = probes
    }
}

/// The agents as the controller last polled them (it asks each one's health every few seconds,
/// which also keeps its connections open for a halt).
public struct AgentsSummary: Hashable, Sendable, Codable {
    public var total: Int
    public var reachable: Int
    public var halted: Int
    /// Hosts that did not answer (at most 20), with why.
    public var unreachable: [AgentAck]
    public var checkedAt: Int64
    public init(total: Int, reachable: Int, halted: Int, unreachable: [AgentAck], checkedAt: Int64) {
        self.total = total; self.reachable = reachable; self.halted = halted; self.unreachable = unreachable; self.checkedAt = checkedAt
    }
}

/// The dashboard's front page.
public struct ControllerOverview: Hashable, Sendable, Codable {
    public var now: Int64
    public var halt: HaltState
    public var running: [LiveRun]
    public var upcoming: [UpcomingFire]
    public var experiments: Int
    public var scheduled: Int
    /// nil until the first poll (or without agents).
    public var agents: AgentsSummary?
    /// Which controller leads the store, since when, and the others (nil from an older controller).
    public var leadership: ControllerLeadership?
    public init(now: Int64, halt: HaltState, running: [LiveRun], upcoming: [UpcomingFire], experiments: Int, scheduled: Int, agents: AgentsSummary? = nil,
                leadership: ControllerLeadership? = nil) {
        self.now = now; self.halt = halt; self.running = running; self.upcoming = upcoming; self.experiments = experiments; self.scheduled = scheduled
        self.agents = agents; self.leadership = leadership
    }
}

/// One agent's answer to a halt or resume.
public struct AgentAck: Hashable, Sendable, Codable {
    public var host: String
    public var ok: Bool
    /// Faults the agent reverted.
    public var reverted: Int
    public var error: String?
    public init(host: String, ok: Bool, reverted: Int = 0, error: String? = nil) { self.host = host; self.ok = ok; self.reverted = reverted; self.error = error }
}

/// What a halt or resume did.
public struct HaltOutcome: Hashable, Sendable, Codable {
    public var halt: HaltState
    public var agents: [AgentAck]
    /// Runs stopped (stored as aborted).
    public var abortedRuns: [String]
    /// From the request to the last agent's answer.
    public var elapsedMs: Int64
    public init(halt: HaltState, agents: [AgentAck], abortedRuns: [String], elapsedMs: Int64) {
        self.halt = halt; self.agents = agents; self.abortedRuns = abortedRuns; self.elapsedMs = elapsedMs
    }
}

/// Who asked the controller's API for an action, as the server identified and authorized them.
public struct ControllerCaller: Hashable, Sendable, CustomStringConvertible {
    /// How the caller proved who they are.
    public enum Credential: String, Hashable, Sendable {
        /// A client certificate of the chaos CA (its CN is the name).
        case certificate
        /// An API token (a `Bearer` header or a dashboard sign-in).
        case token
    }
    /// The certificate's CN or the token's name.
    public var name: String
    public var role: ControllerRole
    public var credential: Credential
    public init(name: String, role: ControllerRole, credential: Credential) { self.name = name; self.role = role; self.credential = credential }
    /// `alice (operator, certificate)`: what the audit log records as who.
    public var description: String { "\(name) (\(role), \(credential.rawValue))" }
}

/// The controller as its API sees it.
public protocol ControllerBackend: Sendable {
    func overview() async -> ControllerOverview
    /// Stored runs, newest first.
    func runs(_ filter: RunFilter) async throws(ChaosError) -> [RunRecord]
    func run(_ id: String) async throws(ChaosError) -> RunRecord?
    /// The names of the experiments with stored runs, sorted.
    func experimentNames() async throws(ChaosError) -> [String]
    /// Reverts every fault on every agent, aborts the runs in progress, blocks fires until resumed.
    /// The halt records `caller.name` as who halted and the caller with its role in the audit log.
    func halt(by caller: ControllerCaller, reason: String) async -> HaltOutcome
    func resume(by caller: ControllerCaller) async -> HaltOutcome
    func audit(limit: Int) async throws(ChaosError) -> [AuditEntry]
}

/// A notification the controller sends (webhooks).
public struct ControllerEvent: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable { case runStarted = "run.started", verdict = "run.verdict", halt, resume }
    public var kind: Kind
    public var at: Int64
    public var runID: String?
    public var experiment: String?
    public var target: String?
    /// `passed`, `failed`, `inconclusive` for verdicts.
    public var outcome: String?
    public var status: String?
    /// The verdict's reasons, or the halt's reason and who.
    public var reasons: [String]
    public init(kind: Kind, at: Int64, runID: String? = nil, experiment: String? = nil, target: String? = nil, outcome: String? = nil,
                status: String? = nil, reasons: [String] = []) {
        self.kind = kind; self.at = at; self.runID = runID; self.experiment = experiment; self.target = target
        self.outcome = outcome; self.status = status; self.reasons = reasons
    }

    /// One line for people (Slack text, logs).
    public var summary: String {
        switch kind {
        case .runStarted: return "chaos: started '\(experiment ?? "?")' on \(target ?? "?") (run \(runID ?? "?"))"
        case .verdict: return "chaos: '\(experiment ?? "?")' \(outcome?.uppercased() ?? "?") (\(status ?? "")) run \(runID ?? "?")" + (reasons.first.map { ": \($0)" } ?? "")
        case .halt: return "chaos: HALTED" + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; "))
        case .resume: return "chaos: resumed" + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; "))
        }
    }
}
