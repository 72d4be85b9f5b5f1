import ChaosCore

/// What every format says about one run, worked out once from its record: labels, windows and
/// tables of plain (unescaped) strings that each format escapes its own way.
struct RunFacts {
    let run: RunRecord
    var figures: Figures { run.verdict.figures }

    init(_ run: RunRecord) { self.run = run }

    /// Relative times are measured from here: the start of the run.
    var origin: Int64 { run.startedAt }

    /// The first and last moments anything happened (for the timeline's extent).
    var span: (start: Int64, end: Int64) {
        let times = run.journal.samples.map(\.at) + run.journal.events.map(\.at)
        let start = min(run.startedAt, times.min() ?? run.startedAt)
        let end = max(run.endedAt, times.max() ?? run.endedAt, start + 1000)
        return (start, end)
    }

    /// The verdict in capitals: "PASSED", "FAILED", "INCONCLUSIVE".
    var verdictWord: String { run.verdict.outcome.rawValue.uppercased() }

    /// The verdict with the status when the run did not complete: "FAILED (aborted)".
    var verdictLabel: String { run.status == .completed ? verdictWord : "\(verdictWord) (\(run.status.rawValue))" }

    /// Where the fault went: "nginx.service (host web-1)" or "nginx.service (this host)".
    var placement: String { "\(run.target) (\(run.host.map { "host \($0)" } ?? "this host"))" }

    /// The first reason, with a count of the others.
    var headline: String {
        let reasons = run.verdict.reasons
        guard let first = reasons.first else { return "" }
        return reasons.count > 1 ? "\(first) (+\(reasons.count - 1) more)" : first
    }

    /// When recovery is measured from: the revert, or for faults that cannot be reverted the inject.
    var recoveryReference: Int64? { run.journal.reversible ? figures.revertedAt : figures.injectedAt }

    /// Time to recover; "never" when the fault was undone but the system did not come back.
    var timeToRecover: String {
        if let ttr = figures.timeToRecoverMs { return Format.duration(ttr) }
        return recoveryReference == nil ? Format.missing : "never"
    }

    /// The phases as time windows: before until the inject, during (the fault window) until the
    /// revert, after (recovery) to the end. Faults that cannot be reverted have no during.
    var phaseWindows: [(phase: Phase, start: Int64, end: Int64)] {
        let (start, end) = span
        guard let injected = figures.injectedAt else { return [(.before, start, end)] }
        var out: [(phase: Phase, start: Int64, end: Int64)] = [(.before, start, injected)]
        if run.journal.reversible {
            let reverted = figures.revertedAt ?? end
            out.append((.during, injected, reverted))
            if figures.revertedAt != nil { out.append((.after, reverted, end)) }
        } else {
            out.append((.after, injected, end))
        }
        return out.filter { $0.end > $0.start }
    }

    /// The per-phase figures: a header row then availability, p50, p95, p99 and samples.
    var phaseTable: [[String]] {
        let phases = Phase.allCases
        func row(_ name: String, _ value: (Phase) -> String) -> [String] { [name] + phases.map(value) }
        func latency(_ phase: Phase, _ pick: (Figures.Percentiles) -> Double) -> String {
            Format.latency(figures.latency[phase.rawValue].map(pick))
        }
        return [
            ["", "before", "during", "after"],
            row("availability") { Format.percent(availability($0)) },
            row("p50 latency") { latency($0, \.p50) },
            row("p95 latency") { latency($0, \.p95) },
            row("p99 latency") { latency($0, \.p99) },
            row("samples") { figures.samples[$0.rawValue].map(String.init) ?? Format.missing },
        ]
    }

    func availability(_ phase: Phase) -> Double? {
        switch phase {
        case .before: return figures.availabilityBefore
        case .during: return figures.availabilityDuring
        case .after: return figures.availabilityAfter
        }
    }

    /// The figures that are one value per run.
    var keyFigures: [(name: String, value: String)] {
        [
            ("longest outage", Format.duration(figures.longestOutageMs)),
            ("time to detect", Format.duration(figures.timeToDetectMs)),
            ("time to recover", timeToRecover),
            ("blind samples", String(figures.blindSamples)),
        ]
    }

    /// The fault's moments: injected, verified, reverted, relative to the start ("n/a" when absent).
    var faultMoments: [(name: String, at: Int64?)] {
        [("injected", figures.injectedAt), ("verified", figures.verifiedAt), ("reverted", figures.revertedAt)]
    }

    /// Every journal event in time order: relative time, what, detail.
    var events: [(time: String, kind: String, detail: String)] {
        run.journal.events.enumerated()
            .sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }
            .map { (Format.relative($0.element.at, from: origin), Self.name($0.element.kind), $0.element.detail ?? "") }
    }

    /// How long the run lasted.
    var duration: String { Format.duration(run.endedAt - run.startedAt) }

    /// Events for people: "gate met", "revert failed".
    static func name(_ kind: RunEvent.Kind) -> String {
        switch kind {
        case .started: return "started"
        case .gateMet: return "gate met"
        case .gateFailed: return "gate failed"
        case .injected: return "injected"
        case .verified: return "verified"
        case .notVerified: return "not verified"
        case .stopTripped: return "stop condition tripped"
        case .reverted: return "reverted"
        case .revertFailed: return "revert failed"
        case .ended: return "ended"
        case .interrupted: return "interrupted"
        case .error: return "error"
        }
    }

    /// The summary of several runs: header then one row per run.
    static func summary(_ runs: [RunRecord]) -> [[String]] {
        [["EXPERIMENT", "VERDICT", "REASON", "TTR", "OUTAGE"]] + runs.map { run in
            let f = RunFacts(run)
            return [run.experiment, f.verdictLabel, f.headline, f.timeToRecover, Format.duration(f.figures.longestOutageMs)]
        }
    }
}
