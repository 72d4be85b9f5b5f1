/// "What if": the entry points' health with any combination of failures assumed at once (hosts,
/// failure domains, whole services), and the path that explains each one; and N-2, every pair of
/// hosts or domain values, for the failures only a pair finds. Same model as the analysis. Pure.
public enum SPOFWhatIf {
    public typealias Health = SPOFAnalysis.Health

    public struct EntryOutcome: Hashable, Sendable, Codable {
        public var entry: String
        public var health: Health
        /// The dependency paths that explain a down or degraded entry point.
        public var why: [String]
    }

    public struct Scenario: Hashable, Sendable, Codable {
        /// `host:db1`, `zone:b`, `service:cache`.
        public var failures: [String]
        /// The hosts the failures take (a domain's hosts, the host itself).
        public var hosts: [String]
        /// What the failures take: `2 of 3 instances of db`.
        public var lost: [String]
        public var entries: [EntryOutcome]
        public var servicesDown: [String]
        public var servicesDegraded: [String]
        /// The worst entry point's health.
        public var worst: Health
    }

    public static func evaluate(_ model: SPOFModel, failures: [SPOFFailure]) -> Scenario {
        var down = Set<SPOFModel.InstanceID>()
        var hosts = Set<String>()
        for f in failures {
            down.formUnion(model.instances(f))
            switch f {
            case .host(let h): hosts.insert(h)
            case .domain(let d): hosts.formUnion(model.inventory.hosts(in: d).map(\.name))
            case .service: break
            }
        }
        let state = model.evaluate(down)
        let entries = model.entries.map { e in
            EntryOutcome(entry: e, health: state[e] ?? .up, why: model.explain(e, down: down, state: state))
        }
        return Scenario(failures: failures.map(\.description), hosts: hosts.sorted(), lost: SPOFAnalysis.carried(down, model), entries: entries,
                        servicesDown: model.services.map(\.name).filter { state[$0] == .down },
                        servicesDegraded: model.services.map(\.name).filter { state[$0] == .degraded },
                        worst: entries.map(\.health).max() ?? .up)
    }

    /// One pair of failures and what it does beyond either alone.
    public struct Pair: Hashable, Sendable, Codable {
        public var pair: [String]
        public var cuts: [String]
        public var degrades: [String]
        /// Entry points the pair takes down that neither failure takes down alone: what only N-2 finds.
        public var onlyTogether: [String]
        public var why: [String]
    }

    public struct PairReport: Hashable, Sendable, Codable {
        /// `host`, or the domain kind (`zone`).
        public var over: String
        /// The failures assumed under every pair (`--fail`).
        public var base: [String]
        /// The candidates paired (hosts carrying instances, or the domain's values).
        public var candidates: [String]
        public var pairsEvaluated: Int
        /// Pairs that take an entry point down or degrade it, those with `onlyTogether` first.
        public var pairs: [Pair]
    }

    /// The candidates of `--all-pairs KIND`: the hosts carrying an instance (`host`), or every value
    /// of the domain kind. nil when the inventory has no such domain kind.
    public static func candidates(_ model: SPOFModel, over kind: String) -> [SPOFFailure]? {
        if kind == "host" {
            let used = Set(model.services.flatMap { $0.instances.map(\.host) })
            return model.inventory.hosts.map(\.name).filter(used.contains).map { .host($0) }
        }
        let values = model.inventory.domains(kind: kind)
        return values.isEmpty ? nil : values.map { .domain($0) }
    }

    /// Every pair of candidates on top of `base`. `progress` is called with (done, total) now and then.
    public static func allPairs(_ model: SPOFModel, over kind: String, base: [SPOFFailure], candidates: [SPOFFailure],
                                progress: ((Int, Int) -> Void)? = nil) -> PairReport {
        let baseDown = base.reduce(into: Set<SPOFModel.InstanceID>()) { $0.formUnion(model.instances($1)) }
        let single = candidates.map { c -> (down: Set<SPOFModel.InstanceID>, cuts: Set<String>) in
            let down = baseDown.union(model.instances(c))
            return (down, Set(model.impact(down).cuts))
        }
        var pairs: [Pair] = []
        let total = candidates.count * (candidates.count - 1) / 2
        var done = 0
        for i in candidates.indices {
            for j in candidates.indices where j > i {
                done += 1
                if done % 5000 == 0 { progress?(done, total) }
                let down = single[i].down.union(single[j].down)
                let x = model.impact(down)
                guard !x.cuts.isEmpty || !x.degrades.isEmpty else { continue }
                let only = Set(x.cuts).subtracting(single[i].cuts).subtracting(single[j].cuts).sorted()
                var why: [String] = []
                if !only.isEmpty {
                    let st = model.evaluate(down)
                    why = Array(Set(only.flatMap { model.explain($0, down: down, state: st) })).sorted()
                }
                pairs.append(Pair(pair: [candidates[i].description, candidates[j].description], cuts: x.cuts, degrades: x.degrades,
                                  onlyTogether: only, why: why))
            }
        }
        progress?(total, total)
        pairs.sort { a, b in
            (a.onlyTogether.isEmpty ? 1 : 0, -a.cuts.count, a.pair.joined(separator: " ")) < (b.onlyTogether.isEmpty ? 1 : 0, -b.cuts.count, b.pair.joined(separator: " "))
        }
        return PairReport(over: kind, base: base.map(\.description), candidates: candidates.map(\.description), pairsEvaluated: total, pairs: pairs)
    }
}
