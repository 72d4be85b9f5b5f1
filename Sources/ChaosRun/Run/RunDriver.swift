import ChaosCore
import ChaosEngine
import Foundation
import Synchronization

/// One experiment run: gate (steady state before) → inject → confirm → observe (stop conditions)
/// → revert → recovery window → verdict. Revert always runs: at the end, on a stop condition, on
/// SIGINT/SIGTERM, on errors. Every step goes into the journal; the verdict is computed from it.
public struct RunDriver: Sendable {
    public let experiment: Experiment
    public let file: String?
    public let fault: any FaultDriver
    public let probes: [any ProbeRunner]
    public let output: RunSettings.Output
    /// Reads the time and sleeps: the gate, the hold, the recovery window, the probes' intervals.
    public var clock: any ChaosClock = SystemWallClock()
    /// What interrupts the run (SIGINT, SIGTERM, SIGHUP: reverted at once, stored interrupted).
    public var signals: (any SignalSource)? = ProcessSignals()
    /// How long the steady state is observed before the fault.
    public var gate: ChaosDuration = .seconds(5)
    /// Asked while the fault is held (every 250 ms): a reason ends the run at once, aborted and
    /// reverted (the controller's blackouts: a blackout that begins halts the experiments running).
    public var halt: (@Sendable () -> String?)? = nil
    /// The run's id; the controller chooses it, to write it ahead in its fire record.
    public var runID: String = RunDriver.newRunID()

    /// `r-` and 12 random hex digits (48 bits). Eight (32 bits) made about a hundred collisions
    /// likely among a million stored runs, and the store replaces a run saved under an existing id.
    public static func newRunID() -> String {
        "r-" + String(UUID().uuidString.lowercased().filter { $0 != "-" }.prefix(12))
    }
    /// Given the run's recorder as it starts (the controller shows live probe status from it).
    public var onStart: (@Sendable (RunRecorder) -> Void)? = nil

    public init(experiment: Experiment, file: String?, fault: any FaultDriver, probes: [any ProbeRunner], output: RunSettings.Output) {
        self.experiment = experiment; self.file = file; self.fault = fault; self.probes = probes; self.output = output
    }

    /// Observation after the recovery is confirmed, to see that it holds.
    public var settleMs: Int64 {
        max(3000, 3 * (probes.map { $0.spec.interval.milliseconds }.max() ?? 1000))
    }

    public func run() async -> RunRecord {
        let clock = self.clock
        let runID = self.runID
        let recorder = RunRecorder()
        let waiter = Waiter(clock: clock, signals: signals)
        let start = clock.now()
        let interactive = Terminal.interactive && output == .table
        await recorder.mark(.started, at: start)
        onStart?(recorder)
        let loops = ProbeLoops.start(probes, recorder: recorder, clock: clock)
        var status = RunStatus.completed
        let progress = Progress(experiment: experiment.name, interactive: interactive, recorder: recorder)

        func finish() async -> RunRecord {
            await recorder.mark(.ended, at: clock.now())
            for l in loops { l.cancel() }
            for l in loops { await l.value }
            if interactive { Terminal.progress("") }
            let journal = Journal(runID: runID, experiment: experiment.name, reversible: fault.reversible, probes: experiment.probes,
                                  expect: experiment.expect, events: await recorder.events, samples: await recorder.samples)
            return RunRecord(runID: runID, experiment: experiment.name, file: file, host: fault.host, faultKind: experiment.fault.type,
                             target: fault.target, status: status, startedAt: start, endedAt: clock.now(), verdict: Verdict.of(journal), journal: journal)
        }

        // 1. Gate: the steady state before the fault.
        progress.say("observing the steady state for \(gate)")
        if await waiter.wait(until: start + gate.milliseconds, tick: progress.tick("before")) != nil {
            status = .interrupted
            await recorder.mark(.interrupted, at: clock.now(), detail: "signal before the fault; nothing injected")
            return await finish()
        }
        let (before, count) = await recorder.availability(.before)
        guard let before, before >= experiment.expect.availabilityBefore else {
            await recorder.mark(.gateFailed, at: clock.now(), detail: count == 0 ? "no observation could be judged" : "\(Verdict.pct(before)) available")
            progress.say("steady state not met (\(Verdict.pct(before)) available, \(Verdict.pct(experiment.expect.availabilityBefore)) required): nothing injected")
            return await finish()
        }
        await recorder.mark(.gateMet, at: clock.now(), detail: "\(Verdict.pct(before)) available over \(count) observations")
        if let why = halt?() {
            // Halted (or a blackout began) during the gate: nothing is injected.
            status = .aborted
            await recorder.mark(.stopTripped, at: clock.now(), detail: "halted before the fault: \(why); nothing injected")
            return await finish()
        }

        // 2. Inject and confirm.
        let injected: Injected
        do {
            if !fault.reversible { await recorder.enter(.after) } else { await recorder.enter(.during) }
            injected = try await fault.inject()
        } catch {
            await recorder.enter(.before)
            status = .error
            await recorder.mark(.error, at: clock.now(), detail: error.message)
            progress.say("could not inject: \(error.message)")
            return await finish()
        }
        await recorder.mark(.injected, at: injected.at, detail: injected.actions.joined(separator: "; "))
        if let why = injected.notConfirmed {
            await recorder.mark(.notVerified, at: clock.now(), detail: why)
            if fault.reversible { await recorder.mark(.reverted, at: clock.now(), detail: "not confirmed active") }
            await recorder.enter(.after)
            progress.say("the fault could not be confirmed active (\(why)); reverted")
            return await finish()
        }
        await recorder.mark(.verified, at: clock.now())
        progress.say("\(experiment.fault.type) active on \(fault.target)")

        // 3. Hold the fault, watching the stop conditions.
        var revertFrom = injected.at
        if fault.reversible, let duration = experiment.fault.duration {
            let tripped = Mutex<StopCondition?>(nil)
            let halted = Mutex<String?>(nil)
            let halt = self.halt
            let conditions = experiment.stopWhen
            let signal = await waiter.wait(until: injected.at + duration.milliseconds, step: 250, tick: { left in
                await fault.keepAlive()
                let samples = await recorder.samples
                let now = clock.now()
                if let c = conditions.first(where: { $0.tripped(by: samples, now: now, faultSince: injected.at) }) {
                    tripped.withLock { $0 = c }
                }
                if let why = halt?() { halted.withLock { $0 = why } }
                await progress.tick("during")(left)
            }, stop: { tripped.withLock { $0 != nil } || halted.withLock { $0 != nil } || fault.endedElsewhere })
            var reason = "duration elapsed"
            if let s = signal {
                status = .interrupted
                reason = "interrupted by signal \(s)"
                await recorder.mark(.interrupted, at: clock.now(), detail: reason)
            } else if let c = tripped.withLock({ $0 }) {
                status = .aborted
                reason = "stop condition: \(c.summary)"
                await recorder.mark(.stopTripped, at: clock.now(), detail: c.summary)
            } else if let why = halted.withLock({ $0 }) {
                status = .aborted
                reason = "halted: \(why)"
                await recorder.mark(.stopTripped, at: clock.now(), detail: reason)
            } else if fault.endedElsewhere {
                status = .aborted
                reason = "ended on the agent (halt or revert)"
                await recorder.mark(.error, at: clock.now(), detail: reason)
            }
            // 4. Revert, always.
            do {
                try await fault.revert(reason: reason)
                revertFrom = clock.now()
                await recorder.mark(.reverted, at: revertFrom, detail: reason)
            } catch {
                status = .error
                await recorder.mark(.revertFailed, at: clock.now(), detail: error.message)
                progress.say("REVERT FAILED: \(error.message)")
            }
            await recorder.enter(.after)
            progress.say("reverted (\(reason)); watching the recovery")
        }
        if status == .interrupted { return await finish() }

        // 5. Recovery window: until every probe is back and has held for the settle time, or the window ends.
        let recoveryFrom = revertFrom
        let end = recoveryFrom + experiment.expect.recoverWithin.milliseconds + settleMs
        let settle = settleMs
        let stable = Mutex(false)
        if let s = await waiter.wait(until: end, tick: { left in
            let samples = await recorder.samples.filter { $0.at >= recoveryFrom }
            let now = clock.now()
            let recent = samples.filter { $0.at >= now - settle && !$0.judgement.isBlind }
            let earlier = samples.filter { $0.at < now - settle }
            if !earlier.isEmpty, !recent.isEmpty, recent.allSatisfy(\.judgement.isOK) { stable.withLock { $0 = true } }
            await progress.tick("after")(left)
        }, stop: { stable.withLock { $0 } }) {
            status = .interrupted
            await recorder.mark(.interrupted, at: clock.now(), detail: "signal \(s) during the recovery window")
        }
        return await finish()
    }
}

/// The live progress line (terminal) or phase lines (otherwise, on stderr).
struct Progress: Sendable {
    let experiment: String
    let interactive: Bool
    let recorder: RunRecorder

    func say(_ text: String) {
        if interactive { Terminal.progress("") }
        Terminal.err("[\(experiment)] \(text)")
    }

    func tick(_ phase: String) -> @Sendable (Int64) async -> Void {
        { left in
            guard interactive else { return }
            let last = await recorder.last.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.isOK ? "ok" : $0.value.isBlind ? "blind" : "FAIL")" }
            let (a, n) = await recorder.availability(Phase(rawValue: phase) ?? .before)
            Terminal.progress("  \(phase) \((left + 999) / 1000)s left · \(last.joined(separator: " · ")) · \(Verdict.pct(a)) of \(n)")
        }
    }
}
