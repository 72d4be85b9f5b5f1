public import ChaosCore

/// The agent's counters, rendered in Prometheus' text format on `/metrics`.
public actor AgentMetrics {
    var injectedByKind: [String: Int] = [:]
    var revertedByKind: [String: Int] = [:]
    var failedByKind: [String: Int] = [:]
    var leaseExpiries = 0

    public init() {}

    public func injected(_ kind: FaultKind) { injectedByKind[kind.rawValue, default: 0] += 1 }
    public func reverted(_ kind: FaultKind) { revertedByKind[kind.rawValue, default: 0] += 1 }
    public func failed(_ kind: FaultKind) { failedByKind[kind.rawValue, default: 0] += 1 }
    public func leaseExpired(_ kind: FaultKind) {
        leaseExpiries += 1
        revertedByKind[kind.rawValue, default: 0] += 1
    }

    /// The exposition text; `active` are the open faults now.
    public func render<T>(active: [T]) -> String {
        var lines: [String] = []
        func counter(_ name: String, _ help: String, _ values: [String: Int]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) counter")
            for (kind, v) in values.sorted(by: { $0.key < $1.key }) { lines.append("\(name){kind=\"\(kind)\"} \(v)") }
        }
        counter("chaos_agent_faults_injected_total", "Faults injected, by kind.", injectedByKind)
        counter("chaos_agent_faults_reverted_total", "Faults reverted, by kind.", revertedByKind)
        counter("chaos_agent_faults_failed_total", "Fault injections that failed, by kind.", failedByKind)
        lines.append("# HELP chaos_agent_lease_expiries_total Faults reverted because their lease ran out.")
        lines.append("# TYPE chaos_agent_lease_expiries_total counter")
        lines.append("chaos_agent_lease_expiries_total \(leaseExpiries)")
        lines.append("# HELP chaos_agent_faults_active Faults in place now.")
        lines.append("# TYPE chaos_agent_faults_active gauge")
        lines.append("chaos_agent_faults_active \(active.count)")
        return lines.joined(separator: "\n") + "\n"
    }
}
