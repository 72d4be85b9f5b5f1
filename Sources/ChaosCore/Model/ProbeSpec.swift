/// An observation made again and again during a run. Probes observe; their `tolerance` judges.
public struct ProbeSpec: Hashable, Sendable, Codable {
    /// The kinds of probe.
    public enum Kind: String, CaseIterable, Hashable, Sendable, Codable { case http, tcp, command, prometheus }

    public var name: String
    public var type: Kind
    /// How often to observe (default 1s) and how long one observation may take (default 1s, at most the interval).
    public var interval: ChaosDuration
    public var timeout: ChaosDuration
    // http
    public var url: String?
    public var method: String?
    public var headers: [String: String]?
    public var body: String?
    /// Accept any server certificate (https only).
    public var insecure: Bool?
    /// A CA bundle for https.
    public var caFile: String?
    // tcp
    /// `host:port` to connect to.
    public var address: String?
    // command
    public var command: [String]?
    // prometheus
    public var query: String?
    /// What counts as success.
    public var tolerance: Tolerance
    /// Consecutive results needed to change state, against flapping (default 1 and 1).
    public var successThreshold: Int
    public var failureThreshold: Int

    public init(name: String, type: Kind, interval: ChaosDuration = .seconds(1), timeout: ChaosDuration = .seconds(1),
                tolerance: Tolerance = Tolerance(), successThreshold: Int = 1, failureThreshold: Int = 1) {
        self.name = name; self.type = type; self.interval = interval; self.timeout = timeout
        self.tolerance = tolerance; self.successThreshold = successThreshold; self.failureThreshold = failureThreshold
    }
}

/// How an observation is judged. Every field given must hold.
public struct Tolerance: Hashable, Sendable, Codable {
    /// Accepted HTTP statuses: single codes or ranges such as `200-299`. Default for http: `200-399`.
    public var status: [StatusRange]?
    /// A regular expression the body (or command stdout) must contain.
    public var bodyMatches: String?
    /// A JSONPath in the body and the value it must equal.
    public var jsonPath: String?
    public var equals: String?
    /// The observation must take less than this.
    public var latencyBelow: ChaosDuration?
    /// command: the exit status (default 0).
    public var exitCode: Int?
    /// prometheus: bounds on the value.
    public var valueBelow: Double?
    public var valueAbove: Double?
    public var valueEquals: Double?
    public init() {}
}

/// An inclusive range of HTTP status codes.
public struct StatusRange: Hashable, Sendable, Codable, CustomStringConvertible {
    public var lower: Int
    public var upper: Int
    public init(_ lower: Int, _ upper: Int) { self.lower = lower; self.upper = upper }
    /// Parses `200` or `200-299`.
    public init?(_ text: String) {
        let parts = text.trimmingWhitespace().split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let lo = Int(parts[0]), let hi = Int(parts.last ?? ""),
              (100...599).contains(lo), (100...599).contains(hi), lo <= hi else { return nil }
        self.init(lo, hi)
    }
    public func contains(_ status: Int) -> Bool { (lower...upper).contains(status) }
    public var description: String { lower == upper ? "\(lower)" : "\(lower)-\(upper)" }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) { self.init(n, n); return }
        guard let r = StatusRange(try c.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "Not a status or status range.")
        }
        self = r
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
