import ChaosCore

/// JUnit XML for CI: one suite, one test case per run. Failed runs carry a `<failure>` with the reasons
/// and figures; inconclusive runs, and runs that did not complete, are `<skipped>`.
enum JUnitReport {
    enum Result { case passed, failed, skipped }

    static func result(_ run: RunRecord) -> Result {
        guard run.status == .completed else { return .skipped }
        switch run.verdict.outcome {
        case .passed: return .passed
        case .failed: return .failed
        case .inconclusive: return .skipped
        }
    }

    static func render(_ runs: [RunRecord], title: String?) -> String {
        let x = { (s: String) in Escape.xml(s) }
        let name = title ?? "chaos"
        let results = runs.map(result)
        let failures = results.filter { $0 == .failed }.count, skipped = results.filter { $0 == .skipped }.count
        let time = Format.seconds(runs.reduce(0) { $0 + max(0, $1.endedAt - $1.startedAt) })
        let counts = "tests=\"\(runs.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped)\" time=\"\(time)\""
        var out = [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<testsuites name=\"\(x(name))\" \(counts)>",
            "  <testsuite name=\"\(x(name))\" \(counts)"
                + (runs.map(\.startedAt).min().map { " timestamp=\"\(Format.utc($0, iso: true))\"" } ?? "") + ">",
        ]
        for run in runs { out += testcase(run) }
        out += ["  </testsuite>", "</testsuites>", ""]
        return out.joined(separator: "\n")
    }

    static func testcase(_ run: RunRecord) -> [String] {
        let x = { (s: String) in Escape.xml(s) }
        let f = RunFacts(run)
        let reasons = run.verdict.reasons.joined(separator: "; ")
        var out = ["    <testcase classname=\"chaos.\(x(run.experiment))\" name=\"\(x("\(run.experiment) (\(run.faultKind.rawValue) on \(run.target))"))\" "
            + "time=\"\(Format.seconds(run.endedAt - run.startedAt))\">"]
        switch result(run) {
        case .passed: break
        case .failed:
            let type = run.verdict.failures.map(\.rawValue).joined(separator: ",")
            out.append("      <failure message=\"\(x(reasons))\" type=\"\(x(type))\">\(Escape.xml(details(f), content: true))</failure>")
        case .skipped:
            var why = run.status == .completed ? "inconclusive" : "run \(run.status.rawValue)"
            if let unknown = run.verdict.inconclusive { why += " (\(unknown.rawValue))" }
            if !reasons.isEmpty { why += ": \(reasons)" }
            out.append("      <skipped message=\"\(x(why))\"/>")
        }
        out.append("      <system-out>\(Escape.xml(summary(f), content: true))</system-out>")
        out.append("    </testcase>")
        return out
    }

    /// The reasons and the figures, as plain text lines.
    static func details(_ f: RunFacts) -> String {
        var lines = f.run.verdict.reasons.map { "- \($0)" }
        lines.append("")
        lines += TextReport.table(f.phaseTable + f.keyFigures.map { [$0.name, $0.value] }, indent: "")
        return lines.joined(separator: "\n")
    }

    /// Where and when the run happened and its events.
    static func summary(_ f: RunFacts) -> String {
        let run = f.run
        var lines = ["run \(run.runID): \(run.faultKind.rawValue) on \(f.placement), status \(run.status.rawValue), verdict \(f.verdictLabel)",
                     "started \(Format.utc(run.startedAt)), lasted \(f.duration)"]
        lines += TextReport.table(f.events.map { [$0.time, $0.kind, $0.detail] }, indent: "  ")
        return lines.joined(separator: "\n")
    }
}
