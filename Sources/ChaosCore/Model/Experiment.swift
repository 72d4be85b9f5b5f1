/// The API version every file carries.
public let chaosAPIVersion = "chaos/v1"

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

    public init(name: String, description: String? = nil, target: TargetSpec, fault: FaultSpec, probes: [ProbeSpec] = [],
                expect: ExpectSpec = ExpectSpec(), stopWhen: [StopCondition] = [], schedule: ScheduleSpec? = nil,
                safety: SafetySpec = SafetySpec()) {
        self.name = name; self.description = description; self.target = target; self.fault = fault
        self.probes = probes; self.expect = expect; self.stopWhen = stopWhen; self.schedule = schedule; self.safety = safety
    }
}
