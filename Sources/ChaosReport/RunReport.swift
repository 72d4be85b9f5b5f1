import ChaosCore

/// The formats a run report can be rendered in.
public enum ReportFormat: String, CaseIterable, Sendable {
    /// For terminals: aligned tables, control characters in user strings neutralised.
    case text
    /// Markdown: the same tables, cells escaped.
    case md
    /// One self-contained HTML5 file with an inline SVG timeline per run.
    case html
    /// JUnit XML, one test case per run, for CI systems.
    case junit
    /// `{"runs": [...]}`: the run records themselves.
    case json
}

/// Renders stored runs (one, or several such as a game day) for people and machines.
public enum RunReport {
    /// `runs` rendered as `format`. `title` heads the report (and names the JUnit suite); without it
    /// a title is made from the runs.
    public static func render(_ runs: [RunRecord], format: ReportFormat, title: String? = nil) -> String {
        switch format {
        case .text: return TextReport.render(runs, title: title)
        case .md: return MarkdownReport.render(runs, title: title)
        case .html: return HTMLReport.render(runs, title: title)
        case .junit: return JUnitReport.render(runs, title: title)
        case .json: return JSONReport.render(runs)
        }
    }

    /// The title used when none is given.
    static func defaultTitle(_ runs: [RunRecord]) -> String {
        runs.count == 1 ? "Chaos report: \(runs[0].experiment)" : "Chaos report: \(runs.count) runs"
    }
}

/// Pieces of the HTML report for pages that embed a run (the controller's dashboard): the same
/// escaped section (figures, timeline SVG, events) and style sheet, no scripts.
public enum HTMLFragments {
    /// One run's section: verdict, figures, the inline SVG timeline, events.
    public static func run(_ run: RunRecord) -> String { HTMLReport.section(RunFacts(run), anchor: "run").joined(separator: "\n") }
    /// The report's style sheet.
    public static var css: String { HTMLStyle.css }
}
