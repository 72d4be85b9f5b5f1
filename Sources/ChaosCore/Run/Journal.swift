/// The phases of a run, by time.
///
/// - `before`: the steady-state gate, before anything is injected.
/// - `during`: from the inject to the revert (empty for faults that cannot be reverted, such as kills).
/// - `after`: from the revert (for kills: from the kill) to the end of the recovery window.
public enum Phase: String, Hashable, Sendable, Codable, CaseIterable { case before, during, after }

/// One judged observation.
public struct Sample: Hashable, Sendable, Codable {
    public var probe: String
    /// When the observation started (ms since the epoch).
    public var at: Int64
    public var latencyMs: Double
    public var phase: Phase
    public var judgement: Judgement

    public init(probe: String, at: Int64, latencyMs: Double, phase: Phase, judgement: Judgement) {
        self.probe = probe; self.at = at; self.latencyMs = latencyMs; self.phase = phase; self.judgement = judgement
    }
}

/// Something that happened to the run.
public struct RunEvent: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// The run began observing (the gate).
        case started
        /// The steady state held before the fault; or did not (nothing is injected then).
        case gateMet, gateFailed
        /// The fault was injected (or, for a kill, applied).
        case injected
        /// The fault was confirmed active; or could not be (it is reverted at once).
        case verified, notVerified
        /// A stop condition tripped: the fault is reverted early and the run is aborted.
        case stopTripped
        /// The fault was reverted; or the revert failed.
        case reverted, revertFailed
        /// Observation ended.
        case ended
        /// The run was interrupted (SIGINT/SIGTERM) or failed with an error.
        case interrupted, error
    }
    public var at: Int64
    public var kind: Kind
    public var detail: String?
    public init(at: Int64, kind: Kind, detail: String? = nil) { self.at = at; self.kind = kind; self.detail = detail }
}

/// Everything a run saw and did, in order. The verdict is computed from this alone.
public struct Journal: Hashable, Sendable, Codable {
    public var runID: String
    public var experiment: String
    /// Whether the fault can be reverted (kills cannot: recovery is measured from the kill).
    public var reversible: Bool
    /// The probes, for their thresholds.
    public var probes: [ProbeSpec]
    public var expect: ExpectSpec
    public var events: [RunEvent]
    public var samples: [Sample]

    public init(runID: String, experiment: String, reversible: Bool, probes: [ProbeSpec], expect: ExpectSpec,
                events: [RunEvent] = [], samples: [Sample] = []) {
        self.runID = runID; self.experiment = experiment; self.reversible = reversible; self.probes = probes
        self.expect = expect; self.events = events; self.samples = samples
    }

    /// The first event of `kind`.
    public func first(_ kind: RunEvent.Kind) -> RunEvent? { events.first { $0.kind == kind } }
}
