import Foundation
@testable import ChaosCore
import Testing

@Suite("SPOF plan: performance SPOFs and the instance a service's target picks")
struct SPOFPlanTargetTests {
    @Test("a soft cache is planned as 'slow-cache' predicting a slowdown; a service with a target is hit where the target resolves")
    func slowAndTarget() {
        var inv = SPOFAnalysisTests.inventory([("web", ["h1", "h2"]), ("cache", ["h3"]), ("db", ["d1", "d2"])], entries: ["web"],
                                              hard: [("web", "db")], soft: [("web", "cache")])
        inv.targets = [Inventory.Target(name: "db-primary", resolve: Inventory.Resolver(command: ["which-primary"]), process: ProcessSelector(port: 5432))]
        inv.services[2].target = "db-primary"
        let (planned, _) = SPOFPlan.experiments(inv, SPOFAnalysis.analyze(inv))
        let byName = Dictionary(uniqueKeysWithValues: planned.map { ($0.experiment.name, $0) })
        #expect(byName["slow-cache"]?.prediction == .degraded)
        #expect(byName["slow-cache"]?.experiment.description?.contains("slower, not down") == true)
        let db = byName["redundancy-db"]
        #expect(db?.prediction == .redundant && db?.experiment.target == TargetSpec(ref: "db-primary") && db?.experiment.fault.type == .processKill)
        #expect(byName["redundancy-web"]?.experiment.target.host == "h1", "no target: the first instance")
    }
}

@Suite("SPOF proof: each component classified from its run, beside the prediction")
struct SPOFProofTests {
    static func record(_ t: Timeline, status: RunStatus = .completed) -> RunRecord { record(t.journal, status: status) }
    static func record(_ j: Journal, status: RunStatus = .completed) -> RunRecord {
        RunRecord(runID: "r-1", experiment: "e", file: nil, host: "h1", faultKind: .processKill, target: "t", status: status,
                  startedAt: 0, endedAt: 1, verdict: Verdict.of(j), journal: j)
    }
    static func classify(_ predicted: SPOFPlan.Prediction, _ t: Timeline?, status: RunStatus = .completed, notRun: String? = nil) -> SPOFProof.Entry {
        SPOFProof.classify(component: "service x", experiment: "e", predicted: predicted, record: t.map { record($0, status: status) }, notRun: notRun)
    }
    /// A kill: no fault phase held; the entry points down for `outage` seconds, then back.
    static func kill(outage: Int, expect: ExpectSpec = ExpectSpec(maxOutage: .seconds(5))) -> Timeline {
        Timeline(before: ok(5), during: [], after: down(outage) + ok(5), reversible: false, expect: expect)
    }

    @Test("an outage longer than allowed confirms a predicted SPOF")
    func confirmed() {
        let e = Self.classify(.spof, Self.kill(outage: 12))
        #expect(e.proven == .confirmedSPOF && e.agrees == true && e.note == nil)
        #expect(e.outageMs == 12_000 && e.failoverMs == nil)
        #expect(e.measured.contains("outage of 12 s"))
    }

    @Test("a short outage within the bound is a survived failover, timed")
    func survived() {
        let e = Self.classify(.redundant, Self.kill(outage: 2))
        #expect(e.proven == .survived && e.agrees == true)
        #expect(e.failoverMs == 2000 && e.measured.hasPrefix("failover 2 s"))
        let clean = Self.classify(.redundant, Self.kill(outage: 0))
        #expect(clean.proven == .survived && clean.failoverMs == 0 && clean.measured.hasPrefix("no failed observation"))
    }

    @Test("claimed redundant but an outage: a hidden SPOF, flagged as a disagreement")
    func hiddenSPOF() {
        let e = Self.classify(.redundant, Self.kill(outage: 20))
        #expect(e.proven == .confirmedSPOF && e.agrees == false)
        #expect(e.note?.contains("hidden SPOF") == true)
    }

    @Test("predicted a SPOF but it survived: the map misses a standby, flagged")
    func missedStandby() {
        let e = Self.classify(.spof, Self.kill(outage: 1))
        #expect(e.proven == .survived && e.agrees == false && e.note?.contains("lack a standby") == true)
    }

    @Test("up throughout but slower: degraded (from the p95 while the component was lost, or a latency-only failure)")
    func degraded() {
        var t = Timeline(before: ok(5), during: ok(10), after: ok(5))
        var j = t.journal
        j.samples = j.samples.map { var s = $0; if s.phase == .during { s.latencyMs = 300 }; return s }
        let slow = Self.record(j)
        #expect(slow.verdict.outcome == .passed)
        let e = SPOFProof.classify(component: "service cache", experiment: "slow-cache", predicted: .degraded, record: slow)
        #expect(e.proven == .degraded && e.agrees == true && e.p95BeforeMs == 10 && e.p95FaultMs == 300)
        // A bound on latency that fails only that bound is degraded too, not an outage.
        t.expect = ExpectSpec(latencyP95: .milliseconds(100))
        j.expect = t.expect
        let bounded = Self.record(j)
        #expect(bounded.verdict.failures == [.sloBreach])
        let b = SPOFProof.classify(component: "service cache", experiment: "slow-cache", predicted: .spof, record: bounded)
        #expect(b.proven == .degraded && b.agrees == false && b.note?.contains("softer") == true)
        // Twice as slow but only a few ms: noise, not degradation.
        var small = Timeline(before: ok(5), during: ok(10), after: ok(5)).journal
        small.samples = small.samples.map { var s = $0; if s.phase == .during { s.latencyMs = 30 }; return s }
        let quick = Self.record(small)
        #expect(SPOFProof.classify(component: "c", experiment: "e", predicted: .redundant, record: quick).proven == .survived)
    }

    @Test("predicted only slower but the entry points went down: the dependency is hard")
    func softIsHard() {
        let e = Self.classify(.degraded, Self.kill(outage: 15))
        #expect(e.proven == .confirmedSPOF && e.agrees == false && e.note?.contains("hard, not soft") == true)
    }

    @Test("not run, interrupted, halted before anything failed, or an inconclusive verdict: inconclusive, neither agreeing nor not")
    func inconclusive() {
        let notRun = Self.classify(.spof, nil, notRun: "the system was not whole")
        #expect(notRun.proven == .inconclusive && notRun.agrees == nil && notRun.note == "not run: the system was not whole")
        let gate = Self.classify(.spof, Timeline(before: down(5), during: [], after: [], reversible: false, gateFailed: true))
        #expect(gate.proven == .inconclusive && gate.agrees == nil && gate.note?.contains("steady state") == true)
        let cut = Self.classify(.spof, Self.kill(outage: 12), status: .interrupted)
        #expect(cut.proven == .inconclusive && cut.measured == "run interrupted")
        // Halted early with nothing failing: survival is not proven; with an outage seen, the SPOF is.
        let halted = Self.classify(.redundant, Timeline(before: ok(5), during: ok(3), after: ok(5)), status: .aborted)
        #expect(halted.proven == .inconclusive && halted.agrees == nil && halted.note?.contains("ended early") == true, "\(halted)")
        let stopped = Self.classify(.spof, Timeline(before: ok(5), during: down(15), after: ok(5)), status: .aborted)
        #expect(stopped.proven == .confirmedSPOF && stopped.agrees == true)
    }

    @Test("the report counts each kind and the disagreements, and says so in one line")
    func report() {
        let r = SPOFProof.Report(entries: [Self.classify(.spof, Self.kill(outage: 12)), Self.classify(.redundant, Self.kill(outage: 2)),
                                           Self.classify(.redundant, Self.kill(outage: 20)), Self.classify(.spof, nil)])
        #expect(r.counts == ["confirmed_spof": 2, "redundant_survived": 1, "degraded": 0, "inconclusive": 1])
        #expect(r.disagreements == 1 && r.inconclusive == 1)
        #expect(r.summary == "2 confirmed SPOFs, 1 redundant (survived), 0 degraded, 1 inconclusive; 1 disagreement with the prediction")
        #expect(r.rows.count == 5 && r.rows[3][3] == "NO" && r.rows[4][3] == "?")
    }
}

@Suite("SPOF diagram with a proof")
struct SPOFDiagramProofTests {
    @Test("proven components replace the suspicion: confirmed red, survived green with the failover, a disagreement dashed and labelled")
    func proven() {
        let inv = SPOFAnalysisTests.inventory([("lb", ["h1"]), ("app", ["h2", "h3"]), ("db", ["h4", "h5"])], entries: ["lb"], hard: [("lb", "app"), ("app", "db")])
        let analysis = SPOFAnalysis.analyze(inv)
        let before = SPOFDiagram.dot(inv, analysis)
        #expect(before.contains("xlabel=\"SPOF\"") && !before.contains("proven"))
        let proof = SPOFProof.Report(entries: [
            SPOFProofTests.classify(.spof, SPOFProofTests.kill(outage: 12)),
            SPOFProof.classify(component: "service app", experiment: "redundancy-app", predicted: .redundant, record: SPOFProofTests.record(SPOFProofTests.kill(outage: 2))),
            SPOFProof.classify(component: "service db", experiment: "redundancy-db", predicted: .redundant, record: SPOFProofTests.record(SPOFProofTests.kill(outage: 20))),
        ].map { var e = $0; if e.component == "service x" { e.component = "service lb" }; return e })
        let dot = SPOFDiagram.dot(inv, analysis, proof: proof)
        let line = { (name: String) in dot.split(separator: "\n").first { $0.hasPrefix("  \"\(name)\" [") }.map(String.init) ?? "" }
        #expect(line("lb").contains("xlabel=\"SPOF (proven)\"") && line("lb").contains("#cf222e"), "\(line("lb"))")
        #expect(line("app").contains("xlabel=\"survived 2 s\"") && line("app").contains("#1a7f37"), "\(line("app"))")
        #expect(line("db").contains("xlabel=\"SPOF (proven) ≠ predicted redundant\"") && line("db").contains("dashed"), "\(line("db"))")
    }
}
