import ChaosCore

/// One self-contained HTML5 page: inline style, inline SVG, no scripts, nothing fetched (a content
/// security policy forbids it too). Every user string is escaped.
enum HTMLReport {
    /// - Parameter preface: HTML put after the title, before the runs (already escaped).
    static func render(_ runs: [RunRecord], title: String?, preface: [String] = []) -> String {
        let h = Escape.html
        let title = title ?? RunReport.defaultTitle(runs)
        var out = [
            "<!DOCTYPE html>",
            "<html lang=\"en\">",
            "<head>",
            "<meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
            "<title>\(h(title))</title>",
            "<style>\n\(HTMLStyle.css)\n</style>",
            "</head>",
            "<body>",
            "<h1>\(h(title))</h1>",
        ] + preface
        if runs.isEmpty { out.append("<p>No runs.</p>") }
        if runs.count > 1 { out += summary(runs) }
        for (i, run) in runs.enumerated() { out += section(RunFacts(run), anchor: "run-\(i + 1)") }
        out += ["</body>", "</html>", ""]
        return out.joined(separator: "\n")
    }

    static func summary(_ runs: [RunRecord]) -> [String] {
        let h = Escape.html
        var out = ["<table class=\"summary\">", "<thead><tr><th>Experiment</th><th>Verdict</th><th>Reason</th><th class=\"num\">TTR</th><th class=\"num\">Outage</th></tr></thead>", "<tbody>"]
        for (i, row) in RunFacts.summary(runs).dropFirst().enumerated() {
            let outcome = runs[i].verdict.outcome.rawValue
            out.append("<tr><td><a href=\"#run-\(i + 1)\">\(h(row[0]))</a></td><td class=\"\(outcome)\">\(h(row[1]))</td>"
                + "<td>\(h(row[2]))</td><td class=\"num\">\(h(row[3]))</td><td class=\"num\">\(h(row[4]))</td></tr>")
        }
        out += ["</tbody>", "</table>"]
        return out
    }

    static func section(_ f: RunFacts, anchor: String) -> [String] {
        let h = Escape.html
        let run = f.run
        var out = [
            "<section id=\"\(anchor)\">",
            "<h2>\(h(run.experiment))</h2>",
            "<p class=\"meta\">Run <code>\(h(run.runID))</code> · \(h(run.faultKind.rawValue)) on \(h(f.placement)) · status \(h(run.status.rawValue))"
                + " · started \(Format.utc(run.startedAt)) · lasted \(f.duration)</p>",
            "<p><span class=\"verdict \(run.verdict.outcome.rawValue)\">\(h(f.verdictLabel))</span></p>",
        ]
        if !run.verdict.reasons.isEmpty {
            out.append("<ul class=\"reasons\">" + run.verdict.reasons.map { "<li>\(h($0))</li>" }.joined() + "</ul>")
        }
        out.append(TimelineSVG(facts: f, id: "\(anchor)-timeline").render())
        out.append("<h3>Figures</h3>")
        var phases = f.phaseTable
        phases[0] = ["Figure", "Before", "During", "After"]
        out += table(phases)
        out += table([["Figure", "Value"]] + f.keyFigures.map { [$0.name, $0.value] })
        out.append("<h3>Fault timeline</h3>")
        out += table([["Moment", "Time"]] + f.faultMoments.map { [$0.name, $0.at.map { Format.relative($0, from: f.origin) } ?? Format.missing] })
        if !f.events.isEmpty {
            out.append("<h3>Events</h3>")
            out += table([["Time", "Event", "Detail"]] + f.events.map { [$0.time, $0.kind, $0.detail] }, numeric: [0])
        }
        out.append("</section>")
        return out
    }

    /// A table whose first row is the header and whose first column names the row (columns after the
    /// first are numeric unless `numeric` says which are).
    static func table(_ rows: [[String]], numeric: Set<Int>? = nil) -> [String] {
        let h = Escape.html
        guard let header = rows.first else { return [] }
        func isNum(_ c: Int) -> Bool { numeric?.contains(c) ?? (c > 0) }
        func cls(_ c: Int) -> String { isNum(c) ? " class=\"num\"" : "" }
        var out = ["<table>", "<thead><tr>" + header.enumerated().map { "<th scope=\"col\"\(cls($0))>\(h($1))</th>" }.joined() + "</tr></thead>", "<tbody>"]
        for row in rows.dropFirst() {
            out.append("<tr>" + row.enumerated().map { c, cell in
                c == 0 && numeric == nil ? "<th scope=\"row\">\(h(cell))</th>" : "<td\(cls(c))>\(h(cell))</td>"
            }.joined() + "</tr>")
        }
        out += ["</tbody>", "</table>"]
        return out
    }
}
