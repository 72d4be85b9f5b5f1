import CoreMetrics
import Prometheus
import Synchronization

/// The controller's metrics: the controller records them through swift-metrics (`Counter`,
/// `Gauge`); this bootstraps the process's metrics system with a Prometheus registry (once) and
/// renders it for `/metrics`.
public enum ControllerMetrics {
    private static let registry = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Bootstraps swift-metrics with Prometheus the first time; returns the exposition renderer.
    public static func bootstrap() -> @Sendable () -> String {
        let r: PrometheusCollectorRegistry = registry.withLock { current in
            if let current { return current }
            let made = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: made))
            current = made
            return made
        }
        return { r.emitToString() }
    }
}
