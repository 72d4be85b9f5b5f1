public import ChaosCore

/// Probes, the run store, the report renderers and the controller's face: what `chaos-remote` links
/// and installs at start (the command line keeps the registry) and hands to ChaosRun in a
/// ``RunEnvironment``. ChaosRun reaches probes and the store only through these, so `chaos` links
/// neither NIO nor SQLite.
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
        /// Opens a store shared by several controllers (PostgreSQL); the directory is where this
        /// controller's verdict log goes.
        public var sharedStore: (@Sendable (_ settings: SharedStoreSettings, _ directory: String) async throws(ChaosError) -> any SharedControllerStore)?
        public init(probes: @escaping @Sendable () -> any ProbeFactory,
                    store: @escaping @Sendable (_ directory: String) throws(ChaosError) -> any RunStoring,
                    render: @escaping @Sendable (_ runs: [RunRecord], _ format: String, _ title: String?) -> String,
                    renderSPOF: @escaping @Sendable (_ proof: SPOFProof.Report, _ runs: [RunRecord], _ format: String, _ title: String) -> String,
                    controller: ControllerFace? = nil,
                    sharedStore: (@Sendable (_ settings: SharedStoreSettings, _ directory: String) async throws(ChaosError) -> any SharedControllerStore)? = nil) {
            self.probes = probes; self.store = store; self.render = render; self.renderSPOF = renderSPOF; self.controller = controller
            self.sharedStore = sharedStore
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

    /// The store directory: `option`, else `CHAOS_STORE_DIR`, else `STATE_DIR/runs`.
    public static func storeDirectory(_ option: String?, settings: RunSettings) -> String {
        option ?? Environment.value("CHAOS_STORE_DIR") ?? settings.stateDir + "/runs"
    }

    /// Stores a finished run; a store that fails is a warning (the verdict is still shown).
    public static func keep(_ record: RunRecord, storeDir: String?, settings: RunSettings, services: Installed) async {
        do {
            try await services.store(storeDirectory(storeDir, settings: settings)).save(record)
        } catch {
            Terminal.err("warning: the run could not be stored: \(error.message)")
        }
    }
}
