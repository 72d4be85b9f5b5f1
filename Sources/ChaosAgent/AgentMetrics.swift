public import ChaosCore
import Foundation
import Prometheus

/// The agent's metrics, kept in a swift-prometheus registry and rendered in Prometheus' text format on
/// `/metrics` (role `read`: an observer certificate is enough). Names and labels are a contract: the rules
/// and the dashboard in deploy/prometheus use them, and docs/operations.md lists them.
///
/// | metric | type | labels |
/// |---|---|---|
/// | `chaos_agent_build_info` | gauge (1) | version |
/// | `chaos_agent_halted` | gauge | |
/// | `chaos_agent_certificate_expiry_timestamp_seconds` | gauge | |
/// | `chaos_agent_faults_active` | gauge | kind |
/// | `chaos_agent_faults_injected_total`, `_reverted_total`, `_failed_total` | counter | kind |
/// | `chaos_agent_lease_expiries_total` | counter | |
/// | `chaos_agent_credential_reloads_total` | counter | result (ok, failed) |
/// | `chaos_agent_http_request_duration_seconds` | histogram | method, status |
public final class AgentMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let haltedGauge: Gauge
    private let expiry: Gauge
    private let leaseExpiries: Counter

    public init(version: String = chaosVersion) {
        registry.makeGauge(descriptor: Self.name("chaos_agent_build_info", "The agent's version (always 1)."), labels: [("version", version)]).set(to: 1.0)
        haltedGauge = registry.makeGauge(descriptor: Self.name("chaos_agent_halted", "1 while the agent is halted (refuses new faults)."))
        expiry = registry.makeGauge(descriptor: Self.name("chaos_agent_certificate_expiry_timestamp_seconds", "When the agent's serving certificate expires (Unix time)."))
        leaseExpiries = registry.makeCounter(descriptor: Self.name("chaos_agent_lease_expiries_total", "Faults reverted because their lease ran out."))
        for kind in FaultKind.allCases {
            // Present from the start (at 0), so rate() and alerts see every kind.
            _ = counter("chaos_agent_faults_injected_total", kind)
            _ = counter("chaos_agent_faults_reverted_total", kind)
            _ = counter("chaos_agent_faults_failed_total", kind)
        }
    }

    public func injected(_ kind: FaultKind) { counter("chaos_agent_faults_injected_total", kind).increment() }
    public func reverted(_ kind: FaultKind) { counter("chaos_agent_faults_reverted_total", kind).increment() }
    public func failed(_ kind: FaultKind) { counter("chaos_agent_faults_failed_total", kind).increment() }
    public func leaseExpired(_ kind: FaultKind) {
        leaseExpiries.increment()
        reverted(kind)
    }
    public func halted(_ on: Bool) { haltedGauge.set(to: on ? 1.0 : 0.0) }
    public func certificateExpires(_ date: Date?) { expiry.set(date?.timeIntervalSince1970 ?? 0) }
    public func credentialsReloaded(ok: Bool) {
        registry.makeCounter(descriptor: Self.name("chaos_agent_credential_reloads_total", "Reloads of the TLS certificate, key, CA and revocation list (SIGHUP or a changed file)."),
                             labels: [("result", ok ? "ok" : "failed")]).increment()
    }

    /// One request served: its method, status and how long it took.
    public func request(method: String, status: Int, duration: Duration) {
        registry.makeDurationHistogram(descriptor: Self.name("chaos_agent_http_request_duration_seconds", "Time to answer an API request, by method and status."),
                                       labels: [("method", method), ("status", String(status))], buckets: Self.buckets).record(duration)
    }

    /// The exposition text; `active` are the open faults now.
    public func render(active: [AgentFault]) -> String {
        var counts: [FaultKind: Int] = [:]
        for f in active { counts[f.kind, default: 0] += 1 }
        // Every kind, at 0 when none is open: a kind whose last fault ended must not keep its last value.
        for kind in FaultKind.allCases {
            registry.makeGauge(descriptor: Self.name("chaos_agent_faults_active", "Faults in place now, by kind."), labels: [("kind", kind.rawValue)]).set(Double(counts[kind] ?? 0))
        }
        return registry.emitToString()
    }

    private func counter(_ name: String, _ kind: FaultKind) -> Counter {
        let help: String
        switch name {
        case "chaos_agent_faults_injected_total": help = "Faults injected, by kind."
        case "chaos_agent_faults_reverted_total": help = "Faults reverted, by kind."
        default: help = "Fault injections that failed, by kind."
        }
        return registry.makeCounter(descriptor: Self.name(name, help), labels: [("kind", kind.rawValue)])
    }

    static let buckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]

    static func name(_ full: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: full, unitName: "", helpText: help)
    }
}
