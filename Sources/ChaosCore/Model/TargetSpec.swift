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
    /// Which processes (or unit); required by process and systemd faults.
    public var process: ProcessSelector?
    /// How many of the matches.
    public var selection: Selection

    public init(ref: String? = nil, host: String? = nil, process: ProcessSelector? = nil, selection: Selection = Selection()) {
        self.ref = ref; self.host = host; self.process = process; self.selection = selection
    }
}
