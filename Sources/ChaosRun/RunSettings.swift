import ChaosCore
import ChaosEngine

/// The settings a run, a game day or the controller takes from whoever starts it, as plain values:
/// the command line builds them from its options (`GlobalOptions`), tests build them by hand.
public struct RunSettings: Hashable, Sendable {
    /// How results are shown. The live progress line is drawn only for `table`, on a terminal.
    public enum Output: Hashable, Sendable { case table, json }

    public var output: Output
    /// Where this host's fault ledger lives (STATE_DIR), resolved.
    public var stateDir: String
    /// The certificate for the agents, PKI_DIR/NAME.pem and NAME-key.pem; nil: `CHAOS_IDENTITY`,
    /// else `USER`, else the login name.
    public var identity: String?
    /// Where that certificate and the CA (ca.pem) are; nil: `CHAOS_PKI_DIR`, else /etc/chaos/pki.
    public var pkiDir: String?

    public init(output: Output = .table, stateDir: String, identity: String? = nil, pkiDir: String? = nil) {
        self.output = output; self.stateDir = stateDir; self.identity = identity; self.pkiDir = pkiDir
    }
}

/// Everything the application layer is given from outside, at its boundaries: the settings, the
/// services `chaos-remote` installs (probes, the store, renderers, the controller's face), the way
/// to reach agents, the clock, and what interrupts waits. Fakes go here in tests; nothing global.
public struct RunEnvironment: Sendable {
    public var settings: RunSettings
    public var services: RunServices.Installed
    /// How agents are reached; asked only when an agent is needed.
    public var agents: @Sendable () throws(ChaosError) -> any AgentConnector
    /// Every reading of the time and every wait that decides something goes through it.
    public var clock: any ChaosClock
    /// What cuts waits short (SIGINT, SIGTERM, SIGHUP in a process: ``ProcessSignals``); nil: nothing.
    public var signals: (any SignalSource)?

    public init(settings: RunSettings, services: RunServices.Installed, agents: @escaping @Sendable () throws(ChaosError) -> any AgentConnector,
                clock: any ChaosClock = SystemWallClock(), signals: (any SignalSource)? = ProcessSignals()) {
        self.settings = settings; self.services = services; self.agents = agents; self.clock = clock; self.signals = signals
    }

    /// What acts on this host, with this environment's state directory and clock.
    public var host: HostContext { HostContext(stateDir: settings.stateDir, clock: clock) }
}
