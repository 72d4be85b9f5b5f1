import ChaosCore
import Logging
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
    /// Its agent connector sends the leadership epoch when the store is shared (set in `run()`).
    var environment: RunEnvironment
    var services: RunServices.Installed { environment.services }
    /// Every reading of the time and every wait of the loop and its runs.
    let clock: any ChaosClock
    /// Where the log lines go (stderr, each stamped with the clock's time, by default).
    let logSink: @Sendable (String, Logger.Level, Logger.Metadata) -> Void
    let catalog: ExperimentCatalog
    /// Set in `run()` before the API starts.
    var store: (any RunStoring & FireStoring & AuditStoring)!
    /// The store shared with other controllers, when configured (the same object as `store`).
    var coordinated: (any SharedControllerStore)?
    /// `NAME@HOST#PID`: this controller instance among those of a shared store.
    let holder: String
    /// The epoch sent to the agents while leading.
    let fencing = FencingEpoch()
    /// The lead over the shared store (a single controller always decides).
    let lease: Mutex<LeadLease>
    /// What `chaos controller status`, the dashboard and /metrics show about the lead.
    let standing: Mutex<Standing>
    struct Standing {
        var leader: LeaderRecord?
        var peers: [ControllerPeer] = []
        var note: String?
        /// The epoch whose takeover (fencing the agents, recovering the old leader's fires) is done:
        /// nothing is decided before.
        var readyEpoch: Int64?
    }
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
        /// Halts and resumes made here: being written to the store, and made in all. A read of the
        /// store's halt started before a change here must not undo it.
        var haltWrites = 0
        var haltChanges = 0
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
    ///   - log: where log lines go (their text only); default: swift-log with fields (`experiment`, `run.id`,
    ///     `fire.state`, `verdict`, `epoch`...), to the journal under systemd (`journalctl -t chaos-controller
    ///     CHAOS_EXPERIMENT=...`), else to stderr.
    public init(settings: ControllerSettings, environment: RunEnvironment, log: (@Sendable (String) -> Void)? = nil) {
        self.config = settings
        self.environment = environment
        self.clock = environment.clock
        if let log {
            self.logSink = { message, _, _ in log(message) }
        } else {
            var made = Logger(label: "chaos-controller", factory: { LoggingBootstrap.handler(label: $0, identifier: "chaos-controller") })
            made.logLevel = .info
            let logger = made
            self.logSink = { message, level, metadata in logger.log(level: level, "\(message)", metadata: metadata) }
        }
        catalog = ExperimentCatalog(directory: settings.experiments)
        holder = "\(settings.name)@\(Controller.hostName())#\(getpid())"
        lease = Mutex(LeadLease(ttl: settings.shared?.lease ?? .seconds(15)))
        standing = Mutex(Standing())
    }

    func nowMs() -> Int64 { clock.now() }

    func log(_ message: String, _ level: Logger.Level = .info, _ metadata: Logger.Metadata = [:]) { logSink(message, level, metadata) }

    /// Runs until SIGTERM (or another signal of the environment's): each tick decides what is due and
    /// starts it; at the end the runs in progress revert and are stored. Returns the exit status.
    public func run() async throws(ChaosError) -> Int32 {
        let store: any RunStoring & FireStoring & AuditStoring
        var lock: ControllerLock?
        if let shared = config.shared {
            guard let open = services.sharedStore else {
                throw .internalError("controller.store", "This build of chaos cannot use a shared (PostgreSQL) store.")
            }
            let opened = try await open(shared, config.storeDir)
            coordinated = opened
            store = opened
            let agents = environment.agents
            let fencing = self.fencing
            environment.agents = { () throws(ChaosError) -> any AgentConnector in try agents().fenced(by: fencing) }
        } else {
            guard let own = try services.store(config.storeDir) as? any RunStoring & FireStoring & AuditStoring else {
                throw .internalError("controller.store", "This store cannot keep the controller's fire records.")
            }
            // Two controllers on one SQLite store would run every fire twice: the second refuses to start.
            if config.lockStore { lock = try ControllerLock.take(config.storeDir) }
            store = own
        }
        self.store = store
        raiseOpenFilesLimit()
        inventory = try DocumentFiles.inventory(config.inventory)
        if let h = await storedHalt(store), h.halted {
            shared.withLock { $0.halt = h }
            log("HALTED since \(Self.text(h.at ?? 0)) by \(h.by ?? "?"): \(h.reason ?? ""); nothing starts until 'chaos resume'", .warning,
                ["halt.by": "\(h.by ?? "?")", "halt.reason": "\(h.reason ?? "")"])
        }
        for line in catalog.reloadIfChanged() { log(line) }
        if coordinated == nil { try await recover(store, except: []) }
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
            metrics.leading(coordinated == nil, epoch: 0)
            if !config.notify.isEmpty { notifier = face.notifier(config.notify) }
            if let api = config.api {
                let settings = try checked(api)
                listening = try await face.serve(settings, self)
                log("API and dashboard on \(settings.plaintext ? "http" : "https")://\(settings.address):\(listening!.port)/")
            }
        }
        var coordination: Task<Void, Never>?
        if let store = coordinated {
            let api: String? = listening.flatMap { l in config.api.map { Self.apiURL($0)(l.port) } }
            coordination = Task { await self.coordinate(store, api: api) }
        }
        let waiter = Waiter(clock: clock, signals: environment.signals)
        var lastPoll: Int64 = 0
        var lastLook: Int64 = 0
        // A shared store is watched every second (the lead, a halt from another controller); the
        // schedule is still looked at once a tick, and at once after a takeover.
        let step = coordinated == nil ? config.tick.milliseconds : min(config.tick.milliseconds, 1000)
        var decidedEpoch: Int64?
        log("started as \(holder): experiments \(config.experiments), inventory \(config.inventory), store \(storeName), tick \(config.tick)")
        while true {
            for line in catalog.reloadIfChanged() { log(line) }
            let ready = mayDecide()
            if ready.may, nowMs() - lastLook >= config.tick.milliseconds || ready.epoch != decidedEpoch {
                lastLook = nowMs()
                decidedEpoch = ready.epoch
                do { try await look(store, inventory) } catch { log("could not decide what is due: \(error.message)") }
            }
            metrics.active(await liveRuns().filter { $0.holdsFault }.count)
            if nowMs() - lastPoll >= Self.agentPoll {
                lastPoll = nowMs()
                pollAgents()
            }
            let until = nowMs() + step
            // One sleep per step (a signal cuts it short): nothing to count down in between.
            if let s = await waiter.wait(until: until, step: max(1, step), tick: { _ in }) {
                log("signal \(s): stopping; runs in progress revert their faults", .notice)
                break
            }
        }
        for t in shared.withLock({ Array($0.tasks.values) }) { await t.value }
        coordination?.cancel()
        await coordination?.value
        if let coordinated {
            // Hands over at once rather than after the lease: a standby takes the next fire.
            if lease.withLock({ $0.leads(nowNs: Monotonic.nowNs()) }) {
                do { try await coordinated.releaseLeadership(holder); log("stepped down") } catch { log("could not step down: \(error.message)") }
            }
            await coordinated.close()
        }
        await listening?.stop()
        await notifier?.close()
        await fleet?.close()
        await probes?.shutdown()
        lock?.release()
        log("stopped")
        return 0
    }

    /// Where the store is, for logs and status (no password).
    var storeName: String {
        guard let shared = config.shared else { return "sqlite:\(config.storeDir)" }
        return PostgresURL.redacted(shared.url)
    }

    static func apiURL(_ api: ControllerAPISettings) -> (Int) -> String {
        { port in "\(api.plaintext ? "http" : "https")://\(api.address.contains(":") ? "[\(api.address)]" : api.address):\(port)/" }
    }

    /// Whether this controller may decide fires now: always alone, only as the ready leader when shared.
    func mayDecide() -> (may: Bool, epoch: Int64?) {
        guard coordinated != nil else { return (true, nil) }
        guard let lead = lease.withLock({ k -> LeadLease.Lead? in k.leads(nowNs: Monotonic.nowNs()) ? k.lead : nil }) else { return (false, nil) }
        return (standing.withLock { $0.readyEpoch } == lead.epoch, lead.epoch)
    }

    /// The halt state in the store (nil when none was stored or it cannot be read).
    func storedHalt(_ store: any FireStoring) async -> HaltState? {
        guard let text = try? await store.value(Self.haltKey) else { return nil }
        return try? JSONDecoder().decode(HaltState.self, from: Data(text.utf8))
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
    /// With a shared store, a new leader does this for the fires its predecessor left started
    /// (`except` its own runs in progress).
    func recover(_ store: any RunStoring & FireStoring, except: Set<String>) async throws(ChaosError) {
        let now = nowMs()
        for var f in try await store.fires(in: .started) where !except.contains(f.runID ?? "") {
            if let id = f.runID, try await store.run(id) != nil {
                f.state = .finished
                f.reason = "stored before the controller stopped"
            } else {
                f.state = .interrupted
                f.reason = "the controller stopped during the run; the agent reverted the fault when its lease ran out"
                if let id = f.runID, let (file, e) = catalog.experiment(named: f.experiment) {
                    let journal = Journal(runID: id, experiment: e.name, reversible: e.fault.type.isReversible, probes: e.probes, expect: e.expect,
                                          events: [RunEvent(at: f.decidedMs, kind: .started), RunEvent(at: now, kind: .interrupted, detail: f.reason)], samples: [])
                    try await store.save(RunRecord(runID: id, experiment: e.name, file: file, host: nil, faultKind: e.fault.type, target: f.target,
                                             status: .interrupted, startedAt: f.decidedMs, endedAt: now, verdict: Verdict.of(journal), journal: journal))
                }
            }
            f.decidedMs = now
            try await store.record(f)
            log("fire of '\(f.experiment)' scheduled \(Self.text(f.scheduledMs)): \(f.state.rawValue) (\(f.reason ?? ""))", .notice,
                ["experiment": "\(f.experiment)", "fire.state": "\(f.state.rawValue)", "fire.scheduled": "\(Self.text(f.scheduledMs))"])
        }
    }

    /// One look at the clock.
    func look(_ store: any RunStoring & FireStoring, _ inventory: Inventory?) async throws(ChaosError) {
        let now = nowMs()
        let lastLook = try await store.value(Self.lastLookKey).flatMap { Int64($0) } ?? now
        let through = ZoneClock.dateText(Int(now / 86_400_000) + 2)
        let scheduled = scheduledExperiments(inventory, through: through)
        shared.withLock { $0.scheduled = scheduled; $0.experiments = catalog.experiments.count }
        metrics.known(catalog.experiments.map(\.1.name))
        let records = try await store.fires(sinceMs: now - 30 * 86_400_000)
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
        let record: @Sendable (PlannedFire, FireRecord.State, String?, String?) async throws(ChaosError) -> Void = { f, state, reason, runID in
            try await store.record(make(f, state, reason, runID))
            metrics.fire(state)
        }
        // Every decision is recorded before anything is injected, all in one transaction; with a
        // shared store, the same transaction checks that this controller still leads (a claim), and a
        // fire another controller decided first is left to it.
        var decisions: [(PlannedFire, FireRecord)] = []
        for f in due.missed {
            decisions.append((f, make(f, .missed, "scheduled \(Self.text(DueFires.Key(f).scheduledMs)), more than the grace (\(config.grace)) before the controller could start it", nil)))
        }
        // Moments closed by the calendar's days and hours are not worth a record (every cron match at
        // night would be one); blackouts, holidays, spacing, busy targets and halts are.
        for f in due.skipped where !["not_workday", "outside_hours"].contains(f.skipCode ?? "") {
            decisions.append((f, make(f, .skipped, f.skipReason, nil)))
        }
        var experiments: [DueFires.Key: (String, Experiment)] = [:]
        for f in due.start {
            guard let found = catalog.experiment(named: f.experiment) else { continue }
            experiments[DueFires.Key(f)] = (found.file, found.experiment)
            decisions.append((f, make(f, .started, nil, RunDriver.newRunID())))
        }
        let claimed = Set(try await claim(decisions.map(\.1), store).map(\.key))
        for (f, fire) in decisions where claimed.contains(fire.key) {
            metrics.fire(fire.state)
            switch fire.state {
            case .missed: log("missed '\(f.experiment)' scheduled \(Self.text(fire.scheduledMs))", .notice, ["experiment": "\(f.experiment)", "fire.state": "missed"])
            case .skipped: log("skipped '\(f.experiment)' scheduled \(Self.text(fire.scheduledMs)): \(fire.reason ?? "")", .notice,
                               ["experiment": "\(f.experiment)", "fire.state": "skipped", "fire.reason": "\(fire.reason ?? "")"])
            default:
                guard let (file, e) = experiments[fire.key], let runID = fire.runID else { continue }
                metrics.lag(seconds: Double(now - fire.scheduledMs) / 1000)
                log("starting '\(e.name)' (\(f.trigger.rawValue), scheduled \(Self.text(fire.scheduledMs))) as run \(runID)", .notice,
                    ["experiment": "\(e.name)", "run.id": "\(runID)", "fire.trigger": "\(f.trigger.rawValue)"])
                let calendar = byName[e.name]?.calendar
                // Made under the lock, so the task (which removes itself under it) is registered first.
                shared.withLock {
                    $0.live[runID] = LiveEntry(experiment: e.name, target: f.target, startedAt: now, recorder: nil, probes: e.probes.map(\.name))
                    $0.tasks[runID] = Task { await self.execute(f, e, file: file, runID: runID, inventory: inventory, calendar: calendar, store: store, record: record) }
                }
            }
        }
        if claimed.count < decisions.count {
            log("\(decisions.count - claimed.count) fire(s) were already decided by another controller; left to it")
        }
        try await store.setValue(String(now), for: Self.lastLookKey)
    }

    /// Records `fires`: all of them alone; with a shared store, only while leading at the epoch the
    /// agents know (those another controller recorded first are not returned).
    func claim(_ fires: [FireRecord], _ store: any FireStoring) async throws(ChaosError) -> [FireRecord] {
        guard !fires.isEmpty else { return [] }
        guard let coordinated else {
            try await store.record(all: fires)
            return fires
        }
        guard let epoch = mayDecide().epoch else { throw ChaosError("controller.notLeader", "This controller no longer leads; nothing was decided.") }
        return try await coordinated.claim(fires, holder: holder, epoch: epoch)
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
        if coordinated != nil, !lease.withLock({ $0.leads(nowNs: Monotonic.nowNs()) }) {
            return "this controller lost its lead over the shared store (another controller may take over)"
        }
        return calendar?.blackout(at: Double(nowMs()) / 1000).map { "blackout" + ($0.reason.map { " (\($0))" } ?? "") + " began" }
    }

    private func execute(_ f: PlannedFire, _ e: Experiment, file: String, runID: String, inventory: Inventory?, calendar: WorkCalendar?,
                         store: any RunStoring & FireStoring,
                         record: @Sendable (PlannedFire, FireRecord.State, String?, String?) async throws(ChaosError) -> Void) async {
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
            try await saveRetrying(run, store)
            metrics.verdict(run.verdict.outcome)
            metrics.experiment(run)
            try await record(f, .finished, "\(run.verdict.outcome.rawValue) (\(run.status.rawValue)): \(run.verdict.reasons.first ?? "")", runID)
            log("run \(runID) of '\(e.name)': \(run.verdict.outcome.rawValue.uppercased()) (\(run.status.rawValue)) \(run.verdict.reasons.first ?? "")",
                run.verdict.outcome == .passed ? .notice : .warning,
                ["experiment": "\(e.name)", "run.id": "\(runID)", "verdict": "\(run.verdict.outcome.rawValue)", "run.status": "\(run.status.rawValue)"])
            notify(ControllerEvent(kind: .verdict, at: nowMs(), runID: runID, experiment: e.name, target: run.target,
                                   outcome: run.verdict.outcome.rawValue, status: run.status.rawValue, reasons: run.verdict.reasons))
        } catch {
            try? await record(f, .skipped, "could not start: \(error.message)", runID)
            log("run \(runID) of '\(e.name)' could not start: \(error.message)", .error, ["experiment": "\(e.name)", "run.id": "\(runID)", "error.code": "\(error.code)"])
        }
    }

    /// Saves a finished run; while the store does not answer (PostgreSQL down or cut off), tries
    /// again every 2 s for a minute, so that a run that ended during an outage is not lost.
    func saveRetrying(_ run: RunRecord, _ store: any RunStoring) async throws(ChaosError) {
        var attempt = 0
        while true {
            do { try await store.save(run); return } catch {
                attempt += 1
                guard attempt < 30, ["store.timeout", "store.postgres"].contains(error.code) else { throw error }
                if attempt == 1 { log("run \(run.runID) could not be stored yet (\(error.message)); trying again for a minute", .warning, ["run.id": "\(run.runID)"]) }
                try? await Task.sleep(for: .seconds(2))
            }
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
    private var leaderGauge: Gauge?
    private var epochGauge: Gauge?
    private var made = false
    private var seen: Set<String> = []

    /// Makes the metrics (after the metrics system is bootstrapped).
    func make() {
        lock.withLock { _ in
            made = true
            halts = Counter(label: "chaos_controller_halts_total")
            haltedGauge = Gauge(label: "chaos_controller_halted")
            lagGauge = Gauge(label: "chaos_controller_schedule_lag_seconds")
            activeGauge = Gauge(label: "chaos_controller_faults_active")
            leaderGauge = Gauge(label: "chaos_controller_leader")
            epochGauge = Gauge(label: "chaos_controller_epoch")
            Gauge(label: "chaos_controller_build_info", dimensions: [("version", chaosVersion)]).record(1)
            for o in Verdict.Outcome.allCases { runs[o.rawValue] = Counter(label: "chaos_controller_runs_total", dimensions: [("verdict", o.rawValue)]) }
        }
    }

    func verdict(_ o: Verdict.Outcome) { lock.withLock { _ in runs[o.rawValue]?.increment() } }

    /// Every experiment's run counters exist from its load, at 0, so Prometheus' increase() counts its first run.
    func known(_ experiments: [String]) {
        lock.withLock { _ in
            guard made else { return }
            for e in experiments where !seen.contains(e) {
                seen.insert(e)
                for o in Verdict.Outcome.allCases {
                    Counter(label: "chaos_controller_experiment_runs_total", dimensions: [("experiment", e), ("verdict", o.rawValue)]).increment(by: 0)
                }
            }
        }
    }

    /// Per experiment: its runs by verdict, its last verdict (1 for that verdict, 0 for the others), when it
    /// last ran, and the time to recover of its last run that recovered. Experiments are few (files in a
    /// directory), so the label stays small.
    func experiment(_ run: RunRecord) {
        lock.withLock { _ in
            guard made else { return }
            let e = run.experiment
            Counter(label: "chaos_controller_experiment_runs_total", dimensions: [("experiment", e), ("verdict", run.verdict.outcome.rawValue)]).increment()
            for o in Verdict.Outcome.allCases {
                Gauge(label: "chaos_controller_experiment_last_outcome", dimensions: [("experiment", e), ("verdict", o.rawValue)]).record(o == run.verdict.outcome ? 1 : 0)
            }
            Gauge(label: "chaos_controller_experiment_last_run_timestamp_seconds", dimensions: [("experiment", e)]).record(Double(run.endedAt) / 1000)
            if let ttr = run.verdict.figures.timeToRecoverMs {
                Gauge(label: "chaos_controller_experiment_recovery_seconds", dimensions: [("experiment", e)]).record(Double(ttr) / 1000)
            }
        }
    }
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
    /// 1 while this controller decides fires (always when alone), and its leadership epoch (0: none).
    func leading(_ on: Bool, epoch: Int64) { lock.withLock { _ in leaderGauge?.record(on ? 1 : 0); epochGauge?.record(epoch) } }
}
