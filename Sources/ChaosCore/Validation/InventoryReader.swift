/// Builds an ``Inventory`` from a document, reporting every problem, including references to hosts,
/// targets or groups that do not exist.
struct InventoryReader {
    let r: FieldReader
    init(_ r: FieldReader) { self.r = r }

    func read(_ top: MappingReader) -> Inventory? {
        top.allow("apiVersion", "kind")
        let hostsNode = top.node("hosts")
        let hosts = hostsNode.flatMap { r.list($0, "hosts", readHost) } ?? []
        if hostsNode == nil { r.sink.report(top.location, "hosts", "is required", hint: "list the hosts, e.g. 'hosts: [{name: db1, address: 10.0.0.11}]'") }
        let hostNames = hosts.map(\.name)
        let targets = top.optional("targets") { r.list($0, $1) { readTarget($0, $1, hosts: hosts) } } ?? []
        let groups = top.optional("groups") { r.list($0, $1) { readGroup($0, $1, names: hostNames + targets.map(\.name)) } } ?? []
        let known = hostNames + targets.map(\.name) + groups.map(\.name)
        let deps = top.optional("dependencies") { r.list($0, $1) { readDependency($0, $1, known: known) } } ?? []
        top.finish()
        checkUnique(hosts.map(\.name), top, "hosts", "host name")
        checkUnique(hosts.map(\.address), top, "hosts", "host address")
        checkUnique(targets.map(\.name) + groups.map(\.name), top, "targets", "target or group name")
        return Inventory(hosts: hosts, targets: targets, groups: groups, dependencies: deps)
    }

    func checkUnique(_ names: [String], _ top: MappingReader, _ key: String, _ what: String) {
        var seen = Set<String>()
        for n in names where !seen.insert(n).inserted {
            r.sink.report(top.location(of: key), key, "\(what) '\(n)' is defined twice", hint: "give each its own \(what)")
        }
    }

    func readHost(_ node: DocumentNode, _ path: String) -> Inventory.Host? {
        guard let m = r.mapping(node, path) else { return nil }
        let name = m.required("name", hint: "add e.g. 'name: db1'") { NameRule.read(r, $0, $1) }
        let address = m.required("address", hint: "add the IP address or DNS name") { r.string($0, $1) }
        let agent = m.optional("agent") { (n: DocumentNode, p: String) -> String? in
            guard let u = r.string(n, p) else { return nil }
            guard u.hasPrefix("https://") || u.hasPrefix("http://") || u.hasPrefix("unix:") else {
                r.sink.report(n.location, p, "'\(u)' is not an agent URL", hint: "write e.g. 'https://10.0.0.11:7433' or 'unix:/run/chaos/agent.sock'")
                return nil
            }
            return u
        }
        let tags = m.optional("tags") { r.stringList($0, $1, allowEmpty: true) } ?? []
        m.finish()
        guard let name, let address else { return nil }
        return Inventory.Host(name: name, address: address, agent: agent, tags: tags)
    }

    func readTarget(_ node: DocumentNode, _ path: String, hosts: [Inventory.Host]) -> Inventory.Target? {
        guard let m = r.mapping(node, path) else { return nil }
        let name = m.required("name", hint: "add e.g. 'name: db-primary'") { NameRule.read(r, $0, $1) }
        let description = m.optional("description") { r.string($0, $1, allowEmpty: true) }
        let host = m.optional("host") { (n: DocumentNode, p: String) -> String? in
            guard let h = r.string(n, p) else { return nil }
            if !hosts.contains(where: { $0.name == h }) {
                let hint = Spelling.closest(to: h, in: hosts.map(\.name)).map { "did you mean '\($0)'?" } ?? "define it under 'hosts'"
                r.sink.report(n.location, p, "no host is named '\(h)'", hint: hint)
            }
            return h
        }
        let tags = m.optional("tags") { (n: DocumentNode, p: String) -> [String]? in
            guard let t = r.stringList(n, p) else { return nil }
            if !hosts.contains(where: { h in t.allSatisfy(h.tags.contains) }) {
                r.sink.report(n.location, p, "no host carries all of the tags \(t.joined(separator: ", "))", hint: "check the hosts' 'tags'")
            }
            return t
        }
        let resolve = m.optional("resolve") { n, p -> Inventory.Resolver? in
            guard let rm = r.mapping(n, p) else { return nil }
            let command = rm.required("command", hint: "add the argv, e.g. 'command: [redis-cli, -p, \"26379\", sentinel, get-master-addr-by-name, mymaster]'") {
                r.stringList($0, $1)
            }
            let timeout = rm.optional("timeout") { r.duration($0, $1, atLeast: .milliseconds(10)) } ?? .seconds(5)
            rm.finish()
            return command.map { Inventory.Resolver(command: $0, timeout: timeout) }
        }
        let process = m.optional("process") { readProcessSelector(r, $0, $1) }
        m.finish()
        let ways = [m.has("host"), m.has("tags"), m.has("resolve")].filter { $0 }.count
        if ways != 1 {
            r.sink.report(m.location, path, ways == 0 ? "says nothing about which host" : "gives more than one way to find the host",
                          hint: "give exactly one of 'host: db1', 'tags: [db]' or 'resolve: {command: [...]}'")
        }
        guard let name else { return nil }
        return Inventory.Target(name: name, description: description, host: host, tags: tags, resolve: resolve, process: process)
    }

    func readGroup(_ node: DocumentNode, _ path: String, names: [String]) -> Inventory.Group? {
        guard let m = r.mapping(node, path) else { return nil }
        let name = m.required("name", hint: "add e.g. 'name: redis'") { NameRule.read(r, $0, $1) }
        let members = m.required("members", hint: "list host or target names") { (n: DocumentNode, p: String) -> [String]? in
            r.list(n, p) { item, ip in
                guard let s = r.string(item, ip) else { return nil }
                if !names.contains(s) {
                    let hint = Spelling.closest(to: s, in: names).map { "did you mean '\($0)'?" } ?? "members are host or target names"
                    r.sink.report(item.location, ip, "no host or target is named '\(s)'", hint: hint)
                }
                return s
            }
        }
        let minHealthy = m.required("minHealthy", hint: "add e.g. 'minHealthy: 2'") { r.int($0, $1, in: 0...100_000) }
        let health = m.optional("health") { ProbeReader(r).read($0, $1, requireName: false) }
        m.finish()
        if let members, let minHealthy, minHealthy > members.count {
            r.sink.report(m.location(of: "minHealthy"), "\(path).minHealthy", "\(minHealthy) is more than the \(members.count) members",
                          hint: "use at most \(members.count)")
        }
        guard let name, let members, let minHealthy else { return nil }
        return Inventory.Group(name: name, members: members, minHealthy: minHealthy, health: health)
    }

    func readDependency(_ node: DocumentNode, _ path: String, known: [String]) -> Inventory.Dependency? {
        guard let m = r.mapping(node, path) else { return nil }
        func ref(_ n: DocumentNode, _ p: String) -> String? {
            guard let s = r.string(n, p) else { return nil }
            if !known.contains(s) {
                let hint = Spelling.closest(to: s, in: known).map { "did you mean '\($0)'?" } ?? "name a host, target or group"
                r.sink.report(n.location, p, "nothing is named '\(s)'", hint: hint)
            }
            return s
        }
        let from = m.required("from", hint: "add the dependent's name", ref)
        let to = m.required("to", hint: "add the dependency's name", ref)
        let kind = m.optional("kind") { r.oneOf($0, $1, ["hard", "soft"]) }.flatMap(Inventory.Dependency.Strength.init(rawValue:)) ?? .hard
        m.finish()
        guard let from, let to else { return nil }
        return Inventory.Dependency(from: from, to: to, kind: kind)
    }
}
