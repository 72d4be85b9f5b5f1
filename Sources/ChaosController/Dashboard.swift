import ChaosCore
import ChaosReport
import Foundation
import Mustache

/// Renders the dashboard's pages from the backend's values. Pure: values in, HTML out.
struct Dashboard: Sendable {
    let name: String
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in DashboardTemplates.all {
            // The templates are ours and tested (DashboardTests render each); a broken one renders
            // as a message naming it, never crashes the controller.
            do { try library.register(text, named: name) } catch {
                try? library.register("<!DOCTYPE html><title>error</title><p>The dashboard template '\(name)' is broken: \(error)</p>", named: name)
            }
        }
        return library
    }()

    static func render(_ template: String, _ context: [String: Any]) -> String? { library.render(context, withTemplate: template) }

    static func time(_ ms: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) + " UTC"
    }

    func page(_ template: String, title: String, who: ControllerAccess.Identified?, halt: HaltState?, refresh: Int? = nil, _ values: [String: Any]) -> String {
        var context: [String: Any] = ["name": name, "title": title, "css": HTMLFragments.css, "generated": "Generated \(Self.time(Int64(Date().timeIntervalSince1970 * 1000)))"]
        if let who {
            context["who"] = "\(who.caller.name) (\(who.caller.role))"
            // The halt and resume buttons are for those who may use them (the server refuses the rest anyway).
            if who.caller.role >= ControllerAction.halt.needs { context["mayAct"] = true }
            if who.byCookie { context["signOut"] = true }
        }
        if let refresh { context["refresh"] = refresh }
        if let halt {
            var h: [String: Any] = ["halted": halt.halted, "by": halt.by ?? "?", "reason": halt.reason ?? ""]
            if let at = halt.at { h["since"] = Self.time(at) }
            context["halt"] = h
        }
        for (k, v) in values { context[k] = v }
        return Self.library.render(context, withTemplate: template) ?? "template \(template) missing"
    }

    static func rows(_ runs: [RunRecord]) -> [String: Any] {
        let rows: [[String: Any]] = runs.map { r in
            ["started": time(r.startedAt), "runID": r.runID, "experiment": r.experiment, "target": r.target + (r.host.map { " (\($0))" } ?? ""),
             "outcome": r.verdict.outcome.rawValue,
             "label": r.verdict.outcome.rawValue.uppercased() + (r.status == .completed ? "" : " (\(r.status.rawValue))"),
             "reason": r.verdict.reasons.first ?? ""]
        }
        return ["rows": rows, "anyRows": !rows.isEmpty]
    }

    func overview(_ o: ControllerOverview, recent: [RunRecord], who: ControllerAccess.Identified?) -> String {
        let running: [[String: Any]] = o.running.map { r in
            ["runID": r.runID, "experiment": r.experiment, "target": r.target, "step": r.step, "started": Self.time(r.startedAt),
             "probes": r.probes.map { ["name": $0.name, "status": $0.status] }]
        }
        let upcoming: [[String: Any]] = o.upcoming.map { f in
            var row: [String: Any] = ["when": Self.time(f.at), "experiment": f.experiment, "target": f.target, "trigger": f.trigger]
            if let why = f.skipReason { row["skipReason"] = why }
            return row
        }
        var values: [String: Any] = ["running": running, "anyRunning": !running.isEmpty, "upcoming": upcoming, "anyUpcoming": !upcoming.isEmpty,
                                     "experiments": o.experiments, "scheduled": o.scheduled]
        if let a = o.agents {
            let down: [[String: Any]] = a.unreachable.map { ["host": $0.host, "error": $0.error ?? ""] }
            values["agents"] = ["reachable": a.reachable, "total": a.total, "halted": a.halted > 0 ? a.halted : false, "checked": Self.time(a.checkedAt),
                                "down": down, "anyDown": !down.isEmpty] as [String: Any]
        }
        if let l = o.leadership, l.role != "single" {
            let peers: [[String: Any]] = l.peers.map { p in
                let leads = p.holder == l.leader?.holder && l.leader?.isExpired == false
                return ["holder": p.holder, "role": leads ? "leader" : (p.ageMs > 60_000 ? "gone" : p.role), "seen": "\(p.ageMs / 1000) s ago",
                        "healthy": p.ageMs < 30_000, "api": p.api ?? "", "me": p.holder == l.holder]
            }
            var lead: [String: Any] = ["role": l.role, "me": l.holder, "store": l.store, "peers": peers, "note": l.note ?? ""]
            if let leader = l.leader, !leader.isExpired {
                lead["leader"] = ["holder": leader.holder, "epoch": leader.epoch, "since": Self.time(leader.sinceMs)] as [String: Any]
            }
            values["leadership"] = lead
        }
        for (k, v) in Self.rows(recent) { values[k] = v }
        return page("overview", title: "Overview", who: who, halt: o.halt, refresh: 5, values)
    }

    struct RunsQuery: Sendable {
        var experiment = ""
        var outcome = ""
        var since = ""
        var limit = 100
    }

    func runs(_ runs: [RunRecord], query: RunsQuery, names: [String], who: ControllerAccess.Identified?, halt: HaltState) -> String {
        let outcomes: [[String: Any]] = ([("", "any")] + Verdict.Outcome.allCases.map { ($0.rawValue, $0.rawValue) }).map { v, l in
            ["value": v, "label": l, "selected": v == query.outcome]
        }
        var values: [String: Any] = ["filter": ["experiment": query.experiment, "since": query.since, "limit": query.limit],
                                     "outcomes": outcomes, "names": names, "count": runs.count]
        for (k, v) in Self.rows(runs) { values[k] = v }
        return page("runs", title: "Verdicts", who: who, halt: halt, values)
    }

    func run(_ r: RunRecord, who: ControllerAccess.Identified?, halt: HaltState) -> String {
        page("run", title: "\(r.experiment) \(r.runID)", who: who, halt: halt, ["runID": r.runID, "section": HTMLFragments.run(r)])
    }

    func confirmHalt(who: ControllerAccess.Identified?, halt: HaltState) -> String {
        page("confirm", title: "Halt all chaos", who: who, halt: halt, [
            "heading": "Halt all chaos?", "action": "/halt", "danger": true, "button": "Halt all chaos now", "reason": "",
            "explanation": "Every agent reverts every fault it holds and refuses new ones; the experiments running now stop and are stored as aborted; nothing starts until someone resumes. Recorded in the audit log under your name.",
            "checkbox": "I understand: revert everything on every agent and stop all experiments.",
        ])
    }

    func confirmResume(who: ControllerAccess.Identified?, halt: HaltState) -> String {
        page("confirm", title: "Resume chaos", who: who, halt: halt, [
            "heading": "Resume chaos?", "action": "/resume", "danger": false, "button": "Resume", "reason": "",
            "explanation": "The agents accept faults again and scheduled experiments start at their next fire (fires missed while halted are not run late).",
            "checkbox": "I understand: scheduled experiments will run again.",
        ])
    }

    func done(_ heading: String, _ outcome: HaltOutcome, who: ControllerAccess.Identified?) -> String {
        let failed = outcome.agents.filter { !$0.ok }.count
        let reverted = outcome.agents.map(\.reverted).reduce(0, +)
        let summary = "\(outcome.agents.count - failed) of \(outcome.agents.count) agents acknowledged in \(outcome.elapsedMs) ms; \(reverted) fault(s) reverted"
            + (outcome.abortedRuns.isEmpty ? "" : "; runs stopped: \(outcome.abortedRuns.joined(separator: ", "))") + "."
        let agents: [[String: Any]] = outcome.agents.map { ["host": $0.host, "ok": $0.ok, "reverted": $0.reverted, "error": $0.error ?? ""] }
        return page("done", title: heading, who: who, halt: outcome.halt, ["heading": heading, "summary": summary, "agents": agents, "anyAgents": !agents.isEmpty])
    }

    func audit(_ entries: [AuditEntry], who: ControllerAccess.Identified?, halt: HaltState) -> String {
        let rows: [[String: Any]] = entries.map { ["when": Self.time($0.at), "who": $0.who, "action": $0.action, "detail": $0.detail] }
        return page("audit", title: "Audit log", who: who, halt: halt, ["entries": rows, "anyEntries": !rows.isEmpty])
    }

    func login(error: String?) -> String {
        page("login", title: "Sign in", who: nil, halt: nil, error.map { ["error": $0] } ?? [:])
    }

    func message(_ heading: String, _ text: String, who: ControllerAccess.Identified?, halt: HaltState?) -> String {
        page("message", title: heading, who: who, halt: halt, ["heading": heading, "text": text])
    }
}
