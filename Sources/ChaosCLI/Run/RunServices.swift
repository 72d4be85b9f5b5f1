public import ChaosCore
import Synchronization

/// Probes, the run store and the report renderers, when this executable has them (`chaos-remote`
/// installs them at start;
/// `chaos` execs it for `run`, `verdicts` and `report`, like for commands that talk to agents).
public enum RunServices {
    public struct Installed: Sendable {
        public var probes: @Sendable () -> any ProbeFactory
        public var store: @Sendable (_ directory: String) throws(ChaosError) -> any RunStoring
        /// Renders runs in a format (`text`, `md`, `html`, `junit`, `json`) with an optional title.
        public var render: @Sendable (_ runs: [RunRecord], _ format: String, _ title: String?) -> String
        /// Renders a SPOF proof (`chaos spof verify`) with its runs, in `html` or `md`, with a title.
        public var renderSPOF: @Sendable (_ proof: SPOFProof.Report, _ runs: [RunRecord], _ format: String, _ title: String) -> String
        /// The controller's HTTP face and notifications (`chaos-remote` links them).
        public var controller: ControllerFace?
        public init(probes: @escaping @Sendable () -> any ProbeFactory,
                    store: @escaping @Sendable (_ directory: String) throws(ChaosError) -> any RunStoring,
                    render: @escaping @Sendable (_ runs: [RunRecord], _ format: String, _ title: String?) -> String,
                    renderSPOF: @escaping @Sendable (_ proof: SPOFProof.Report, _ runs: [RunRecord], _ format: String, _ title: String) -> String,
                    controller: ControllerFace? = nil) {
            self.probes = probes; self.store = store; self.render = render; self.renderSPOF = renderSPOF; self.controller = controller
        }
    }

    /// What the controller needs beyond runs: its API and dashboard, metrics, webhooks.
    public struct ControllerFace: Sendable {
        public struct Listening: Sendable {
            public var port: Int
            public var stop: @Sendable () async -> Void
            public init(port: Int, stop: @escaping @Sendable () async -> Void) { self.port = port; self.stop = stop }
        }
        public struct Notifier: Sendable {
            /// Posts an event; returns what failed.
            public var send: @Sendable (ControllerEvent) async -> [String]
            public var close: @Sendable () async -> Void
            public init(send: @escaping @Sendable (ControllerEvent) async -> [String], close: @escaping @Sendable () async -> Void) { self.send = send; self.close = close }
        }
        /// Bootstraps swift-metrics (once; before the controller makes its counters).
        public var bootstrapMetrics: @Sendable () -> Void
        public var serve: @Sendable (ControllerAPISettings, any ControllerBackend) async throws(ChaosError) -> Listening
        public var notifier: @Sendable ([WebhookSpec]) -> Notifier
        public init(bootstrapMetrics: @escaping @Sendable () -> Void,
                    serve: @escaping @Sendable (ControllerAPISettings, any ControllerBackend) async throws(ChaosError) -> Listening,
                    notifier: @escaping @Sendable ([WebhookSpec]) -> Notifier) {
            self.bootstrapMetrics = bootstrapMetrics; self.serve = serve; self.notifier = notifier
        }
    }
    private static let installed = Mutex<Installed?>(nil)

    public static func install(_ services: Installed) { installed.withLock { $0 = services } }

    /// The services, or (in `chaos`) exec `chaos-remote` with this command line.
    static func required() throws(ChaosError) -> Installed {
        if let s = installed.withLock({ $0 }) { return s }
        try Sibling.exec("chaos-remote", Array(CommandLine.arguments.dropFirst()),
                         missing: "Runs, verdicts and reports need it; install chaos-remote beside chaos (swift build --product chaos-remote).")
    }

    /// `--store-dir`, else `CHAOS_STORE_DIR`, else `STATE_DIR/runs`.
    static func storeDirectory(_ option: String?, global: GlobalOptions) -> String {
        option ?? Environment.value("CHAOS_STORE_DIR") ?? global.resolvedStateDir + "/runs"
    }
}
