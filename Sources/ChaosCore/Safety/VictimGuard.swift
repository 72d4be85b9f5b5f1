/// The guards before an injection, as one pure choice: which of the matching candidates to hit so that
/// the experiment's blast radius (`maxCount`, `maxPercent` of the matches) holds and no redundancy group
/// goes below its `minHealthy`, counting the members that are healthy *now* (the controller asks the
/// groups' health probes just before).
///
/// Hitting a candidate takes its host out of every group holding that host; a host already unhealthy
/// costs nothing more, and two candidates on one host cost that host once. Candidates are taken in a
/// random order (the victim is chosen at random, Chaos-Monkey style) while every limit allows; the
/// result is maximal: every candidate left out would break a limit.
public enum VictimGuard {
    public struct Candidate: Hashable, Sendable {
        public var id: String
        public var host: String
        public init(id: String, host: String) { self.id = id; self.host = host }
    }

    public struct Group: Hashable, Sendable {
        public var name: String
        public var members: Set<String>
        public var minHealthy: Int
        /// Members healthy now (by the group's health probe).
        public var healthy: Set<String>
        public init(name: String, members: Set<String>, minHealthy: Int, healthy: Set<String>) {
            self.name = name; self.members = members; self.minHealthy = minHealthy; self.healthy = healthy
        }
        /// How many healthy members may still be taken.
        var budget: Int { max(0, healthy.intersection(members).count - minHealthy) }
    }

    public struct Decision: Hashable, Sendable {
        public var chosen: [Candidate]
        /// Why fewer than wanted were chosen (empty when all wanted were chosen).
        public var limits: [String]
    }

    /// The most victims `safety` allows among `matched` matches.
    public static func cap(_ safety: SafetySpec, matched: Int) -> Int {
        var cap = Int.max
        if let c = safety.maxCount { cap = min(cap, c) }
        if let p = safety.maxPercent { cap = min(cap, Int((p * Double(matched) / 100 + 1e-9).rounded(.down))) }
        return cap
    }

    public static func choose(_ candidates: [Candidate], wanted: Int, safety: SafetySpec, groups: [Group],
                              using rng: inout some RandomNumberGenerator) -> Decision {
        let cap = cap(safety, matched: candidates.count)
        var budget = Dictionary(groups.map { ($0.name, $0.budget) }, uniquingKeysWith: min)
        var taken = Set<String>()        // hosts already taken out
        var chosen: [Candidate] = []
        var limits = Set<String>()
        for c in candidates.shuffled(using: &rng) {
            guard chosen.count < min(wanted, cap) else { break }
            // The groups this candidate would take a healthy member from.
            let costs = taken.contains(c.host) ? [] : groups.filter { $0.members.contains(c.host) && $0.healthy.contains(c.host) }
            if let short = costs.first(where: { (budget[$0.name] ?? 0) <= 0 }) {
                limits.insert("group '\(short.name)' would go below minHealthy \(short.minHealthy) (\(short.healthy.intersection(short.members).count) of \(short.members.count) healthy now)")
                continue
            }
            for g in costs { budget[g.name, default: 0] -= 1 }
            taken.insert(c.host)
            chosen.append(c)
        }
        if chosen.count < wanted && chosen.count == cap {
            limits.insert("safety limits the run to \(cap) of \(candidates.count) matches (maxCount \(safety.maxCount.map(String.init) ?? "none"), maxPercent \(safety.maxPercent.map { "\($0)" } ?? "none"))")
        }
        if chosen.count < wanted && chosen.count < cap && candidates.count < wanted {
            limits.insert("only \(candidates.count) candidates match")
        }
        return Decision(chosen: chosen, limits: chosen.count < wanted ? limits.sorted() : [])
    }
}
