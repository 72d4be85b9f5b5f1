import ChaosCore

/// How the controller runs, as plain values: the command line builds them from controller.yaml
/// (`ControllerConfiguration`) and its options; tests build them by hand.
public struct ControllerSettings: Sendable {
    /// The experiment directory, searched for *.yaml, *.yml and *.json, reloaded on change.
    public var experiments: String
    /// The inventory file: the hosts, their agents, targets and groups.
    public var inventory: String
    /// The store (runs, fires, controller values, audit, verdict log).
    public var storeDir: String
    /// Of the Chaos-Monkey draws.
    public var seed: UInt64 = 0
    /// A fire missed by longer is recorded as missed, not run late.
    public var grace: ChaosDuration = .seconds(300)
    /// How often the controller looks at the clock.
    public var tick: ChaosDuration = .seconds(10)
    /// Steady state observed before each fault.
    public var gate: ChaosDuration = .seconds(5)
    /// The API and dashboard (off when nil). Its TLS files are checked before it is served.
    public var api: ControllerAPISettings?
    /// Webhooks on run start, verdict, halt and resume.
    public var notify: [WebhookSpec] = []

    public init(experiments: String, inventory: String, storeDir: String, seed: UInt64 = 0, grace: ChaosDuration = .seconds(300),
                tick: ChaosDuration = .seconds(10), gate: ChaosDuration = .seconds(5), api: ControllerAPISettings? = nil, notify: [WebhookSpec] = []) {
        self.experiments = experiments; self.inventory = inventory; self.storeDir = storeDir; self.seed = seed; self.grace = grace
        self.tick = tick; self.gate = gate; self.api = api; self.notify = notify
    }
}
