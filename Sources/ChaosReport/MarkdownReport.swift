import ChaosCore

/// The report as Markdown: the text report's content in headings, lists and tables.
enum MarkdownReport {
    /// - Parameter preface: Markdown put after the title, before the runs (already escaped).
    static func render(_ runs: [RunRecord], title: String?, preface: [String] = []) -> String {
        var out = ["# \(Escape.markdown(title ?? RunReport.defaultTitle(runs)))", ""] + preface
        if runs.isEmpty { out += ["No runs.", ""] }
        if runs.count > 1 {
            var summary = RunFacts.summary(runs)
            summary[0] = ["Experiment", "Verdict", "Reason", "TTR", "Outage"]
            out += table(summary)
            out.append("")
        }
        for run in runs { out += section(RunFacts(run)) }
        return out.joined(separator: "\n")
    }

    static func section(_ f: RunFacts) -> [String] {
        let run = f.run
        let e = Escape.markdown
        var out = [
            "## \(e(run.experiment))", "",
            "Run \(e(run.runID)) · \(e(run.faultKind.rawValue)) on \(e(f.placement)) · status \(e(run.status.rawValue)) · "
                + "started \(Format.utc(run.startedAt)) · lasted \(f.duration)", "",
            "**\(e(f.verdictLabel))**", "",
        ]
        out += run.verdict.reasons.map { "- \(e($0))" }
        if !run.verdict.reasons.isEmpty { out.append("") }
        out += ["### Figures", ""]
        var phases = f.phaseTable
        phases[0] = ["Figure", "Before", "During", "After"]
        out += table(phases, align: ["---", "---:", "---:", "---:"])
        out.append("")
        out += table([["Figure", "Value"]] + f.keyFigures.map { [$0.name, $0.value] }, align: ["---", "---:"])
        out += ["", "### Fault timeline", ""]
        out += table([["Moment", "Time"]] + f.faultMoments.map { [$0.name, $0.at.map { Format.relative($0, from: f.origin) } ?? Format.missing] },
                     align: ["---", "---:"])
        if !f.events.isEmpty {
            out += ["", "### Events", ""]
            out += table([["Time", "Event", "Detail"]] + f.events.map { [$0.time, $0.kind, $0.detail] }, align: ["---:", "---", "---"])
        }
        out.append("")
        return out
    }

    /// A pipe table: the first row is the header; every cell escaped (pipes included).
    static func table(_ rows: [[String]], align: [String]? = nil) -> [String] {
        guard let header = rows.first else { return [] }
        func line(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }
        return [line(header.map(Escape.markdown)), line(align ?? header.map { _ in "---" })]
            + rows.dropFirst().map { line($0.map(Escape.markdown)) }
    }
}
