import ChaosCore
import Foundation
import Logging
import Synchronization

/// The controller as its API and dashboard see it: overview, stored runs, halt and resume, audit.
extension Controller: ControllerBackend {
    /// The runs in progress with their probes' last status.
    public func liveRuns() async -> [LiveRun] {
        let entries = shared.withLock { $0.live }
        var out: [LiveRun] = []
        for (id, e) in entries.sorted(by: { $0.value.startedAt < $1.value.startedAt }) {
            var step = "starting"
            var probes = e.probes.map { LiveProbe(name: $0, status: "waiting") }
            if let r = e.recorder {
                step = await r.events.last?.kind.rawValue ?? "started"
                let last = await r.last
                probes = e.probes.map { name in
                    guard let j = last[name] else { return LiveProbe(name: name, status: "waiting") }
                    return LiveProbe(name: name, status: j.isOK ? "ok" : j.isBlind ? "blind" : "failing")
                }
            }
            out.append(LiveRun(runID: id, experiment: e.experiment, target: e.target, startedAt: e.startedAt, step: step, probes: probes))
        }
        return out
    }

    public func overview() async -> ControllerOverview {
        let now = nowMs()
        let (halt, scheduled, count) = shared.withLock { ($0.halt, $0.scheduled, $0.experiments) }
        // The next 24 hours as the planner sees them (closed days and hours left out, like the log).
        let history = ((try? await store.fires(sinceMs: now - 30 * 86_400_000)) ?? []).map { $0 }
        let plan = SchedulePlanner.plan(scheduled, from: Double(now) / 1000, to: Double(now) / 1000 + 86_400, seed: config.seed, history: Self.history(history))
        let upcoming = plan.filter { !["not_workday", "outside_hours"].contains($0.skipCode ?? "") }.prefix(50).map { f in
            UpcomingFire(experiment: f.experiment, target: f.target, at: Int64(f.at * 1000), trigger: f.trigger.rawValue,
                         skipCode: halt.halted && f.fires ? "halted" : f.skipCode,
                         skipReason: halt.halted && f.fires ? "chaos is halted" : f.skipReason)
        }
        let leadership = await leadership()
        var running = await liveRuns()
        if leadership.role == "standby" {
            // The leader's runs, as the store knows them (a standby runs none).
            running = history.filter { $0.state == .started }.map { f in
                LiveRun(runID: f.runID ?? "?", experiment: f.experiment, target: f.target, startedAt: f.decidedMs,
                        step: "running on \(leadership.leader?.holder ?? "the leader")", probes: [])
            }
        }
        return ControllerOverview(now: now, halt: halt, running: running, upcoming: Array(upcoming), experiments: count, scheduled: scheduled.count,
                                  agents: shared.withLock { $0.agents }, leadership: leadership)
    }

    public func runs(_ filter: RunFilter) async throws(ChaosError) -> [RunRecord] { try await store.runs(filter) }
    public func run(_ id: String) async throws(ChaosError) -> RunRecord? { try await store.run(id) }
    public func experimentNames() async throws(ChaosError) -> [String] { try await store.experimentNames() }
    public func audit(limit: Int) async throws(ChaosError) -> [AuditEntry] { try await store.auditEntries(limit: limit) }

    /// Halts everything: the flag first (stored, so a restart stays halted; the runs' halt hook sees it
    /// within 250 ms and reverts), then every agent of the inventory reverts all its faults and
    /// refuses new ones, in parallel.
    public func halt(by caller: ControllerCaller, reason: String) async -> HaltOutcome {
        let who = caller.name
        let start = nowMs()
        let state = HaltState(halted: true, by: who, reason: reason, at: start)
        let aborted = shared.withLock { s -> [String] in
            s.halt = state
            s.haltWrites += 1
            s.haltChanges += 1
            return s.live.keys.sorted()
        }
        await persist(state)
        metrics.halt()
        await audit(AuditEntry(at: start, who: caller.description, action: "halt", detail: reason + (aborted.isEmpty ? "" : " (stopping \(aborted.joined(separator: ", ")))")))
        log("HALT by \(caller): \(reason)", .warning, ["halt.by": "\(caller)", "halt.reason": "\(reason)"])
        let agents = await fanOut { agent throws(ChaosError) -> Int in try await agent.halt(reason: "controller halt by \(who): \(reason)").reverted.count }
        let outcome = HaltOutcome(halt: state, agents: agents, abortedRuns: aborted, elapsedMs: nowMs() - start)
        log("halt acknowledged by \(agents.filter(\.ok).count)/\(agents.count) agents in \(outcome.elapsedMs) ms; \(agents.map(\.reverted).reduce(0, +)) faults reverted")
        notify(ControllerEvent(kind: .halt, at: start, reasons: ["by \(who): \(reason)"]))
        return outcome
    }

    public func resume(by caller: ControllerCaller) async -> HaltOutcome {
        let who = caller.name
        let start = nowMs()
        let before = shared.withLock { s -> HaltState in
            let b = s.halt
            s.halt = .running
            s.haltWrites += 1
            s.haltChanges += 1
            return b
        }
        await persist(.running)
        metrics.halted(false)
        await audit(AuditEntry(at: start, who: caller.description, action: "resume", detail: before.halted ? "halted since \(Self.text(before.at ?? 0)) by \(before.by ?? "?")" : "was not halted"))
        log("RESUME by \(caller)", .notice, ["resume.by": "\(caller)"])
        let agents = await fanOut { agent throws(ChaosError) -> Int in try await agent.resume(); return 0 }
        // Fires that fell due while halted were recorded as skipped; the schedule goes on from now.
        notify(ControllerEvent(kind: .resume, at: start, reasons: ["by \(who)"]))
        return HaltOutcome(halt: .running, agents: agents, abortedRuns: [], elapsedMs: nowMs() - start)
    }

    /// Stores the halt state for a restart and for the other controllers of a shared store (which
    /// read it every second); until it is written, this controller's reads of the store do not undo
    /// it (`haltWrites`).
    private func persist(_ state: HaltState) async {
        defer { shared.withLock { $0.haltWrites -= 1 } }
        do {
            let data = try JSONEncoder().encode(state)
            try await store.setValue(String(decoding: data, as: UTF8.self), for: Self.haltKey)
        } catch {
            log("could not store the halt state: \(error)")
        }
    }

    private func audit(_ entry: AuditEntry) async {
        do { try await store.append(entry) } catch { log("could not write the audit log: \(error.message)") }
    }

    /// Asks every agent's health, in the background (one poll at a time): the dashboard's agent
    /// count, and connections kept open for the next halt.
    func pollAgents() {
        guard fleet != nil, shared.withLock({ s in
            if s.polling { return false }
            s.polling = true
            return true
        }) else { return }
        Task {
            let answers = await each { agent throws(ChaosError) -> Bool in (try await agent.health()).halted == true }
            let halted = answers.filter { (try? $0.1.get()) == true }.count
            let down = answers.compactMap { host, r -> AgentAck? in
                guard case .failure(let e) = r else { return nil }
                return AgentAck(host: host.name, ok: false, error: e.message)
            }
            let summary = AgentsSummary(total: answers.count, reachable: answers.count - down.count, halted: halted, unreachable: Array(down.prefix(20)), checkedAt: nowMs())
            shared.withLock { $0.agents = summary; $0.polling = false }
        }
    }

    /// `body` on every agent of the inventory at once (the controller's session, else a new one).
    func each<T: Sendable>(_ body: @escaping @Sendable (any AgentClient) async throws(ChaosError) -> T) async -> [(Inventory.Host, Result<T, ChaosError>)] {
        guard let inventory else { return [] }
        let hosts = inventory.hosts.filter { $0.agent != nil }
        guard !hosts.isEmpty else { return [] }
        let fleet: AgentFleet
        if let own = self.fleet { fleet = own.lent() } else {
            do throws(ChaosError) { fleet = try AgentFleet.open(inventory, environment: environment) } catch {
                return hosts.map { ($0, .failure(error)) }
            }
        }
        let results = await fleet.each(hosts, body)
        await fleet.close()
        return results
    }

    /// Halts or resumes every agent: one acknowledgement each, with the faults it reverted.
    func fanOut(_ body: @escaping @Sendable (any AgentClient) async throws(ChaosError) -> Int) async -> [AgentAck] {
        await each(body).map { host, r in
            switch r {
            case .success(let n): return AgentAck(host: host.name, ok: true, reverted: n)
            case .failure(let e): return AgentAck(host: host.name, ok: false, error: e.message)
            }
        }
    }
}

extension LiveRun {
    /// Between the inject and the revert.
    var holdsFault: Bool { ["injected", "verified"].contains(step) }
}
