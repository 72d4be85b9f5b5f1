import ChaosCore

/// The report of `chaos spof verify`: each component's prediction beside its proof, the
/// disagreements, then every run's section (timeline, figures) as in a game day report.
public enum SPOFReport {
    /// `html` or `md`; the runs follow the table.
    public static func render(_ proof: SPOFProof.Report, runs: [RunRecord], format: ReportFormat, title: String) -> String {
        switch format {
        case .md:
            var pre = [Escape.markdown(proof.summary), "", "## Prediction and proof", ""]
            pre += MarkdownReport.table(proof.rows)
            pre.append("")
            return MarkdownReport.render(runs, title: title, preface: pre)
        default:
            let h = Escape.html
            var pre = ["<p class=\"meta\">\(h(proof.summary))</p>", "<h2>Prediction and proof</h2>", "<table class=\"spof\">",
                       "<thead><tr>" + proof.rows[0].map { "<th scope=\"col\">\(h($0))</th>" }.joined() + "</tr></thead>", "<tbody>"]
            for e in proof.entries {
                let agree = e.agrees.map { $0 ? "agree" : "disagree" } ?? "unknown"
                let run = e.runID.flatMap { id in runs.firstIndex { $0.runID == id } }
                let name = run.map { "<a href=\"#run-\($0 + 1)\">\(h(e.component))</a>" } ?? h(e.component)
                pre.append("<tr><th scope=\"row\">\(name)</th><td>\(h(e.predicted.rawValue))</td><td class=\"\(e.proven.rawValue)\">\(h(e.proven.label))</td>"
                    + "<td class=\"\(agree)\">\(h(e.agreement))</td><td>\(h(e.measured))</td><td>\(h(e.note ?? ""))</td></tr>")
            }
            pre += ["</tbody>", "</table>"]
            return HTMLReport.render(runs, title: title, preface: pre)
        }
    }
}
