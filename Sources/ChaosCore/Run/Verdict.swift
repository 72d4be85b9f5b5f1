/// The outcome of a run, computed from its journal alone: passed, failed (with why), or
/// inconclusive (with why), plus the figures behind it.
public struct Verdict: Hashable, Sendable, Codable {
    public enum Outcome: String, Hashable, Sendable, Codable, CaseIterable { case passed, failed, inconclusive }

    /// Why a run failed.
    public enum Failure: String, Hashable, Sendable, Codable {
        /// An outage longer than `expect.maxOutage`.
        case outage
        /// Availability or latency outside `expect`.
        case sloBreach = "slo_breach"
        /// Not back within `expect.recoverWithin` (or never).
        case notRecovered = "not_recovered"
    }

    /// Why we cannot tell.
    public enum Unknown: String, Hashable, Sendable, Codable {
        case steadyStateNotMet = "steady_state_not_met"
        case faultNotConfirmed = "fault_not_confirmed"
        case observerBlind = "observer_blind"
        case notInjected = "not_injected"
    }

    public var outcome: Outcome
    public var failures: [Failure]
    public var inconclusive: Unknown?
    /// One sentence per reason, with the figures, for people.
    public var reasons: [String]
    public var figures: Figures
}

/// The measured figures of a run. Times are ms; availability is percent of judged samples.
public struct Figures: Hashable, Sendable, Codable {
    public var availabilityBefore: Double?
    public var availabilityDuring: Double?
    public var availabilityAfter: Double?
    /// The longest time any probe was down (from its first failed sample to the next good one, or the end).
    public var longestOutageMs: Int64
    /// From the inject to the first failed sample, if any failed.
    public var timeToDetectMs: Int64?
    /// From the revert (for kills: the kill) to the first good sample after the last failure there;
    /// 0 when nothing failed then; nil when it never came back.
    public var timeToRecoverMs: Int64?
    public var latency: [String: Percentiles]
    public var samples: [String: Int]
    public var blindSamples: Int
    public var injectedAt: Int64?
    public var verifiedAt: Int64?
    public var revertedAt: Int64?

    public struct Percentiles: Hashable, Sendable, Codable {
        public var p50: Double
        public var p95: Double
        public var p99: Double
    }
}

extension Verdict {
    /// The verdict of `journal`: a pure function, so it can be recomputed and tested without a network.
    ///
    /// Inconclusive (checked first, never passed): no steady state before, the fault never injected or
    /// not confirmed active, or the observer blind (fewer than two judged samples in a phase that
    /// matters, or more blind samples than judged ones). Otherwise failed for each criterion missed,
    /// else passed.
    public static func of(_ journal: Journal) -> Verdict {
        let figures = Figures.of(journal)
        let expect = journal.expect
        func verdict(_ unknown: Unknown, _ why: String) -> Verdict {
            Verdict(outcome: .inconclusive, failures: [], inconclusive: unknown, reasons: [why], figures: figures)
        }
        let judged = { (phase: Phase) in journal.samples.filter { $0.phase == phase && !$0.judgement.isBlind } }
        let before = judged(.before)
        if before.isEmpty { return verdict(.steadyStateNotMet, "no observation before the fault: the steady state is unknown") }
        if let a = figures.availabilityBefore, a < expect.availabilityBefore || journal.first(.gateFailed) != nil {
            return verdict(.steadyStateNotMet, "the system was not in steady state before the fault: \(pct(a)) available, \(pct(expect.availabilityBefore)) required")
        }
        guard figures.injectedAt != nil else { return verdict(.notInjected, "the fault was never injected") }
        guard figures.verifiedAt != nil else {
            return verdict(.faultNotConfirmed, "the fault could not be confirmed active\(journal.first(.notVerified)?.detail.map { " (\($0))" } ?? "")")
        }
        let phases: [Phase] = journal.reversible ? [.during, .after] : [.after]
        for phase in phases {
            let all = journal.samples.filter { $0.phase == phase }
            let seen = all.filter { !$0.judgement.isBlind }
            if seen.count < 2 || seen.count < all.count - seen.count {
                return verdict(.observerBlind, "the observer was blind \(phase) the fault: \(seen.count) of \(all.count) observations could be judged")
            }
        }

        var failures: [Failure] = []
        var reasons: [String] = []
        let maxOutage = expect.maxOutage.milliseconds
        if figures.longestOutageMs > maxOutage {
            failures.append(.outage)
            reasons.append("outage of \(seconds(figures.longestOutageMs)), longer than the \(expect.maxOutage) allowed")
        }
        var breaches: [String] = []
        if let a = figures.availabilityDuring, a < expect.availabilityDuring {
            breaches.append("availability during the fault \(pct(a)), \(pct(expect.availabilityDuring)) required")
        }
        for (name, bound) in [("p50", expect.latencyP50), ("p95", expect.latencyP95), ("p99", expect.latencyP99)] {
            guard let bound, let p = figures.latency[journal.reversible ? Phase.during.rawValue : Phase.after.rawValue] else { continue }
            let value = name == "p50" ? p.p50 : name == "p95" ? p.p95 : p.p99
            if value > Double(bound.milliseconds) { breaches.append("\(name) latency \(Int(value.rounded())) ms, at most \(bound) allowed") }
        }
        if let a = figures.availabilityAfter, a < expect.availabilityAfter {
            breaches.append("availability after recovery \(pct(a)), \(pct(expect.availabilityAfter)) required")
        }
        if !breaches.isEmpty { failures.append(.sloBreach); reasons += breaches }
        let recoverWithin = expect.recoverWithin.milliseconds
        if let ttr = figures.timeToRecoverMs {
            if ttr > recoverWithin {
                failures.append(.notRecovered)
                reasons.append("recovered after \(seconds(ttr)), later than the \(expect.recoverWithin) allowed")
            }
        } else {
            failures.append(.notRecovered)
            reasons.append("not recovered by the end of the \(expect.recoverWithin) recovery window")
        }
        if failures.isEmpty {
            var why = "degraded gracefully and recovered"
            if let ttr = figures.timeToRecoverMs, ttr > 0 { why += " in \(seconds(ttr))" }
            if figures.longestOutageMs > 0 { why += "; longest outage \(seconds(figures.longestOutageMs))" }
            return Verdict(outcome: .passed, failures: [], inconclusive: nil, reasons: [why], figures: figures)
        }
        return Verdict(outcome: .failed, failures: failures, inconclusive: nil, reasons: reasons, figures: figures)
    }

    /// `99.5 %`, `100 %`, `n/a`.
    public static func pct(_ v: Double?) -> String {
        guard let v else { return "n/a" }
        let r = (v * 10).rounded() / 10
        return "\(NumberText.format(r)) %"
    }
    /// `1.5 s`, `3 s`.
    public static func seconds(_ ms: Int64) -> String {
        ms % 1000 == 0 ? "\(ms / 1000) s" : "\(Double(ms) / 1000) s"
    }
}

extension Figures {
    /// The figures of a journal. Failures are debounced per probe with its thresholds: a probe goes
    /// down after `failureThreshold` failed samples in a row (from the first of them) and up again
    /// after `successThreshold` good ones (from the first of them). Blind samples are skipped.
    public static func of(_ journal: Journal) -> Figures {
        let injectedAt = journal.first(.injected)?.at
        let verifiedAt = journal.first(.verified)?.at
        let revertedAt = journal.first(.reverted)?.at
        let endAt = journal.first(.ended)?.at ?? journal.samples.map(\.at).max() ?? 0
        let effective = DownTime.effective(journal)
        func availability(_ phase: Phase, from: Int64? = nil) -> Double? {
            let s = effective.filter { (e: DownTime.Effective) -> Bool in e.sample.phase == phase && (from.map { e.sample.at >= $0 } ?? true) }
            guard !s.isEmpty else { return nil }
            return Double(s.filter { $0.up }.count) * 100 / Double(s.count)
        }
        // Outages: per probe, the spans from going down to coming up (or the end).
        var longest: Int64 = 0
        var firstDown: Int64?
        var lastUpAfterDown: [String: Int64] = [:]
        var stillDown: Set<String> = []
        let reference = journal.reversible ? revertedAt : injectedAt
        for (probe, spans) in DownTime.spans(effective, endAt: endAt) {
            for span in spans {
                longest = max(longest, span.end - span.start)
                if let i = injectedAt, span.start >= i { firstDown = min(firstDown ?? span.start, span.start) }
                else if let i = injectedAt, span.end > i { firstDown = min(firstDown ?? i, i) }
                if let r = reference, span.end > r {
                    if span.open { stillDown.insert(probe) } else { lastUpAfterDown[probe] = max(lastUpAfterDown[probe] ?? 0, span.end) }
                }
            }
        }
        var ttr: Int64? = nil
        if let r = reference, stillDown.isEmpty {
            ttr = max(0, (lastUpAfterDown.values.max() ?? r) - r)
        }
        let recoveredAt = ttr.flatMap { t in reference.map { $0 + t } }
        var latency: [String: Percentiles] = [:]
        var counts: [String: Int] = [:]
        for phase in Phase.allCases {
            let judged = journal.samples.filter { $0.phase == phase && !$0.judgement.isBlind }
            counts[phase.rawValue] = judged.count
            let ok = judged.filter(\.judgement.isOK).map(\.latencyMs).sorted()
            if !ok.isEmpty { latency[phase.rawValue] = Percentiles(p50: ok.percentile(50), p95: ok.percentile(95), p99: ok.percentile(99)) }
        }
        return Figures(availabilityBefore: availability(.before), availabilityDuring: availability(.during),
                       availabilityAfter: recoveredAt.flatMap { availability(.after, from: $0) } ?? availability(.after),
                       longestOutageMs: longest, timeToDetectMs: firstDown.flatMap { d in injectedAt.map { d - $0 } },
                       timeToRecoverMs: ttr, latency: latency, samples: counts,
                       blindSamples: journal.samples.filter(\.judgement.isBlind).count,
                       injectedAt: injectedAt, verifiedAt: verifiedAt, revertedAt: revertedAt)
    }
}

/// Debounced up/down state per probe.
enum DownTime {
    struct Effective { var sample: Sample; var up: Bool }
    struct Span { var start: Int64; var end: Int64; var open: Bool }

    /// Each judged sample with its probe's debounced state at that sample.
    static func effective(_ journal: Journal) -> [Effective] {
        var out: [Effective] = []
        let byProbe = Dictionary(grouping: journal.samples.filter { !$0.judgement.isBlind }, by: \.probe)
        for (probe, samples) in byProbe {
            let spec = journal.probes.first { $0.name == probe }
            let downAfter = max(1, spec?.failureThreshold ?? 1), upAfter = max(1, spec?.successThreshold ?? 1)
            var up = true
            var pending: [Int] = []
            let sorted = samples.sorted { $0.at < $1.at }
            var states = [Bool](repeating: true, count: sorted.count)
            for (i, s) in sorted.enumerated() {
                let ok = s.judgement.isOK
                states[i] = up
                if ok == up { pending = []; continue }
                pending.append(i)
                if pending.count >= (up ? downAfter : upAfter) {
                    up = ok
                    for j in pending { states[j] = up } // the state changed at the first of the streak
                    pending = []
                }
            }
            out += zip(sorted, states).map { Effective(sample: $0, up: $1) }
        }
        return out.sorted { $0.sample.at < $1.sample.at }
    }

    /// Per probe, the down spans: from the first down sample to the next up sample (or `endAt`).
    static func spans(_ effective: [Effective], endAt: Int64) -> [String: [Span]] {
        var out: [String: [Span]] = [:]
        for (probe, list) in Dictionary(grouping: effective, by: \.sample.probe) {
            var spans: [Span] = []
            var start: Int64?
            for e in list.sorted(by: { $0.sample.at < $1.sample.at }) {
                if !e.up, start == nil { start = e.sample.at }
                if e.up, let s = start { spans.append(Span(start: s, end: e.sample.at, open: false)); start = nil }
            }
            if let s = start { spans.append(Span(start: s, end: max(endAt, s), open: true)) }
            out[probe] = spans
        }
        return out
    }
}

extension Array where Element == Double {
    /// Nearest-rank percentile of a sorted array.
    func percentile(_ p: Double) -> Double {
        guard !isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(count)).rounded(.up))
        return self[Swift.min(count - 1, Swift.max(0, rank - 1))]
    }
}
