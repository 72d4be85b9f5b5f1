import ChaosCore
import ChaosEngine

/// Collects a run's events and judged samples as they happen, tagging each sample with the phase
/// the run was in when the observation ended.
public actor RunRecorder {
    public private(set) var phase: Phase = .before
    public private(set) var events: [RunEvent] = []
    public private(set) var samples: [Sample] = []
    /// The last judgement per probe, for the live progress line.
    public private(set) var last: [String: Judgement] = [:]

    public init() {}

    public func enter(_ phase: Phase) { self.phase = phase }

    public func mark(_ kind: RunEvent.Kind, at: Int64, detail: String? = nil) {
        events.append(RunEvent(at: at, kind: kind, detail: detail))
    }

    public func add(_ o: Observation, spec: ProbeSpec, phase: Phase) {
        let j = spec.tolerance.judge(o, kind: spec.type)
        samples.append(Sample(probe: spec.name, at: o.at, latencyMs: o.latencyMs, phase: phase, judgement: j))
        last[spec.name] = j
    }

    /// Availability (percent) of the judged samples of `phase` so far, or nil without any.
    public func availability(_ phase: Phase) -> (Double?, Int) {
        let judged = samples.filter { $0.phase == phase && !$0.judgement.isBlind }
        guard !judged.isEmpty else { return (nil, 0) }
        return (Double(judged.filter(\.judgement.isOK).count) * 100 / Double(judged.count), judged.count)
    }
}

/// Observes every probe at its interval (on `clock`) until cancelled.
public enum ProbeLoops {
    public static func start(_ runners: [any ProbeRunner], recorder: RunRecorder, clock: any ChaosClock = SystemWallClock()) -> [Task<Void, Never>] {
        runners.map { runner in
            Task {
                let interval = runner.spec.interval.milliseconds
                var next = clock.now()
                while !Task.isCancelled {
                    let o = await runner.observe()
                    if Task.isCancelled { break }
                    // The phase when the observation ended: one that straddles the inject saw the
                    // fault's start, and the gate judged exactly the samples called "before".
                    await recorder.add(o, spec: runner.spec, phase: await recorder.phase)
                    next += interval
                    let now = clock.now()
                    if next < now { next = now } // a slow observation: start the next one at once
                    try? await clock.sleep(milliseconds: next - now)
                }
            }
        }
    }
}
