import ChaosCore
import ChaosRun

/// The command line's way to the agents: with its `--identity` and `--pki-dir`, through the
/// connector `chaos-remote` installs.
extension AgentFleet {
    /// Opens a session with the identity of `global` (`--identity`, `--pki-dir`).
    static func open(_ inventory: Inventory, global: GlobalOptions) throws(ChaosError) -> AgentFleet {
        try open(inventory, connector: try RemoteServices.agents(), settings: global.settings)
    }

    /// The certificate, key and CA of the caller's identity.
    static func credentials(_ global: GlobalOptions) throws(ChaosError) -> ClientCredentials {
        try credentials(global.settings)
    }
}
