/// Static SPOF analysis of an inventory's architecture map: which single failure — one instance
/// (its process dies) or one host (everything on it) — takes a user-facing entry point down, and
/// which only slows it (through a soft dependency). Pure: the inventory in, findings out.
///
/// A service works when at least `minHealthy` of its instances are up and every service it
/// hard-depends on works; it is degraded when it works but a soft dependency (or anything it
/// depends on) does not fully. States only get worse from "all up", so a fixpoint settles even on
/// cyclic maps.
public enum SPOFAnalysis {
    public enum Health: String, Hashable, Sendable, Codable, Comparable {
        case up, degraded, down
        public static func < (a: Health, b: Health) -> Bool { a.rank < b.rank }
        var rank: Int { switch self { case .up: 0; case .degraded: 1; case .down: 2 } }
    }

    /// One suspected single point of failure.
    public struct Finding: Hashable, Sendable, Codable {
        public enum Kind: String, Hashable, Sendable, Codable {
            /// A service with one instance (or no spare above minHealthy): any instance lost is an outage.
            case singleInstance = "single_instance"
            /// A host whose loss takes down what no single instance loss would: "redundant" instances
            /// (or several services) sharing it.
            case sharedHost = "shared_host"
        }
        /// `service NAME` or `host NAME`.
        public var component: String
        public var kind: Kind
        /// Entry points that go down.
        public var cuts: [String]
        /// Entry points only degraded.
        public var degrades: [String]
        public var reasons: [String]
        /// Where to hit it to prove it: the service's instances, or the host.
        public var service: String?
        public var host: String?
    }

    /// A service that claims redundancy (more instances than it needs), and whether the map says it
    /// survives losing any one of them (or any one host carrying them).
    public struct Redundancy: Hashable, Sendable, Codable {
        public var service: String
        public var instances: Int
        public var minHealthy: Int
        public var survivesOneLoss: Bool
        public var note: String
    }

    public struct Report: Hashable, Sendable, Codable {
        /// Ranked: most entry points cut first.
        public var spofs: [Finding]
        /// Failures that only degrade entry points (soft dependencies): performance SPOFs.
        public var performance: [Finding]
        public var redundant: [Redundancy]
        public var entryPoints: [String]
        /// Dependencies left out of the analysis (they name no service), and other remarks.
        public var notes: [String]
    }

    struct InstanceID: Hashable { var service: String; var index: Int }

    public static func analyze(_ inventory: Inventory) -> Report {
        let services = inventory.services
        let names = Set(services.map(\.name))
        var notes: [String] = []
        let edges = inventory.dependencies.filter { d in
            let ok = names.contains(d.from) && names.contains(d.to)
            if !ok { notes.append("dependency \(d.from) → \(d.to) left out: it does not join two services") }
            return ok
        }
        let entries = services.filter(\.isEntryPoint).map(\.name)
        if services.isEmpty { notes.append("the inventory has no 'services': nothing to analyse") }
        else if entries.isEmpty { notes.append("no service is an entry point ('entry: {type: http, url: ...}'): no outage can be judged") }

        /// Health of every service with `down` instances lost.
        func evaluate(_ down: Set<InstanceID>) -> [String: Health] {
            var state = Dictionary(uniqueKeysWithValues: services.map { ($0.name, Health.up) })
            var changed = true
            while changed {
                changed = false
                for s in services {
                    let alive = s.instances.indices.filter { !down.contains(InstanceID(service: s.name, index: $0)) }.count
                    var h: Health = alive < s.minHealthy ? .down : .up
                    if h != .down {
                        for e in edges where e.from == s.name {
                            let dep = state[e.to] ?? .up
                            if e.kind == .hard { h = max(h, dep) } else if dep != .up { h = max(h, .degraded) }
                        }
                    }
                    if h > state[s.name]! { state[s.name] = h; changed = true }
                }
            }
            return state
        }
        func impact(_ down: Set<InstanceID>) -> (cuts: [String], degrades: [String]) {
            let st = evaluate(down)
            return (entries.filter { st[$0] == .down }, entries.filter { st[$0] == .degraded })
        }

        var spofs: [Finding] = [], performance: [Finding] = []
        var instanceImpact: [InstanceID: (cuts: [String], degrades: [String])] = [:]
        // 1. One instance lost.
        for s in services {
            var cuts = Set<String>(), degrades = Set<String>()
            for i in s.instances.indices {
                let id = InstanceID(service: s.name, index: i)
                let x = impact([id])
                instanceImpact[id] = x
                cuts.formUnion(x.cuts); degrades.formUnion(x.degrades)
            }
            degrades.subtract(cuts)
            let spare = s.instances.count - s.minHealthy
            let where_ = s.instances.map(\.host).joined(separator: ", ")
            if !cuts.isEmpty {
                let why = s.instances.count == 1 ? "one instance (on \(where_))" : "\(s.instances.count) instances (on \(where_)) but minHealthy \(s.minHealthy): no spare"
                spofs.append(Finding(component: "service \(s.name)", kind: .singleInstance, cuts: cuts.sorted(), degrades: degrades.sorted(),
                                     reasons: [why] + chain(s.name, to: cuts.sorted(), edges: edges), service: s.name, host: s.instances.first?.host))
            } else if !degrades.isEmpty && spare == 0 {
                performance.append(Finding(component: "service \(s.name)", kind: .singleInstance, cuts: [], degrades: degrades.sorted(),
                                           reasons: ["\(s.instances.count == 1 ? "one instance" : "no spare instance") (on \(where_)); only soft dependencies on it"] + chain(s.name, to: degrades.sorted(), edges: edges),
                                           service: s.name, host: s.instances.first?.host))
            }
        }
        // 2. One host lost: a finding when it does more than the loss of any one instance on it.
        let hosts = inventory.hosts.map(\.name).filter { h in services.contains { $0.instances.contains { $0.host == h } } }
        for h in hosts {
            let on = Set(services.flatMap { s in s.instances.indices.filter { s.instances[$0].host == h }.map { InstanceID(service: s.name, index: $0) } })
            let x = impact(on)
            let single = on.map { instanceImpact[$0] ?? ([], []) }
            let singleCuts = Set(single.flatMap(\.cuts)), singleDegrades = Set(single.flatMap(\.degrades))
            let newCuts = Set(x.cuts).subtracting(singleCuts), newDegrades = Set(x.degrades).subtracting(singleDegrades).subtracting(x.cuts)
            let sizes = Dictionary(services.map { ($0.name, $0.instances.count) }, uniquingKeysWith: { a, _ in a })
            let carried = Dictionary(grouping: on, by: \.service).map { name, ids in "\(ids.count) of \(sizes[name] ?? 0) instances of \(name)" }.sorted()
            if !newCuts.isEmpty {
                spofs.append(Finding(component: "host \(h)", kind: .sharedHost, cuts: x.cuts, degrades: x.degrades,
                                     reasons: ["carries " + carried.joined(separator: ", ")], service: nil, host: h))
            } else if !newDegrades.isEmpty {
                performance.append(Finding(component: "host \(h)", kind: .sharedHost, cuts: [], degrades: x.degrades,
                                           reasons: ["carries " + carried.joined(separator: ", ")], service: nil, host: h))
            }
        }
        spofs.sort { ($0.cuts.count, $1.component) > ($1.cuts.count, $0.component) }
        performance.sort { ($0.degrades.count, $1.component) > ($1.degrades.count, $0.component) }
        // 3. Claimed redundancy: more instances than needed.
        let redundant = services.filter { $0.instances.count > $0.minHealthy }.map { s -> Redundancy in
            // The hosts whose loss leaves fewer than minHealthy: instances that share them.
            let hostsUsed = Set(s.instances.map(\.host))
            let weak = hostsUsed.filter { h in s.instances.filter { $0.host != h }.count < s.minHealthy }.sorted()
            let survives = weak.isEmpty
            let note = survives ? "any one instance or host may go: \(s.instances.count - s.minHealthy) spare on \(hostsUsed.count) hosts"
                : "instances share a host: losing " + weak.map { h in
                    "host \(h) leaves \(s.instances.filter { $0.host != h }.count) of \(s.instances.count) (minHealthy \(s.minHealthy))"
                }.joined(separator: "; losing ")
            return Redundancy(service: s.name, instances: s.instances.count, minHealthy: s.minHealthy, survivesOneLoss: survives, note: note)
        }
        return Report(spofs: spofs, performance: performance, redundant: redundant, entryPoints: entries, notes: notes)
    }

    /// How the loss reaches the entry points: the dependency path from each entry to `service`.
    static func chain(_ service: String, to entries: [String], edges: [Inventory.Dependency]) -> [String] {
        entries.compactMap { entry -> String? in
            guard entry != service else { return "\(entry) is an entry point" }
            // Breadth-first from the entry along dependencies.
            var previous: [String: String] = [entry: entry]
            var queue = [entry]
            while !queue.isEmpty {
                let n = queue.removeFirst()
                if n == service { break }
                for e in edges where e.from == n && previous[e.to] == nil { previous[e.to] = n; queue.append(e.to) }
            }
            guard previous[service] != nil else { return nil }
            var path = [service]
            while let p = previous[path[0]], p != path[0] { path.insert(p, at: 0) }
            return path.joined(separator: " → ")
        }
    }
}
