import ChaosCore

/// The report for terminals: aligned columns, user strings on one line with control characters neutralised.
enum TextReport {
    static func render(_ runs: [RunRecord], title: String?) -> String {
        var out: [String] = []
        if title != nil || runs.count > 1 {
            let heading = Escape.line(title ?? RunReport.defaultTitle(runs))
            out += [heading, String(repeating: "=", count: heading.count), ""]
        }
        if runs.isEmpty { out.append("No runs.") }
        if runs.count > 1 {
            let rows = RunFacts.summary(runs).map { row in row.enumerated().map { $0 == 2 ? truncate($1, 72) : $1 } }
            out += table(rows, indent: "")
            out.append("")
        }
        for (i, run) in runs.enumerated() {
            if i > 0 { out.append("") }
            out += section(RunFacts(run))
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func section(_ f: RunFacts) -> [String] {
        let run = f.run
        var out = [
            "\(run.experiment)  run \(run.runID)  \(run.faultKind.rawValue) on \(f.placement)  status \(run.status.rawValue)",
            "started \(Format.utc(run.startedAt)), lasted \(f.duration)",
            "",
            f.verdictLabel,
        ]
        out += run.verdict.reasons.map { "  - \($0)" }
        out += ["", "Figures"]
        out += table(f.phaseTable + f.keyFigures.map { [$0.name, $0.value] }, indent: "  ")
        out += ["", "Fault timeline"]
        out += table(f.faultMoments.map { [$0.name, $0.at.map { Format.relative($0, from: f.origin) } ?? Format.missing] }, indent: "  ")
        if !f.events.isEmpty {
            out += ["", "Events"]
            out += table(f.events.map { [$0.time, $0.kind, $0.detail] }, indent: "  ")
        }
        return out.map(Escape.line)
    }

    /// Rows as aligned columns (two spaces apart), without trailing spaces.
    static func table(_ rows: [[String]], indent: String) -> [String] {
        let rows = rows.map { $0.map(Escape.line) }
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            var line = indent
            for (c, cell) in row.enumerated() {
                line += cell
                if c < row.count - 1 { line += String(repeating: " ", count: widths[c] - cell.count + 2) }
            }
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    static func truncate(_ s: String, _ n: Int) -> String { s.count > n ? String(s.prefix(n - 1)) + "…" : s }
}
