/// What the controller decided about one scheduled fire, kept in its store so that no fire is ever
/// decided twice (see ``DueFires``), across crashes and restarts.
public struct FireRecord: Hashable, Sendable, Codable {
    public enum State: String, Hashable, Sendable, Codable, CaseIterable {
        /// Written before the run starts (write-ahead).
        case started
        /// The run ended and is stored (`runID`).
        case finished
        /// The controller stopped (or was killed) during the run; found at its next start.
        case interrupted
        /// Scheduled more than the grace ago while the controller was not running: not run late.
        case missed
        /// Not run, for `reason` (blackout, spacing, halted...).
        case skipped
    }
    public var experiment: String
    public var scheduledMs: Int64
    public var target: String
    public var groups: [String]
    public var trigger: PlannedFire.Trigger
    public var state: State
    public var reason: String?
    public var runID: String?
    /// When the decision (or its last change) was made.
    public var decidedMs: Int64

    public init(experiment: String, scheduledMs: Int64, target: String, groups: [String], trigger: PlannedFire.Trigger,
                state: State, reason: String? = nil, runID: String? = nil, decidedMs: Int64) {
        self.experiment = experiment; self.scheduledMs = scheduledMs; self.target = target; self.groups = groups
        self.trigger = trigger; self.state = state; self.reason = reason; self.runID = runID; self.decidedMs = decidedMs
    }

    public var key: DueFires.Key { DueFires.Key(experiment: experiment, scheduledMs: scheduledMs) }
}

/// The controller's durable memory: fire decisions and a few values (its last look at the clock).
public protocol FireStoring: Sendable {
    /// Inserts or replaces the record of (experiment, scheduledMs).
    func record(_ fire: FireRecord) async throws(ChaosError)
    /// Several at once, all or none (one transaction: a thousand fires due at the same minute).
    func record(all fires: [FireRecord]) async throws(ChaosError)
    /// Records scheduled at or after `sinceMs`, oldest first.
    func fires(sinceMs: Int64) async throws(ChaosError) -> [FireRecord]
    /// Records in `state`, oldest first.
    func fires(in state: FireRecord.State) async throws(ChaosError) -> [FireRecord]
    func value(_ key: String) async throws(ChaosError) -> String?
    func setValue(_ value: String, for key: String) async throws(ChaosError)
}
