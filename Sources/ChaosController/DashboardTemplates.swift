/// The dashboard's templates (swift-mustache), compiled into the binary: no files to install, no
/// external assets, no scripts. `{{x}}` is HTML-escaped; `{{{x}}}` only for HTML chaos made itself
/// (the run's report section and the style sheet).
enum DashboardTemplates {
    static let all: [String: String] = [
        "header": header, "footer": footer, "overview": overview, "runs": runs, "run": run,
        "confirm": confirm, "runtable": runtable, "done": done, "audit": audit, "login": login, "message": message,
    ]

    static let header = """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; form-action 'self'">
    {{#refresh}}<meta http-equiv="refresh" content="{{refresh}}">{{/refresh}}
    <title>{{title}} · {{name}}</title>
    <style>
    {{{css}}}
    nav { display: flex; gap: 1.2rem; align-items: baseline; border-bottom: 1px solid #d0d7de; padding-bottom: .5rem; }
    nav .brand { font-weight: 700; font-size: 1.1rem; } nav .who { margin-left: auto; color: #57606a; }
    nav form.signout { display: inline; margin: 0; } button.link { background: none; border: none; padding: 0; color: #0969da; cursor: pointer; font: inherit; }
    .banner { padding: .6rem 1rem; border-radius: 6px; margin: 1rem 0; }
    .banner.halted { background: #ffebe9; border: 1px solid #cf222e; color: #82071e; font-weight: 600; }
    .banner.running { background: #dafbe1; border: 1px solid #1a7f37; color: #0a3622; }
    .button { display: inline-block; padding: .35rem .9rem; border-radius: 6px; border: 1px solid #d0d7de; background: #f6f8fa; color: #24292f; text-decoration: none; font-weight: 600; cursor: pointer; font-size: 14px; }
    .button.danger { background: #cf222e; border-color: #a40e26; color: #fff; }
    .ok { color: #1a7f37; } .failing { color: #cf222e; font-weight: 600; } .blind, .waiting { color: #9a6700; }
    .skipped { color: #57606a; }
    form.filters { display: flex; gap: .8rem; align-items: end; flex-wrap: wrap; }
    label { display: block; }
    </style>
    </head>
    <body>
    <nav><span class="brand">chaos · {{name}}</span><a href="/">Overview</a><a href="/runs">Verdicts</a><a href="/audit">Audit log</a><span class="who">{{#who}}signed in as {{who}}{{/who}}</span>{{#signOut}}<form class="signout" method="post" action="/logout"><button class="link" type="submit" id="logout">Sign out</button></form>{{/signOut}}</nav>
    {{#halt.halted}}<div class="banner halted" id="halt-banner">HALTED by {{halt.by}}{{#halt.since}} since {{halt.since}}{{/halt.since}}: {{halt.reason}}. No experiment starts until someone resumes.</div>{{/halt.halted}}
    """

    static let footer = """
    <p class="muted">{{generated}}</p>
    </body>
    </html>
    """

    static let overview = """
    {{> header}}
    <h1>Overview</h1>
    {{#halt.halted}}{{#mayAct}}<p><a class="button" id="resume" href="/resume">Resume chaos…</a></p>{{/mayAct}}{{/halt.halted}}
    {{^halt.halted}}<div class="banner running">Chaos is on: {{scheduled}} of {{experiments}} experiments scheduled.</div>
    {{#mayAct}}<p><a class="button danger" id="halt" href="/halt">Halt all chaos…</a></p>{{/mayAct}}{{/halt.halted}}
    {{^mayAct}}<p class="muted" id="read-only">Read-only: your role may not halt or resume.</p>{{/mayAct}}
    {{#leadership}}<div id="leadership"><p>Controllers on {{store}}: {{#leader}}<b>{{holder}}</b> leads (epoch {{epoch}}) since {{since}}.{{/leader}}{{^leader}}<span class="failing">no controller leads</span>: nothing starts until one takes the lead.{{/leader}} This page is served by {{me}} ({{role}}).{{#note}} <span class="failing">{{note}}</span>{{/note}}</p>
    <table id="controllers"><thead><tr><th>Controller</th><th>Role</th><th>Last seen</th><th>API</th></tr></thead><tbody>{{#peers}}<tr><td>{{holder}}{{#me}} (this one){{/me}}</td><td class="{{#healthy}}ok{{/healthy}}{{^healthy}}failing{{/healthy}}">{{role}}</td><td>{{seen}}</td><td>{{api}}</td></tr>{{/peers}}</tbody></table></div>{{/leadership}}
    {{#agents}}<p id="agents">Agents: {{reachable}} of {{total}} reachable{{#halted}}, {{halted}} halted{{/halted}} (asked {{checked}}).{{#anyDown}} Not answering: {{#down}}<span class="failing">{{host}}</span> ({{error}}) {{/down}}{{/anyDown}}</p>{{/agents}}
    <h2>Running now</h2>
    {{^anyRunning}}<p id="no-running">No experiment is running.</p>{{/anyRunning}}
    {{#anyRunning}}<table id="running"><thead><tr><th>Run</th><th>Experiment</th><th>Target</th><th>Step</th><th>Started</th><th>Probes</th></tr></thead><tbody>{{/anyRunning}}
    {{#running}}<tr><td>{{runID}}</td><td>{{experiment}}</td><td>{{target}}</td><td>{{step}}</td><td>{{started}}</td><td>{{#probes}}<span class="{{status}}">{{name}}: {{status}}</span> {{/probes}}</td></tr>{{/running}}
    {{#anyRunning}}</tbody></table>{{/anyRunning}}
    <h2>Upcoming (next 24 hours)</h2>
    {{^anyUpcoming}}<p>Nothing is scheduled in the next 24 hours.</p>{{/anyUpcoming}}
    {{#anyUpcoming}}<table id="upcoming"><thead><tr><th>When</th><th>Experiment</th><th>Target</th><th>Trigger</th><th>Will it run?</th></tr></thead><tbody>{{/anyUpcoming}}
    {{#upcoming}}<tr><td>{{when}}</td><td>{{experiment}}</td><td>{{target}}</td><td>{{trigger}}</td><td>{{#skipReason}}<span class="skipped">no: {{skipReason}}</span>{{/skipReason}}{{^skipReason}}yes{{/skipReason}}</td></tr>{{/upcoming}}
    {{#anyUpcoming}}</tbody></table>{{/anyUpcoming}}
    <h2>Latest verdicts</h2>
    {{> runtable}}
    <p><a href="/runs">All verdicts…</a></p>
    {{> footer}}
    """

    static let runtable = """
    {{^anyRows}}<p id="no-runs">No stored runs.</p>{{/anyRows}}
    {{#anyRows}}<table id="verdicts"><thead><tr><th>Started</th><th>Run</th><th>Experiment</th><th>Target</th><th>Verdict</th><th>Reason</th></tr></thead><tbody>{{/anyRows}}
    {{#rows}}<tr><td>{{started}}</td><td><a href="/runs/{{runID}}">{{runID}}</a></td><td>{{experiment}}</td><td>{{target}}</td><td class="{{outcome}}">{{label}}</td><td>{{reason}}</td></tr>{{/rows}}
    {{#anyRows}}</tbody></table>{{/anyRows}}
    """

    static let runs = """
    {{> header}}
    <h1>Verdicts</h1>
    <form class="filters" method="get" action="/runs">
    <label>Experiment<br><input name="experiment" value="{{filter.experiment}}" list="experiments"></label>
    <datalist id="experiments">{{#names}}<option value="{{.}}">{{/names}}</datalist>
    <label>Verdict<br><select name="outcome">{{#outcomes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/outcomes}}</select></label>
    <label>Since<br><input name="since" type="date" value="{{filter.since}}"></label>
    <label>Limit<br><input name="limit" type="number" min="1" max="1000" value="{{filter.limit}}"></label>
    <button class="button" type="submit">Filter</button>
    </form>
    <p>{{count}} run(s).</p>
    {{> runtable}}
    {{> footer}}
    """

    static let run = """
    {{> header}}
    <p><a href="/runs">← Verdicts</a> · <a href="/api/v1/runs/{{runID}}">JSON</a></p>
    {{{section}}}
    {{> footer}}
    """

    static let confirm = """
    {{> header}}
    <h1>{{heading}}</h1>
    <p>{{explanation}}</p>
    <form method="post" action="{{action}}" id="confirm-form">
    <label>Reason (goes to the audit log)<br><input name="reason" id="reason" size="60" required value="{{reason}}"></label>
    <p><label><input type="checkbox" name="confirm" value="yes" id="confirm" required> {{checkbox}}</label></p>
    <button class="button{{#danger}} danger{{/danger}}" type="submit" id="submit">{{button}}</button>
    <a href="/">Cancel</a>
    </form>
    {{> footer}}
    """

    static let done = """
    {{> header}}
    <h1 id="done">{{heading}}</h1>
    <p>{{summary}}</p>
    {{#anyAgents}}<table id="agents"><thead><tr><th>Agent</th><th>Result</th><th>Faults reverted</th></tr></thead><tbody>{{/anyAgents}}
    {{#agents}}<tr><td>{{host}}</td><td class="{{#ok}}ok{{/ok}}{{^ok}}failing{{/ok}}">{{#ok}}acknowledged{{/ok}}{{^ok}}FAILED: {{error}}{{/ok}}</td><td class="num">{{reverted}}</td></tr>{{/agents}}
    {{#anyAgents}}</tbody></table>{{/anyAgents}}
    <p><a href="/">Back to the overview</a></p>
    {{> footer}}
    """

    static let audit = """
    {{> header}}
    <h1>Audit log</h1>
    {{^anyEntries}}<p>Nothing yet.</p>{{/anyEntries}}
    {{#anyEntries}}<table id="audit"><thead><tr><th>When</th><th>Who</th><th>Action</th><th>Detail</th></tr></thead><tbody>{{/anyEntries}}
    {{#entries}}<tr><td>{{when}}</td><td>{{who}}</td><td>{{action}}</td><td>{{detail}}</td></tr>{{/entries}}
    {{#anyEntries}}</tbody></table>{{/anyEntries}}
    {{> footer}}
    """

    static let login = """
    {{> header}}
    <h1>Sign in</h1>
    {{#error}}<p class="failing">{{error}}</p>{{/error}}
    <p>Use an API token from the controller's configuration (operators with a chaos certificate are let in without one).</p>
    <form method="post" action="/login"><label>Token<br><input name="token" id="token" type="password" size="50" required></label>
    <p><button class="button" type="submit" id="login">Sign in</button></p></form>
    {{> footer}}
    """

    static let message = """
    {{> header}}
    <h1>{{heading}}</h1>
    <p>{{text}}</p>
    <p><a href="/">Back to the overview</a></p>
    {{> footer}}
    """
}
