/// The architecture map as something to fail: services, their instances, dependencies and entry
/// points, and the health of every service when a set of instances is lost. SPOF analysis and
/// what-if ask the same model, so they cannot disagree. Pure.
///
/// A service works when at least `minHealthy` of its instances are up and every service it
/// hard-depends on works; it is degraded when it works but a soft dependency (or anything it
/// depends on) does not fully. States only get worse from "all up", so the fixpoint settles even on
/// cyclic maps.
public struct SPOFModel: Sendable {
    public typealias Health = SPOFAnalysis.Health

    /// One instance of a service: the service and its index in the service's `instances`.
    public struct InstanceID: Hashable, Sendable { public var service: String; public var index: Int }

    public let inventory: Inventory
    public let services: [Inventory.Service]
    /// The dependencies that join two services.
    public let edges: [Inventory.Dependency]
    public let entries: [String]
    /// Remarks on the map (dependencies left out, no entry point).
    public let notes: [String]
    let byName: [String: Inventory.Service]
    let outgoing: [String: [Inventory.Dependency]]

    public init(_ inventory: Inventory) {
        self.inventory = inventory
        services = inventory.services
        let names = Set(services.map(\.name))
        var notes: [String] = []
        edges = inventory.dependencies.filter { d in
            let ok = names.contains(d.from) && names.contains(d.to)
            if !ok { notes.append("dependency \(d.from) → \(d.to) left out: it does not join two services") }
            return ok
        }
        entries = services.filter(\.isEntryPoint).map(\.name)
        if services.isEmpty { notes.append("the inventory has no 'services': nothing to analyse") }
        else if entries.isEmpty { notes.append("no service is an entry point ('entry: {type: http, url: ...}'): no outage can be judged") }
        self.notes = notes
        byName = Dictionary(services.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        outgoing = Dictionary(grouping: edges, by: \.from)
    }

    /// Every instance on one of `hosts`.
    public func instances(onHosts hosts: Set<String>) -> Set<InstanceID> {
        Set(services.flatMap { s in s.instances.indices.filter { hosts.contains(s.instances[$0].host) }.map { InstanceID(service: s.name, index: $0) } })
    }
    /// Every instance of a service.
    public func instances(of service: String) -> Set<InstanceID> {
        Set((byName[service]?.instances.indices ?? 0..<0).map { InstanceID(service: service, index: $0) })
    }
    /// The instances a failure takes: a host's, a domain's hosts', or a whole service's.
    public func instances(_ failure: SPOFFailure) -> Set<InstanceID> {
        switch failure {
        case .host(let h): instances(onHosts: [h])
        case .domain(let d): instances(onHosts: Set(inventory.hosts(in: d).map(\.name)))
        case .service(let s): instances(of: s)
        }
    }

    /// Health of every service with `down` instances lost.
    public func evaluate(_ down: Set<InstanceID>) -> [String: Health] {
        var state = Dictionary(uniqueKeysWithValues: services.map { ($0.name, Health.up) })
        var changed = true
        while changed {
            changed = false
            for s in services {
                var h: Health = alive(s, down) < s.minHealthy ? .down : .up
                if h != .down {
                    for e in outgoing[s.name] ?? [] {
                        let dep = state[e.to] ?? .up
                        if e.kind == .hard { h = max(h, dep) } else if dep != .up { h = max(h, .degraded) }
                    }
                }
                if h > state[s.name]! { state[s.name] = h; changed = true }
            }
        }
        return state
    }

    func alive(_ s: Inventory.Service, _ down: Set<InstanceID>) -> Int {
        s.instances.indices.filter { !down.contains(InstanceID(service: s.name, index: $0)) }.count
    }

    /// The entry points a loss takes down, and those it only degrades.
    public func impact(_ down: Set<InstanceID>) -> (cuts: [String], degrades: [String]) {
        let st = evaluate(down)
        return (entries.filter { st[$0] == .down }, entries.filter { st[$0] == .degraded })
    }

    /// Why `service` is in its state after `down` was lost: the path of dependencies to the services
    /// that lost too many instances, e.g. `shop → web → redis-db: 0 of 3 instances left (minHealthy 1)`.
    /// One line per cause; empty when the service is up.
    public func explain(_ service: String, down: Set<InstanceID>, state: [String: Health]) -> [String] {
        var out: [String] = []
        var seen: Set<String> = []
        /// `prefix` is the path so far: `shop → web ⇢ ` (⇢ for a soft dependency).
        func walk(_ name: String, _ prefix: String) {
            guard let s = byName[name], !seen.contains(name), let h = state[name], h != .up else { return }
            seen.insert(name)
            let left = alive(s, down)
            if left < s.minHealthy {
                let hosts = Set(s.instances.indices.filter { down.contains(InstanceID(service: name, index: $0)) }.map { s.instances[$0].host }).sorted()
                out.append("\(prefix)\(name): \(left) of \(s.instances.count) instance\(s.instances.count == 1 ? "" : "s") left (minHealthy \(s.minHealthy); lost on \(hosts.joined(separator: ", ")))")
                return
            }
            for e in outgoing[name] ?? [] {
                let dep = state[e.to] ?? .up
                guard dep != .up else { continue }
                // A down service is explained by its hard dependencies that are down; a degraded one
                // by whatever is not up below it.
                if h == .down && !(e.kind == .hard && dep == .down) { continue }
                walk(e.to, prefix + name + (e.kind == .soft ? " ⇢ " : " → "))
            }
        }
        walk(service, "")
        return out
    }
}

/// One failure to assume: a host, every host of a failure domain, or every instance of a service.
public enum SPOFFailure: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    case host(String)
    case domain(FailureDomain)
    case service(String)

    /// `host:db1`, `zone:b`, `service:cache`.
    public var description: String {
        switch self {
        case .host(let h): "host:\(h)"
        case .domain(let d): d.description
        case .service(let s): "service:\(s)"
        }
    }
    public static func < (a: SPOFFailure, b: SPOFFailure) -> Bool { a.description < b.description }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let d = FailureDomain(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not KIND:NAME"))
        }
        switch d.kind {
        case "host": self = .host(d.value)
        case "service": self = .service(d.value)
        default: self = .domain(d)
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// Parses `host:db1`, `service:cache` or `DOMAIN:VALUE` against an inventory, with an error that
    /// names what exists.
    public static func parse(_ text: String, in inventory: Inventory) throws(ChaosError) -> SPOFFailure {
        let kinds = Set(inventory.hosts.flatMap { $0.domains.keys })
        guard let d = FailureDomain(parsing: text) else {
            throw .usage("whatif.syntax", "'\(text)' is not a failure: write KIND:NAME, e.g. 'host:db1', 'service:cache'\(kinds.isEmpty ? "" : " or '\(kinds.sorted()[0]):\(inventory.domains(kind: kinds.sorted()[0]).first?.value ?? "a")'").")
        }
        func suggest(_ word: String, _ names: [String]) -> String {
            if let s = Spelling.closest(to: word, in: names) { return " Did you mean '\(s)'?" }
            return names.isEmpty ? "" : " Known: \(names.sorted().prefix(10).joined(separator: ", "))."
        }
        switch d.kind {
        case "host":
            guard let h = inventory.host(named: d.value) else { throw .usage("whatif.unknown", "No host '\(d.value)' in the inventory.\(suggest(d.value, inventory.hosts.map(\.name)))") }
            return .host(h.name)
        case "service":
            guard inventory.services.contains(where: { $0.name == d.value }) else {
                throw .usage("whatif.unknown", "No service '\(d.value)' in the inventory's map.\(suggest(d.value, inventory.services.map(\.name)))")
            }
            return .service(d.value)
        default:
            guard kinds.contains(d.kind) else {
                throw .usage("whatif.unknown", "No host has a '\(d.kind)' domain. \(kinds.isEmpty ? "Give hosts 'domains: {zone: a}' in the inventory, or fail 'host:NAME' or 'service:NAME'." : "Domain kinds in the inventory: \(kinds.sorted().joined(separator: ", ")); or fail 'host:NAME' or 'service:NAME'.")")
            }
            guard !inventory.hosts(in: d).isEmpty else {
                throw .usage("whatif.unknown", "No host is in \(d). Values of \(d.kind): \(inventory.domains(kind: d.kind).map(\.value).joined(separator: ", ")).")
            }
            return .domain(d)
        }
    }
}
