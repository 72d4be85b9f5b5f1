/// The API version every file carries.
public let chaosAPIVersion = "chaos/v1"
/// The version of chaos (`chaos --version`, controllers' heartbeats).
public let chaosVersion = "0.1.0"

/// An experiment file (`kind: Experiment`): a hypothesis about resilience, tested by one fault.
public struct Experiment: Hashable, Sendable, Codable {
    /// Lowercase letters, digits, `-`, `_` and `.`; unique in a directory.
    public var name: String
    public var description: String?
    public var target: TargetSpec
    public var fault: FaultSpec
    public var probes: [ProbeSpec]
    public var expect: ExpectSpec
    public var stopWhen: [StopCondition]
    public var schedule: ScheduleSpec?
    public var safety: SafetySpec
    /// How much this experiment counts in a game day's resilience score (default 1).
    public var weight: Double

    public init(name: String, description: String? = nil, target: TargetSpec, fault: FaultSpec, probes: [ProbeSpec] = [],
                expect: ExpectSpec = ExpectSpec(), stopWhen: [StopCondition] = [], schedule: ScheduleSpec? = nil,
                safety: SafetySpec = SafetySpec(), weight: Double = 1) {
        self.name = name; self.description = description; self.target = target; self.fault = fault
        self.probes = probes; self.expect = expect; self.stopWhen = stopWhen; self.schedule = schedule; self.safety = safety
        self.weight = weight
    }
}

// MARK: File format coding

/// Experiments encode as the file format, `apiVersion` and `kind` included, so JSON written by chaos can
/// be read again as an experiment file; decoding takes the same shape, with the file's defaults.
extension Experiment {
    enum CodingKeys: String, CodingKey {
        case apiVersion, kind, name, description, target, fault, probes, expect, stopWhen, schedule, safety, weight
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try checkHeader(c, apiVersion: .apiVersion, kind: .kind, expected: "Experiment")
        self.init(
            name: try c.decode(String.self, forKey: .name),
            description: try c.decodeIfPresent(String.self, forKey: .description),
            target: try c.decode(TargetSpec.self, forKey: .target),
            fault: try c.decode(FaultSpec.self, forKey: .fault),
            probes: try c.decodeIfPresent([ProbeSpec].self, forKey: .probes) ?? [],
            expect: try c.decodeIfPresent(ExpectSpec.self, forKey: .expect) ?? ExpectSpec(),
            stopWhen: try c.decodeIfPresent([StopCondition].self, forKey: .stopWhen) ?? [],
            schedule: try c.decodeIfPresent(ScheduleSpec.self, forKey: .schedule),
            safety: try c.decodeIfPresent(SafetySpec.self, forKey: .safety) ?? SafetySpec(),
            weight: try c.decodeIfPresent(Double.self, forKey: .weight) ?? 1
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(chaosAPIVersion, forKey: .apiVersion)
        try c.encode("Experiment", forKey: .kind)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(description, forKey: .description)
        try c.encode(target, forKey: .target)
        try c.encode(fault, forKey: .fault)
        try c.encode(probes, forKey: .probes)
        try c.encode(expect, forKey: .expect)
        try c.encode(stopWhen, forKey: .stopWhen)
        try c.encodeIfPresent(schedule, forKey: .schedule)
        try c.encode(safety, forKey: .safety)
        try c.encode(weight, forKey: .weight)
    }
}

/// Checks `apiVersion` and `kind` when a decoded value carries them.
func checkHeader<K: CodingKey>(_ c: KeyedDecodingContainer<K>, apiVersion: K, kind: K, expected: String) throws {
    if let v = try c.decodeIfPresent(String.self, forKey: apiVersion), v != chaosAPIVersion {
        throw DecodingError.dataCorruptedError(forKey: apiVersion, in: c, debugDescription: "apiVersion '\(v)' is not supported; use '\(chaosAPIVersion)'.")
    }
    if let k = try c.decodeIfPresent(String.self, forKey: kind), k != expected {
        throw DecodingError.dataCorruptedError(forKey: kind, in: c, debugDescription: "This is an \(k), not an \(expected).")
    }
}
