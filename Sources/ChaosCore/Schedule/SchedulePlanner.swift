/// One experiment as the scheduler sees it.
public struct ScheduledExperiment: Sendable {
    public var name: String
    /// The target's name: spacing and "one run per target at a time" are per target.
    public var target: String
    /// Redundancy groups the target may land in (inventory groups holding its hosts).
    public var groups: [String]
    public var schedule: ScheduleSpec
    public var calendar: WorkCalendar
    /// How long a run lasts at most (gate + fault + recovery window): the target is busy that long.
    public var runSeconds: Double

    public init(name: String, target: String, groups: [String], schedule: ScheduleSpec, calendar: WorkCalendar, runSeconds: Double) {
        self.name = name; self.target = target; self.groups = groups; self.schedule = schedule; self.calendar = calendar; self.runSeconds = runSeconds
    }
}

/// A run that already happened (from the store), for spacing and monkey gaps.
public struct PastRun: Hashable, Sendable {
    public var experiment: String
    public var target: String
    public var groups: [String]
    public var at: Double
    public init(experiment: String, target: String, groups: [String], at: Double) {
        self.experiment = experiment; self.target = target; self.groups = groups; self.at = at
    }
}

/// What the schedule would do at one moment: fire, or not and why.
public struct PlannedFire: Hashable, Sendable, Codable {
    public enum Trigger: String, Hashable, Sendable, Codable { case cron, monkey }
    public var at: Double
    public var experiment: String
    public var target: String
    public var trigger: Trigger
    /// nil: it fires. Otherwise a short code (blackout, holiday, not_workday, outside_hours,
    /// spacing_target, spacing_group, target_busy) and the reason in words.
    public var skipCode: String?
    public var skipReason: String?
    public var fires: Bool { skipCode == nil }
}

/// Decides what fires when, for any window: the same pure function serves `chaos schedule preview`
/// and the controller (which plans from its last look to now).
///
/// Candidates come from each experiment's cron (every match; those in a closed moment are skipped
/// with the calendar's reason) or monkey (its draws, see ``MonkeyDraws``). They are then taken in
/// time order; one is skipped when its target is still busy with an earlier run (no two runs on a
/// target at once), or when the last run on its target or group is closer than the experiment's
/// `minSpacing`. Skipped candidates do not count as runs.
public enum SchedulePlanner {
    public static func plan(_ experiments: [ScheduledExperiment], from: Double, to: Double, seed: UInt64, history: [PastRun]) -> [PlannedFire] {
        var candidates: [PlannedFire] = []
        for e in experiments {
            if let cron = e.schedule.cron {
                for t in cron.fires(from: from, to: to, clock: e.calendar.clock) {
                    let closed = e.calendar.closed(at: t)
                    candidates.append(PlannedFire(at: t, experiment: e.name, target: e.target, trigger: .cron, skipCode: closed?.code, skipReason: closed?.description))
                }
            } else if let monkey = e.schedule.monkey {
                let clock = e.calendar.clock
                let last = history.filter { $0.experiment == e.name && $0.at < from }.map(\.at).max().map { clock.local($0).day }
                let draws = MonkeyDraws(monkey, seed: seed, experiment: e.name)
                    .draws(e.calendar, fromDay: clock.local(from).day, toDay: clock.local(to).day, lastKillDay: last)
                for d in draws where d.at >= from && d.at < to {
                    candidates.append(PlannedFire(at: d.at, experiment: e.name, target: e.target, trigger: .monkey, skipCode: d.blocked?.code, skipReason: d.blocked?.description))
                }
            }
        }
        candidates.sort { ($0.at, $0.experiment) < ($1.at, $1.experiment) }

        let byName = Dictionary(experiments.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var lastOnTarget: [String: Double] = [:]
        var lastInGroup: [String: Double] = [:]
        var busyUntil: [String: Double] = [:]
        for r in history.sorted(by: { $0.at < $1.at }) {
            lastOnTarget[r.target] = r.at
            for g in r.groups { lastInGroup[g] = r.at }
            busyUntil[r.target] = max(busyUntil[r.target] ?? 0, r.at + (byName[r.experiment]?.runSeconds ?? 0))
        }
        var out: [PlannedFire] = []
        for var c in candidates {
            guard c.fires, let e = byName[c.experiment] else { out.append(c); continue }
            let clock = e.calendar.clock
            if let busy = busyUntil[c.target], c.at < busy {
                c.skipCode = "target_busy"
                c.skipReason = "'\(c.target)' is still under another run until \(clock.text(busy))"
            } else if let gap = e.schedule.minSpacingTarget, let last = lastOnTarget[c.target], c.at - last < Double(gap.milliseconds) / 1000 {
                c.skipCode = "spacing_target"
                c.skipReason = "last run on '\(c.target)' at \(clock.text(last)), minSpacing.target \(gap)"
            } else if let gap = e.schedule.minSpacingGroup,
                      let (group, last) = e.groups.compactMap({ g in lastInGroup[g].map { (g, $0) } }).max(by: { $0.1 < $1.1 }),
                      c.at - last < Double(gap.milliseconds) / 1000 {
                c.skipCode = "spacing_group"
                c.skipReason = "last run in group '\(group)' at \(clock.text(last)), minSpacing.group \(gap)"
            } else {
                lastOnTarget[c.target] = c.at
                for g in e.groups { lastInGroup[g] = c.at }
                busyUntil[c.target] = c.at + e.runSeconds
            }
            out.append(c)
        }
        return out
    }
}
