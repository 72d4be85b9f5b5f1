import ChaosCore
import Foundation
import Synchronization

/// The controller's loop: look at the clock every tick, decide what is due (``SchedulePlanner``,
/// ``DueFires``), write each decision to the store *before* acting on it, start the due runs (each a
/// ``RunDriver`` through the agents), and record how they ended. Pure decisions, effects here.
final class Controller: @unchecked Sendable {
    let config: ControllerConfiguration
    let services: RunServices.Installed
    let global: GlobalOptions
    let catalog: ExperimentCatalog
    private var tasks: [Task<Void, Never>] = []
    private var reported = Set<String>()
    /// The scheduled experiments, derived once per catalog reload and day (calendars, holiday files).
    private var scheduledCache: (key: String, list: [ScheduledExperiment])?

    static let lastLookKey = "lastLookMs"

    init(config: ControllerConfiguration, services: RunServices.Installed, global: GlobalOptions) {
        self.config = config; self.services = services; self.global = global
        catalog = ExperimentCatalog(directory: config.experiments)
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func log(_ message: String) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        FileHandle.standardError.write(Data(message.split(separator: "\n", omittingEmptySubsequences: false)
            .map { "\(stamp) chaos-controller: \($0)" }.joined(separator: "\n").appending("\n").utf8))
    }

    func run() async throws(ChaosError) -> Int32 {
        guard let store = try services.store(config.storeDir) as? any RunStoring & FireStoring else {
            throw .internalError("controller.store", "This store cannot keep the controller's fire records.")
        }
        let inventory = try Context(global: global).loadInventory(config.inventory)
        for line in catalog.reloadIfChanged() { Self.log(line) }
        try recover(store)
        let waiter = SignalWaiter()
        Self.log("started: experiments \(config.experiments), inventory \(config.inventory), store \(config.storeDir), tick \(config.tick)")
        while true {
            for line in catalog.reloadIfChanged() { Self.log(line) }
            do { try look(store, inventory) } catch { Self.log("could not decide what is due: \(error.message)") }
            let until = Self.nowMs() + config.tick.milliseconds
            if let s = await waiter.wait(until: until, now: { Self.nowMs() }, tick: { _ in }) {
                Self.log("signal \(s): stopping; runs in progress revert their faults")
                break
            }
        }
        for t in tasks { await t.value }
        Self.log("stopped")
        return 0
    }

    /// A run in progress when the previous controller stopped: stored as interrupted (its agent
    /// reverted the fault at the lease's end), never started again.
    func recover(_ store: any RunStoring & FireStoring) throws(ChaosError) {
        let now = Self.nowMs()
        for var f in try store.fires(in: .started) {
            if let id = f.runID, try store.run(id) != nil {
                f.state = .finished
                f.reason = "stored before the controller stopped"
            } else {
                f.state = .interrupted
                f.reason = "the controller stopped during the run; the agent reverted the fault when its lease ran out"
                if let id = f.runID, let (file, e) = catalog.experiment(named: f.experiment) {
                    let journal = Journal(runID: id, experiment: e.name, reversible: e.fault.type.isReversible, probes: e.probes, expect: e.expect,
                                          events: [RunEvent(at: f.decidedMs, kind: .started), RunEvent(at: now, kind: .interrupted, detail: f.reason)], samples: [])
                    try store.save(RunRecord(runID: id, experiment: e.name, file: file, host: nil, faultKind: e.fault.type, target: f.target,
                                             status: .interrupted, startedAt: f.decidedMs, endedAt: now, verdict: Verdict.of(journal), journal: journal))
                }
            }
            f.decidedMs = now
            try store.record(f)
            Self.log("fire of '\(f.experiment)' scheduled \(Self.text(f.scheduledMs)): \(f.state.rawValue) (\(f.reason ?? ""))")
        }
    }

    /// One look at the clock.
    func look(_ store: any RunStoring & FireStoring, _ inventory: Inventory?) throws(ChaosError) {
        let now = Self.nowMs()
        let lastLook = try store.value(Self.lastLookKey).flatMap { Int64($0) } ?? now
        let through = ZoneClock.dateText(Int(now / 86_400_000) + 2)
        let scheduled = scheduledExperiments(inventory, through: through)
        let records = try store.fires(sinceMs: now - 30 * 86_400_000)
        let history = records.filter { [.started, .finished, .interrupted].contains($0.state) }
            .map { PastRun(experiment: $0.experiment, target: $0.target, groups: $0.groups, at: Double($0.scheduledMs) / 1000) }
        let plan = SchedulePlanner.plan(scheduled, from: Double(min(lastLook, now)) / 1000, to: Double(now) / 1000 + 0.001,
                                        seed: config.seed, history: history)
        let due = DueFires.decide(plan, recorded: Set(records.map(\.key)), now: Double(now) / 1000, grace: Double(config.grace.milliseconds) / 1000)
        let byName = Dictionary(scheduled.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let groups = byName.mapValues(\.groups)
        let record: @Sendable (PlannedFire, FireRecord.State, String?, String?) throws(ChaosError) -> Void = { f, state, reason, runID in
            // Stamped when written: a finished run's record says when it finished.
            try store.record(FireRecord(experiment: f.experiment, scheduledMs: DueFires.Key(f).scheduledMs, target: f.target,
                                        groups: groups[f.experiment] ?? [], trigger: f.trigger, state: state, reason: reason,
                                        runID: runID, decidedMs: Self.nowMs()))
        }
        for f in due.missed {
            try record(f, .missed, "scheduled \(Self.text(DueFires.Key(f).scheduledMs)), more than the grace (\(config.grace)) before the controller could start it", nil)
            Self.log("missed '\(f.experiment)' scheduled \(Self.text(DueFires.Key(f).scheduledMs))")
        }
        // Moments closed by the calendar's days and hours are not worth a record (every cron match at
        // night would be one); blackouts, holidays, spacing and busy targets are.
        for f in due.skipped where !["not_workday", "outside_hours"].contains(f.skipCode ?? "") {
            try record(f, .skipped, f.skipReason, nil)
            Self.log("skipped '\(f.experiment)' scheduled \(Self.text(DueFires.Key(f).scheduledMs)): \(f.skipReason ?? "")")
        }
        for f in due.start {
            guard let (file, e) = catalog.experiment(named: f.experiment) else { continue }
            let runID = "r-" + String(UUID().uuidString.lowercased().prefix(8))
            try record(f, .started, nil, runID)  // before anything is injected
            Self.log("starting '\(e.name)' (\(f.trigger.rawValue), scheduled \(Self.text(DueFires.Key(f).scheduledMs))) as run \(runID)")
            let calendar = byName[e.name]?.calendar
            tasks.append(Task { await self.execute(f, e, file: file, runID: runID, inventory: inventory, calendar: calendar, store: store, record: record) })
        }
        try store.setValue(String(now), for: Self.lastLookKey)
    }

    /// The catalog's scheduled experiments with their calendars; read again only when the catalog
    /// reloads, a holiday calendar file changes, or the date moves (calendars are expanded through
    /// `through`).
    private func scheduledExperiments(_ inventory: Inventory?, through: String) -> [ScheduledExperiment] {
        let calendars = catalog.experiments.compactMap { f, e in
            e.schedule?.holidayCalendar.map { ics -> String in
                let path = ScheduleLoader.calendarPath(ics, file: f)
                let m = ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                return "\(path)@\(m)"
            }
        }
        let key = "\(catalog.generation)|\(through)|" + calendars.joined(separator: ",")
        if let c = scheduledCache, c.key == key { return c.list }
        var list: [ScheduledExperiment] = []
        for (file, e) in catalog.experiments where e.schedule != nil {
            do {
                if var one = try ScheduleLoader.scheduled(e, file: file, inventory: inventory, through: through) {
                    one.runSeconds = ScheduleLoader.runSeconds(e, gate: config.gate)
                    list.append(one)
                }
            } catch {
                if reported.insert(error.message).inserted { Self.log("not scheduled: \(error.message)") }
            }
        }
        scheduledCache = (key, list)
        return list
    }

    private func execute(_ f: PlannedFire, _ e: Experiment, file: String, runID: String, inventory: Inventory?, calendar: WorkCalendar?,
                         store: any RunStoring & FireStoring,
                         record: @Sendable (PlannedFire, FireRecord.State, String?, String?) throws(ChaosError) -> Void) async {
        do {
            let prepared = try await RunCommand.prepare(e, file: file, inventory: inventory, gate: config.gate, global: global, services: services)
            var driver = prepared.driver
            driver.runID = runID
            // A blackout that begins while the fault is held halts the run (reverted, stored aborted).
            if let calendar = calendar {
                driver.halt = { calendar.blackout(at: Date().timeIntervalSince1970).map { "blackout" + ($0.reason.map { " (\($0))" } ?? "") + " began" } }
            }
            let run = await driver.run()
            await prepared.close()
            try store.save(run)
            try record(f, .finished, "\(run.verdict.outcome.rawValue) (\(run.status.rawValue)): \(run.verdict.reasons.first ?? "")", runID)
            Self.log("run \(runID) of '\(e.name)': \(run.verdict.outcome.rawValue.uppercased()) (\(run.status.rawValue)) \(run.verdict.reasons.first ?? "")")
        } catch {
            try? record(f, .skipped, "could not start: \(error.message)", runID)
            Self.log("run \(runID) of '\(e.name)' could not start: \(error.message)")
        }
    }

    static func text(_ ms: Int64) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) }
}
