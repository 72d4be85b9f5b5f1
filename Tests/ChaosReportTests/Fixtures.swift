import ChaosCore

/// Synthetic runs: probes `web` and `api` observed once a second for 35 s; the gate is met at 4.9 s,
/// the fault injected at 5 s, verified at 5.5 s, reverted at 20 s; observation ends at 35 s.
enum Fixture {
    static let t0: Int64 = 1_700_000_000_000
    static let seconds = 35

    /// `failing`: seconds at which `web` fails; `blind`: seconds at which `api` is blind.
    /// Without `inject`, the run stops after the gate with nothing injected.
    static func run(experiment: String = "web-latency", id: String = "r-1", failing: Set<Int> = [], blind: Set<Int> = [],
                    inject: Bool = true, kill: Bool = false, status: RunStatus = .completed, webProbe: String = "web") -> RunRecord {
        var events = [RunEvent(at: t0, kind: .started), RunEvent(at: t0 + 4_900, kind: .gateMet)]
        if inject {
            events += [RunEvent(at: t0 + 5_000, kind: .injected, detail: "delay 300ms on eth0"),
                       RunEvent(at: t0 + 5_500, kind: .verified)]
            if !kill { events.append(RunEvent(at: t0 + 20_000, kind: .reverted)) }
        }
        let end = inject ? seconds : 5
        events.append(RunEvent(at: t0 + Int64(end) * 1000, kind: .ended))
        var samples: [Sample] = []
        for s in 0..<end {
            let phase: Phase = !inject || s < 5 ? .before : s < 20 && !kill ? .during : .after
            let at = t0 + Int64(s) * 1000
            let webFails = failing.contains(s)
            samples.append(Sample(probe: webProbe, at: at, latencyMs: webFails ? 1000 : Double(10 + s), phase: phase,
                                  judgement: webFails ? .fail("status 503") : .ok))
            samples.append(Sample(probe: "api", at: at + 250, latencyMs: 20, phase: phase,
                                  judgement: blind.contains(s) ? .blind("observer overloaded") : .ok))
        }
        let journal = Journal(runID: id, experiment: experiment, reversible: !kill,
                              probes: [ProbeSpec(name: webProbe, type: .http), ProbeSpec(name: "api", type: .tcp)],
                              expect: ExpectSpec(), events: events, samples: samples)
        return RunRecord(runID: id, experiment: experiment, file: "experiments/\(id).yaml", host: "web-1", faultKind: kill ? .processKill : .networkDelay,
                         target: "eth0", status: status, startedAt: t0, endedAt: t0 + Int64(end) * 1000,
                         verdict: Verdict.of(journal), journal: journal)
    }

    /// One failed sample during the fault: passed.
    static var passed: RunRecord { run(experiment: "api-blip", id: "r-pass", failing: [8], blind: [25]) }
    /// Down from 8 s to 22 s: an outage of 14 s, 60 % available during the fault, recovered 2 s after the revert.
    static var failed: RunRecord { run(experiment: "web-latency", id: "r-fail", failing: Set(8...21)) }
    /// Nothing injected: inconclusive.
    static var inconclusive: RunRecord { run(experiment: "db-failover", id: "r-inc", inject: false) }
    /// Aborted by a stop condition (with a failed verdict).
    static var aborted: RunRecord { run(experiment: "cache-loss", id: "r-abort", failing: Set(6...30), status: .aborted) }

    /// A kill (cannot be reverted): recovery measured from the kill, no during phase.
    static var kill: RunRecord { run(experiment: "kill-web", id: "r-kill", failing: Set(5...7), kill: true) }

    static var gameDay: [RunRecord] { [passed, failed, inconclusive, aborted] }

    static let evil = "<script>alert(1)</script>&\"'"
}
