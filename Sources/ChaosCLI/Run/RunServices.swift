public import ChaosCore
import Synchronization

/// Probes and the run store, when this executable has them (`chaos-remote` installs both at start;
/// `chaos` execs it for `run`, `verdicts` and `report`, like for commands that talk to agents).
public enum RunServices {
    public struct Installed: Sendable {
        public var probes: @Sendable () -> any ProbeFactory
        public var store: @Sendable (_ directory: String) throws(ChaosError) -> any RunStoring
        public init(probes: @escaping @Sendable () -> any ProbeFactory,
                    store: @escaping @Sendable (_ directory: String) throws(ChaosError) -> any RunStoring) {
            self.probes = probes; self.store = store
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
