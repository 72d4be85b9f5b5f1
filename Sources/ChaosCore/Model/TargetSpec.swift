/// What an experiment or one-off command hits.
///
/// Either a reference to a named inventory target (`ref: db-primary`, or simply `target: db-primary`), or
/// an inline description: an optional inventory `host` and a process selector. Selection (`count`,
/// `percent`, `random`) applies to both.
public struct TargetSpec: Hashable, Sendable, Codable {
    /// A named target of the inventory.
    public var ref: String?
    /// An inventory host name; absent means the local host.
    public var host: String?
    /// A failure domain of the inventory's hosts, `zone:b`: the fault acts on every host in it at
    /// once (each through its agent), and is reverted on all of them.
    public var domain: String?
    /// Which processes (or unit); required by process and systemd faults.
    public var process: ProcessSelector?
    /// How many of the matches.
    public var selection: Selection

    public init(ref: String? = nil, host: String? = nil, domain: String? = nil, process: ProcessSelector? = nil, selection: Selection = Selection()) {
        self.ref = ref; self.host = host; self.domain = domain; self.process = process; self.selection = selection
    }
}

// MARK: File format coding

/// Encoded as in files: `count`, `percent` and `random` sit next to `ref`, `host` and `process`.
extension TargetSpec {
    enum CodingKeys: String, CodingKey { case ref, host, domain, process, count, percent, random }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(ref: try c.decodeIfPresent(String.self, forKey: .ref),
                  host: try c.decodeIfPresent(String.self, forKey: .host),
                  domain: try c.decodeIfPresent(String.self, forKey: .domain),
                  process: try c.decodeIfPresent(ProcessSelector.self, forKey: .process),
                  selection: Selection(count: try c.decodeIfPresent(Int.self, forKey: .count),
                                       percent: try c.decodeIfPresent(Double.self, forKey: .percent),
                                       random: try c.decodeIfPresent(Bool.self, forKey: .random)))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(ref, forKey: .ref)
        try c.encodeIfPresent(host, forKey: .host)
        try c.encodeIfPresent(domain, forKey: .domain)
        try c.encodeIfPresent(process, forKey: .process)
        try c.encodeIfPresent(selection.count, forKey: .count)
        try c.encodeIfPresent(selection.percent, forKey: .percent)
        try c.encodeIfPresent(selection.random, forKey: .random)
    }
}
