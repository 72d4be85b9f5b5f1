import ChaosCore
import ChaosEngine

/// Before each experiment of a game day: wait (bounded) until every probe of the experiment succeeds
/// a few times in a row, so that a system still recovering from the previous experiment is given the
/// time an SRE would give it instead of making the next run inconclusive at once. The run's own gate
/// still judges the steady state afterwards; this only decides when to start it.
public enum SteadyStateWait {
    /// Consecutive rounds in which every probe must succeed.
    public static let rounds = 3

    /// True once every probe has succeeded `rounds` times in a row; false if `limit` passes first
    /// (or on SIGINT/SIGTERM, which the caller sees in the run that follows).
    public static func until(_ experiment: Experiment, limit: ChaosDuration, services: RunServices.Installed,
                             clock: any ChaosClock = SystemWallClock(), progress: (String) -> Void) async -> Bool {
        let factory = services.probes()
        var runners: [any ProbeRunner] = []
        for spec in experiment.probes {
            guard let r = try? factory.runner(for: spec) else { await factory.shutdown(); return false }
            runners.append(r)
        }
        let met = await poll(runners, limit: limit, clock: clock, progress: progress)
        await factory.shutdown()
        return met
    }

    private static func poll(_ runners: [any ProbeRunner], limit: ChaosDuration, clock: any ChaosClock, progress: (String) -> Void) async -> Bool {
        let interval = max(200, runners.map { $0.spec.interval.milliseconds }.max() ?? 1000)
        let deadline = clock.now() + limit.milliseconds
        var streak = 0
        var announced = false
        while true {
            let failing = await withTaskGroup(of: String?.self) { group in
                for r in runners {
                    group.addTask {
                        let o = await r.observe()
                        return r.spec.tolerance.judge(o, kind: r.spec.type).isOK ? nil : r.spec.name
                    }
                }
                var names: [String] = []
                for await n in group { if let n { names.append(n) } }
                return names.sorted()
            }
            streak = failing.isEmpty ? streak + 1 : 0
            if streak >= rounds { return true }
            if !failing.isEmpty && !announced {
                progress("waiting up to \(limit) for the steady state (failing: \(failing.joined(separator: ", ")))")
                announced = true
            }
            if clock.now() >= deadline || Task.isCancelled { return false }
            try? await clock.sleep(milliseconds: interval)
        }
    }
}
