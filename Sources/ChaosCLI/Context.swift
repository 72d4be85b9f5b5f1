import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosLinux
import ChaosRun
import Foundation

/// What a host-acting command needs: the host, the ledger and engine, and the inventory. The work is
/// ChaosRun's ``HostContext``; this keeps the command's options beside it.
struct Context {
    let global: GlobalOptions
    let base: HostContext
    let clock = SystemWallClock()

    init(global: GlobalOptions) {
        self.global = global
        self.base = HostContext(stateDir: global.resolvedStateDir, clock: SystemWallClock())
    }

    var host: LinuxHost { base.host }

    /// The engine over the ledger; created on first use.
    func engine(create: Bool = true) throws(ChaosError) -> FaultEngine? { try base.engine(create: create) }

    /// How this process starts a fault it holds itself: owned by it, with a guardian (``HostContext/faultStart()``).
    func faultStart() -> FaultStart { base.faultStart() }

    /// Stops a guardian this process started, if it is still that process (pid and start time).
    static func stopGuardian(_ g: ProcessIdentity) { HostContext.stopGuardian(g) }

    /// Reverts leftovers (past deadline, owner gone) before doing anything else, and says so on stderr.
    @discardableResult
    func recoverLeftovers() async -> [FaultEngine.Recovery] { await base.recoverLeftovers() }

    /// Loads and validates an inventory file.
    func loadInventory(_ path: String?) throws(ChaosError) -> Inventory? { try DocumentFiles.inventory(path) }

    /// Reads and validates a chaos file of `kind` (`Inventory`, `Experiment`), reporting every problem.
    static func loadDocument(_ path: String, kind: String) throws(ChaosError) -> ChaosDocument { try DocumentFiles.load(path, kind: kind) }

    /// A resolver for targets on this host.
    func resolver(inventory: Inventory?) -> TargetResolver { base.resolver(inventory: inventory) }
}

extension GlobalOptions {
    /// The options as ChaosRun takes them.
    var settings: RunSettings {
        RunSettings(output: output == .json ? .json : .table, stateDir: resolvedStateDir, identity: identity, pkiDir: pkiDir)
    }
}

extension RunEnvironment {
    /// A command's environment: its options, the installed services, the agents through
    /// `chaos-remote`'s connector, the wall clock, and SIGINT/SIGTERM/SIGHUP.
    static func command(_ global: GlobalOptions, services: RunServices.Installed) -> RunEnvironment {
        RunEnvironment(settings: global.settings, services: services, agents: { () throws(ChaosError) -> any AgentConnector in try RemoteServices.agents() })
    }
}

extension RunServices {
    /// The services `chaos-remote` installs (``RemoteServices``; in `chaos`, the commands that need
    /// them were handed to `chaos-remote` before they ran).
    static func required() throws(ChaosError) -> Installed { try RemoteServices.run() }

    /// `--store-dir`, else `CHAOS_STORE_DIR`, else `STATE_DIR/runs`.
    static func storeDirectory(_ option: String?, global: GlobalOptions) -> String {
        storeDirectory(option, settings: global.settings)
    }

    /// The runs to read: a shared PostgreSQL store when `url` is given (`--store postgres://...`,
    /// the password from the URL or `PGPASSWORD`, as libpq takes it), else the SQLite store of
    /// ``storeDirectory(_:global:)``. Returns the store, where it is (for messages, without the
    /// password) and how to close it.
    static func runStore(url: String?, storeDir: String?, global: GlobalOptions) async throws(ChaosError)
        -> (store: any RunStoring, name: String, close: @Sendable () async -> Void) {
        let services = try required()
        guard let url else {
            let dir = storeDirectory(storeDir, global: global)
            return (try services.store(dir), dir, {})
        }
        _ = try PostgresURL.parse(url)
        guard let open = services.sharedStore else {
            throw .internalError("store.unsupported", "This build of chaos cannot read a PostgreSQL store.")
        }
        let shared = try await open(SharedStoreSettings(url: url, password: Environment.value("PGPASSWORD")), storeDirectory(storeDir, global: global))
        return (shared, PostgresURL.redacted(url), { await shared.close() })
    }
}
