/// How a run ended, apart from its verdict.
public enum RunStatus: String, Hashable, Sendable, Codable, CaseIterable {
    /// It ran to the end (including a gate that was not met: nothing injected, verdict inconclusive).
    case completed
    /// A stop condition tripped, or a halt: the fault was reverted early.
    case aborted
    /// SIGINT/SIGTERM: the fault was reverted, the run cut short.
    case interrupted
    /// chaos itself failed (agent unreachable, revert failed...).
    case error
}

/// A stored run: what ran, how it ended, its verdict and its whole journal.
public struct RunRecord: Hashable, Sendable, Codable {
    public var runID: String
    public var experiment: String
    /// The experiment file, when there was one.
    public var file: String?
    /// The host the fault ran on (inventory name), or nil for this host.
    public var host: String?
    public var faultKind: FaultKind
    public var target: String
    public var status: RunStatus
    public var startedAt: Int64
    public var endedAt: Int64
    public var verdict: Verdict
    public var journal: Journal

    public init(runID: String, experiment: String, file: String?, host: String?, faultKind: FaultKind, target: String, status: RunStatus,
                startedAt: Int64, endedAt: Int64, verdict: Verdict, journal: Journal) {
        self.runID = runID; self.experiment = experiment; self.file = file; self.host = host; self.faultKind = faultKind
        self.target = target; self.status = status; self.startedAt = startedAt; self.endedAt = endedAt
        self.verdict = verdict; self.journal = journal
    }

    /// The exit status of design.md: 0 passed, 1 failed, 2 inconclusive or not completed.
    public var exitStatus: Int32 {
        guard status == .completed else { return 2 }
        switch verdict.outcome {
        case .passed: return 0
        case .failed: return 1
        case .inconclusive: return 2
        }
    }
}

/// One line of the append-only verdict log (JSONL): the verdict without the journal.
public struct VerdictLine: Hashable, Sendable, Codable {
    public var runID: String
    public var experiment: String
    public var host: String?
    public var faultKind: FaultKind
    public var target: String
    public var status: RunStatus
    public var outcome: Verdict.Outcome
    public var failures: [Verdict.Failure]
    public var inconclusive: Verdict.Unknown?
    public var reasons: [String]
    public var figures: Figures
    public var startedAt: Int64
    public var endedAt: Int64

    public init(_ r: RunRecord) {
        runID = r.runID; experiment = r.experiment; host = r.host; faultKind = r.faultKind; target = r.target; status = r.status
        outcome = r.verdict.outcome; failures = r.verdict.failures; inconclusive = r.verdict.inconclusive
        reasons = r.verdict.reasons; figures = r.verdict.figures; startedAt = r.startedAt; endedAt = r.endedAt
    }
}

/// Which stored runs to list.
public struct RunFilter: Hashable, Sendable {
    public var experiment: String?
    public var outcome: Verdict.Outcome?
    /// Started at or after (ms since the epoch).
    public var since: Int64?
    public var limit: Int
    public init(experiment: String? = nil, outcome: Verdict.Outcome? = nil, since: Int64? = nil, limit: Int = 100) {
        self.experiment = experiment; self.outcome = outcome; self.since = since; self.limit = limit
    }
}

/// Where runs are kept (SQLite by default) and the verdict log beside it.
public protocol RunStoring: Sendable {
    /// Saves (or replaces) a run, and appends its line to the verdict log when it is final.
    func save(_ run: RunRecord) async throws(ChaosError)
    func run(_ id: String) async throws(ChaosError) -> RunRecord?
    /// Newest first.
    func runs(_ filter: RunFilter) async throws(ChaosError) -> [RunRecord]
    /// The names of the experiments with stored runs, sorted: the dashboard's menu.
    func experimentNames() async throws(ChaosError) -> [String]
}

extension RunStoring {
    /// From the latest 500 runs: a store that can list the names without reading runs does so.
    public func experimentNames() async throws(ChaosError) -> [String] {
        Set(try await runs(RunFilter(limit: 500)).map(\.experiment)).sorted()
    }
}

/// Observes one probe.
public protocol ProbeRunner: Sendable {
    var spec: ProbeSpec { get }
    /// One observation; never throws: failures and blindness are in the observation. Must return
    /// within the probe's timeout (plus a little).
    func observe() async -> Observation
}

/// Makes probe runners (the HTTP stack lives outside ChaosCore).
public protocol ProbeFactory: Sendable {
    func runner(for spec: ProbeSpec) throws(ChaosError) -> any ProbeRunner
    /// Releases connections.
    func shutdown() async
}
