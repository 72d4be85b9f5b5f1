import ChaosCore
import Testing

/// Small architecture maps whose single points of failure are known.
@Suite("SPOF analysis on maps with known answers")
struct SPOFAnalysisTests {
    static let probe: ProbeSpec = {
        var p = ProbeSpec(name: "entry", type: .http)
        p.url = "http://10.0.0.1/"
        return p
    }()

    /// `spec`: service name → hosts of its instances; entries get an entry probe.
    static func inventory(_ spec: [(String, [String])], minHealthy: [String: Int] = [:], entries: [String], hard: [(String, String)] = [],
                          soft: [(String, String)] = []) -> Inventory {
        let hosts = Set(spec.flatMap(\.1)).sorted().map { Inventory.Host(name: $0, address: "10.0.0.\($0.count)") }
        let services = spec.map { name, on in
            Inventory.Service(name: name, instances: on.map { Inventory.Instance(host: $0, process: ProcessSelector(name: name)) },
                              minHealthy: minHealthy[name] ?? 1, entry: entries.contains(name) ? probe : nil)
        }
        let deps = hard.map { Inventory.Dependency(from: $0.0, to: $0.1) } + soft.map { Inventory.Dependency(from: $0.0, to: $0.1, kind: .soft) }
        return Inventory(hosts: hosts, dependencies: deps, services: services)
    }

    @Test("a chain of single instances: every link is a SPOF, each cutting the entry; hosts add nothing")
    func chain() {
        let r = SPOFAnalysis.analyze(Self.inventory([("web", ["h1"]), ("app", ["h2"]), ("db", ["h3"])], entries: ["web"],
                                                    hard: [("web", "app"), ("app", "db")]))
        #expect(r.spofs.map(\.component) == ["service app", "service db", "service web"])
        #expect(r.spofs.allSatisfy { $0.cuts == ["web"] && $0.kind == .singleInstance })
        #expect(r.spofs.first { $0.component == "service db" }?.reasons.contains("web → app → db") == true)
        #expect(r.performance.isEmpty && r.redundant.isEmpty)
    }

    @Test("a diamond: the two single middles are SPOFs, the redundant bottom and top are not")
    func diamond() {
        let r = SPOFAnalysis.analyze(Self.inventory([("web", ["h1", "h2"]), ("left", ["h3"]), ("right", ["h4"]), ("db", ["h5", "h6"])],
                                                    entries: ["web"], hard: [("web", "left"), ("web", "right"), ("left", "db"), ("right", "db")]))
        #expect(r.spofs.map(\.component) == ["service left", "service right"])
        #expect(Set(r.redundant.map(\.service)) == ["web", "db"] && r.redundant.allSatisfy(\.survivesOneLoss))
    }

    @Test("a redundant pair on one shared host: no instance loss hurts, the host is the SPOF")
    func sharedHost() {
        let r = SPOFAnalysis.analyze(Self.inventory([("web", ["h2", "h3"]), ("app", ["h1", "h1"])], entries: ["web"], hard: [("web", "app")]))
        #expect(r.spofs.map(\.component) == ["host h1"])
        #expect(r.spofs[0].kind == .sharedHost && r.spofs[0].cuts == ["web"] && r.spofs[0].reasons == ["carries 2 of 2 instances of app"])
        let app = r.redundant.first { $0.service == "app" }
        #expect(app?.survivesOneLoss == false && app?.note.contains("host h1") == true)
        #expect(r.redundant.first { $0.service == "web" }?.survivesOneLoss == true)
    }

    @Test("a single load balancer in front of redundant apps is the SPOF")
    func singleLoadBalancer() {
        let r = SPOFAnalysis.analyze(Self.inventory([("lb", ["lb1"]), ("app", ["a1", "a2"])], entries: ["lb"], hard: [("lb", "app")]))
        #expect(r.spofs.map(\.component) == ["service lb"])
        #expect(r.spofs[0].reasons.first == "one instance (on lb1)" && r.spofs[0].reasons.contains("lb is an entry point"))
    }

    @Test("a soft cache dependency is a performance SPOF, not an outage")
    func softCache() {
        let r = SPOFAnalysis.analyze(Self.inventory([("web", ["w1", "w2"]), ("cache", ["c1"]), ("db", ["d1", "d2"])], entries: ["web"],
                                                    hard: [("web", "db")], soft: [("web", "cache")]))
        #expect(r.spofs.isEmpty)
        #expect(r.performance.map(\.component) == ["service cache"] && r.performance[0].degrades == ["web"])
    }

    @Test("ranked by impact: what cuts two entry points comes first; minHealthy without spare is a SPOF")
    func ranking() {
        let r = SPOFAnalysis.analyze(Self.inventory([("shop", ["s1", "s2"]), ("admin", ["m1", "m2"]), ("db", ["d1", "d2"]), ("queue", ["q1", "q2"])],
                                                    minHealthy: ["db": 2], entries: ["shop", "admin"],
                                                    hard: [("shop", "db"), ("admin", "db"), ("admin", "queue")]))
        #expect(r.spofs.map(\.component) == ["service db"])
        #expect(r.spofs[0].cuts == ["admin", "shop"] && r.spofs[0].reasons[0].contains("minHealthy 2: no spare"))
        #expect(r.redundant.first { $0.service == "db" } == nil, "no spare: not claimed redundant")
    }

    @Test("cycles settle; dependencies that name no service are left out with a note")
    func cyclesAndNotes() {
        var inv = Self.inventory([("a", ["h1"]), ("b", ["h2", "h3"])], entries: ["a"], hard: [("a", "b"), ("b", "a")])
        inv.dependencies.append(Inventory.Dependency(from: "a", to: "h9"))
        let r = SPOFAnalysis.analyze(inv)
        #expect(r.spofs.map(\.component) == ["service a"])
        #expect(r.notes == ["dependency a → h9 left out: it does not join two services"])
        #expect(SPOFAnalysis.analyze(Inventory()).notes == ["the inventory has no 'services': nothing to analyse"])
    }
}

@Suite("SPOF plan: the experiments that would prove each finding")
struct SPOFPlanTests {
    @Test("a SPOF service is killed, a shared host is cut off from the others, a redundant service loses one instance; all watch every entry point")
    func plan() throws {
        var inv = SPOFAnalysisTests.inventory([("lb", ["lb1"]), ("app", ["h1", "h1"]), ("db", ["d1", "d2"])], entries: ["lb"],
                                              hard: [("lb", "app"), ("app", "db")])
        inv.services[0].instances[0] = Inventory.Instance(host: "lb1", unit: "haproxy.service")
        let report = SPOFAnalysis.analyze(inv)
        let (planned, notes) = SPOFPlan.experiments(inv, report, hold: .seconds(20), maxOutage: .seconds(3))
        #expect(notes.isEmpty)
        #expect(planned.map(\.experiment.name) == ["spof-host-h1", "spof-lb", "redundancy-app", "redundancy-db"])
        #expect(planned.map(\.prediction) == [.spof, .spof, .spof, .redundant])
        let lb = planned[1].experiment
        #expect(lb.fault.type == .systemdStop && lb.fault.duration == .seconds(20) && lb.target.host == "lb1" && lb.target.process?.unit == "haproxy.service")
        let host = planned[0].experiment
        #expect(host.fault.type == .networkBlackhole && host.target.host == "h1" && host.fault.with.to == ["d1", "d2", "lb1"])
        let db = planned[3].experiment
        #expect(db.fault.type == .processKill && db.target.host == "d1" && db.target.process?.name == "db")
        #expect(planned.allSatisfy { $0.experiment.probes.map(\.name) == ["entry-lb"] && $0.experiment.expect.maxOutage == .seconds(3) })
        // A held fault stops once nothing has answered for longer than allowed: the SPOF is proven.
        #expect(lb.stopWhen == [StopCondition(availabilityBelow: 1, window: .seconds(5))] && host.stopWhen == lb.stopWhen)
        #expect(db.stopWhen.isEmpty, "a kill has nothing to stop")
        // Written out, each reads back as a valid experiment.
        for p in planned {
            let text = try ExperimentWriter.yaml(p.experiment, comment: ["test"])
            let doc = ChaosDocument.load(text, file: "\(p.experiment.name).yaml")
            #expect(doc.isValid, "\(doc.diagnostics) in\n\(text)")
            if case .experiment(let e)? = doc.document { #expect(e == p.experiment) }
        }
    }

    @Test("without an entry probe nothing is planned, and it says why")
    func noEntry() {
        let inv = Inventory(hosts: [Inventory.Host(name: "h", address: "10.0.0.1")],
                            services: [Inventory.Service(name: "s", instances: [Inventory.Instance(host: "h")])])
        let (planned, notes) = SPOFPlan.experiments(inv, SPOFAnalysis.analyze(inv))
        #expect(planned.isEmpty && notes == ["no entry point has an 'entry' probe: nothing could judge the experiments"])
    }
}
