/// Graceful-degradation criteria: what must hold for the run to pass.
///
/// Defaults an SRE would choose: steady state 100 % available before, at least 95 % during the
/// fault, 100 % after recovery, no outage longer than 10s, recovery within 30s of the revert.
public struct ExpectSpec: Hashable, Sendable, Codable {
    public var availabilityBefore: Double
    public var availabilityDuring: Double
    public var availabilityAfter: Double
    /// The longest run of failed observations allowed.
    public var maxOutage: ChaosDuration
    /// How soon after the revert (or after a kill) the steady state must be back.
    public var recoverWithin: ChaosDuration
    /// Latency bounds during the fault, by percentile.
    public var latencyP50: ChaosDuration?
    public var latencyP95: ChaosDuration?
    public var latencyP99: ChaosDuration?

    public init(availabilityBefore: Double = 100, availabilityDuring: Double = 95, availabilityAfter: Double = 100,
                maxOutage: ChaosDuration = .seconds(10), recoverWithin: ChaosDuration = .seconds(30),
                latencyP50: ChaosDuration? = nil, latencyP95: ChaosDuration? = nil, latencyP99: ChaosDuration? = nil) {
        self.availabilityBefore = availabilityBefore; self.availabilityDuring = availabilityDuring
        self.availabilityAfter = availabilityAfter; self.maxOutage = maxOutage; self.recoverWithin = recoverWithin
        self.latencyP50 = latencyP50; self.latencyP95 = latencyP95; self.latencyP99 = latencyP99
    }
}

/// A condition that aborts a run and reverts its fault at once.
///
/// ```yaml
/// stopWhen:
///   - probe: web          # absent: any probe
///     availabilityBelow: 50%
///     for: 10s
/// ```
public struct StopCondition: Hashable, Sendable, Codable {
    public var probe: String?
    public var availabilityBelow: Double
    public var window: ChaosDuration
    public init(probe: String? = nil, availabilityBelow: Double, window: ChaosDuration) {
        self.probe = probe; self.availabilityBelow = availabilityBelow; self.window = window
    }
}

/// Blast-radius limits and run options.
public struct SafetySpec: Hashable, Sendable, Codable {
    /// Never hit more than this many processes or hosts at once.
    public var maxCount: Int?
    /// Never hit more than this percent of a group.
    public var maxPercent: Double?
    /// Plan and show, but inject nothing.
    public var dryRun: Bool
    /// Allow deny-listed processes and units (sshd, the service manager, the agent).
    public var allowProtected: Bool
    public init(maxCount: Int? = nil, maxPercent: Double? = nil, dryRun: Bool = false, allowProtected: Bool = false) {
        self.maxCount = maxCount; self.maxPercent = maxPercent; self.dryRun = dryRun; self.allowProtected = allowProtected
    }
}

// MARK: File format coding

/// Encoded as in files: `availability: {before, during, after}` and `latency: {p50, p95, p99}`.
extension ExpectSpec {
    enum CodingKeys: String, CodingKey { case availability, maxOutage, recoverWithin, latency }
    enum AvailabilityKeys: String, CodingKey { case before, during, after }
    enum LatencyKeys: String, CodingKey { case p50, p95, p99 }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        if c.contains(.availability) {
            let a = try c.nestedContainer(keyedBy: AvailabilityKeys.self, forKey: .availability)
            availabilityBefore = try a.decodeIfPresent(Double.self, forKey: .before) ?? availabilityBefore
            availabilityDuring = try a.decodeIfPresent(Double.self, forKey: .during) ?? availabilityDuring
            availabilityAfter = try a.decodeIfPresent(Double.self, forKey: .after) ?? availabilityAfter
        }
        maxOutage = try c.decodeIfPresent(ChaosDuration.self, forKey: .maxOutage) ?? maxOutage
        recoverWithin = try c.decodeIfPresent(ChaosDuration.self, forKey: .recoverWithin) ?? recoverWithin
        if c.contains(.latency) {
            let l = try c.nestedContainer(keyedBy: LatencyKeys.self, forKey: .latency)
            latencyP50 = try l.decodeIfPresent(ChaosDuration.self, forKey: .p50)
            latencyP95 = try l.decodeIfPresent(ChaosDuration.self, forKey: .p95)
            latencyP99 = try l.decodeIfPresent(ChaosDuration.self, forKey: .p99)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        var a = c.nestedContainer(keyedBy: AvailabilityKeys.self, forKey: .availability)
        try a.encode(availabilityBefore, forKey: .before)
        try a.encode(availabilityDuring, forKey: .during)
        try a.encode(availabilityAfter, forKey: .after)
        try c.encode(maxOutage, forKey: .maxOutage)
        try c.encode(recoverWithin, forKey: .recoverWithin)
        if latencyP50 != nil || latencyP95 != nil || latencyP99 != nil {
            var l = c.nestedContainer(keyedBy: LatencyKeys.self, forKey: .latency)
            try l.encodeIfPresent(latencyP50, forKey: .p50)
            try l.encodeIfPresent(latencyP95, forKey: .p95)
            try l.encodeIfPresent(latencyP99, forKey: .p99)
        }
    }
}

/// Encoded as in files: the window is `for`.
extension StopCondition {
    enum CodingKeys: String, CodingKey {
        case probe, availabilityBelow
        case window = "for"
    }
}

/// Decoding applies the file's defaults (`false`) to the flags.
extension SafetySpec {
    enum CodingKeys: String, CodingKey { case maxCount, maxPercent, dryRun, allowProtected }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(maxCount: try c.decodeIfPresent(Int.self, forKey: .maxCount),
                  maxPercent: try c.decodeIfPresent(Double.self, forKey: .maxPercent),
                  dryRun: try c.decodeIfPresent(Bool.self, forKey: .dryRun) ?? false,
                  allowProtected: try c.decodeIfPresent(Bool.self, forKey: .allowProtected) ?? false)
    }
}
