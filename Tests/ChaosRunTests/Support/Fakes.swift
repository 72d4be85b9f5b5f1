import ChaosCore
import ChaosEngine
import ChaosRun
import Synchronization

/// The agents of a test inventory, in process: each injected fault is kept (with its lease), a halt
/// reverts them all and refuses renewals until resumed, and every call is recorded with the clock's
/// time. `witness` is asked at each inject, to see what the controller had written by then.
final class FakeAgents: AgentConnector, AgentSession {
    struct Call: Sendable, CustomStringConvertible {
        var at: Int64
        var host: String
        var action: String
        var detail: String = ""
        var description: String { "\(at) \(host) \(action) \(detail)" }
    }
    private struct State {
        var calls: [Call] = []
        var faults: [String: AgentFault] = [:]
        var hostOf: [String: String] = [:]
        var halted: Set<String> = []
        var next = 0
    }
    private let state = Mutex(State())
    let clock: any ChaosClock
    let witness = Mutex<(@Sendable () -> String)?>(nil)

    init(clock: any ChaosClock) { self.clock = clock }

    func open(_ credentials: ClientCredentials) throws(ChaosError) -> any AgentSession { self }
    func agent(url: String, hostName: String) throws(ChaosError) -> any AgentClient { Agent(fleet: self, host: hostName) }
    func close() async {}

    var calls: [Call] { state.withLock { $0.calls } }
    func calls(_ action: String) -> [Call] { calls.filter { $0.action == action } }
    /// Faults held now (injected, not reverted).
    var held: [AgentFault] { state.withLock { Array($0.faults.values.filter { $0.state == "injected" }) } }

    fileprivate func record(_ host: String, _ action: String, _ detail: String = "") {
        let at = clock.now()
        state.withLock { $0.calls.append(Call(at: at, host: host, action: action, detail: detail)) }
    }

    struct Agent: AgentClient {
        let fleet: FakeAgents
        let host: String
        var hostName: String { host }

        func health() async throws(ChaosError) -> AgentHealth {
            fleet.record(host, "health")
            return fleet.state.withLock { s in AgentHealth(status: "ok", halted: s.halted.contains(host), faults: s.faults.values.filter { $0.state == "injected" }.count) }
        }

        func faults(all: Bool) async throws(ChaosError) -> [AgentFault] { fleet.state.withLock { Array($0.faults.values) } }

        func fault(_ id: String) async throws(ChaosError) -> AgentFault {
            guard let f = fleet.state.withLock({ $0.faults[id] }) else { throw ChaosError("ledger.unknownFault", "No fault \(id).") }
            return f
        }

        func discovery() async throws(ChaosError) -> HostDiscovery {
            fleet.record(host, "discovery")
            return HostDiscovery(at: fleet.clock.now(), windowMs: 0, listeners: [], connections: [])
        }

        func watchDiscovery(for duration: ChaosDuration, every: ChaosDuration) async throws(ChaosError) -> DiscoveryWatchStatus {
            fleet.record(host, "watch", duration.description)
            let now = fleet.clock.now()
            return DiscoveryWatchStatus(watchingSince: now, watchingUntil: now + duration.milliseconds, everyMs: every.milliseconds)
        }

        func preview(_ request: InjectRequest) async throws(ChaosError) -> AgentPreview {
            fleet.record(host, "preview", request.fault.type.rawValue)
            return AgentPreview(target: "app (4242)", victims: [ProcessEntry(pid: 4242, ppid: 1, name: "app", cmdline: ["app"], state: "S", startTime: 1)],
                                matched: 1, unit: nil)
        }

        func inject(_ request: InjectRequest) async throws(ChaosError) -> AgentFault {
            let seen = fleet.witness.withLock { $0 }?() ?? ""
            fleet.record(host, "inject", seen)
            let now = fleet.clock.now()
            return try fleet.state.withLock { (s: inout State) throws(ChaosError) -> AgentFault in
                if s.halted.contains(host) { throw ChaosError("agent.halted", "The agent on \(host) is halted.") }
                s.next += 1
                let f = AgentFault(id: "f-\(s.next)", kind: request.fault.type, state: "injected", target: "app (4242)", actions: ["\(request.fault.type) on app (4242)"],
                                   deadline: request.fault.duration.map { now + $0.milliseconds }, leaseExpiresAt: request.lease.map { now + $0.milliseconds },
                                   idempotencyKey: request.idempotencyKey, verified: "active")
                s.faults[f.id] = f
                s.hostOf[f.id] = host
                return f
            }
        }

        func revert(_ id: String) async throws(ChaosError) -> AgentFault {
            fleet.record(host, "revert", id)
            return try fleet.state.withLock { (s: inout State) throws(ChaosError) -> AgentFault in
                guard var f = s.faults[id] else { throw ChaosError("ledger.unknownFault", "No fault \(id).") }
                f.state = "reverted"
                s.faults[id] = f
                return f
            }
        }

        func renew(_ id: String, lease: ChaosDuration) async throws(ChaosError) -> AgentFault {
            fleet.record(host, "renew", id)
            let now = fleet.clock.now()
            return try fleet.state.withLock { (s: inout State) throws(ChaosError) -> AgentFault in
                if s.halted.contains(host) { throw ChaosError("agent.halted", "The agent on \(host) is halted.") }
                guard var f = s.faults[id] else { throw ChaosError("ledger.unknownFault", "No fault \(id).") }
                guard f.state == "injected" else { throw ChaosError("fault.alreadyReverted", "\(id) is reverted.") }
                f.leaseExpiresAt = now + lease.milliseconds
                s.faults[id] = f
                return f
            }
        }

        func halt(reason: String) async throws(ChaosError) -> AgentHaltResult {
            fleet.record(host, "halt", reason)
            let reverted = fleet.state.withLock { s -> [String] in
                s.halted.insert(host)
                let ids = s.faults.values.filter { $0.state == "injected" && s.hostOf[$0.id] == host }.map(\.id).sorted()
                for id in ids { s.faults[id]?.state = "reverted" }
                return ids
            }
            return AgentHaltResult(halted: true, reverted: reverted, failed: [])
        }

        func resume() async throws(ChaosError) {
            fleet.record(host, "resume")
            _ = fleet.state.withLock { $0.halted.remove(host) }
        }
    }
}

/// Probes that answer at once, at the clock's time: HTTP 200 while `healthy` says so, else 503.
final class FakeProbes: ProbeFactory {
    let clock: any ChaosClock
    let healthy: @Sendable (ProbeSpec, Int64) -> Bool
    private let count = Mutex(0)

    init(clock: any ChaosClock, healthy: @escaping @Sendable (ProbeSpec, Int64) -> Bool = { _, _ in true }) {
        self.clock = clock; self.healthy = healthy
    }

    /// Observations made so far.
    var observations: Int { count.withLock { $0 } }

    func runner(for spec: ProbeSpec) throws(ChaosError) -> any ProbeRunner { Runner(spec: spec, factory: self) }
    func shutdown() async {}

    struct Runner: ProbeRunner {
        let spec: ProbeSpec
        let factory: FakeProbes
        func observe() async -> Observation {
            factory.count.withLock { $0 += 1 }
            let now = factory.clock.now()
            return Observation(probe: spec.name, at: now, latencyMs: 1, status: factory.healthy(spec, now) ? 200 : 503)
        }
    }
}
