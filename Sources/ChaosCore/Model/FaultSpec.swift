/// A fault as written in an experiment (`fault:`) or built from command-line flags.
///
/// ```yaml
/// fault:
///   type: process.pause
///   duration: 30s
///   with: {}
/// ```
public struct FaultSpec: Hashable, Sendable, Codable {
    /// The kind, e.g. `process.pause`.
    public var type: FaultKind
    /// How long a reversible fault stays in place. Required for reversible kinds, absent for kills.
    public var duration: ChaosDuration?
    /// The kind's parameters.
    public var with: FaultParameters

    public init(type: FaultKind, duration: ChaosDuration? = nil, with parameters: FaultParameters) {
        self.type = type
        self.duration = duration
        self.with = parameters
    }

    enum CodingKeys: String, CodingKey { case type, duration, with }

    /// Decodes the file's shape; `with` may be absent (no parameters).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(type: try c.decode(FaultKind.self, forKey: .type), duration: try c.decodeIfPresent(ChaosDuration.self, forKey: .duration),
                  with: try c.decodeIfPresent(FaultParameters.self, forKey: .with) ?? FaultParameters())
    }
}

/// The parameters of every fault kind, one optional field each; the validator allows only the fields
/// that belong to the kind (see `FaultParameters.fields(for:)`).
public struct FaultParameters: Hashable, Sendable, Codable {
    // process.kill, systemd.kill
    /// The signal to send; `SIGKILL` by default.
    public var signal: SignalName?
    // systemd.kill
    /// Which of the unit's processes: `all` (default), `main` or `control`.
    public var who: String?
    // disk.fill
    /// A path on the filesystem to fill; the fill file goes in this directory (or its parent if a file).
    public var path: String?
    /// Fill until the filesystem is this full (percent of its size).
    public var percent: Double?
    /// Fill until only this much space is left.
    public var free: ByteSize?
    // disk.fill (as `size`: add exactly this much), stress.memory
    /// An amount of memory to hold, or of disk to fill.
    public var size: ByteSize?
    // stress.cpu
    /// Number of busy threads; defaults to the number of online CPUs.
    public var workers: Int?
    /// Percent of each worker's CPU time to burn (1–100); 100 by default.
    public var load: Double?
    // network.*
    /// `egress`, `ingress` or `both` (default `both`); only `egress` (the default there) for the kinds
    /// that need tc netem (`FaultKind.needsNetem`).
    public var direction: String?
    /// Remote hosts (inventory names), addresses or CIDRs. Empty means every remote.
    public var to: [String]?
    /// Ports or ranges such as `6379` or `8000-8100`.
    public var ports: [String]?
    /// `tcp`, `udp`, `icmp` or `all` (default `all`; `tcp` when ports are given and this is absent).
    public var `protocol`: String?
    /// The interface to act on; default: every interface. Required for the kinds that need tc netem.
    public var interface: String?
    /// network.loss: percent of packets dropped.
    public var lossPercent: Double?
    /// network.corrupt: percent of packets with a flipped bit.
    public var corruptPercent: Double?
    /// network.duplicate: percent of packets sent twice.
    public var duplicatePercent: Double?
    /// network.reorder: percent of packets sent at once, ahead of the others, which wait `delay`.
    public var reorderPercent: Double?
    /// network.delay: added latency, and its jitter; network.reorder: the wait of the packets not
    /// sent at once, and its jitter.
    public var delay: ChaosDuration?
    public var jitter: ChaosDuration?
    /// network.bandwidth: a rate such as `1mbit`.
    public var rate: String?
    /// network.partition: the other side (hosts, addresses or CIDRs); `to` is the first side.
    public var and: [String]?
    /// network.partition: `both` (default) or `oneway`.
    public var mode: String?
    /// Let a network fault cut the agent's own control port.
    public var includeControlPort: Bool?

    public init() {}

    /// The parameter names allowed for `kind`, for validation and for the JSON Schema.
    public static func fields(for kind: FaultKind) -> [String] {
        let scope = ["direction", "to", "ports", "protocol", "interface", "includeControlPort"]
        switch kind {
        case .processKill: return ["signal"]
        case .processPause: return []
        case .systemdStop: return []
        case .systemdKill: return ["signal", "who"]
        case .diskFill: return ["path", "percent", "free", "size"]
        case .stressCPU: return ["workers", "load"]
        case .stressMemory: return ["size"]
        case .networkBlackhole, .networkReject, .networkDNS: return scope
        case .networkLoss: return scope + ["lossPercent"]
        case .networkDelay: return scope + ["delay", "jitter"]
        // tc netem as a root qdisc: the whole egress of one interface, so no to/ports/protocol filter.
        case .networkCorrupt: return ["corruptPercent", "interface", "direction"]
        case .networkDuplicate: return ["duplicatePercent", "interface", "direction"]
        case .networkReorder: return ["reorderPercent", "delay", "jitter", "interface", "direction"]
        case .networkBandwidth: return ["interface", "rate", "direction"]
        case .networkPartition: return ["to", "and", "mode", "ports", "protocol", "includeControlPort"]
        }
    }
}
