import ChaosCore
import ChaosEngine
import Foundation

/// The controller's guards before an injection: which host a run hits. The target's candidate hosts
/// (its fixed host, every host with its tags, or the host its resolver names now), each group holding
/// one of them asked *now* through its `health` probe (every member), and ``VictimGuard`` choosing at
/// random a host whose loss keeps every group at or above `minHealthy`. The experiment is then pinned
/// to that host, so the run hits exactly what was checked.
public enum VictimPicker {
    public struct Pick: Sendable {
        public var experiment: Experiment
        /// For the log and the journal: what was chosen among what, and the groups' health.
        public var note: String
    }

    public static func pick(_ e: Experiment, inventory: Inventory?, ctx: HostContext, probes: any ProbeFactory) async throws(ChaosError) -> Pick {
        if let inventory, let text = e.target.domain, let domain = FailureDomain(parsing: text) {
            // A whole failure domain: every host of it goes, so every group must keep minHealthy
            // without all of them.
            let hosts = inventory.hosts(in: domain)
            guard !hosts.isEmpty else { return Pick(experiment: e, note: "") }
            let groups = try await health(of: relevantGroups(hosts, inventory), inventory, probes)
            var rng = SystemRandomNumberGenerator()
            let decision = VictimGuard.choose(hosts.map { .init(id: $0.name, host: $0.name) }, wanted: hosts.count, safety: SafetySpec(), groups: groups, using: &rng)
            guard decision.chosen.count == hosts.count else {
                throw ChaosError("safety.minHealthy", "Refusing to run '\(e.name)' on every host of \(domain): " + (decision.limits.isEmpty ? "not every host may be hit" : decision.limits.joined(separator: "; ")) + ". Nothing was injected; the next fire tries again.")
            }
            return Pick(experiment: e, note: "every host of \(domain): \(hosts.map(\.name).joined(separator: ", "))"
                        + groups.map { "; group \($0.name): \($0.healthy.intersection($0.members).count)/\($0.members.count) healthy, minHealthy \($0.minHealthy)" }.joined())
        }
        guard let inventory, let ref = e.target.ref else {
            // An inline host (or this host): the guard still checks its groups.
            guard let inventory, let name = e.target.host, let host = inventory.host(named: name) else { return Pick(experiment: e, note: "") }
            let groups = try await health(of: relevantGroups([host], inventory), inventory, probes)
            try choose(e, [host], groups)
            return Pick(experiment: e, note: note([host], groups, chosen: host))
        }
        let (target, candidates) = try await ctx.resolver(inventory: inventory).inventoryCandidates(ref)
        let groups = try await health(of: relevantGroups(candidates, inventory), inventory, probes)
        let chosen = try choose(e, candidates, groups)
        var pinned = e
        pinned.target = TargetSpec(host: chosen.name, process: e.fault.type.subject == .host ? nil : (e.target.process ?? target.process),
                                   selection: e.target.selection)
        return Pick(experiment: pinned, note: note(candidates, groups, chosen: chosen))
    }

    @discardableResult
    static func choose(_ e: Experiment, _ candidates: [Inventory.Host], _ groups: [VictimGuard.Group]) throws(ChaosError) -> Inventory.Host {
        var rng = SystemRandomNumberGenerator()
        let decision = VictimGuard.choose(candidates.map { .init(id: $0.name, host: $0.name) }, wanted: 1, safety: SafetySpec(), groups: groups, using: &rng)
        guard let first = decision.chosen.first, let host = candidates.first(where: { $0.name == first.id }) else {
            throw ChaosError("safety.minHealthy", "Refusing to run '\(e.name)': " + (decision.limits.isEmpty ? "no candidate host" : decision.limits.joined(separator: "; ")) + ". Nothing was injected; the next fire tries again.")
        }
        return host
    }

    /// The groups holding one of the hosts (members are host names, or target names standing for
    /// their fixed or tagged hosts).
    static func relevantGroups(_ hosts: [Inventory.Host], _ inventory: Inventory) -> [(Inventory.Group, [Inventory.Host])] {
        let names = Set(hosts.map(\.name))
        return inventory.groups.compactMap { g in
            let members = g.members.flatMap { m -> [Inventory.Host] in
                if let h = inventory.host(named: m) { return [h] }
                return (inventory.candidateHosts(forTarget: m) ?? []).compactMap { inventory.host(named: $0) }
            }
            return members.contains(where: { names.contains($0.name) }) ? (g, members) : nil
        }
    }

    /// Each group's members healthy now: by its health probe (all members at once), or all of them
    /// when it has none.
    static func health(of groups: [(Inventory.Group, [Inventory.Host])], _ inventory: Inventory, _ probes: any ProbeFactory) async throws(ChaosError) -> [VictimGuard.Group] {
        var out: [VictimGuard.Group] = []
        for (g, members) in groups {
            var healthy = Set(members.map(\.name))
            if let spec = g.health {
                var runners: [(String, any ProbeRunner)] = []
                for m in members { runners.append((m.name, try probes.runner(for: spec.forMember(host: m.name, address: m.address)))) }
                let results = await withTaskGroup(of: (String, Bool).self) { group in
                    for (name, r) in runners {
                        group.addTask { (name, r.spec.tolerance.judge(await r.observe(), kind: r.spec.type).isOK) }
                    }
                    var all: [(String, Bool)] = []
                    for await x in group { all.append(x) }
                    return all
                }
                healthy = Set(results.filter(\.1).map(\.0))
            }
            out.append(VictimGuard.Group(name: g.name, members: Set(members.map(\.name)), minHealthy: g.minHealthy, healthy: healthy))
        }
        return out
    }

    static func note(_ candidates: [Inventory.Host], _ groups: [VictimGuard.Group], chosen: Inventory.Host) -> String {
        "victim \(chosen.name) of \(candidates.map(\.name).joined(separator: ", "))"
            + groups.map { "; group \($0.name): \($0.healthy.intersection($0.members).count)/\($0.members.count) healthy, minHealthy \($0.minHealthy)" }.joined()
    }
}
