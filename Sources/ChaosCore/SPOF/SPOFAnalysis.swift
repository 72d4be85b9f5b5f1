/// Static SPOF analysis of an inventory's architecture map: which single failure — one instance
/// (its process dies), one host (everything on it) or one failure domain (every host of zone b, rack
/// r12) — takes a user-facing entry point down, and which only slows it (through a soft dependency).
/// Pure: the inventory in, findings out. The health rules are ``SPOFModel``'s, shared with what-if.
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
            /// A failure domain (zone, rack, power feed...) whose loss takes down what no single host
            /// loss would: instances spread over hosts that fail together.
            case sharedDomain = "shared_domain"
        }
        /// `service NAME`, `host NAME` or `zone b` (the domain's kind and value).
        public var component: String
        public var kind: Kind
        /// Entry points that go down.
        public var cuts: [String]
        /// Entry points only degraded.
        public var degrades: [String]
        public var reasons: [String]
        /// Where to hit it to prove it: the service's instances, the host, or every host of the domain.
        public var service: String?
        public var host: String?
        public var domain: FailureDomain?
        public var hosts: [String]?
        public init(component: String, kind: Kind, cuts: [String], degrades: [String], reasons: [String], service: String? = nil, host: String? = nil,
                    domain: FailureDomain? = nil, hosts: [String]? = nil) {
            self.component = component; self.kind = kind; self.cuts = cuts; self.degrades = degrades; self.reasons = reasons
            self.service = service; self.host = host; self.domain = domain; self.hosts = hosts
        }
    }

    /// A service that claims redundancy (more instances than it needs), and whether the map says it
    /// survives losing any one of them (or any one host carrying them), and any one failure domain.
    public struct Redundancy: Hashable, Sendable, Codable {
        public var service: String
        public var instances: Int
        public var minHealthy: Int
        public var survivesOneLoss: Bool
        /// Whether it survives the loss of any one failure domain; nil when its hosts carry none.
        public var survivesDomainLoss: Bool?
        public var note: String
        public init(service: String, instances: Int, minHealthy: Int, survivesOneLoss: Bool, survivesDomainLoss: Bool? = nil, note: String) {
            self.service = service; self.instances = instances; self.minHealthy = minHealthy; self.survivesOneLoss = survivesOneLoss
            self.survivesDomainLoss = survivesDomainLoss; self.note = note
        }
    }

    public struct Report: Hashable, Sendable, Codable {
        /// Ranked: most entry points cut first.
        public var spofs: [Finding]
        /// Failures that only degrade entry points (soft dependencies): performance SPOFs.
        public var performance: [Finding]
        public var redundant: [Redundancy]
        public var entryPoints: [String]
        /// The failure domains analysed (`zone:a`...).
        public var domains: [String]
        /// Dependencies left out of the analysis (they name no service), and other remarks.
        public var notes: [String]
        public init(spofs: [Finding], performance: [Finding], redundant: [Redundancy], entryPoints: [String], domains: [String] = [], notes: [String]) {
            self.spofs = spofs; self.performance = performance; self.redundant = redundant; self.entryPoints = entryPoints
            self.domains = domains; self.notes = notes
        }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(spofs: try c.decode([Finding].self, forKey: .spofs), performance: try c.decode([Finding].self, forKey: .performance),
                      redundant: try c.decode([Redundancy].self, forKey: .redundant), entryPoints: try c.decode([String].self, forKey: .entryPoints),
                      domains: try c.decodeIfPresent([String].self, forKey: .domains) ?? [], notes: try c.decode([String].self, forKey: .notes))
        }
    }

    typealias InstanceID = SPOFModel.InstanceID

    /// "2 of 2 instances of queue, 1 of 3 instances of db": what a set of lost instances holds.
    static func carried(_ lost: Set<InstanceID>, _ model: SPOFModel) -> [String] {
        let sizes = Dictionary(model.services.map { ($0.name, $0.instances.count) }, uniquingKeysWith: { a, _ in a })
        return Dictionary(grouping: lost, by: \.service).map { name, ids in "\(ids.count) of \(sizes[name] ?? 0) instances of \(name)" }.sorted()
    }

    public static func analyze(_ inventory: Inventory) -> Report {
        let model = SPOFModel(inventory)
        let services = model.services
        let edges = model.edges
        func impact(_ down: Set<InstanceID>) -> (cuts: [String], degrades: [String]) { model.impact(down) }

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
        var hostImpact: [String: (cuts: [String], degrades: [String])] = [:]
        for h in hosts {
            let on = model.instances(onHosts: [h])
            let x = impact(on)
            hostImpact[h] = x
            let single = on.map { instanceImpact[$0] ?? ([], []) }
            let singleCuts = Set(single.flatMap(\.cuts)), singleDegrades = Set(single.flatMap(\.degrades))
            let newCuts = Set(x.cuts).subtracting(singleCuts), newDegrades = Set(x.degrades).subtracting(singleDegrades).subtracting(x.cuts)
            let reasons = ["carries " + carried(on, model).joined(separator: ", ")]
            if !newCuts.isEmpty {
                spofs.append(Finding(component: "host \(h)", kind: .sharedHost, cuts: x.cuts, degrades: x.degrades, reasons: reasons, host: h))
            } else if !newDegrades.isEmpty {
                performance.append(Finding(component: "host \(h)", kind: .sharedHost, cuts: [], degrades: x.degrades, reasons: reasons, host: h))
            }
        }
        // 3. One failure domain lost (every host in it): a finding when it does more than the loss of
        //    any one host in it.
        let domains = inventory.domains()
        for d in domains {
            let members = inventory.hosts(in: d).map(\.name)
            let on = model.instances(onHosts: Set(members))
            guard !on.isEmpty else { continue }
            let x = impact(on)
            let single = members.map { hostImpact[$0] ?? ([], []) } + on.map { instanceImpact[$0] ?? ([], []) }
            let singleCuts = Set(single.flatMap(\.cuts)), singleDegrades = Set(single.flatMap(\.degrades))
            let newCuts = Set(x.cuts).subtracting(singleCuts), newDegrades = Set(x.degrades).subtracting(singleDegrades).subtracting(x.cuts)
            let st = model.evaluate(on)
            let why = Set(x.cuts + x.degrades).sorted().flatMap { model.explain($0, down: on, state: st) }
            let reasons = ["\(d.kind) \(d.value) (\(members.joined(separator: ", "))) holds " + carried(on, model).joined(separator: ", ")] + Array(Set(why)).sorted()
            if !newCuts.isEmpty {
                spofs.append(Finding(component: "\(d.kind) \(d.value)", kind: .sharedDomain, cuts: x.cuts, degrades: x.degrades, reasons: reasons, domain: d, hosts: members))
            } else if !newDegrades.isEmpty {
                performance.append(Finding(component: "\(d.kind) \(d.value)", kind: .sharedDomain, cuts: [], degrades: x.degrades, reasons: reasons, domain: d, hosts: members))
            }
        }
        spofs.sort { ($0.cuts.count, $1.component) > ($1.cuts.count, $0.component) }
        performance.sort { ($0.degrades.count, $1.component) > ($1.degrades.count, $0.component) }
        // 4. Claimed redundancy: more instances than needed.
        let redundant = services.filter { $0.instances.count > $0.minHealthy }.map { s -> Redundancy in
            // The hosts whose loss leaves fewer than minHealthy: instances that share them.
            let hostsUsed = Set(s.instances.map(\.host))
            let weak = hostsUsed.filter { h in s.instances.filter { $0.host != h }.count < s.minHealthy }.sorted()
            let survives = weak.isEmpty
            var note = survives ? "any one instance or host may go: \(s.instances.count - s.minHealthy) spare on \(hostsUsed.count) hosts"
                : "instances share a host: losing " + weak.map { h in
                    "host \(h) leaves \(s.instances.filter { $0.host != h }.count) of \(s.instances.count) (minHealthy \(s.minHealthy))"
                }.joined(separator: "; losing ")
            // The same over failure domains: the domain values whose hosts hold too many of them.
            let used = domains.filter { d in s.instances.contains { inventory.host(named: $0.host)?.domains[d.kind] == d.value } }
            var survivesDomain: Bool? = nil
            if !used.isEmpty {
                let weakDomains = used.filter { d in s.instances.filter { inventory.host(named: $0.host)?.domains[d.kind] != d.value }.count < s.minHealthy }
                survivesDomain = weakDomains.isEmpty
                if weakDomains.isEmpty {
                    note += "; any one \(Set(used.map(\.kind)).sorted().joined(separator: " or ")) may go"
                } else {
                    note += "; does not survive " + weakDomains.map { d in
                        let held = s.instances.filter { inventory.host(named: $0.host)?.domains[d.kind] == d.value }.count
                        return "\(d.kind) \(d.value) (holds \(held) of \(s.instances.count), minHealthy \(s.minHealthy))"
                    }.joined(separator: ", ")
                }
            }
            return Redundancy(service: s.name, instances: s.instances.count, minHealthy: s.minHealthy, survivesOneLoss: survives,
                              survivesDomainLoss: survivesDomain, note: note)
        }
        return Report(spofs: spofs, performance: performance, redundant: redundant, entryPoints: model.entries,
                      domains: domains.map(\.description), notes: model.notes)
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
