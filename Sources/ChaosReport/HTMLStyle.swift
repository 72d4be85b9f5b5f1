/// The report's only style sheet, inlined: no fonts, images or scripts are fetched.
enum HTMLStyle {
    static let css = """
    :root { color-scheme: light; }
    body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #24292f; margin: 2rem auto; max-width: 1040px; padding: 0 1rem; }
    h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2.5rem; border-bottom: 1px solid #d0d7de; } h3 { font-size: 1.05rem; }
    table { border-collapse: collapse; margin: .5rem 0 1rem; }
    th, td { border: 1px solid #d0d7de; padding: .25rem .6rem; text-align: left; vertical-align: top; }
    td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
    thead th { background: #f6f8fa; }
    .meta { color: #57606a; }
    .verdict { display: inline-block; font-weight: 700; padding: .15rem .6rem; border-radius: 4px; border: 2px solid; }
    td.confirmed_spof, td.disagree { color: #cf222e; font-weight: 600; } td.redundant_survived, td.agree { color: #1a7f37; }
    td.degraded, td.inconclusive, td.unknown { color: #9a6700; }
    table.summary td.passed { color: #1a7f37; font-weight: 600; } table.summary td.failed { color: #cf222e; font-weight: 600; }
    .verdict.passed { color: #1a7f37; } .verdict.failed { color: #cf222e; } .verdict.inconclusive { color: #9a6700; }
    svg.timeline { width: 100%; height: auto; font: 11px system-ui, sans-serif; }
    g.band.before rect, rect.key.before { fill: #e8f0fe; }
    g.band.during rect, rect.key.during { fill: #fde2cf; }
    g.band.after rect, rect.key.after { fill: #e3f5e6; }
    g.band text { fill: #57606a; }
    .lane { stroke: #d0d7de; }
    .mark.ok, .key.ok { fill: #1a7f37; }
    .mark.fail, .key.fail { fill: none; stroke: #cf222e; stroke-width: 2; }
    .mark.blind, .key.blind { fill: none; stroke: #6e7781; stroke-width: 1.5; }
    .axis line { stroke: #57606a; }
    .axis text, .legend text, .lane-label, .moment text { fill: #24292f; }
    .moment line { stroke: #24292f; stroke-dasharray: 4 3; }
    .moment.alert line { stroke: #cf222e; } .moment.alert text { fill: #cf222e; }
    """
}
