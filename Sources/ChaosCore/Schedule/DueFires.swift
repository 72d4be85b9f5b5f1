/// What the controller does with the plan at one look: the restart-safe part of scheduling.
///
/// The controller plans from a little before its last look to now (``SchedulePlanner``), and keeps a
/// record of every fire it decided on, by (experiment, scheduled instant), written before the run
/// starts. A fire already recorded is never started again — not after a crash, not after a
/// restart. A fire that is due but was scheduled more than `grace` ago (the controller was down or
/// halted through it) is recorded as missed, once, and not run late; within the grace it starts late.
public enum DueFires {
    public struct Key: Hashable, Sendable, Codable {
        public var experiment: String
        /// Epoch milliseconds (instants compare exactly).
        public var scheduledMs: Int64
        public init(experiment: String, scheduledMs: Int64) { self.experiment = experiment; self.scheduledMs = scheduledMs }
        public init(_ f: PlannedFire) { self.init(experiment: f.experiment, scheduledMs: Int64((f.at * 1000).rounded())) }
    }

    public struct Decision: Hashable, Sendable {
        /// Start these now, in this order.
        public var start: [PlannedFire]
        /// Record these as missed (scheduled more than `grace` ago, never started).
        public var missed: [PlannedFire]
        /// Record these as skipped, with their reason (blackout, spacing...).
        public var skipped: [PlannedFire]
    }

    /// - Parameters:
    ///   - plan: the planner's output for a window ending at `now`.
    ///   - recorded: keys of fires already decided on (started, missed or skipped).
    ///   - halted: a global halt is in force: due fires are skipped with that reason.
    public static func decide(_ plan: [PlannedFire], recorded: Set<Key>, now: Double, grace: Double, halted: String? = nil) -> Decision {
        var d = Decision(start: [], missed: [], skipped: [])
        for f in plan where f.at <= now && !recorded.contains(Key(f)) {
            if !f.fires {
                d.skipped.append(f)
            } else if let reason = halted {
                var s = f
                s.skipCode = "halted"
                s.skipReason = "a global halt is in force (\(reason))"
                d.skipped.append(s)
            } else if now - f.at > grace {
                d.missed.append(f)
            } else {
                d.start.append(f)
            }
        }
        return d
    }
}
