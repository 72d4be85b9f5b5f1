/// What a planned experiment proved about a component, beside what the static analysis predicted:
/// the SPOF report of `chaos spof verify`. Pure: the plan's prediction and the run's record in, the
/// classification out.
///
/// - confirmed SPOF: the entry points had an outage longer than the experiment allows, did not
///   recover in time, or lost more availability than allowed;
/// - redundant (survived): the run passed; the failover time is the longest time an entry point was
///   seen failing (0 when no observation failed);
/// - degraded: up throughout, but slower: the run failed only on latency bounds, or the entry points'
///   p95 latency while the component was lost was at least `slowdown` times (and 50 ms above) the
///   steady state's;
/// - inconclusive: not run, interrupted, cut short without an outage (a halt), or the verdict itself
///   is inconclusive.
public enum SPOFProof {
    public enum Proven: String, Hashable, Sendable, Codable, CaseIterable {
        case confirmedSPOF = "confirmed_spof"
        case survived = "redundant_survived"
        case degraded
        case inconclusive

        /// For people.
        public var label: String {
            switch self {
            case .confirmedSPOF: "confirmed SPOF"
            case .survived: "redundant — survived"
            case .degraded: "degraded"
            case .inconclusive: "inconclusive"
            }
        }
    }

    /// One component: prediction and proof side by side.
    public struct Entry: Hashable, Sendable, Codable {
        public var component: String
        public var experiment: String
        public var predicted: SPOFPlan.Prediction
        public var proven: Proven
        /// Whether proof and prediction agree; nil when the proof is inconclusive.
        public var agrees: Bool?
        /// What was measured, in one line.
        public var measured: String
        /// Why they disagree (or why it is inconclusive), and what to look at.
        public var note: String?
        public var runID: String?
        public var outageMs: Int64?
        /// For a survived component: how long the entry points were seen failing.
        public var failoverMs: Int64?
        public var timeToRecoverMs: Int64?
        /// p95 latency of the entry points before the fault and while the component was lost (ms).
        public var p95BeforeMs: Double?
        public var p95FaultMs: Double?
    }

    public struct Report: Hashable, Sendable, Codable {
        public var entries: [Entry]
        public var counts: [String: Int]
        public var disagreements: Int
        public var inconclusive: Int
        public init(entries: [Entry]) {
            self.entries = entries
            counts = Dictionary(uniqueKeysWithValues: Proven.allCases.map { p in (p.rawValue, entries.filter { $0.proven == p }.count) })
            disagreements = entries.filter { $0.agrees == false }.count
            inconclusive = entries.filter { $0.proven == .inconclusive }.count
        }
    }

    /// The minimum absolute slowdown (ms of p95) for a run to count as degraded.
    public static let slowdownFloorMs = 50.0

    /// Classifies one planned experiment's run. `record` is nil when it was not run (`notRun` says why).
    public static func classify(component: String, experiment: String, predicted: SPOFPlan.Prediction, record: RunRecord?,
                                notRun: String? = nil, slowdown: Double = 2) -> Entry {
        var e = Entry(component: component, experiment: experiment, predicted: predicted, proven: .inconclusive, agrees: nil,
                      measured: "not run", note: notRun.map { "not run: \($0)" } ?? "not run")
        guard let r = record else { return e }
        let v = r.verdict, f = v.figures
        e.runID = r.runID
        e.outageMs = f.longestOutageMs
        e.timeToRecoverMs = f.timeToRecoverMs
        e.p95BeforeMs = f.latency[Phase.before.rawValue]?.p95
        e.p95FaultMs = f.latency[(r.journal.reversible ? Phase.during : Phase.after).rawValue]?.p95
        // An aborted run is evidence of an outage (a stop condition saw one) but not of survival:
        // the fault was ended early (a halt), so a pass there proves nothing.
        let cutShort = r.status == .aborted && v.outcome != .failed
        if r.status == .interrupted || r.status == .error || v.outcome == .inconclusive || cutShort {
            e.measured = v.outcome == .inconclusive ? "inconclusive" : "run \(r.status.rawValue)"
            e.note = cutShort ? "the fault was ended early (\(r.journal.events.last(where: { $0.kind == .stopTripped || $0.kind == .error })?.detail ?? "aborted")): survival is not proven"
                : v.reasons.first ?? r.journal.events.last(where: { $0.kind == .error })?.detail ?? "the run ended \(r.status.rawValue)"
            return e
        }
        let slower: Bool = {
            guard let b = e.p95BeforeMs, let d = e.p95FaultMs else { return false }
            return d >= b * slowdown && d - b >= slowdownFloorMs
        }()
        let availabilityLost = (f.availabilityDuring.map { $0 < r.journal.expect.availabilityDuring } ?? false)
            || (f.availabilityAfter.map { $0 < r.journal.expect.availabilityAfter } ?? false)
        let onlyLatency = v.outcome == .failed && v.failures == [.sloBreach] && !availabilityLost
        var facts = ["outage \(Verdict.seconds(f.longestOutageMs))"]
        if let a = f.availabilityDuring { facts.append("\(Verdict.pct(a)) available during") }
        facts.append(f.timeToRecoverMs.map { "recovered in \(Verdict.seconds($0))" } ?? "not recovered")
        if let b = e.p95BeforeMs, let d = e.p95FaultMs { facts.append("p95 \(Int(b.rounded())) → \(Int(d.rounded())) ms") }
        e.measured = facts.joined(separator: ", ")
        e.note = nil
        if v.outcome == .failed && !onlyLatency {
            e.proven = .confirmedSPOF
            e.measured = v.reasons.joined(separator: "; ")
        } else if onlyLatency || slower {
            e.proven = .degraded
        } else {
            e.proven = .survived
            e.failoverMs = f.longestOutageMs
            e.measured = (f.longestOutageMs == 0 ? "no failed observation" : "failover \(Verdict.seconds(f.longestOutageMs))")
                + (e.p95BeforeMs.flatMap { b in e.p95FaultMs.map { "; p95 \(Int(b.rounded())) → \(Int($0.rounded())) ms" } } ?? "")
        }
        switch (predicted, e.proven) {
        case (.spof, .confirmedSPOF), (.redundant, .survived), (.degraded, .degraded):
            e.agrees = true
        case (.redundant, .degraded):
            e.agrees = true
            e.note = "survived, but slower while one instance was lost: the spare may be short of capacity"
        case (.spof, .survived):
            e.agrees = false
            e.note = "predicted a SPOF, but the entry points survived: the map may lack a standby or a failover that exists, or the fault did not reach what serves them (check the target)"
        case (.spof, .degraded):
            e.agrees = false
            e.note = "predicted an outage, measured only a slowdown: the dependency is softer than the map says (a fallback or cache served)"
        case (.redundant, .confirmedSPOF):
            e.agrees = false
            e.note = "claimed redundant, but losing one instance caused an outage: a hidden SPOF (failover missing, too slow, or a shared dependency the map does not show)"
        case (.degraded, .confirmedSPOF):
            e.agrees = false
            e.note = "predicted only a slowdown, but the entry points went down: the dependency is hard, not soft"
        case (.degraded, .survived):
            e.agrees = false
            e.note = "predicted a slowdown, measured none: the soft dependency is not on the path the entry probes take, or it is faster than the map assumes"
        case (_, .inconclusive):
            e.agrees = nil
        }
        return e
    }
}

extension SPOFProof.Entry {
    /// `yes`, `NO`, or `?` (inconclusive).
    public var agreement: String { agrees.map { $0 ? "yes" : "NO" } ?? "?" }
}

extension SPOFProof.Report {
    /// The side-by-side rows, with a header: component, predicted, proven, agrees, measured, note.
    public var rows: [[String]] {
        [["Component", "Predicted", "Proven", "Agrees", "Measured", "Note"]] + entries.map { e in
            [e.component, e.predicted.rawValue, e.proven.label, e.agreement, e.measured, e.note ?? ""]
        }
    }

    /// One line: how many of each, and the disagreements.
    public var summary: String {
        func n(_ p: SPOFProof.Proven) -> Int { counts[p.rawValue] ?? 0 }
        return "\(n(.confirmedSPOF)) confirmed SPOF\(n(.confirmedSPOF) == 1 ? "" : "s"), \(n(.survived)) redundant (survived), "
            + "\(n(.degraded)) degraded, \(n(.inconclusive)) inconclusive; "
            + (disagreements == 0 ? "proof agrees with the prediction wherever it could tell"
                : "\(disagreements) disagreement\(disagreements == 1 ? "" : "s") with the prediction")
    }
}
