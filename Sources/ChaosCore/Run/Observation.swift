/// What one probe saw once: raw facts, never a judgement (``Tolerance/judge(_:kind:)`` judges).
public struct Observation: Hashable, Sendable, Codable {
    public var probe: String
    /// When the observation started (ms since the epoch).
    public var at: Int64
    /// How long it took (ms), whatever the outcome.
    public var latencyMs: Double
    /// http: the response status.
    public var status: Int?
    /// http: the body; command: standard output (both cut to ``bodyLimit`` bytes).
    public var body: String?
    /// command: the exit status.
    public var exitCode: Int?
    /// prometheus: the value of the instant query.
    public var value: Double?
    /// The system failed to answer: connection refused, reset, timeout, no such host.
    public var failure: String?
    /// The observer could not observe: a misconfigured probe, a command that cannot start, a
    /// Prometheus that does not answer. Such a sample says nothing about the system (blind).
    public var blind: String?

    /// The most of a body or stdout kept.
    public static let bodyLimit = 64 * 1024

    public init(probe: String, at: Int64, latencyMs: Double, status: Int? = nil, body: String? = nil, exitCode: Int? = nil,
                value: Double? = nil, failure: String? = nil, blind: String? = nil) {
        self.probe = probe; self.at = at; self.latencyMs = latencyMs; self.status = status; self.body = body
        self.exitCode = exitCode; self.value = value; self.failure = failure; self.blind = blind
    }
}

/// The judgement of one observation.
public enum Judgement: Hashable, Sendable, Codable {
    case ok
    case fail(String)
    case blind(String)

    public var isOK: Bool { self == .ok }
    public var isBlind: Bool { if case .blind = self { return true } else { return false } }
    /// Why it is not ok.
    public var reason: String? {
        switch self {
        case .ok: return nil
        case .fail(let r), .blind(let r): return r
        }
    }
}
