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
