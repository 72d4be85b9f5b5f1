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
    /// A store shared with other controllers (PostgreSQL), one of which leads at a time; nil: the
    /// embedded SQLite store in `storeDir`, for this controller alone.
    public var shared: SharedStoreSettings?
    /// This controller's name (its certificate's CN), the first part of its holder name.
    public var name: String = "controller"
    /// Whether it holds its SQLite store exclusively (`runs/controller.lock`), refusing to start
    /// beside another controller. Off only for tests that play a crash in process (the kernel
    /// releases a dead process's lock; an abandoned controller in the same process keeps it).
    public var lockStore = true

    public init(experiments: String, inventory: String, storeDir: String, seed: UInt64 = 0, grace: ChaosDuration = .seconds(300),
                tick: ChaosDuration = .seconds(10), gate: ChaosDuration = .seconds(5), api: ControllerAPISettings? = nil, notify: [WebhookSpec] = [],
                shared: SharedStoreSettings? = nil, name: String = "controller") {
        self.experiments = experiments; self.inventory = inventory; self.storeDir = storeDir; self.seed = seed; self.grace = grace
        self.tick = tick; self.gate = gate; self.api = api; self.notify = notify; self.shared = shared; self.name = name
    }
}

/// `store: {postgres: URL, passwordFile: F, lease: 15s}` of controller.yaml.
public struct SharedStoreSettings: Sendable, Hashable {
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`.
    public var url: String
    /// Read from `passwordFile` (so that the URL in the file can be shown).
    public var password: String?
    /// How long a leader's lease runs without a renewal; a dead leader is replaced after at most this.
    public var lease: ChaosDuration
    public init(url: String, password: String? = nil, lease: ChaosDuration = .seconds(15)) { self.url = url; self.password = password; self.lease = lease }
}
