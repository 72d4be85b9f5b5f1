import ChaosCore
import ChaosEngine
import ChaosLinux
import Foundation
import Glibc
import Metrics
import Synchronization

/// The controller's loop: look at the clock every tick, decide what is due (``SchedulePlanner``,
/// ``DueFires``), write each decision to the store *before* acting on it, start the due runs (each a
/// ``RunDriver`` through the agents), and record how they ended. Pure decisions, effects here.
/// It is also the ``ControllerBackend`` its API and dashboard show and act through (ControllerAPI.swift).
public final class Controller: @unchecked Sendable {
    let config: ControllerSettings
    let environment: RunEnvironment
    var services: RunServices.Installed { environment.services }
    /// Every reading of the time and every wait of the loop and its runs.
    let clock: any ChaosClock
    /// Where the log lines go (stderr, each stamped with the clock's time, by default).
    let logSink: @Sendable (String) -> Void
    let catalog: ExperimentCatalog
    /// Set in `run()` before the API starts.
    var store: (any RunStoring & FireStoring & AuditStoring)!
    var inventory: Inventory?
    var notifier: RunServices.ControllerFace.Notifier?
    /// One session to the agents for the controller's life: runs, polls and halts share its
    /// connections, so a halt does not wait for a TLS handshake per agent.
    var fleet: AgentFleet?
    /// One probe factory for every run and health check (one HTTP client, not one per run).
    var probes: (any ProbeFactory)?
    /// How often every agent's health is asked (also keeps the connections open: agents close
    /// connections idle for 30 s).
    static let agentPoll: Int64 = 10_000
    private var reported = Set<String>()
    /// The scheduled experiments, derived once per catalog reload and day (calendars, holiday files).
    private var scheduledCache: (key: String, list: [ScheduledExperiment])?

    /// What the loop, the runs and the API share.
    struct Shared {
        var halt = HaltState.running
        var live: [String: LiveEntry] = [:]
        /// The tasks of the runs in progress; each removes itself when its run is stored.
        var tasks: [String: Task<Void, Never>] = [:]
        var scheduled: [ScheduledExperiment] = []
        var experiments = 0
        var agents: AgentsSummary?
        var polling = false
    }
    struct LiveEntry {
        var experiment: String
        var target: String
        var startedAt: Int64
        var recorder: RunRecorder?
        var probes: [String]
    }
    let shared = Mutex(Shared())
    let metrics = ControllerMetricsRecorder()

    static let lastLookKey = "lastLookMs"
    static let haltKey = "halt"

    /// - Parameters:
    ///   - environment: the settings (identity for the agents, state directory), the services
    ///     (probes, store, the HTTP face), the agents, the clock and the signals the loop and its runs use.
    ///   - log: where log lines go; default: stderr, stamped with the clock's time.
    public init(settings: ControllerSettings, environment: RunEnvironment, log: (@Sendable (String) -> Void)? = nil) {
        self.config = settings
        self.environment = environment
        self.clock = environment.clock
        let clock = environment.clock
        self.logSink = log ?? { message in
            let stamp = Controller.text(clock.now())
            FileHandle.standardError.write(Data(message.split(separator: "\n", omittingEmptySubsequences: false)
                .map { "\(stamp) chaos-controller: \($0)" }.joined(separator: "\n").appending("\n").utf8))
        }
        catalog = ExperimentCatalog(directory: settings.experiments)
    }

    func nowMs() -> Int64 { clock.now() }

    func log(_ message: String) { logSink(message) }

    /// Runs until SIGTERM (or another signal of the environment's): each tick decides what is due and
    /// starts it; at the end the runs in progress revert and are stored. Returns the exit status.
    public func run() async throws(ChaosError) -> Int32 {
        guard let store = try services.store(config.storeDir) as? any RunStoring & FireStoring & AuditStoring else {
            throw .internalError("controller.store", "This store cannot keep the controller's fire records.")
        }
        self.store = store
        raiseOpenFilesLimit()
        inventory = try DocumentFiles.inventory(config.inventory)
        if let text = try store.value(Self.haltKey), let h = try? JSONDecoder().decode(HaltState.self, from: Data(text.utf8)), h.halted {
            shared.withLock { $0.halt = h }
            log("HALTED since \(Self.text(h.at ?? 0)) by \(h.by ?? "?"): \(h.reason ?? ""); nothing starts until 'chaos resume'")
        }
        for line in catalog.reloadIfChanged() { log(line) }
        try recover(store)
        probes = services.probes()
        if let inventory, inventory.hosts.contains(where: { $0.agent != nil }) {
            do { fleet = try AgentFleet.open(inventory, environment: environment) } catch {
                log("cannot reach the agents yet: \(error.message)")
            }
        }
        var listening: RunServices.ControllerFace.Listening?
        if let face = services.controller {
            face.bootstrapMetrics()
            metrics.make()
            metrics.halted(shared.withLock { $0.halt.halted })
            if !config.notify.isEmpty { notifier = face.notifier(config.notify) }
            if let api = config.api {
                let settings = try checked(api)
                listening = try await face.serve(settings, self)
                log("API and dashboard on \(settings.plaintext ? "http" : "https")://\(settings.address):\(listening!.port)/")
            }
        }
        let waiter = Waiter(clock: clock, signals: environment.signals)
        var lastPoll: Int64 = 0
        log("started: experiments \(config.experiments), inventory \(config.inventory), store \(config.storeDir), tick \(config.tick)")
        while true {
            for line in catalog.reloadIfChanged() { log(line) }
            do { try look(store, inventory) } catch { log("could not decide what is due: \(error.message)") }
            metrics.active(await liveRuns().filter { $0.holdsFault }.count)
            if nowMs() - lastPoll >= Self.agentPoll {
                lastPoll = nowMs()
                pollAgents()
            }
            let until = nowMs() + config.tick.milliseconds
            // One sleep per tick (a signal cuts it short): nothing to count down in between.
            if let s = await waiter.wait(until: until, step: max(1, config.tick.milliseconds), tick: { _ in }) {
                log("signal \(s): stopping; runs in progress revert their faults")
                break
            }
        }
        for t in shared.withLock({ Array($0.tasks.values) }) { await t.value }
        await listening?.stop()
        await notifier?.close()
        await fleet?.close()
        await probes?.shutdown()
        log("stopped")
        return 0
    }

    /// A connection per agent and per run in progress: a thousand agents need more than the usual
    /// soft limit of 1,024 descriptors. Raised to the hard limit (the unit sets LimitNOFILE=).
    func raiseOpenFilesLimit() {
        if let (before, after) = ResourceLimits.raiseOpenFiles() { log("open files limit raised from \(before) to \(after)") }
    }

    /// The API's settings, once its TLS files are known to be readable.
    private func checked(_ s: ControllerAPISettings) throws(ChaosError) -> ControllerAPISettings {
        if !s.plaintext {
            for f in [s.certificate, s.key, s.ca] where !FileManager.default.isReadableFile(atPath: f) {
                throw .usage("controller.noTLS", "Cannot read '\(f)' for the API's TLS. Issue the controller's certificate with 'chaos certs issue --controller --san HOST', or set api.tls.")
            }
        }
        return s
    }

    /// A run in progress when the previous controller stopped: stored as interrupted (its agent
    /// reverted the fault at the lease's end), never started again.
    func recover(_ store: any RunStoring & FireStoring) throws(ChaosError) {
        let now = nowMs()
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
            log("fire of '\(f.experiment)' scheduled \(Self.text(f.scheduledMs)): \(f.state.rawValue) (\(f.reason ?? ""))")
        }
    }

    /// One look at the clock.
    func look(_ store: any RunStoring & FireStoring, _ inventory: Inventory?) throws(ChaosError) {
        let now = nowMs()
        let lastLook = try store.value(Self.lastLookKey).flatMap { Int64($0) } ?? now
        let through = ZoneClock.dateText(Int(now / 86_400_000) + 2)
        let scheduled = scheduledExperiments(inventory, through: through)
        shared.withLock { $0.scheduled = scheduled; $0.experiments = catalog.experiments.count }
        let records = try store.fires(sinceMs: now - 30 * 86_400_000)
        let history = Self.history(records)
        let plan = SchedulePlanner.plan(scheduled, from: Double(min(lastLook, now)) / 1000, to: Double(now) / 1000 + 0.001,
                                        seed: config.seed, history: history)
        let halt = shared.withLock { $0.halt }
        let due = DueFires.decide(plan, recorded: Set(records.map(\.key)), now: Double(now) / 1000, grace: Double(config.grace.milliseconds) / 1000,
                                  halted: halt.halted ? "chaos is halted (by \(halt.by ?? "?"): \(halt.reason ?? ""))" : nil)
        let byName = Dictionary(scheduled.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let groups = byName.mapValues(\.groups)
        let metrics = self.metrics
        let clock = self.clock
        let make: @Sendable (PlannedFire, FireRecord.State, String?, String?) -> FireRecord = { f, state, reason, runID in
            // Stamped when written: a finished run's record says when it finished.
            FireRecord(experiment: f.experiment, scheduledMs: DueFires.Key(f).scheduledMs, target: f.target, groups: groups[f.experiment] ?? [],
                       trigger: f.trigger, state: state, reason: reason, runID: runID, decidedMs: clock.now())
        }
        let record: @Sendable (PlannedFire, FireRecord.State, String?, String?) throws(ChaosError) -> Void = { f, state, reason, runID in
            try store.record(make(f, state, reason, runID))
            metrics.fire(state)
        }
        for f in due.missed {
            try record(f, .missed, "scheduled \(Self.text(DueFires.Key(f).scheduledMs)), more than the grace (\(config.grace)) before the controller could start it", nil)
            log("missed '\(f.experiment)' scheduled \(Self.text(DueFires.Key(f).scheduledMs))")
        }
        // Moments closed by the calendar's days and hours are not worth a record (every cron match at
        // night would be one); blackouts, holidays, spacing, busy targets and halts are.
        for f in due.skipped where !["not_workday", "outside_hours"].contains(f.skipCode ?? "") {
            try record(f, .skipped, f.skipReason, nil)
            log("skipped '\(f.experiment)' scheduled \(Self.text(DueFires.Key(f).scheduledMs)): \(f.skipReason ?? "")")
        }
        // Every start is recorded before anything is injected, all in one transaction.
        let starting = due.start.compactMap { f -> (PlannedFire, String, Experiment, String)? in
            catalog.experiment(named: f.experiment).map { (f, $0.file, $0.experiment, "r-" + String(UUID().uuidString.lowercased().prefix(8))) }
        }
        try store.record(all: starting.map { make($0.0, .started, nil, $0.3) })
        for (f, file, e, runID) in starting {
            metrics.fire(.started)
            metrics.lag(seconds: Double(now - DueFires.Key(f).scheduledMs) / 1000)
            log("starting '\(e.name)' (\(f.trigger.rawValue), scheduled \(Self.text(DueFires.Key(f).scheduledMs))) as run \(runID)")
            let calendar = byName[e.name]?.calendar
            // Made under the lock, so the task (which removes itself under it) is registered first.
            shared.withLock {
                $0.live[runID] = LiveEntry(experiment: e.name, target: f.target, startedAt: now, recorder: nil, probes: e.probes.map(\.name))
                $0.tasks[runID] = Task { await self.execute(f, e, file: file, runID: runID, inventory: inventory, calendar: calendar, store: store, record: record) }
            }
        }
        try store.setValue(String(now), for: Self.lastLookKey)
    }

    static func history(_ records: [FireRecord]) -> [PastRun] {
        records.filter { [.started, .finished, .interrupted].contains($0.state) }
            .map { PastRun(experiment: $0.experiment, target: $0.target, groups: $0.groups, at: Double($0.scheduledMs) / 1000) }
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
                if reported.insert(error.message).inserted { log("not scheduled: \(error.message)") }
            }
        }
        scheduledCache = (key, list)
        return list
    }

    /// Why a run must stop now: a halt, or a blackout of its calendar that began.
    func haltReason(_ calendar: WorkCalendar?) -> String? {
        let h = shared.withLock { $0.halt }
        if h.halted { return "chaos halted by \(h.by ?? "?"): \(h.reason ?? "")" }
        return calendar?.blackout(at: Double(nowMs()) / 1000).map { "blackout" + ($0.reason.map { " (\($0))" } ?? "") + " began" }
    }

    private func execute(_ f: PlannedFire, _ e: Experiment, file: String, runID: String, inventory: Inventory?, calendar: WorkCalendar?,
                         store: any RunStoring & FireStoring,
                         record: @Sendable (PlannedFire, FireRecord.State, String?, String?) throws(ChaosError) -> Void) async {
        defer { shared.withLock { _ = $0.live.removeValue(forKey: runID); _ = $0.tasks.removeValue(forKey: runID) } }
        do throws(ChaosError) {
            // The guards: the victim host chosen at random among the target's hosts, never taking a
            // group below minHealthy (asked now); the gate then checks the steady state.
            let factory = probes ?? services.probes()
            let pick = try await VictimPicker.pick(e, inventory: inventory, ctx: environment.host, probes: factory)
            if !pick.note.isEmpty { log("run \(runID) of '\(e.name)': \(pick.note)") }
            let prepared = try await RunPreparation.prepare(pick.experiment, file: file, inventory: inventory, gate: config.gate, environment: environment,
                                                            fleet: fleet, probes: factory)
            var driver = prepared.driver
            driver.runID = runID
            // A halt, or a blackout that begins, while the run is on stops it (reverted, stored aborted).
            driver.halt = { [weak self] in self?.haltReason(calendar) }
            let target = driver.fault.target
            driver.onStart = { [weak self] recorder in
                self?.shared.withLock { $0.live[runID]?.recorder = recorder; $0.live[runID]?.target = target }
            }
            notify(ControllerEvent(kind: .runStarted, at: nowMs(), runID: runID, experiment: e.name, target: target))
            let run = await driver.run()
            await prepared.close()
            try store.save(run)
            metrics.verdict(run.verdict.outcome)
            try record(f, .finished, "\(run.verdict.outcome.rawValue) (\(run.status.rawValue)): \(run.verdict.reasons.first ?? "")", runID)
            log("run \(runID) of '\(e.name)': \(run.verdict.outcome.rawValue.uppercased()) (\(run.status.rawValue)) \(run.verdict.reasons.first ?? "")")
            notify(ControllerEvent(kind: .verdict, at: nowMs(), runID: runID, experiment: e.name, target: run.target,
                                   outcome: run.verdict.outcome.rawValue, status: run.status.rawValue, reasons: run.verdict.reasons))
        } catch {
            try? record(f, .skipped, "could not start: \(error.message)", runID)
            log("run \(runID) of '\(e.name)' could not start: \(error.message)")
        }
    }

    /// Posts an event to the webhooks without holding up the caller; failures are logged.
    func notify(_ event: ControllerEvent) {
        guard let notifier else { return }
        Task {
            for failure in await notifier.send(event) { self.log(failure) }
        }
    }

    static func text(_ ms: Int64) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) }
}

/// The controller's metrics through swift-metrics (Prometheus behind, when chaos-remote bootstraps it).
final class ControllerMetricsRecorder: @unchecked Sendable {
    private let lock = Mutex<Void>(())
    private var runs: [String: Counter] = [:]
    private var fires: [String: Counter] = [:]
    private var halts: Counter?
    private var haltedGauge: Gauge?
    private var lagGauge: Gauge?
    private var activeGauge: Gauge?
    private var made = false

    /// Makes the metrics (after the metrics system is bootstrapped).
    func make() {
        lock.withLock { _ in
            made = true
            halts = Counter(label: "chaos_controller_halts_total")
            haltedGauge = Gauge(label: "chaos_controller_halted")
            lagGauge = Gauge(label: "chaos_controller_schedule_lag_seconds")
            activeGauge = Gauge(label: "chaos_controller_faults_active")
            for o in Verdict.Outcome.allCases { runs[o.rawValue] = Counter(label: "chaos_controller_runs_total", dimensions: [("verdict", o.rawValue)]) }
        }
    }

    func verdict(_ o: Verdict.Outcome) { lock.withLock { _ in runs[o.rawValue]?.increment() } }
    func halt() { lock.withLock { _ in halts?.increment(); haltedGauge?.record(1) } }
    func halted(_ on: Bool) { lock.withLock { _ in haltedGauge?.record(on ? 1 : 0) } }
    /// How late the last run started after its scheduled moment.
    func lag(seconds: Double) { lock.withLock { _ in lagGauge?.record(seconds) } }
    func fire(_ state: FireRecord.State) {
        lock.withLock { _ in
            guard made else { return }
            if fires[state.rawValue] == nil { fires[state.rawValue] = Counter(label: "chaos_controller_fires_total", dimensions: [("state", state.rawValue)]) }
            fires[state.rawValue]?.increment()
        }
    }
    func active(_ n: Int) { lock.withLock { _ in activeGauge?.record(n) } }
}
