/// The experiments that would confirm or refute an analysis: one per suspected SPOF (kill its
/// instance, stop its unit, or cut its host off), one per performance SPOF (it should only slow the
/// entry points down), one per claimed redundancy (kill one instance: it should survive), and one
/// per failure domain value (every host of zone b cut off at once: down, slower or survived, as the
/// model predicts). A
/// service's `target` (e.g. a resolver naming the current primary) picks the instance to hit; else
/// the first. Every experiment watches every entry point with its `entry` probe and holds
/// the same criteria, so a SPOF shows as an outage and redundancy as a pass. Pure: values in,
/// experiments out (written as normal experiment files by `chaos spof plan`).
public enum SPOFPlan {
    /// What the analysis predicts for a component.
    public enum Prediction: String, Hashable, Sendable, Codable, CaseIterable {
        /// Its loss takes an entry point down: the run should fail with an outage.
        case spof
        /// Its loss only slows an entry point (a soft dependency).
        case degraded
        /// Its loss is survived: the run should pass.
        case redundant
    }

    public struct Planned: Hashable, Sendable {
        public var experiment: Experiment
        public var prediction: Prediction
        /// The finding or service it tests.
        public var component: String
    }

    /// - Parameters:
    ///   - hold: how long a reversible fault is held.
    ///   - maxOutage: the longest outage an entry point may show and still count as surviving.
    public static func experiments(_ inventory: Inventory, _ report: SPOFAnalysis.Report, hold: ChaosDuration = .seconds(30),
                                   maxOutage: ChaosDuration = .seconds(10), recoverWithin: ChaosDuration = .seconds(30),
                                   domainKinds: [String]? = nil) -> (planned: [Planned], notes: [String]) {
        let probes = inventory.services.compactMap { s -> ProbeSpec? in
            guard var p = s.entry else { return nil }
            p.name = "entry-\(s.name)"
            return p
        }
        let expect = ExpectSpec(maxOutage: maxOutage, recoverWithin: recoverWithin)
        var out: [Planned] = [], notes: [String] = []
        guard !probes.isEmpty else { return ([], ["no entry point has an 'entry' probe: nothing could judge the experiments"]) }
        let byName = Dictionary(inventory.services.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        // A held fault ends as soon as the outage is proven (nothing answered for longer than
        // allowed), instead of keeping users down for the rest of the hold.
        let proven = StopCondition(availabilityBelow: 1, window: ChaosDuration(milliseconds: maxOutage.milliseconds + 2000))
        func experiment(_ name: String, _ description: String, _ target: TargetSpec, _ fault: FaultSpec) -> Experiment {
            Experiment(name: name, description: description, target: target, fault: fault, probes: probes, expect: expect,
                       stopWhen: fault.duration == nil ? [] : [proven])
        }

        func instanceFault(_ s: Inventory.Service, _ i: Inventory.Instance) -> (TargetSpec, FaultSpec, String)? {
            if let ref = s.target {
                // The inventory target picks the instance now (its own process selector or unit).
                if i.unit != nil && i.process == nil {
                    return (TargetSpec(ref: ref), FaultSpec(type: .systemdStop, duration: hold, with: FaultParameters()), "stop \(s.name) where target \(ref) resolves, for \(hold)")
                }
                return (TargetSpec(ref: ref), FaultSpec(type: .processKill, with: FaultParameters()), "kill \(s.name) where target \(ref) resolves")
            }
            if let p = i.process {
                return (TargetSpec(host: i.host, process: p), FaultSpec(type: .processKill, with: FaultParameters()), "kill \(s.name) on \(i.host)")
            }
            if let u = i.unit {
                return (TargetSpec(host: i.host, process: ProcessSelector(unit: u)), FaultSpec(type: .systemdStop, duration: hold, with: FaultParameters()),
                        "stop \(u) on \(i.host) for \(hold)")
            }
            return nil
        }

        // Domain findings are planned below with every other domain value.
        for (f, prediction) in report.spofs.map({ ($0, Prediction.spof) }) + report.performance.map({ ($0, Prediction.degraded) }) where f.domain == nil {
            let name = (prediction == .spof ? "spof-" : "slow-") + (f.service ?? "host-" + (f.host ?? "?"))
            let predicted = prediction == .spof
                ? "Predicted: SPOF (\(f.kind.rawValue)) cutting \(f.cuts.joined(separator: ", ")): \(f.reasons.joined(separator: "; ")). Confirmed if this run fails."
                : "Predicted: slower, not down (\(f.kind.rawValue)), degrading \(f.degrades.joined(separator: ", ")): \(f.reasons.joined(separator: "; "))."
            if let svc = f.service, let s = byName[svc] {
                guard let i = s.instances.first, let (target, fault, what) = instanceFault(s, i) else {
                    notes.append("\(f.component): its instance names no process or unit; add one to plan an experiment"); continue
                }
                out.append(Planned(experiment: experiment(name, "\(what.prefix(1).uppercased() + what.dropFirst()). " + predicted, target, fault),
                                   prediction: prediction, component: f.component))
            } else if let h = f.host {
                let others = Set(inventory.services.flatMap { $0.instances.map(\.host) }).subtracting([h]).sorted()
                var p = FaultParameters()
                p.to = others
                out.append(Planned(experiment: experiment(name, "Cut host \(h) off from \(others.joined(separator: ", ")) for \(hold). " + predicted,
                                                          TargetSpec(host: h), FaultSpec(type: .networkBlackhole, duration: hold, with: p)),
                                   prediction: prediction, component: f.component))
            }
        }
        for r in report.redundant {
            guard let s = byName[r.service] else { continue }
            guard let i = s.instances.first, let (target, fault, what) = instanceFault(s, i) else {
                notes.append("service \(s.name): its instances name no process or unit; add one to plan an experiment"); continue
            }
            let predicted = r.survivesOneLoss ? "Predicted: redundant (\(r.note)). Refuted if this run fails." : "Predicted: NOT redundant (\(r.note)). Confirmed if this run fails."
            out.append(Planned(experiment: experiment("redundancy-\(s.name)", "\(what.prefix(1).uppercased() + what.dropFirst()): one of \(s.instances.count). " + predicted,
                                                      target, fault),
                               prediction: r.survivesOneLoss ? .redundant : .spof, component: "service \(s.name)"))
        }
        // Every value of every failure domain (or of the kinds asked for) that carries an instance:
        // all its hosts cut off at once (every packet but loopback and the agents' own port, both
        // ways), so its instances are lost to users and to the rest alike, as in a zone outage.
        let model = SPOFModel(inventory)
        for d in inventory.domains() where domainKinds.map({ $0.contains(d.kind) }) ?? true {
            let members = inventory.hosts(in: d).map(\.name)
            let lost = model.instances(onHosts: Set(members))
            guard !lost.isEmpty else { continue }
            let (cuts, degrades) = model.impact(lost)
            let state = model.evaluate(lost)
            let why = Array(Set((cuts + degrades).flatMap { model.explain($0, down: lost, state: state) })).sorted()
            let held = SPOFAnalysis.carried(lost, model).joined(separator: ", ")
            let prediction: Prediction = !cuts.isEmpty ? .spof : !degrades.isEmpty ? .degraded : .redundant
            let predicted: String
            switch prediction {
            case .spof: predicted = "Predicted: down (\(cuts.joined(separator: ", ")) cut: \(why.joined(separator: "; "))). Confirmed if this run fails."
            case .degraded: predicted = "Predicted: slower, not down (\(why.joined(separator: "; ")))."
            case .redundant: predicted = "Predicted: survived (what is left of every service keeps minHealthy). Refuted if this run fails."
            }
            out.append(Planned(experiment: experiment(String("domain-\(d.kind)-\(d.value.lowercased())".prefix(63)),
                                                      "Cut every host of \(d.kind) \(d.value) (\(members.joined(separator: ", "))) off the network for \(hold): it holds \(held). " + predicted,
                                                      TargetSpec(domain: d.description), FaultSpec(type: .networkBlackhole, duration: hold, with: FaultParameters())),
                               prediction: prediction, component: "\(d.kind) \(d.value)"))
        }
        return (out, notes)
    }
}
