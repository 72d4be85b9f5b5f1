public import ChaosCore
public import ChaosFaults

/// Turns a ``TargetSpec`` (command-line flags or an experiment's `target`) into what a fault acts on
/// on this host: the chosen processes, or a unit, plus a description for people.
public struct TargetResolver: Sendable {
    public let host: any HostSystem
    public let inventory: Inventory?
    /// Names and addresses that mean "this host" (hostname, CHAOS_HOST, local addresses); computed
    /// only when an inventory host has to be matched.
    public let localNames: @Sendable () -> Set<String>
    /// Runs a resolver command (argv, timeout) and returns its standard output.
    public let runCommand: @Sendable ([String], ChaosDuration) async throws(ChaosError) -> String
    /// Whether a "no match" error may name the host's processes ("did you mean 'redis-server'?"): yes
    /// for a person at this host's shell, no for the agent, whose callers see only what they name.
    public let revealsProcessNames: Bool

    public init(host: any HostSystem, inventory: Inventory?, localNames: @escaping @Sendable () -> Set<String>,
                revealsProcessNames: Bool = true,
                runCommand: @escaping @Sendable ([String], ChaosDuration) async throws(ChaosError) -> String) {
        self.host = host; self.inventory = inventory; self.localNames = localNames; self.runCommand = runCommand
        self.revealsProcessNames = revealsProcessNames
    }

    /// A resolved target.
    public struct Resolved: Sendable {
        /// The inventory host, when the target came from the inventory.
        public var hostName: String?
        public var victims: [ProcessEntry]
        /// Every process the selector matched, before selection (`count`, `percent`).
        public var matched: [ProcessEntry]
        public var unit: String?
        public var scope: SystemdScope
        public var description: String
    }

    /// Resolves `spec` for a fault of `kind`.
    /// - Parameters:
    ///   - policy: what may not be touched.
    ///   - rng: the randomness of the selection.
    /// - Throws: ``ChaosError`` with what to do: unknown target, target on another host, no match, refused.
    public func resolve(_ spec: TargetSpec, for kind: FaultKind, policy: ProtectionPolicy,
                        using rng: inout some RandomNumberGenerator) async throws(ChaosError) -> Resolved {
        var selector = spec.process
        var hostName: String? = nil
        var label = ""
        if let ref = spec.ref {
            let (target, host) = try await inventoryTarget(ref)
            selector = target.process
            hostName = host.name
            label = "target '\(ref)' on \(host.name)"
        } else if let h = spec.host {
            guard let inventory else {
                throw .usage("target.noInventory", "Host '\(h)' can only be looked up in an inventory. Pass '--inventory FILE'.")
            }
            guard let host = inventory.host(named: h) else {
                throw .usage("target.unknownHost", "No host '\(h)' in the inventory.\(Self.suggest(h, inventory.hosts.map(\.name)))")
            }
            try checkLocal(host, what: "Host '\(h)'")
            hostName = host.name
        }

        switch kind.subject {
        case .host:
            return Resolved(hostName: hostName, victims: [], matched: [], unit: nil, scope: .system, description: hostName.map { "host \($0)" } ?? "this host")
        case .unit:
            guard let unit = selector?.unit else {
                throw .usage("target.noUnit", "\(kind) acts on a systemd unit. Give one with '--unit NAME.service'\(spec.ref != nil ? " (the inventory target has no 'unit')" : "").")
            }
            let scope = selector?.scope ?? .system
            try await checkUnit(unit, scope: scope, policy: policy)
            return Resolved(hostName: hostName, victims: [], matched: [], unit: unit, scope: scope,
                            description: label.isEmpty ? "\(scope == .user ? "user " : "")unit '\(unit)'" : "\(label) (unit '\(unit)')")
        case .processes:
            guard let selector else {
                throw .usage("target.none", "\(kind) needs a target. Give one of '--pid', '--pidfile', '--name', '--match', '--port', '--unit' or '--target NAME --inventory FILE'.")
            }
            let me = host.facts.selfPID
            var pids: [Int32] = []
            if let pid = selector.pid {
                pids = [pid]
            } else if let file = selector.pidfile {
                pids = [try await host.readPIDFile(file)]
            } else if let port = selector.port {
                pids = try await host.listeners(onTCPPort: port)
            } else if let unit = selector.unit {
                try await checkUnit(unit, scope: selector.scope, policy: policy)
                pids = try await host.unitProcesses(unit, scope: selector.scope)
            }
            // Selectors that name pids need only those processes and our own ancestry, not a scan of
            // all of /proc (that scan is most of the cost of a one-off kill).
            let table = selector.name == nil && selector.match == nil
                ? await partialTable(pids: pids, selfPID: me)
                : try await host.processTable()
            let excluded = Set(table.ancestry(of: me))
            if let pid = selector.pid, table[pid].map({ !$0.isDead }) != true {
                throw ChaosError("target.noMatch", "Process \(pid) does not exist (or is already a zombie). Check the pid with 'ps -p \(pid)'.")
            }
            try await refuseThreads(pids, table: table, policy: policy, me: me)
            let matched = selector.match == nil
                ? try ProcessMatcher.match(selector, in: table, resolvedPIDs: pids, excluding: excluded)
                : try await MatchingQueue.run { [pids] () throws(ChaosError) in try ProcessMatcher.match(selector, in: table, resolvedPIDs: pids, excluding: excluded) }
            guard !matched.isEmpty else { throw noMatch(selector, table: table) }
            let victims = spec.selection.choose(from: matched, using: &rng)
            let refusals = policy.refusals(for: victims, table: table, caller: me)
            if !refusals.isEmpty {
                let list = refusals.map(\.description).joined(separator: "; ")
                let hint = refusals.allSatisfy(\.overridable) ? " Use '--force' if you really mean it." : " Narrow the selector so it leaves these out."
                throw ChaosError("target.protected", "Refusing to touch protected processes: \(list).\(hint)")
            }
            let what = "\(victims.count) of \(matched.count) process\(matched.count == 1 ? "" : "es") matching \(selector)"
            return Resolved(hostName: hostName, victims: victims, matched: matched, unit: nil, scope: selector.scope,
                            description: label.isEmpty ? what : "\(label): \(what)")
        }
    }

    /// Refuses a protected unit: by the name given, and by the name systemd resolves it to, so an alias
    /// (`dbus-org.freedesktop.login1.service` is systemd-logind) is no way around the deny list. A unit
    /// systemd does not know is left to the fault to report.
    func checkUnit(_ unit: String, scope: SystemdScope, policy: ProtectionPolicy) async throws(ChaosError) {
        var names = [unit]
        if !policy.allowProtected, let status = try? await host.unitStatus(ProtectionPolicy.canonicalUnitName(unit), scope: scope), status.name != unit {
            names.append(status.name)
        }
        for name in names {
            if let why = policy.refusal(unit: name) {
                let alias = name == unit ? "" : " ('\(unit)' is an alias of '\(name)')"
                throw ChaosError("target.protected", "Refusing: \(why)\(alias). Use '--force' if you really mean it.")
            }
        }
    }

    /// Refuses a thread id among `pids`. `/proc/TID` exists for every thread though /proc does not
    /// list it, and kill(2) on a thread id signals its whole process, so a thread id would hit a
    /// process the selector never named (the agent itself, through one of its own threads). The
    /// thread's process is checked against the protection policy first, so a protected process is
    /// reported as protected whichever of its ids was given.
    func refuseThreads(_ pids: [Int32], table: ProcessTable, policy: ProtectionPolicy, me: Int32) async throws(ChaosError) {
        for pid in pids {
            guard let entry = table[pid], entry.isThread else { continue }
            let group = await host.process(entry.tgid)
            if let group, let refusal = policy.refusals(for: [group], table: table, caller: me).first {
                throw ChaosError("target.protected", "Refusing: \(pid) is a thread of process \(refusal.description).")
            }
            throw ChaosError("target.thread", "\(pid) is a thread of process \(entry.tgid)\(group.map { " (\($0.name))" } ?? ""), not a process; faults act on whole processes. Give the process id, e.g. '--pid \(entry.tgid)'.")
        }
    }

    /// The given processes plus the caller's ancestry (for the protection policy).
    func partialTable(pids: [Int32], selfPID: Int32) async -> ProcessTable {
        var entries: [Int32: ProcessEntry] = [:]
        for pid in pids { if let p = await host.process(pid) { entries[pid] = p } }
        var current: Int32? = selfPID
        while let pid = current, pid > 0, entries.count < pids.count + 4096 {
            guard let p = await host.process(pid) else { break }
            entries[pid] = p
            current = p.ppid
        }
        return ProcessTable(Array(entries.values))
    }

    /// Where a target's fault must run: on this host, or through another host's agent.
    public enum Placement: Sendable, Equatable {
        case local
        /// On `host`, with the target as that host's agent takes it (a process selector; no inventory names).
        case remote(Inventory.Host, TargetSpec)
    }

    /// Where `spec` runs: here when the target's host (or one of its hosts) is this one, else on
    /// one of its hosts chosen at random. Runs the target's resolver command if it has one. A fault of
    /// `kind` that acts on the whole host (network, disk, stress) takes only the host from the target.
    public func placement(_ spec: TargetSpec, for kind: FaultKind? = nil) async throws(ChaosError) -> Placement {
        let hostWide = kind?.subject == .host
        if let ref = spec.ref {
            let (target, candidates) = try await inventoryCandidates(ref)
            if candidates.contains(where: isLocal) { return .local }
            guard let host = candidates.randomElement() else { return .local }
            return .remote(host, hostWide ? TargetSpec() : TargetSpec(process: target.process, selection: spec.selection))
        }
        if let h = spec.host {
            guard let inventory else {
                throw .usage("target.noInventory", "Host '\(h)' can only be looked up in an inventory. Pass '--inventory FILE'.")
            }
            guard let host = inventory.host(named: h) else {
                throw .usage("target.unknownHost", "No host '\(h)' in the inventory.\(Self.suggest(h, inventory.hosts.map(\.name)))")
            }
            return isLocal(host) ? .local : .remote(host, hostWide ? TargetSpec() : TargetSpec(process: spec.process, selection: spec.selection))
        }
        return .local
    }

    /// Finds an inventory target and the host it is on now, running its resolver command if it has one.
    func inventoryTarget(_ ref: String) async throws(ChaosError) -> (Inventory.Target, Inventory.Host) {
        let (target, candidates) = try await inventoryCandidates(ref)
        if let local = candidates.first(where: isLocal) { return (target, local) }
        let names = candidates.map { "\($0.name) (\($0.address))" }.joined(separator: ", ")
        throw ChaosError("target.remote", "Target '\(ref)' is on \(names), not on this host (\(localNames().sorted().prefix(3).joined(separator: ", "))). Run the command on that host; if this host is in the inventory under another name, set CHAOS_HOST to its inventory name.")
    }

    /// An inventory target and the hosts it may be on now (never empty).
    public func inventoryCandidates(_ ref: String) async throws(ChaosError) -> (Inventory.Target, [Inventory.Host]) {
        guard let inventory else {
            throw .usage("target.noInventory", "Target '\(ref)' is a name from an inventory. Pass '--inventory FILE' (e.g. deploy/inventory.yaml).")
        }
        guard let target = inventory.target(named: ref) else {
            throw .usage("target.unknown", "No target '\(ref)' in the inventory.\(Self.suggest(ref, inventory.targets.map(\.name)))")
        }
        var candidates: [Inventory.Host] = []
        if let h = target.host, let host = inventory.host(named: h) { candidates = [host] }
        else if let tags = target.tags { candidates = inventory.hosts.filter { h in tags.allSatisfy(h.tags.contains) } }
        else if let resolver = target.resolve {
            let out = try await runCommand(resolver.command, resolver.timeout)
            guard let word = out.split(whereSeparator: { $0 == "\n" || $0 == " " || $0 == "\t" }).first.map(String.init) else {
                throw ChaosError("target.unresolved", "The resolver of target '\(ref)' ('\(resolver.command.joined(separator: " "))') printed nothing. Run it by hand; it must print a host name or address.")
            }
            guard let host = inventory.host(named: word) else {
                throw ChaosError("target.unresolved", "The resolver of target '\(ref)' printed '\(word)', which is no host name or address in the inventory. Add that host, or fix the resolver command.")
            }
            candidates = [host]
        }
        guard !candidates.isEmpty else {
            throw ChaosError("target.noHost", "Target '\(ref)' matches no host in the inventory. Check its 'host' or 'tags'.")
        }
        return (target, candidates)
    }

    func checkLocal(_ host: Inventory.Host, what: String) throws(ChaosError) {
        guard isLocal(host) else {
            throw ChaosError("target.remote", "\(what) is \(host.address), not this host (\(localNames().sorted().prefix(3).joined(separator: ", "))). Run the command on that host, or set CHAOS_HOST to this host's inventory name.")
        }
    }

    func isLocal(_ host: Inventory.Host) -> Bool {
        let names = localNames()
        return names.contains(host.name) || names.contains(host.address)
    }

    func noMatch(_ selector: ProcessSelector, table: ProcessTable) -> ChaosError {
        if let name = selector.name {
            let names = revealsProcessNames ? Array(Set(table.processes.filter { !$0.isKernelThread }.map(\.name))) : []
            return ChaosError("target.noMatch", "No running process is named '\(name)'.\(Self.suggest(name, names)) Names are the kernel's (/proc/PID/comm, 15 characters); use '--match' for the command line.")
        }
        if let port = selector.port {
            return ChaosError("target.noMatch", "No process listens on TCP port \(port). Check with 'ss -ltnp'.")
        }
        if let file = selector.pidfile {
            return ChaosError("target.noMatch", "The process named in '\(file)' is not running (stale pidfile?). Check the service.")
        }
        if let unit = selector.unit {
            return ChaosError("target.noMatch", "Unit '\(unit)' has no running processes. Check it with 'systemctl\(selector.scope == .user ? " --user" : "") status \(unit)'.")
        }
        return ChaosError("target.noMatch", "No running process matches \(selector). Check the selector with '--dry-run'.")
    }

    static func suggest(_ word: String, _ names: [String]) -> String {
        if let s = Spelling.closest(to: word, in: names) { return " Did you mean '\(s)'?" }
        guard !names.isEmpty else { return "" }
        return " Known: \(names.sorted().prefix(10).joined(separator: ", "))."
    }
}
