/// Builds an ``Inventory`` from a document, reporting every problem, including references to hosts,
/// targets or groups that do not exist.
struct InventoryReader {
    let r: FieldReader
    init(_ r: FieldReader) { self.r = r }

    /// A host as written, for references: its name and tags, even when the host has other problems.
    struct WrittenHost {
        var name: String
        var tags: [String]
    }

    func read(_ top: MappingReader) -> Inventory? {
        top.allow("apiVersion", "kind")
        let hosts = top.required("hosts", hint: "list the hosts, e.g. 'hosts: [{name: db1, address: 10.0.0.11}]'") { r.list($0, $1, readHost) } ?? []
        // Names as written, valid or not, so one broken entry does not make references to it fail.
        let hostNames = WrittenNames(top.node("hosts"), list: "hosts")
        let writtenHosts = writtenHosts(top.node("hosts"))
        let targetNames = WrittenNames(top.node("targets"), list: "targets")
        let groupNames = WrittenNames(top.node("groups"), list: "groups")
        let targets = top.optional("targets") { r.list($0, $1) { readTarget($0, $1, hosts: writtenHosts) } } ?? []
        let groups = top.optional("groups") { r.list($0, $1) { readGroup($0, $1, names: hostNames.texts + targetNames.texts) } } ?? []
        let serviceNames = WrittenNames(top.node("services"), list: "services")
        let services = top.optional("services") { r.list($0, $1) { readService($0, $1, hosts: hostNames.texts, targets: targetNames.texts) } } ?? []
        let known = hostNames.texts + targetNames.texts + groupNames.texts + serviceNames.texts
        let deps = top.optional("dependencies") { r.list($0, $1) { readDependency($0, $1, known: known) } } ?? []
        top.finish()
        hostNames.reportDuplicates(r.sink, message: { "host name '\($0)' is defined twice" }, hint: "give each host its own name")
        WrittenNames(top.node("hosts"), list: "hosts", key: "address", isValid: { !$0.trimmingWhitespace().isEmpty })
            .reportDuplicates(r.sink, message: { "host address '\($0)' is defined twice" }, hint: "give each host its own address")
        (targetNames + groupNames + serviceNames).reportDuplicates(r.sink, message: { "target, group or service name '\($0)' is defined twice" },
                                                                   hint: "targets, groups and services share one namespace; give each its own name")
        return Inventory(hosts: hosts, targets: targets, groups: groups, dependencies: deps, services: services)
    }

    /// Every host's valid name and its tags, read straight from the document.
    func writtenHosts(_ node: DocumentNode?) -> [WrittenHost] {
        guard case .sequence(let items, _)? = node else { return [] }
        return items.compactMap { item in
            guard case .scalar(let name, let kind, _)? = item.value("name"), kind != .null, NameRule.isValid(name) else { return nil }
            var tags: [String] = []
            if case .sequence(let t, _)? = item.value("tags") {
                tags = t.compactMap { if case .scalar(let text, let k, _) = $0, k != .null { return text } else { return nil } }
            }
            return WrittenHost(name: name, tags: tags)
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
        let domains = m.optional("domains") { readDomains($0, $1) } ?? [:]
        m.finish()
        guard let name, let address else { return nil }
        return Inventory.Host(name: name, address: address, agent: agent, tags: tags, domains: domains)
    }

    /// `domains: {zone: a, rack: r12}`: each key a name (not one of what-if's own kinds), each value
    /// a short word.
    func readDomains(_ node: DocumentNode, _ path: String) -> [String: String]? {
        guard let m = r.mapping(node, path) else { return nil }
        var out: [String: String] = [:]
        var ok = true
        for key in m.keys {
            let p = m.child(key)
            guard NameRule.isValid(key), !FailureDomain.reservedKinds.contains(key) else {
                r.sink.report(m.location(of: key), p, NameRule.isValid(key) ? "'\(key)' is not a failure domain kind: it names hosts or services in 'chaos spof whatif'"
                              : "'\(key)' is not a valid domain kind",
                              hint: NameRule.isValid(key) ? "use e.g. 'zone', 'rack', 'power' or 'switch'" : NameRule.hint)
                ok = false; _ = m.node(key); continue
            }
            guard let v = m.optional(key, { r.string($0, $1) }) else {
                if !m.has(key) { r.sink.report(m.location(of: key), p, "is empty", hint: "give the host's \(key), e.g. '\(key): a'") }
                ok = false; continue
            }
            guard FailureDomain.isValidValue(v) else {
                r.sink.report(m.valueLocation(of: key), p, "'\(v)' is not a valid domain value", hint: "use letters, digits, '-', '_' and '.' (at most 63), e.g. 'us-east-1a'")
                ok = false; continue
            }
            out[key] = v
        }
        m.finish()
        return ok ? out : nil
    }

    func readTarget(_ node: DocumentNode, _ path: String, hosts: [WrittenHost]) -> Inventory.Target? {
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
                let quoted = t.map { "'\($0)'" }.joined(separator: ", ")
                r.sink.report(n.location, p, t.count == 1 ? "no host carries the tag \(quoted)" : "no host carries all of the tags \(quoted)",
                              hint: "check the hosts' 'tags'")
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
            let count = "\(members.count) member" + (members.count == 1 ? "" : "s")
            r.sink.report(m.location(of: "minHealthy"), "\(path).minHealthy", "\(minHealthy) is more than the \(count)",
                          hint: "use at most \(members.count)")
        }
        guard let name, let members, let minHealthy else { return nil }
        return Inventory.Group(name: name, members: members, minHealthy: minHealthy, health: health)
    }

    func readService(_ node: DocumentNode, _ path: String, hosts: [String], targets: [String]) -> Inventory.Service? {
        guard let m = r.mapping(node, path) else { return nil }
        let name = m.required("name", hint: "add e.g. 'name: redis'") { NameRule.read(r, $0, $1) }
        let description = m.optional("description") { r.string($0, $1, allowEmpty: true) }
        let instances = m.required("instances", hint: "list where it runs, e.g. 'instances: [{host: db1, process: {port: 6379}}]'") { (n: DocumentNode, p: String) -> [Inventory.Instance]? in
            r.list(n, p) { item, ip -> Inventory.Instance? in
                guard let im = r.mapping(item, ip) else { return nil }
                let host = im.required("host", hint: "the host it runs on") { (hn: DocumentNode, hp: String) -> String? in
                    guard let h = r.string(hn, hp) else { return nil }
                    if !hosts.contains(h) {
                        let hint = Spelling.closest(to: h, in: hosts).map { "did you mean '\($0)'?" } ?? "define it under 'hosts'"
                        r.sink.report(hn.location, hp, "no host is named '\(h)'", hint: hint)
                    }
                    return h
                }
                let process = im.optional("process") { readProcessSelector(r, $0, $1) }
                let unit = im.optional("unit") { r.string($0, $1) }
                im.finish()
                if process != nil && unit != nil {
                    r.sink.report(im.location, ip, "gives both a process and a unit", hint: "keep one: 'process: {...}' or 'unit: NAME.service'")
                }
                return host.map { Inventory.Instance(host: $0, process: process, unit: unit) }
            }
        }
        let minHealthy = m.optional("minHealthy") { r.int($0, $1, in: 1...100_000) } ?? 1
        let entry = m.optional("entry") { ProbeReader(r).read($0, $1, requireName: false) }
        let target = m.optional("target") { (n: DocumentNode, p: String) -> String? in
            guard let t = r.string(n, p) else { return nil }
            if !targets.contains(t) {
                let hint = Spelling.closest(to: t, in: targets).map { "did you mean '\($0)'?" } ?? "define it under 'targets' (e.g. with a resolver naming the current primary)"
                r.sink.report(n.location, p, "no target is named '\(t)'", hint: hint)
            }
            return t
        }
        m.finish()
        if let instances, instances.isEmpty {
            r.sink.report(m.location(of: "instances"), "\(path).instances", "is empty", hint: "a service runs somewhere: list at least one instance")
        }
        if let instances, minHealthy > instances.count, !instances.isEmpty {
            r.sink.report(m.location(of: "minHealthy"), "\(path).minHealthy", "\(minHealthy) is more than the \(instances.count) instance\(instances.count == 1 ? "" : "s")",
                          hint: "use at most \(instances.count)")
        }
        guard let name, let instances else { return nil }
        return Inventory.Service(name: name, description: description, instances: instances, minHealthy: minHealthy, entry: entry, target: target)
    }

    func readDependency(_ node: DocumentNode, _ path: String, known: [String]) -> Inventory.Dependency? {
        guard let m = r.mapping(node, path) else { return nil }
        func ref(_ n: DocumentNode, _ p: String) -> String? {
            guard let s = r.string(n, p) else { return nil }
            if !known.contains(s) {
                let hint = Spelling.closest(to: s, in: known).map { "did you mean '\($0)'?" } ?? "name a host, target, group or service"
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
