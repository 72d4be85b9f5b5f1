import Foundation
@testable import ChaosCore
import Testing

/// Synthetic timelines: one sample per second per probe; `true` = ok, `false` = failed, `nil` = blind.
struct Timeline {
    var before: [Bool?]
    var during: [Bool?]
    var after: [Bool?]
    var reversible = true
    var verified = true
    var expect = ExpectSpec()
    var probe = ProbeSpec(name: "web", type: .http)
    var gateFailed = false

    static let start: Int64 = 1_000_000

    var journal: Journal {
        var events = [RunEvent(at: Self.start, kind: .started)]
        var samples: [Sample] = []
        var t = Self.start
        func add(_ values: [Bool?], _ phase: Phase) {
            for v in values {
                let j: Judgement = v.map { $0 ? .ok : .fail("status 503") } ?? .blind("no observer")
                samples.append(Sample(probe: probe.name, at: t, latencyMs: v == true ? 10 : 1000, phase: phase, judgement: j))
                t += 1000
            }
        }
        add(before, .before)
        events.append(RunEvent(at: t - 1, kind: gateFailed ? .gateFailed : .gateMet))
        if !gateFailed {
            events.append(RunEvent(at: t, kind: .injected))
            if verified { events.append(RunEvent(at: t + 5, kind: .verified)) } else { events.append(RunEvent(at: t + 5, kind: .notVerified, detail: "victim still running")) }
            add(during, .during)
            if reversible { events.append(RunEvent(at: t, kind: .reverted)) }
            add(after, .after)
        }
        events.append(RunEvent(at: t, kind: .ended))
        return Journal(runID: "r-1", experiment: "e", reversible: reversible, probes: [probe], expect: expect, events: events, samples: samples)
    }

    var verdict: Verdict { Verdict.of(journal) }
}

func ok(_ n: Int) -> [Bool?] { Array(repeating: true, count: n) }
func down(_ n: Int) -> [Bool?] { Array(repeating: false, count: n) }
func blind(_ n: Int) -> [Bool?] { Array(repeating: nil, count: n) }

@Suite("The verdict: a pure function of the journal")
struct VerdictTests {
    @Test("nothing failed: passed, nothing to recover")
    func allGood() {
        let v = Timeline(before: ok(5), during: ok(30), after: ok(10)).verdict
        #expect(v.outcome == .passed)
        #expect(v.figures.availabilityDuring == 100 && v.figures.longestOutageMs == 0 && v.figures.timeToRecoverMs == 0)
        #expect(v.figures.timeToDetectMs == nil)
        #expect(v.figures.samples == ["before": 5, "during": 30, "after": 10])
    }

    @Test("a short blip during the fault within the criteria: passed, with the outage measured")
    func gracefulBlip() {
        let v = Timeline(before: ok(5), during: [true, false] + ok(38), after: ok(10)).verdict
        #expect(v.outcome == .passed, "\(v.reasons)")
        #expect(v.figures.longestOutageMs == 1000)
        #expect(v.figures.timeToDetectMs == 1000)
        #expect(v.figures.availabilityDuring == 97.5)
    }

    @Test("down for the whole fault and a while after: failed for outage, SLO breach; recovery measured from the revert")
    func singleBackend() {
        let v = Timeline(before: ok(5), during: down(20), after: down(3) + ok(10)).verdict
        #expect(v.outcome == .failed)
        #expect(v.failures == [.outage, .sloBreach])
        #expect(v.figures.longestOutageMs == 23_000)
        #expect(v.figures.timeToRecoverMs == 3000)
        #expect(v.figures.timeToDetectMs == 0)
        #expect(v.figures.availabilityAfter == 100, "availability after is counted from the recovery")
    }

    @Test("never back: failed, not recovered, no time to recover")
    func neverBack() {
        let v = Timeline(before: ok(5), during: down(5), after: down(10)).verdict
        #expect(v.outcome == .failed)
        #expect(v.failures.contains(.notRecovered))
        #expect(v.figures.timeToRecoverMs == nil)
    }

    @Test("recovered, but later than recoverWithin: not recovered in time")
    func lateRecovery() {
        var t = Timeline(before: ok(5), during: ok(5), after: down(8) + ok(5))
        t.expect.recoverWithin = .seconds(5)
        t.expect.maxOutage = .seconds(60)
        t.expect.availabilityAfter = 0
        let v = t.verdict
        #expect(v.failures == [.notRecovered], "\(v.reasons)")
        #expect(v.figures.timeToRecoverMs == 8000)
    }

    @Test("a kill: recovery is measured from the kill; a quick failover passes")
    func killFailover() {
        let v = Timeline(before: ok(5), during: [], after: down(4) + ok(20), reversible: false).verdict
        #expect(v.outcome == .passed, "\(v.reasons)")
        #expect(v.figures.timeToRecoverMs == 4000)
        #expect(v.figures.longestOutageMs == 4000)
        #expect(v.figures.availabilityDuring == nil)
    }

    @Test("a kill with no failover fails: outage and not recovered")
    func killNoFailover() {
        let v = Timeline(before: ok(5), during: [], after: down(40), reversible: false).verdict
        #expect(v.outcome == .failed)
        #expect(v.failures.contains(.outage) && v.failures.contains(.notRecovered))
    }

    @Test("steady state broken before the fault: inconclusive, whatever follows")
    func steadyStateBroken() {
        #expect(Timeline(before: [true, false, true], during: ok(10), after: ok(10)).verdict.inconclusive == .steadyStateNotMet)
        var gate = Timeline(before: down(3), during: [], after: [])
        gate.gateFailed = true
        #expect(gate.verdict.inconclusive == .steadyStateNotMet)
        #expect(Timeline(before: [], during: ok(10), after: ok(10)).verdict.inconclusive == .steadyStateNotMet)
    }

    @Test("a fault that could not be confirmed: inconclusive")
    func notConfirmed() {
        var t = Timeline(before: ok(5), during: down(10), after: ok(5))
        t.verified = false
        let v = t.verdict
        #expect(v.outcome == .inconclusive && v.inconclusive == .faultNotConfirmed)
        #expect(v.reasons.first?.contains("victim still running") == true)
    }

    @Test("a blind observer is never passed")
    func blindObserver() {
        #expect(Timeline(before: ok(5), during: blind(20), after: ok(5)).verdict.inconclusive == .observerBlind)
        #expect(Timeline(before: ok(5), during: ok(3) + blind(10), after: ok(5)).verdict.inconclusive == .observerBlind)
        #expect(Timeline(before: ok(5), during: ok(20), after: [true]).verdict.inconclusive == .observerBlind)
    }

    @Test("thresholds debounce flapping: isolated failures below failureThreshold are no outage")
    func debounce() {
        var t = Timeline(before: ok(5), during: [true, false, true, false, false, true] + ok(30), after: ok(5))
        t.probe.failureThreshold = 3
        #expect(t.verdict.figures.longestOutageMs == 0)
        t.during = [true] + down(3) + ok(30)
        #expect(t.verdict.figures.longestOutageMs == 3000, "down from the first failure of the streak")
        t.probe.successThreshold = 2
        t.during = [true] + down(3) + [true, false] + ok(30)
        #expect(t.verdict.figures.longestOutageMs == 5000, "one good sample is not enough to be back: down from the first failure to the first of two good ones")
    }

    @Test("latency bounds judge the fault phase's good samples")
    func latency() {
        var t = Timeline(before: ok(5), during: ok(30), after: ok(5))
        t.expect.latencyP99 = .milliseconds(5)
        let v = t.verdict
        #expect(v.failures == [.sloBreach])
        #expect(v.figures.latency["during"]?.p99 == 10)
    }

    @Test("property: adding a failing sample never turns a failed verdict into a passed one")
    func moreFailuresNeverHelp() {
        var rng = SplitMix64(seed: 0xC4A05)
        var checked = 0
        for _ in 0..<400 {
            func random(_ n: Int, failRate: Double) -> [Bool?] { (0..<n).map { _ in Double.random(in: 0..<1, using: &rng) >= failRate } }
            let t = Timeline(before: ok(3), during: random(Int.random(in: 2...30, using: &rng), failRate: 0.2),
                             after: random(Int.random(in: 2...20, using: &rng), failRate: 0.1), reversible: Bool.random(using: &rng))
            let before = t.verdict
            guard before.outcome == .failed else { continue }
            var worse = t
            let phase = Int.random(in: 0...1, using: &rng)
            if phase == 0, !worse.during.isEmpty {
                worse.during[Int.random(in: 0..<worse.during.count, using: &rng)] = false
            } else {
                worse.after.insert(false, at: Int.random(in: 0...worse.after.count, using: &rng))
            }
            #expect(worse.verdict.outcome != .passed, "\(t) -> \(worse)")
            checked += 1
        }
        #expect(checked > 50)
    }

    @Test("property: an observer blind in a phase that matters is never passed, whatever it saw elsewhere")
    func blindNeverPasses() {
        var rng = SplitMix64(seed: 0xB11D)
        for _ in 0..<300 {
            let reversible = Bool.random(using: &rng)
            let seen = Int.random(in: 0...4, using: &rng)
            let blindCount = seen + Int.random(in: 1...10, using: &rng)
            var mixed: [Bool?] = Array(repeating: true, count: seen) + Array(repeating: nil, count: blindCount)
            mixed.shuffle(using: &rng)
            let t = reversible && Bool.random(using: &rng)
                ? Timeline(before: ok(5), during: mixed, after: ok(Int.random(in: 2...10, using: &rng)), reversible: true)
                : Timeline(before: ok(5), during: reversible ? ok(10) : [], after: mixed, reversible: reversible)
            #expect(t.verdict.outcome != .passed, "\(t)")
        }
    }

    @Test("property: the verdict is the same every time it is computed, and survives a JSON round trip of the journal")
    func deterministic() throws {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<100 {
            let t = Timeline(before: ok(3), during: (0..<10).map { _ in Bool.random(using: &rng) }, after: (0..<10).map { _ in Bool.random(using: &rng) })
            let j = t.journal
            #expect(Verdict.of(j) == Verdict.of(j))
            let stored = try JSONDecoder().decode(Journal.self, from: try JSONEncoder().encode(j))
            #expect(stored == j)
            #expect(Verdict.of(stored) == Verdict.of(j), "a stored journal gives the same verdict")
        }
    }
}

@Suite("Judging observations")
struct JudgingTests {
    @Test("http: default status range, custom ranges, body regex, JSONPath, latency")
    func http() {
        let o = Observation(probe: "web", at: 0, latencyMs: 12, status: 200, body: #"{"status": "up", "checks": [{"db": "ok"}]}"#)
        #expect(Tolerance().judge(o, kind: .http) == .ok)
        var t = Tolerance()
        t.status = [StatusRange(500, 599)]
        #expect(t.judge(o, kind: .http).reason?.contains("status 200") == true)
        t = Tolerance(); t.bodyMatches = "\"status\": \"up\""
        #expect(t.judge(o, kind: .http) == .ok)
        t = Tolerance(); t.jsonPath = "$.checks[0].db"; t.equals = "ok"
        #expect(t.judge(o, kind: .http) == .ok)
        t.equals = "down"
        #expect(t.judge(o, kind: .http).reason == "$.checks[0].db is ok, expected down")
        t = Tolerance(); t.latencyBelow = .milliseconds(10)
        #expect(!t.judge(o, kind: .http).isOK)
        #expect(Tolerance().judge(Observation(probe: "web", at: 0, latencyMs: 1, status: 503), kind: .http).reason?.contains("503") == true)
    }

    @Test("failures and blindness pass through; command exit codes; prometheus bounds; no value is blind")
    func others() {
        #expect(Tolerance().judge(Observation(probe: "p", at: 0, latencyMs: 1, failure: "connection refused"), kind: .tcp) == .fail("connection refused"))
        #expect(Tolerance().judge(Observation(probe: "p", at: 0, latencyMs: 1, blind: "no such file"), kind: .command).isBlind)
        #expect(Tolerance().judge(Observation(probe: "p", at: 0, latencyMs: 1, exitCode: 1), kind: .command).reason == "exit status 1, expected 0")
        var t = Tolerance(); t.valueAbove = 1
        #expect(t.judge(Observation(probe: "p", at: 0, latencyMs: 1, value: 2), kind: .prometheus) == .ok)
        #expect(!t.judge(Observation(probe: "p", at: 0, latencyMs: 1, value: 1), kind: .prometheus).isOK)
        #expect(t.judge(Observation(probe: "p", at: 0, latencyMs: 1), kind: .prometheus).isBlind)
        #expect(Tolerance().judge(Observation(probe: "p", at: 0, latencyMs: 1), kind: .tcp) == .ok)
    }
}

@Suite("Blast radius and stop conditions")
struct SafetyDecisionTests {
    @Test("maxCount and maxPercent refuse selections above them")
    func blastRadius() {
        #expect(SafetySpec(maxCount: 1).refusal(victims: 2, matched: 4)?.contains("maxCount") == true)
        #expect(SafetySpec(maxCount: 2).refusal(victims: 2, matched: 4) == nil)
        #expect(SafetySpec(maxPercent: 25).refusal(victims: 2, matched: 4)?.contains("50.0 %") == true)
        #expect(SafetySpec(maxPercent: 50).refusal(victims: 2, matched: 4) == nil)
        #expect(SafetySpec().refusal(victims: 100, matched: 100) == nil)
    }

    @Test("a stop condition trips only after its window, on judged samples below the threshold")
    func stop() {
        let c = StopCondition(probe: "web", availabilityBelow: 50, window: .seconds(2))
        func s(_ at: Int64, _ ok: Bool?, probe: String = "web") -> Sample {
            Sample(probe: probe, at: at, latencyMs: 1, phase: .during, judgement: ok.map { $0 ? .ok : .fail("x") } ?? .blind("b"))
        }
        let failing = (0..<8).map { s(Int64($0) * 250, false) }
        #expect(!c.tripped(by: failing, now: 1500, faultSince: 0), "not before the window has passed")
        #expect(c.tripped(by: failing, now: 2000, faultSince: 0))
        #expect(!c.tripped(by: (0..<8).map { s(Int64($0) * 250, nil) }, now: 2000, faultSince: 0), "blind samples never trip")
        #expect(!c.tripped(by: (0..<8).map { s(Int64($0) * 250, false, probe: "other") }, now: 2000, faultSince: 0), "another probe's")
        #expect(!c.tripped(by: (0..<8).map { s(Int64($0) * 250, $0 % 2 == 0) }, now: 2000, faultSince: 0), "50 % is not below 50 %")
    }
}
