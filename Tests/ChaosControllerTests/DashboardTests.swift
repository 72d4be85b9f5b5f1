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
        var page = dashboard.overview(await backend.overview(), recent: runs, who: .by("alice", .operator))
        #expect(page.contains("signed in as alice (operator)"))
        #expect(page.contains("id=\"halt\" href=\"/halt\""))
        #expect(page.contains("kill &lt;b&gt;app&lt;/b&gt;"))
        #expect(page.contains("<span class=\"failing\">db: failing</span>"))
        #expect(page.contains("no: blackout (freeze)"))
        #expect(page.contains("href=\"/runs/r-2\""))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!page.contains(hostile))
        #expect(page.contains("http-equiv=\"refresh\""))
        #expect(page.contains("Agents: 2 of 3 reachable (asked 2023-11-14 22:13:20 UTC). Not answering: <span class=\"failing\">db3</span> (timeout &lt;5s&gt;)"), "\(page)")
        _ = await backend.halt(by: .op("bob"), reason: "incident <7>")
        page = dashboard.overview(await backend.overview(), recent: [], who: .by("alice", .operator))
        #expect(page.contains("HALTED by bob"))
        #expect(page.contains("incident &lt;7&gt;"))
        #expect(page.contains("href=\"/resume\""))
        #expect(!page.contains("href=\"/halt\""))
        #expect(page.contains("No stored runs."))
    }

    @Test("with a shared store: who leads, since when, which controller serves the page, and the others' health")
    func leadership() async {
        var o = await FakeBackend().overview()
        o.leadership = ControllerLeadership(role: "standby", holder: "controller@ctl2#31", store: "postgres://chaos@db/chaos",
                                            leader: LeaderRecord(holder: "controller@ctl1#42", epoch: 7, sinceMs: 1_700_000_000_000, expiresMs: 1_700_000_015_000, nowMs: 1_700_000_005_000),
                                            epoch: nil,
                                            peers: [ControllerPeer(holder: "controller@ctl1#42", api: "https://10.0.0.5:7434/", role: "leader", version: "0.1.0", startedMs: 0, ageMs: 2_000),
                                                    ControllerPeer(holder: "controller@ctl2#31", api: nil, role: "standby", version: "0.1.0", startedMs: 0, ageMs: 1_000),
                                                    ControllerPeer(holder: "controller@ctl3#<b>", api: nil, role: "standby", version: "0.1.0", startedMs: 0, ageMs: 45_000)])
        let page = dashboard.overview(o, recent: [], who: .by("alice", .viewer))
        #expect(page.contains("<b>controller@ctl1#42</b> leads (epoch 7) since 2023-11-14 22:13:20 UTC."), "\(page)")
        #expect(page.contains("This page is served by controller@ctl2#31 (standby)."))
        #expect(page.contains("<td>controller@ctl2#31 (this one)</td><td class=\"ok\">standby</td><td>1 s ago</td>"), "\(page)")
        #expect(page.contains("controller@ctl3#&lt;b&gt;</td><td class=\"failing\">standby</td><td>45 s ago</td>"), "unhealthy and escaped: \(page)")
        o.leadership?.leader = nil
        #expect(dashboard.overview(o, recent: [], who: .by("alice", .viewer)).contains("no controller leads</span>: nothing starts until one takes the lead."))
        o.leadership = ControllerLeadership(role: "single", holder: "controller@ctl1#42", store: "sqlite:/var/lib/chaos-controller/runs")
        #expect(!dashboard.overview(o, recent: [], who: .by("alice", .viewer)).contains("id=\"leadership\""), "a single controller shows no election")
    }

    @Test("pages load nothing from elsewhere: no scripts, no external URLs, a strict content security policy")
    func selfContained() async {
        let backend = FakeBackend()
        let run = Fixtures.run("r-1", experiment: "e", failing: true)
        let pages = [dashboard.overview(await backend.overview(), recent: [run], who: .by("a", .operator)),
                     dashboard.runs([run], query: .init(), names: ["e"], who: .by("a", .operator), halt: .running),
                     dashboard.run(run, who: .by("a", .operator), halt: .running), dashboard.confirmHalt(who: .by("a", .operator), halt: .running),
                     dashboard.done("Chaos halted", await backend.halt(by: .op("a"), reason: "r"), who: .by("a", .operator)),
                     dashboard.audit(try! await backend.audit(limit: 5), who: .by("a", .operator), halt: .running), dashboard.login(error: nil)]
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
        let page = dashboard.run(Fixtures.run("r-9", experiment: "pause-app", failing: true), who: .by("a", .operator), halt: .running)
        #expect(page.contains("<svg"))
        #expect(page.contains("/api/v1/runs/r-9"))
        #expect(page.contains("FAILED") || page.contains("PASSED"))
    }

    @Test("the halt confirmation needs a reason and a ticked box; the result lists every agent")
    func haltPages() async {
        let confirm = dashboard.confirmHalt(who: .by("a", .operator), halt: .running)
        #expect(confirm.contains("name=\"confirm\" value=\"yes\" id=\"confirm\" required"))
        #expect(confirm.contains("name=\"reason\" id=\"reason\" size=\"60\" required"))
        #expect(confirm.contains("action=\"/halt\""))
        let done = dashboard.done("Chaos halted", await FakeBackend().halt(by: .op("a"), reason: "r"), who: .by("a", .operator))
        #expect(done.contains("1 of 2 agents acknowledged in 42 ms; 1 fault(s) reverted; runs stopped: r-live."))
        #expect(done.contains("FAILED: unreachable"))
    }

    @Test("a viewer sees no halt or resume button; a signed-in browser gets a sign-out button")
    func viewerPage() async {
        let backend = FakeBackend()
        var page = dashboard.overview(await backend.overview(), recent: [], who: .by("grafana", .viewer))
        #expect(page.contains("signed in as grafana (viewer)"))
        #expect(!page.contains("href=\"/halt\""))
        #expect(page.contains("id=\"read-only\""))
        #expect(!page.contains("id=\"logout\""))
        _ = await backend.halt(by: .op("bob"), reason: "r")
        page = dashboard.overview(await backend.overview(), recent: [], who: .by("bob", .viewer, cookie: true))
        #expect(!page.contains("href=\"/resume\""))
        #expect(page.contains("<form class=\"signout\" method=\"post\" action=\"/logout\">"))
        page = dashboard.overview(await backend.overview(), recent: [], who: .by("root", .admin))
        #expect(page.contains("href=\"/resume\"") && !page.contains("id=\"read-only\""))
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

@Suite("Controller access: tokens with roles and expiry, roles, sessions, cookies, origins; webhook bodies")
struct AccessTests {
    static let t0: Int64 = 1_800_000_000_000

    static func access(_ tokens: [ControllerAPISettings.Token], access grants: [ControllerAPISettings.Grant] = [], now: Int64 = t0) -> ControllerAccess {
        ControllerAccess(ControllerAPISettings(address: "127.0.0.1", port: 0, certificate: "", key: "", ca: "", tokens: tokens, access: grants), now: { now })
    }

    @Test("a token is known by its SHA-256 only, with its role (viewer unless configured)")
    func tokens() throws {
        let access = Self.access([.init(name: "alice", sha256: ControllerAccess.sha256("s3cret")),
                                  .init(name: "ops", sha256: ControllerAccess.sha256("0ps"), role: .operator)])
        #expect(access.tokenName("s3cret") == "alice")
        #expect(try access.token("s3cret").get().role == .viewer)
        #expect(try access.token("0ps").get().role == .operator)
        #expect(access.tokenName("s3cret ") == nil)
        #expect(access.tokenName("") == nil)
        #expect(ControllerAccess.sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("a token past its expiry is refused, saying when it expired and what to do")
    func expiry() {
        let token = ControllerAPISettings.Token(name: "bob", sha256: ControllerAccess.sha256("b0b"), role: .operator, expiresAt: Self.t0)
        #expect(Self.access([token], now: Self.t0 - 1).tokenName("b0b") == "bob")
        guard case .failure(let refusal) = Self.access([token], now: Self.t0).token("b0b") else {
            Issue.record("an expired token was accepted")
            return
        }
        #expect(refusal.message == "The token 'bob' expired on 2027-01-15 08:00:00 UTC. Ask for a new one: an admin runs 'chaos controller token --name bob --role operator --expires 90d' and replaces its line in controller.yaml 'api.tokens'.")
    }

    @Test("roles: viewers read, operators and admins also halt and resume; the refusal names the role and where to ask")
    func roles() {
        let access = Self.access([], access: [.init(certificate: "alice", role: .operator)])
        #expect(access.settings.role(ofCertificate: "alice") == .operator)
        #expect(access.settings.role(ofCertificate: "someone") == .viewer)
        let viewer = ControllerCaller(name: "alice", role: .viewer, credential: .certificate)
        #expect(access.refusal(viewer, .read) == nil)
        #expect(access.refusal(viewer, .halt) == "'alice' (viewer) may not halt; ask for the operator role in controller.yaml 'api.access'.")
        #expect(access.refusal(ControllerCaller(name: "bob", role: .viewer, credential: .token), .resume)
                == "'bob' (viewer) may not resume; ask for the operator role in controller.yaml 'api.tokens'.")
        for role in [ControllerRole.operator, .admin] {
            #expect(access.refusal(ControllerCaller(name: "x", role: role, credential: .token), .halt) == nil)
            #expect(access.refusal(ControllerCaller(name: "x", role: role, credential: .token), .resume) == nil)
        }
        #expect(ControllerRole.viewer < .operator && ControllerRole.operator < .admin)
        #expect(ControllerCaller(name: "alice", role: .operator, credential: .certificate).description == "alice (operator, certificate)")
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

@Suite("Dashboard sessions: server-side, random ids, bounded in time and number")
struct SessionTests {
    let hour: Int64 = 3_600_000

    @Test("a session lasts its lifetime, never beyond its token's expiry, and ends at sign-out")
    func lifetime() {
        var s = DashboardSessions(lifetime: .seconds(12 * 3600), capacity: 10)
        let opened = s.open(id: "a", name: "bob", role: .operator, tokenExpiresAt: nil, now: 0)
        #expect(opened.expiresAt == 12 * hour)
        #expect(s.find("a", now: 12 * hour - 1)?.name == "bob")
        #expect(s.find("a", now: 12 * hour) == nil)
        #expect(s.count == 0, "an ended session is forgotten")
        s.open(id: "b", name: "carol", role: .viewer, tokenExpiresAt: 2 * hour, now: 0)
        #expect(s.find("b", now: 2 * hour - 1)?.role == .viewer)
        #expect(s.find("b", now: 2 * hour) == nil)
        s.open(id: "c", name: "dan", role: .viewer, tokenExpiresAt: nil, now: 0)
        s.close("c")
        #expect(s.find("c", now: 1) == nil)
        #expect(s.find("never-opened", now: 1) == nil)
    }

    @Test("beyond the cap, a sign-in ends the oldest session; ended ones go first")
    func cap() {
        var s = DashboardSessions(lifetime: .seconds(3600), capacity: 3)
        for (i, id) in ["a", "b", "c"].enumerated() { s.open(id: id, name: id, role: .viewer, tokenExpiresAt: nil, now: Int64(i)) }
        s.open(id: "d", name: "d", role: .viewer, tokenExpiresAt: nil, now: 10)
        #expect(s.count == 3)
        #expect(s.find("a", now: 11) == nil)
        #expect(s.find("b", now: 11) != nil && s.find("d", now: 11) != nil)
        // Once b, c and d have ended, a new sign-in drops them rather than anything live.
        s.open(id: "e", name: "e", role: .viewer, tokenExpiresAt: nil, now: hour + 100)
        #expect(s.count == 1)
    }

    @Test("ids are 32 random bytes in base64url; anything else is not looked up")
    func ids() {
        var rng = SystemRandomNumberGenerator()
        let a = DashboardSessions.newID(using: &rng), b = DashboardSessions.newID(using: &rng)
        #expect(a.count == 43 && a != b)
        #expect(DashboardSessions.isWellFormed(a))
        #expect(!DashboardSessions.isWellFormed("chaos_test-token"))
        #expect(!DashboardSessions.isWellFormed(String(repeating: "a", count: 42) + "="))
        let store = SessionStore(lifetime: .seconds(60), capacity: 2)
        let opened = store.open(name: "bob", role: .viewer, tokenExpiresAt: nil, now: 0)
        #expect(store.find(opened.id, now: 1)?.name == "bob")
        #expect(store.find(opened.id + "x", now: 1) == nil)
        store.close(opened.id)
        #expect(store.find(opened.id, now: 1) == nil)
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
