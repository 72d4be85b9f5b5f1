/// The map people wrote (the inventory's `services` and `dependencies`) beside the one the hosts
/// show (``MapDiscovery/Map``): what `chaos map diff` reports. Pure.
///
/// A declared service is matched to the discovered services its instances point at, host by host: a
/// `process: {port: P}` to the service listening on P there, a `unit:` to the service of that unit,
/// a `process: {name: N}` to the service whose program is N. Instances given by pid, pidfile or
/// command line cannot be matched from sockets and are left out (a note says so).
///
/// Disagreements (exit 1 of `chaos map diff`):
/// - **undeclared dependency**: observed between two services, not written (or written between
///   other services); with a discovered service no declared one matches, named as discovered;
/// - **stale dependency**: written, never observed in the window, between matched services;
/// - **unlisted instance**: a matched service also listens on a host the map does not give it;
/// - **missing instance**: a written instance with nothing listening for it on its host;
/// - **shared host**: a service that claims spare instances with two of them on one host.
///
/// Everything else is information: discovered services nobody talks to that no declared service
/// matches (sshd, exporters), connections from an unidentified process, and what could not be told
/// (hosts without a view).
public enum MapDiff {
    public struct Finding: Codable, Sendable, Hashable {
        public enum Kind: String, Codable, Sendable, Hashable, CaseIterable {
            case undeclaredDependency = "undeclared_dependency"
            case staleDependency = "stale_dependency"
            case unlistedInstance = "unlisted_instance"
            case missingInstance = "missing_instance"
            case sharedHost = "shared_host"
            /// Information only: a discovered service that no declared one matches and nothing on
            /// the map talks to.
            case unmappedService = "unmapped_service"
            /// Information only: connections from a host whose process could not be told (closed
            /// before a sample, on a host running several services, or a user's shell).
            case unidentifiedClient = "unidentified_client"
        }
        public var kind: Kind
        /// `web → redis-db`, `service web on app3`...
        public var subject: String
        /// What was seen, in a sentence.
        public var detail: String
        /// Whether it makes the maps disagree.
        public var disagrees: Bool { kind != .unmappedService && kind != .unidentifiedClient }
    }

    public struct Report: Codable, Sendable, Hashable {
        /// Declared service → the discovered services it matched.
        public var matched: [String: [String]]
        public var findings: [Finding]
        /// Hosts without a view: nothing about them is known.
        public var missingHosts: [String]
        public var notes: [String]
        public var disagreements: Int { findings.filter(\.disagrees).count }
        public init(matched: [String: [String]], findings: [Finding], missingHosts: [String], notes: [String]) {
            self.matched = matched; self.findings = findings; self.missingHosts = missingHosts; self.notes = notes
        }
        enum CodingKeys: String, CodingKey { case matched, findings, missingHosts, notes, disagreements }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(matched, forKey: .matched); try c.encode(findings, forKey: .findings)
            try c.encode(missingHosts, forKey: .missingHosts); try c.encode(notes, forKey: .notes)
            try c.encode(disagreements, forKey: .disagreements)
        }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(matched: try c.decode([String: [String]].self, forKey: .matched), findings: try c.decode([Finding].self, forKey: .findings),
                      missingHosts: try c.decode([String].self, forKey: .missingHosts), notes: try c.decode([String].self, forKey: .notes))
        }
    }

    /// Whether a written instance on `host` points at discovered service `s`.
    static func points(_ i: Inventory.Instance, at s: MapDiscovery.Service) -> Bool {
        s.instances.contains { d in
            guard d.host == i.host else { return false }
            if let unit = i.unit ?? i.process?.unit { return d.unit == unit || d.unit == unit + ".service" }
            if let port = i.process?.port { return s.port == port }
            if let name = i.process?.name { return d.process == name || d.process == String(name.prefix(15)) }
            return false
        }
    }

    /// Whether an instance can be matched from sockets at all.
    static func matchable(_ i: Inventory.Instance) -> Bool {
        i.unit != nil || i.process?.unit != nil || i.process?.port != nil || i.process?.name != nil
    }

    public static func compare(_ inventory: Inventory, _ map: MapDiscovery.Map) -> Report {
        var findings: [Finding] = []
        var notes: [String] = []
        let missing = Set(map.missing)
        let seen = Set(inventory.hosts.map(\.name)).subtracting(missing)

        // 1. Match declared services to discovered ones.
        var matched: [String: [String]] = [:]
        var declaredOf: [String: String] = [:]          // discovered → declared (the first that matched)
        for s in inventory.services {
            var names: [String] = []
            for i in s.instances {
                guard matchable(i) else { continue }
                for d in map.services where points(i, at: d) && !names.contains(d.name) { names.append(d.name) }
            }
            matched[s.name] = names
            for n in names where declaredOf[n] == nil { declaredOf[n] = s.name }
            let unmatchable = s.instances.filter { !matchable($0) }.count
            if unmatchable > 0 {
                notes.append("service \(s.name): \(unmatchable) instance\(unmatchable == 1 ? " is" : "s are") given by pid, pidfile or command line, which sockets cannot show; give a port, name or unit to compare \(unmatchable == 1 ? "it" : "them")")
            }
        }

        // 2. Instances: written but not listening; listening on a host the map does not list.
        for s in inventory.services {
            let discovered = map.services.filter { (matched[s.name] ?? []).contains($0.name) }
            for i in s.instances where matchable(i) && seen.contains(i.host) && !discovered.contains(where: { points(i, at: $0) }) {
                findings.append(Finding(kind: .missingInstance, subject: "service \(s.name) on \(i.host)",
                                        detail: "written on \(i.host) (\(describe(i))), but nothing there listens for it: the map is wrong, or the instance is down"))
            }
            let written = Set(s.instances.map(\.host))
            for d in discovered {
                for h in Set(d.instances.map(\.host)).subtracting(written).sorted() {
                    findings.append(Finding(kind: .unlistedInstance, subject: "service \(s.name) on \(h)",
                                            detail: "\(d.name)\(d.port.map { " (\(d.proto) port \($0))" } ?? "") also runs on \(h), which the map does not give \(s.name)"))
                }
            }
            if s.instances.count > s.minHealthy {
                for (h, n) in Dictionary(grouping: s.instances, by: \.host).mapValues(\.count).sorted(by: { $0.key < $1.key }) where n > 1 {
                    findings.append(Finding(kind: .sharedHost, subject: "service \(s.name) on \(h)",
                                            detail: "\(n) of its \(s.instances.count) \"redundant\" instances share host \(h): losing it leaves \(s.instances.count - n) (minHealthy \(s.minHealthy))"))
                }
            }
        }

        // 3. Dependencies, in declared names where a declared service matched.
        func declared(_ discovered: String) -> String { declaredOf[discovered] ?? discovered }
        let services = Dictionary(inventory.services.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let written = Set(inventory.dependencies.map { "\($0.from)→\($0.to)" })
        var observed: [String: MapDiscovery.Dependency] = [:]
        for d in map.dependencies {
            let from = declared(d.from), to = declared(d.to)
            guard from != to else { continue }              // peers, or two discovered parts of one declared service
            let key = "\(from)→\(to)"
            var x = observed[key] ?? MapDiscovery.Dependency(from: from, to: to, connections: 0, fromHosts: [], peers: false)
            x.connections += d.connections
            x.fromHosts = Array(Set(x.fromHosts + d.fromHosts)).sorted()
            observed[key] = x
        }
        for (key, d) in observed.sorted(by: { $0.key < $1.key }) where !written.contains(key) {
            if d.from == MapDiscovery.unidentified {
                findings.append(Finding(kind: .unidentifiedClient, subject: "\(d.from) → \(d.to)",
                                        detail: "\(d.connections) connection\(d.connections == 1 ? "" : "s") from \(d.fromHosts.joined(separator: ", ")) whose process was gone or could not be told; watch longer (--watch) to catch it open"))
                continue
            }
            let unnamed = [d.from, d.to].filter { n in declaredOf[n] == nil && services[n] == nil }
            let hint = unnamed.isEmpty ? "add '{from: \(d.from), to: \(d.to)}' (hard or soft)" : "\(unnamed.joined(separator: " and ")) \(unnamed.count == 1 ? "is" : "are") on no written service: add \(unnamed.count == 1 ? "it" : "them") to 'services' too"
            findings.append(Finding(kind: .undeclaredDependency, subject: "\(d.from) → \(d.to)",
                                    detail: "observed \(d.connections) connection\(d.connections == 1 ? "" : "s") from \(d.fromHosts.joined(separator: ", ")), not in the map; \(hint)"))
        }
        for dep in inventory.dependencies where observed["\(dep.from)→\(dep.to)"] == nil {
            guard let from = services[dep.from], services[dep.to] != nil else { continue }   // a dependency between targets or groups
            // Only where both ends were matched and their hosts seen: else nothing can be said.
            guard !(matched[dep.from] ?? []).isEmpty, !(matched[dep.to] ?? []).isEmpty,
                  from.instances.contains(where: { seen.contains($0.host) }) else {
                notes.append("dependency \(dep.from) → \(dep.to): not compared (\((matched[dep.from] ?? []).isEmpty ? dep.from : dep.to) matched nothing discovered)")
                continue
            }
            findings.append(Finding(kind: .staleDependency, subject: "\(dep.from) → \(dep.to)",
                                    detail: "written (\(dep.kind.rawValue)), never observed\(map.windowMs > 0 ? " in the \(ChaosDuration.milliseconds(map.windowMs)) watched" : " in one snapshot (watch longer with --watch)"): stale, or used too rarely to be seen"))
        }

        // 4. Information: discovered services no declared one matched and that no dependency touches.
        let touched = Set(map.dependencies.flatMap { [$0.from, $0.to] })
        for d in map.services where declaredOf[d.name] == nil && !touched.contains(d.name) {
            findings.append(Finding(kind: .unmappedService, subject: d.name,
                                    detail: "\(d.port.map { "\(d.proto) port \($0)" } ?? "a client") on \(d.instances.map(\.host).joined(separator: ", ")): on no written service, and nothing on the map talks to it"))
        }
        if !missing.isEmpty { notes.append("no view from \(map.missing.joined(separator: ", ")) (agent unreachable): nothing there was compared") }
        let order = Dictionary(uniqueKeysWithValues: Finding.Kind.allCases.enumerated().map { ($1, $0) })
        findings.sort { (order[$0.kind]!, $0.subject) < (order[$1.kind]!, $1.subject) }
        return Report(matched: matched, findings: findings, missingHosts: map.missing, notes: notes)
    }

    static func describe(_ i: Inventory.Instance) -> String {
        if let u = i.unit ?? i.process?.unit { return "unit \(u)" }
        if let p = i.process?.port { return "port \(p)" }
        if let n = i.process?.name { return "process \(n)" }
        return "?"
    }
}
