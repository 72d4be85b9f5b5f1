import ChaosCore
@testable import ChaosController
import Foundation
import Testing

@Suite("Dashboard pages (swift-mustache): every page renders, escapes user text, loads nothing from outside")
struct DashboardTests {
    let dashboard = Dashboard(name: "staging")
    let hostile = "<script>alert(1)</script>"

    @Test("every template parses")
    func templatesParse() {
        for name in DashboardTemplates.all.keys {
            let out = Dashboard.render(name, ["name": "x", "title": "t"]) ?? "missing"
            #expect(!out.contains("is broken"), "\(name): \(out)")
            #expect(out != "missing", "\(name)")
        }
    }

    @Test("the overview shows the halt state, running runs with probe status, upcoming fires with why not, latest verdicts")
    func overview() async {
        let backend = FakeBackend()
        let runs = [Fixtures.run("r-1", experiment: hostile, failing: true), Fixtures.run("r-2", experiment: "pause-app", failing: false)]
        var page = dashboard.overview(await backend.overview(), recent: runs, who: "alice")
        #expect(page.contains("signed in as alice"))
        #expect(page.contains("id=\"halt\" href=\"/halt\""))
        #expect(page.contains("kill &lt;b&gt;app&lt;/b&gt;"))
        #expect(page.contains("<span class=\"failing\">db: failing</span>"))
        #expect(page.contains("no: blackout (freeze)"))
        #expect(page.contains("href=\"/runs/r-2\""))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!page.contains(hostile))
        #expect(page.contains("http-equiv=\"refresh\""))
        #expect(page.contains("Agents: 2 of 3 reachable (asked 2023-11-14 22:13:20 UTC). Not answering: <span class=\"failing\">db3</span> (timeout &lt;5s&gt;)"), "\(page)")
        _ = await backend.halt(by: "bob", reason: "incident <7>")
        page = dashboard.overview(await backend.overview(), recent: [], who: "alice")
        #expect(page.contains("HALTED by bob"))
        #expect(page.contains("incident &lt;7&gt;"))
        #expect(page.contains("href=\"/resume\""))
        #expect(!page.contains("href=\"/halt\""))
        #expect(page.contains("No stored runs."))
    }

    @Test("pages load nothing from elsewhere: no scripts, no external URLs, a strict content security policy")
    func selfContained() async {
        let backend = FakeBackend()
        let run = Fixtures.run("r-1", experiment: "e", failing: true)
        let pages = [dashboard.overview(await backend.overview(), recent: [run], who: "a"),
                     dashboard.runs([run], query: .init(), names: ["e"], who: "a", halt: .running),
                     dashboard.run(run, who: "a", halt: .running), dashboard.confirmHalt(who: "a", halt: .running),
                     dashboard.done("Chaos halted", await backend.halt(by: "a", reason: "r"), who: "a"),
                     dashboard.audit(try! await backend.audit(limit: 5), who: "a", halt: .running), dashboard.login(error: nil)]
        for p in pages {
            #expect(p.hasPrefix("<!DOCTYPE html>"))
            #expect(p.contains("default-src 'none'"))
            #expect(!p.contains("<script"))
            #expect(!p.contains("src=\"http"))
            #expect(!p.contains("href=\"http"))
        }
    }

    @Test("the run page embeds the report's timeline and figures")
    func runPage() {
        let page = dashboard.run(Fixtures.run("r-9", experiment: "pause-app", failing: true), who: "a", halt: .running)
        #expect(page.contains("<svg"))
        #expect(page.contains("/api/v1/runs/r-9"))
        #expect(page.contains("FAILED") || page.contains("PASSED"))
    }

    @Test("the halt confirmation needs a reason and a ticked box; the result lists every agent")
    func haltPages() async {
        let confirm = dashboard.confirmHalt(who: "a", halt: .running)
        #expect(confirm.contains("name=\"confirm\" value=\"yes\" id=\"confirm\" required"))
        #expect(confirm.contains("name=\"reason\" id=\"reason\" size=\"60\" required"))
        #expect(confirm.contains("action=\"/halt\""))
        let done = dashboard.done("Chaos halted", await FakeBackend().halt(by: "a", reason: "r"), who: "a")
        #expect(done.contains("1 of 2 agents acknowledged in 42 ms; 1 fault(s) reverted; runs stopped: r-live."))
        #expect(done.contains("FAILED: unreachable"))
    }

    @Test("verdict filters keep what was asked")
    func filters() {
        var q = Dashboard.RunsQuery()
        q.experiment = "pause-app"; q.outcome = "failed"; q.since = "2026-11-01"
        let page = dashboard.runs([], query: q, names: ["pause-app", "kill-db"], who: nil, halt: .running)
        #expect(page.contains("value=\"pause-app\" list=\"experiments\""))
        #expect(page.contains("<option value=\"failed\" selected>"))
        #expect(page.contains("value=\"2026-11-01\""))
        #expect(page.contains("<option value=\"kill-db\">"))
    }
}

@Suite("Controller access: tokens, cookies, origins; webhook bodies")
struct AccessTests {
    @Test("a token is known by its SHA-256 only")
    func tokens() {
        let access = ControllerAccess(tokens: [.init(name: "alice", sha256: ControllerAccess.sha256("s3cret"))], plaintext: false)
        #expect(access.tokenName("s3cret") == "alice")
        #expect(access.tokenName("s3cret ") == nil)
        #expect(access.tokenName("") == nil)
        #expect(ControllerAccess.sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("cookies are read by name")
    func cookies() {
        #expect(ControllerAccess.cookieValue("a=1; chaos_session=tok%2Bx; b=2", "chaos_session") == "tok+x")
        #expect(ControllerAccess.cookieValue("chaos_sessionx=1", "chaos_session") == nil)
        #expect(ControllerAccess.cookieValue(nil, "chaos_session") == nil)
    }

    @Test("webhook bodies: the event as JSON, or Slack's {text}")
    func webhookBodies() throws {
        let e = ControllerEvent(kind: .verdict, at: 5, runID: "r-1", experiment: "kill-db", target: "db1", outcome: "failed", status: "completed", reasons: ["outage 20.5 s"])
        let json = try JSONSerialization.jsonObject(with: WebhookSender.body(e, format: .json)) as? [String: Any]
        #expect(json?["kind"] as? String == "run.verdict")
        #expect(json?["outcome"] as? String == "failed")
        #expect((json?["reasons"] as? [String]) == ["outage 20.5 s"])
        let slack = try JSONSerialization.jsonObject(with: WebhookSender.body(e, format: .slack)) as? [String: Any]
        #expect(slack?.keys.sorted() == ["text"])
        #expect(slack?["text"] as? String == "chaos: 'kill-db' FAILED (completed) run r-1: outage 20.5 s")
        #expect(WebhookSpec(url: "x", events: [.halt]).wants(.halt))
        #expect(!WebhookSpec(url: "x", events: [.halt]).wants(.runStarted))
        #expect(WebhookSpec(url: "x").wants(.runStarted))
    }
}

@Suite("Form bodies")
struct FormTests {
    @Test("urlencoded fields, '+' as space, and bodies that are not valid encoding taken as written (no trap)")
    func decode() {
        #expect(Forms.decode("reason=game+day%21&confirm=yes") == ["reason": "game day!", "confirm": "yes"])
        #expect(Forms.decode("token=a b%zz&x") == ["token": "a b%zz", "x": ""])
        #expect(Forms.decode("") == [:])
        #expect(Forms.decode("a=1=2") == ["a": "1=2"])
    }
}
