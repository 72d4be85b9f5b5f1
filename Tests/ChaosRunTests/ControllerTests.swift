import ChaosCore
@testable import ChaosRun
import ChaosStore
import Foundation
import Glibc
import Synchronization
import Testing

/// The controller's loop in process, on a fake clock: the same behaviours the sandbox tests check
/// end to end through the built executables and real agents (SandboxTests' controller tests,
/// ControllerAPITests' halt across a restart, SchedulePreviewTests' calendar), in seconds. The store
/// is the real SQLite store; agents and probes are fakes at the boundary.
@Suite("The controller on a fake clock: fires, grace, blackouts, halts and restarts", .serialized)
struct ControllerTests {
    static let alice = ControllerCaller(name: "alice", role: .operator, credential: .certificate)
    static let bob = ControllerCaller(name: "bob", role: .operator, credential: .token)

    /// What the fire records say at the moment an agent is asked to inject.
    static func witness(_ c: RunningController) -> @Sendable () -> String {
        { c.fires.map { "\($0.experiment)@\($0.scheduledMs):\($0.state.rawValue):\($0.runID ?? "-")" }.joined(separator: ",") }
    }

    @Test("a cron fire starts when due, is recorded as started before the agent is asked to inject, and ends with its run stored; an invalid file is skipped")
    func firesWhenDue() async throws {
        let lab = try ControllerLab()
        defer { lab.remove() }
        try lab.experiment("pause-app.yaml", ControllerLab.pause("pause-app", cron: "* * * * *"))
        try lab.experiment("broken.yaml", "apiVersion: chaos/v1\nkind: Experiment\nname: broken\n")
        let c = try await lab.start(at: ms("2026-03-02T10:00:50Z"))
        c.agents.witness.withLock { $0 = Self.witness(c) }
        #expect(c.logText.contains("skipped \(lab.experiments)/broken.yaml (invalid, not loaded)"), "\(c.logText)")

        // A fresh controller does not run what was due before it; nothing is due before the minute.
        await c.clock.advance(to: ms("2026-03-02T10:00:59Z"))
        #expect(c.agents.calls("inject").isEmpty && c.fires.isEmpty, "\(c.agents.calls)")

        let fireAt = ms("2026-03-02T10:01:00Z")
        let injected = await c.clock.advance(upTo: 10_000) { !c.agents.calls("inject").isEmpty }
        try #require(injected, "no inject: \(c.logText)")
        let inject = c.agents.calls("inject")[0]
        let started = try #require(c.fire("pause-app", at: fireAt))
        let runID = try #require(started.runID)
        #expect(inject.detail == "pause-app@\(fireAt):started:\(runID)", "the fire was written, as started with its run id, before the inject: \(inject.detail)")
        #expect(inject.at == fireAt + 1000, "injected after the 1 s gate that follows the fire: \(inject.at - fireAt) ms")
        #expect(c.logText.contains("starting 'pause-app' (cron, scheduled 2026-03-02T10:01:00Z) as run \(runID)"), "\(c.logText)")
        #expect(c.logText.contains("run \(runID) of 'pause-app': victim app") && c.logText.contains("group apps: 2/2 healthy, minHealthy 1"),
                "the victim is chosen among the target's hosts, with the group's health asked: \(c.logText)")

        let finished = await c.clock.advance(upTo: 30_000) { c.fire("pause-app", at: fireAt)?.state == .finished }
        try #require(finished, "\(c.logText)")
        let run = try #require(try c.store?.run(runID))
        #expect(run.status == .completed, "\(run.verdict.reasons)")
        #expect(run.verdict.outcome == .passed, "\(run.verdict.reasons)")
        #expect(c.agents.calls("revert").map(\.at) == [fireAt + 1000 + 5000], "reverted at the end of the 5 s fault")
        #expect(c.agents.calls("inject").count == 1)
        #expect(try await c.terminate() == 0)
    }

    @Test("after downtime: a fire missed by more than the grace is recorded as missed and not run; one within the grace starts late; a restart repeats neither")
    func grace() async throws {
        let lab = try ControllerLab()
        defer { lab.remove() }
        try lab.experiment("a.yaml", ControllerLab.pause("pause-at-1000", cron: "0 10 * * *"))
        try lab.experiment("b.yaml", ControllerLab.pause("pause-at-1004", cron: "4 10 * * *"))
        // The previous controller last looked at 09:58 and was down until 10:07.
        try lab.openStore().setValue(String(ms("2026-03-02T09:58:00Z")), for: "lastLookMs")
        let c = try await lab.start(at: ms("2026-03-02T10:07:00Z"))
        let missed = try #require(c.fire("pause-at-1000", at: ms("2026-03-02T10:00:00Z")), "\(c.fires)")
        #expect(missed.state == .missed && missed.runID == nil)
        #expect(missed.reason?.contains("more than the grace (5m) before the controller could start it") == true, "\(missed.reason ?? "")")
        #expect(c.logText.contains("missed 'pause-at-1000' scheduled 2026-03-02T10:00:00Z"), "\(c.logText)")
        let late = try #require(c.fire("pause-at-1004", at: ms("2026-03-02T10:04:00Z")), "\(c.fires)")
        #expect(late.state == .started, "3 minutes late is within the 5 minute grace")
        #expect(c.logText.contains("starting 'pause-at-1004' (cron, scheduled 2026-03-02T10:04:00Z)"), "\(c.logText)")
        #expect(await c.clock.advance(upTo: 20_000) { c.fire("pause-at-1004", at: ms("2026-03-02T10:04:00Z"))?.state == .finished })
        #expect(c.agents.calls("inject").count == 1, "only the fire within the grace ran: \(c.agents.calls)")
        #expect(try await c.terminate() == 0)

        let again = try await lab.start(at: ms("2026-03-02T10:09:00Z"))
        await again.clock.advance(by: 5_000)
        #expect(again.fires.count == 2, "each fire recorded once: \(again.fires)")
        #expect(again.fire("pause-at-1000", at: ms("2026-03-02T10:00:00Z"))?.state == .missed)
        #expect(again.agents.calls("inject").isEmpty, "nothing is started again after the restart")
        #expect(try await again.terminate() == 0)
    }

    @Test("a blackout that begins during a run halts it at once: reverted, stored aborted with the reason; a fire inside the blackout is skipped")
    func blackout() async throws {
        let lab = try ControllerLab()
        defer { lab.remove() }
        try lab.experiment("pause.yaml", ControllerLab.pause("pause-before-freeze", cron: "* * * * *", duration: "40s", calendar: """
        workdays: [mon, tue, wed, thu, fri, sat, sun]
          hours: "00:00-24:00"
          blackouts: [{from: "2026-03-02T10:01:08Z", to: "2026-03-02T10:11:00Z", reason: freeze}]
        """))
        let c = try await lab.start(at: ms("2026-03-02T10:00:50Z"))
        let fireAt = ms("2026-03-02T10:01:00Z")
        let ended = await c.clock.advance(upTo: 60_000) { c.fire("pause-before-freeze", at: fireAt)?.state == .finished }
        try #require(ended, "\(c.logText)")
        let runID = try #require(c.fire("pause-before-freeze", at: fireAt)?.runID)
        let run = try #require(try c.store?.run(runID))
        #expect(run.status == .aborted)
        #expect(run.journal.events.contains { $0.kind == .stopTripped && $0.detail == "halted: blackout (freeze) began" }, "\(run.journal.events)")
        let reverts = c.agents.calls("revert").map(\.at)
        #expect(reverts.count == 1 && reverts[0] >= ms("2026-03-02T10:01:08Z") && reverts[0] <= ms("2026-03-02T10:01:08Z") + 250,
                "reverted within 250 ms of the blackout's start, not at the fault's end: \(reverts)")

        // The next minute falls inside the blackout: recorded as skipped, nothing injected.
        await c.clock.advance(to: ms("2026-03-02T10:02:05Z"))
        let skipped = try #require(c.fire("pause-before-freeze", at: ms("2026-03-02T10:02:00Z")), "\(c.fires)\n\(c.logText)")
        #expect(skipped.state == .skipped && skipped.reason?.contains("freeze") == true, "\(skipped)")
        #expect(c.agents.calls("inject").count == 1)
        #expect(try await c.terminate() == 0)
    }

    @Test("a halt aborts the run, halts the agents and blocks fires; SIGKILLed and restarted, the controller is still halted until resumed; the audit log names who")
    func haltSurvivesRestart() async throws {
        let lab = try ControllerLab()
        defer { lab.remove() }
        try lab.experiment("pause.yaml", ControllerLab.pause("pause-app-halted", cron: "* * * * *", duration: "20s"))
        let c = try await lab.start(at: ms("2026-03-02T10:00:50Z"))
        let fireAt = ms("2026-03-02T10:01:00Z")
        try #require(await c.clock.advance(upTo: 40_000) { !c.agents.calls("inject").isEmpty }, "\(c.logText)")
        await c.clock.advance(to: ms("2026-03-02T10:01:03Z"))
        let runID = try #require(c.fire("pause-app-halted", at: fireAt)?.runID)

        let outcome = await c.controller.halt(by: Self.alice, reason: "incident 4711")
        #expect(outcome.halt.halted && outcome.halt.by == "alice" && outcome.abortedRuns == [runID])
        #expect(outcome.agents.count == 2 && outcome.agents.allSatisfy(\.ok), "\(outcome.agents)")
        #expect(c.agents.held.isEmpty, "the agents reverted what they held")
        #expect(await c.clock.advance(upTo: 20_000) { c.fire("pause-app-halted", at: fireAt)?.state == .finished }, "\(c.logText)")
        let run = try #require(try c.store?.run(runID))
        #expect(run.status == .aborted)
        #expect(run.journal.events.contains { $0.kind == .stopTripped && $0.detail == "halted: chaos halted by alice: incident 4711" }, "\(run.journal.events)")

        // Halted: the next fire is recorded as skipped, with who halted and why.
        await c.clock.advance(to: ms("2026-03-02T10:02:05Z"))
        let blocked = try #require(c.fire("pause-app-halted", at: ms("2026-03-02T10:02:00Z")), "\(c.fires)")
        #expect(blocked.state == .skipped && blocked.reason == "a global halt is in force (chaos is halted (by alice: incident 4711))", "\(blocked)")
        #expect(c.agents.calls("inject").count == 1)

        // SIGKILL: this controller never runs again (its clock stops); another starts on the same store.
        let restarted = try await lab.start(at: ms("2026-03-02T10:02:30Z"))
        #expect(restarted.logText.contains("HALTED since 2026-03-02T10:01:03Z by alice: incident 4711; nothing starts until 'chaos resume'"), "\(restarted.logText)")
        await restarted.clock.advance(to: ms("2026-03-02T10:03:05Z"))
        #expect(restarted.fire("pause-app-halted", at: ms("2026-03-02T10:03:00Z"))?.state == .skipped, "\(restarted.fires)")
        #expect(restarted.agents.calls("inject").isEmpty, "still halted after the restart")

        let resumed = await restarted.controller.resume(by: Self.bob)
        #expect(!resumed.halt.halted && resumed.agents.count == 2)
        #expect(restarted.agents.calls("resume").count == 2)
        try #require(await restarted.clock.advance(upTo: 70_000) { !restarted.agents.calls("inject").isEmpty }, "\(restarted.logText)")
        #expect(restarted.agents.calls("inject")[0].at == ms("2026-03-02T10:04:01Z"), "the next fire after the resume runs")
        let audit = try #require(try restarted.store?.auditEntries(limit: 10))
        #expect(audit.map(\.action).sorted() == ["halt", "resume"], "\(audit)")
        #expect(audit.contains { $0.action == "halt" && $0.who == "alice (operator, certificate)" && $0.detail.hasPrefix("incident 4711") }, "\(audit)")
        #expect(audit.contains { $0.action == "resume" && $0.who == "bob (operator, token)" }, "\(audit)")
        #expect(try await restarted.terminate() == 0)
    }

    @Test("SIGKILLed mid-fault: the restarted controller stores the run as interrupted, never repeats the fire, and carries on; SIGTERM reverts the run in progress and stores it")
    func restartAfterKill() async throws {
        let lab = try ControllerLab()
        defer { lab.remove() }
        try lab.experiment("pause.yaml", ControllerLab.pause("pause-app-every-minute", cron: "* * * * *", duration: "20s"))
        let first = try await lab.start(at: ms("2026-03-02T10:00:50Z"))
        try #require(await first.clock.advance(upTo: 40_000) { !first.agents.calls("inject").isEmpty }, "\(first.logText)")
        await first.clock.advance(to: ms("2026-03-02T10:01:03Z"))
        let fireAt = ms("2026-03-02T10:01:00Z")
        let killed = try #require(first.fire("pause-app-every-minute", at: fireAt))
        #expect(killed.state == .started)
        let killedRun = try #require(killed.runID)

        // SIGKILL mid-fault (the clock of the first controller stops for good), as if between writing the
        // fire and its last look (so the new controller's first look covers the fire again); a new one starts.
        try lab.openStore().setValue(String(ms("2026-03-02T10:00:59Z")), for: "lastLookMs")
        let second = try await lab.start(at: ms("2026-03-02T10:01:30Z"))
        second.agents.witness.withLock { $0 = Self.witness(second) }
        #expect(second.logText.contains("fire of 'pause-app-every-minute' scheduled 2026-03-02T10:01:00Z: interrupted (the controller stopped during the run"), "\(second.logText)")
        #expect(second.fire("pause-app-every-minute", at: fireAt)?.state == .interrupted)
        let stored = try #require(try second.store?.run(killedRun))
        #expect(stored.status == .interrupted && stored.startedAt == killed.decidedMs)

        // The schedule goes on: the next minute's fire starts, as a new run; the interrupted one never again.
        await second.clock.advance(to: ms("2026-03-02T10:01:59Z"))
        #expect(second.agents.calls("inject").isEmpty)
        try #require(await second.clock.advance(upTo: 10_000) { !second.agents.calls("inject").isEmpty }, "\(second.logText)")
        let next = try #require(second.fire("pause-app-every-minute", at: ms("2026-03-02T10:02:00Z")))
        let nextRun = try #require(next.runID)
        #expect(nextRun != killedRun)
        #expect(second.agents.calls("inject")[0].detail.contains("pause-app-every-minute@\(fireAt):interrupted:\(killedRun)"))
        let starts = second.logText.split(separator: "\n").filter { $0.contains("starting 'pause-app") }
        #expect(starts.count == 1 && starts[0].hasSuffix(nextRun), "one new fire, not the interrupted one again: \(starts)")

        // SIGTERM mid-fault: the run reverts at once and is stored; the controller exits 0.
        await second.clock.advance(to: ms("2026-03-02T10:02:05Z"))
        #expect(second.agents.held.count == 1)
        #expect(try await second.terminate() == 0)
        #expect(second.agents.held.isEmpty && second.agents.calls("revert").map(\.at) == [ms("2026-03-02T10:02:05Z")], "\(second.agents.calls("revert"))")
        let runs = try #require(try second.store?.runs(RunFilter()))
        #expect(runs.map(\.runID).sorted() == [killedRun, nextRun].sorted() && runs.allSatisfy { $0.status == .interrupted }, "\(runs.map { ($0.runID, $0.status) })")
        #expect(second.logText.hasSuffix("stopped"))
    }

    @Test("what runs is what 'chaos schedule preview' shows: the time zone, and the holiday calendar beside the file")
    func previewIsWhatRuns() async throws {
        let lab = try ControllerLab()
        defer { lab.remove() }
        try "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261229\nEND:VEVENT\nEND:VCALENDAR\n"
            .write(toFile: lab.experiments + "/holidays.ics", atomically: true, encoding: .utf8)
        try lab.experiment("daily-kill.yaml", ControllerLab.pause("daily-kill", cron: "0 11 * * *", duration: nil, calendar: "timezone: Europe/Berlin\n  holidayCalendar: holidays.ics"))
        let from = ms("2026-12-28T09:55:00Z"), to = ms("2026-12-29T10:15:00Z")
        let c = try await lab.start(at: from, lab.settings(tick: .seconds(600), grace: .seconds(900)))
        await c.clock.advance(to: to)
        let fires = c.fires.map { ($0.scheduledMs, $0.state, $0.reason ?? "") }
        #expect(fires.count == 2, "\(fires)")
        #expect(fires.first?.0 == ms("2026-12-28T10:00:00Z") && fires.first?.1 == .finished, "11:00 in Berlin ran: \(fires)")
        #expect(fires.last?.0 == ms("2026-12-29T10:00:00Z") && fires.last?.1 == .skipped && fires.last?.2.contains("holiday") == true, "\(fires)")
        #expect(c.agents.calls("inject").count == 1)

        // The preview's function over the same window says the same.
        let file = lab.experiments + "/daily-kill.yaml"
        let scheduled = try #require(try ScheduleLoader.scheduled(DocumentFiles.experiment(file), file: file, inventory: DocumentFiles.inventory(lab.dir + "/inventory.yaml"),
                                                                through: "2027-01-01"))
        let preview = SchedulePlanner.plan([scheduled], from: Double(from) / 1000, to: Double(to) / 1000, seed: 0, history: [])
            .filter { !["not_workday", "outside_hours"].contains($0.skipCode ?? "") }
        #expect(preview.map { DueFires.Key($0).scheduledMs } == fires.map(\.0))
        #expect(preview.map(\.fires) == [true, false] && preview.last?.skipCode == "holiday")
        #expect(try await c.terminate() == 0)
    }
}
