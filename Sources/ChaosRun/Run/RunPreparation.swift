import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosLinux
import Foundation

/// A run ready to go, and what to close after it.
public struct PreparedRun: Sendable {
    public var driver: RunDriver
    public var close: @Sendable () async -> Void
}

/// Turning an experiment into a run: `chaos run`, one-offs with `--observe`, game days, SPOF
/// verification and the controller all start runs through here.
public enum RunPreparation {
    /// Checks an experiment (probes, blast radius), places its fault (here or through an agent) and
    /// makes its probes. Nothing is injected yet.
    /// - Parameters:
    ///   - fleet: a session to the agents to use (and leave open) instead of opening one.
    ///   - probes: a probe factory to use (and leave open) instead of making one.
    public static func prepare(_ experiment: Experiment, file: String?, inventory: Inventory?, gate: ChaosDuration, environment: RunEnvironment,
                               fleet shared: AgentFleet? = nil, probes sharedProbes: (any ProbeFactory)? = nil) async throws(ChaosError) -> PreparedRun {
        guard !experiment.probes.isEmpty else {
            throw .usage("run.noProbes", "'\(file ?? experiment.name)' has no probes: a run needs at least one to judge the system. Add e.g. 'probes: [{name: web, type: http, url: http://...}]'.")
        }
        let (driver, fleet) = try await faultDriver(experiment, inventory: inventory, environment: environment, fleet: shared)
        if let why = experiment.safety.refusal(victims: driver.blast.victims, matched: driver.blast.matched) {
            await fleet?.close()
            throw ChaosError("safety.blastRadius", "Refusing to run '\(experiment.name)': \(why). Narrow the target (count, percent) or raise the limit.")
        }
        let factory = sharedProbes ?? environment.services.probes()
        let owned = sharedProbes == nil
        let closeProbes: @Sendable () async -> Void = { if owned { await factory.shutdown() } }
        var runners: [any ProbeRunner] = []
        do { for p in experiment.probes { runners.append(try factory.runner(for: p)) } } catch {
            await closeProbes(); await fleet?.close()
            throw error
        }
        var runDriver = RunDriver(experiment: experiment, file: file, fault: driver, probes: runners, output: environment.settings.output)
        runDriver.gate = gate
        runDriver.clock = environment.clock
        runDriver.signals = environment.signals
        return PreparedRun(driver: runDriver, close: { await closeProbes(); await fleet?.close() })
    }

    static func agentDriver(_ fleet: AgentFleet, _ host: Inventory.Host, _ request: InjectRequest, clock: any ChaosClock) async -> Result<any FaultDriver, ChaosError> {
        do { return .success(try await AgentFaultDriver(agent: try fleet.client(host), request: request, clock: clock)) } catch { return .failure(error) }
    }

    /// The fault driver: through the target's agent when the inventory places it on another host.
    /// Returns the session it opened for that (nil when it used `shared` or none).
    public static func faultDriver(_ e: Experiment, inventory: Inventory?, environment: RunEnvironment,
                                   fleet shared: AgentFleet? = nil) async throws(ChaosError) -> (any FaultDriver, AgentFleet?) {
        let ctx = environment.host
        var network = FaultRequest.Network(controlPorts: [Environment.value("CHAOS_CONTROL_PORT").flatMap(Int.init) ?? 7433])
        network.remotes = try AddressResolver.resolve(e.fault.with.to ?? [], inventory: inventory)
        if e.fault.type == .networkPartition {
            network.sideA = network.remotes
            network.sideB = try AddressResolver.resolve(e.fault.with.and ?? [], inventory: inventory)
            network.oneWay = e.fault.with.mode == "oneway"
        }
        if let domain = e.target.domain {
            return try await fanOutDriver(e, domain: domain, inventory: inventory, environment: environment, network: network, fleet: shared)
        }
        if let inventory, e.target.ref != nil || e.target.host != nil,
           case .remote(let host, let agentTarget) = try await ctx.resolver(inventory: inventory).placement(e.target, for: e.fault.type) {
            let fleet: AgentFleet
            if let shared { fleet = shared.lent() } else { fleet = try AgentFleet.open(inventory, environment: environment) }
            let request = InjectRequest(runID: nil, idempotencyKey: "run/\(UUID().uuidString.lowercased())", lease: e.fault.duration == nil ? nil : LeaseKeeper.lease,
                                        fault: e.fault, target: agentTarget, to: network.remotes.isEmpty ? nil : network.remotes,
                                        between: network.sideA.isEmpty ? nil : network.sideA, and: network.sideB.isEmpty ? nil : network.sideB)
            switch await Self.agentDriver(fleet, host, request, clock: environment.clock) {
            case .success(let d): return (d, fleet)
            case .failure(let e):
                await fleet.close()
                throw e
            }
        }
        await ctx.recoverLeftovers()
        if e.fault.type == .networkPartition {
            network.localAddresses = Array(LocalIdentity.names(hostname: ctx.host.facts.hostname).filter { AddressText.family(of: $0) != 0 })
        }
        return (try await LocalFaultDriver(ctx: ctx, spec: e.fault, target: e.target, inventory: inventory, network: network,
                                           force: e.safety.allowProtected), nil)
    }
}

extension RunPreparation {
    /// `target: {domain: zone:b}`: the fault on every host of the domain at once, each through its
    /// agent (or here, for this host), as one ``FanOutFaultDriver``.
    static func fanOutDriver(_ e: Experiment, domain text: String, inventory: Inventory?, environment: RunEnvironment,
                             network: FaultRequest.Network, fleet shared: AgentFleet?) async throws(ChaosError) -> (any FaultDriver, AgentFleet?) {
        guard let inventory else {
            throw .usage("target.noInventory", "Domain '\(text)' is a failure domain of the inventory's hosts. Pass '--inventory FILE'.")
        }
        guard let domain = FailureDomain(parsing: text) else {
            throw .usage("target.badDomain", "'\(text)' is not a failure domain: write KIND:VALUE, e.g. 'zone:b'.")
        }
        let hosts = inventory.hosts(in: domain)
        guard !hosts.isEmpty else {
            let values = inventory.domains(kind: domain.kind).map(\.value)
            throw .usage("target.noHost", "No host of the inventory is in \(domain). "
                         + (values.isEmpty ? "No host has a '\(domain.kind)' domain; give hosts e.g. 'domains: {\(domain.kind): a}'." : "Values of \(domain.kind): \(values.joined(separator: ", "))."))
        }
        let fleet: AgentFleet
        if let shared { fleet = shared.lent() } else { fleet = try AgentFleet.open(inventory, environment: environment) }
        let hostWide = e.fault.type.subject == .host
        var parts: [(host: String, driver: any FaultDriver)] = []
        for host in hosts {
            var one = e
            one.target = TargetSpec(host: host.name, process: hostWide ? nil : e.target.process, selection: e.target.selection)
            do {
                let (driver, _) = try await faultDriver(one, inventory: inventory, environment: environment, fleet: fleet)
                parts.append((host.name, driver))
            } catch {
                await fleet.close()
                throw ChaosError(error.code, "On \(host.name) (of \(domain)): \(error.message)", exit: error.exit)
            }
        }
        return (FanOutFaultDriver(domain: domain.description, parts: parts), shared == nil ? fleet : nil)
    }
}

/// Turns host names into addresses through the inventory; addresses and CIDRs pass as they are.
public enum AddressResolver {
    public static func resolve(_ names: [String], inventory: Inventory?) throws(ChaosError) -> [String] {
        try names.map { (name: String) throws(ChaosError) -> String in
            if AddressText.family(of: name) != 0 { return name }
            guard let inventory else {
                throw .usage("target.noInventory", "'\(name)' is not an address or CIDR. Give addresses, or pass '--inventory FILE' to use host names.")
            }
            guard let host = inventory.host(named: name) else {
                let names = inventory.hosts.map(\.name)
                let hint = Spelling.closest(to: name, in: names).map { " Did you mean '\($0)'?" } ?? ""
                throw .usage("target.unknownHost", "No host '\(name)' in the inventory.\(hint)")
            }
            guard AddressText.family(of: host.address) != 0 else {
                throw .usage("target.badAddress", "Host '\(name)' has address '\(host.address)', which is not an IP address; network faults need IP addresses in the inventory.")
            }
            return host.address
        }
    }
}
