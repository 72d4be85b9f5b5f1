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

// MARK: File format coding

/// Encoded as in files: only the fields set, and for a command probe the body pattern as
/// `tolerance.stdoutMatches`.
extension ProbeSpec {
    enum CodingKeys: String, CodingKey {
        case name, type, interval, timeout, url, method, headers, body, insecure, caFile, address, command, query
        case tolerance, successThreshold, failureThreshold
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(Kind.self, forKey: .type)
        let interval = try c.decodeIfPresent(ChaosDuration.self, forKey: .interval) ?? .seconds(1)
        self.init(name: try c.decodeIfPresent(String.self, forKey: .name) ?? "health", type: type, interval: interval,
                  timeout: try c.decodeIfPresent(ChaosDuration.self, forKey: .timeout) ?? min(.seconds(1), interval),
                  tolerance: try c.decodeIfPresent(Tolerance.self, forKey: .tolerance) ?? Tolerance(),
                  successThreshold: try c.decodeIfPresent(Int.self, forKey: .successThreshold) ?? 1,
                  failureThreshold: try c.decodeIfPresent(Int.self, forKey: .failureThreshold) ?? 1)
        url = try c.decodeIfPresent(String.self, forKey: .url)
        method = try c.decodeIfPresent(String.self, forKey: .method)
        headers = try c.decodeIfPresent([String: String].self, forKey: .headers)
        body = try c.decodeIfPresent(String.self, forKey: .body)
        insecure = try c.decodeIfPresent(Bool.self, forKey: .insecure)
        caFile = try c.decodeIfPresent(String.self, forKey: .caFile)
        address = try c.decodeIfPresent(String.self, forKey: .address)
        command = try c.decodeIfPresent([String].self, forKey: .command)
        query = try c.decodeIfPresent(String.self, forKey: .query)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(type, forKey: .type)
        try c.encode(interval, forKey: .interval)
        try c.encode(timeout, forKey: .timeout)
        try c.encodeIfPresent(url, forKey: .url)
        try c.encodeIfPresent(method, forKey: .method)
        try c.encodeIfPresent(headers, forKey: .headers)
        try c.encodeIfPresent(body, forKey: .body)
        try c.encodeIfPresent(insecure, forKey: .insecure)
        try c.encodeIfPresent(caFile, forKey: .caFile)
        try c.encodeIfPresent(address, forKey: .address)
        try c.encodeIfPresent(command, forKey: .command)
        try c.encodeIfPresent(query, forKey: .query)
        try c.encode(Tolerance.Written(tolerance: tolerance, matchesKey: type == .command ? .stdoutMatches : .bodyMatches), forKey: .tolerance)
        try c.encode(successThreshold, forKey: .successThreshold)
        try c.encode(failureThreshold, forKey: .failureThreshold)
    }
}

/// Decodes the body pattern from `bodyMatches` or (command probes) `stdoutMatches`.
extension Tolerance {
    enum CodingKeys: String, CodingKey {
        case status, bodyMatches, stdoutMatches, jsonPath, equals, latencyBelow, exitCode, valueBelow, valueAbove, valueEquals
    }

    /// A tolerance encoded with its body pattern under the key its probe kind uses.
    struct Written: Encodable {
        var tolerance: Tolerance
        var matchesKey: CodingKeys
        func encode(to encoder: any Encoder) throws {
            let t = tolerance
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(t.status, forKey: .status)
            try c.encodeIfPresent(t.bodyMatches, forKey: matchesKey)
            try c.encodeIfPresent(t.jsonPath, forKey: .jsonPath)
            try c.encodeIfPresent(t.equals, forKey: .equals)
            try c.encodeIfPresent(t.latencyBelow, forKey: .latencyBelow)
            try c.encodeIfPresent(t.exitCode, forKey: .exitCode)
            try c.encodeIfPresent(t.valueBelow, forKey: .valueBelow)
            try c.encodeIfPresent(t.valueAbove, forKey: .valueAbove)
            try c.encodeIfPresent(t.valueEquals, forKey: .valueEquals)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        status = try c.decodeIfPresent([StatusRange].self, forKey: .status)
        bodyMatches = try c.decodeIfPresent(String.self, forKey: .bodyMatches) ?? c.decodeIfPresent(String.self, forKey: .stdoutMatches)
        jsonPath = try c.decodeIfPresent(String.self, forKey: .jsonPath)
        equals = try c.decodeIfPresent(String.self, forKey: .equals)
        latencyBelow = try c.decodeIfPresent(ChaosDuration.self, forKey: .latencyBelow)
        exitCode = try c.decodeIfPresent(Int.self, forKey: .exitCode)
        valueBelow = try c.decodeIfPresent(Double.self, forKey: .valueBelow)
        valueAbove = try c.decodeIfPresent(Double.self, forKey: .valueAbove)
        valueEquals = try c.decodeIfPresent(Double.self, forKey: .valueEquals)
    }

    public func encode(to encoder: any Encoder) throws {
        try Written(tolerance: self, matchesKey: .bodyMatches).encode(to: encoder)
    }
}

/// An inclusive range of HTTP status codes.
public struct StatusRange: Hashable, Sendable, Codable, CustomStringConvertible {
    public var lower: Int
    public var upper: Int
    public init(_ lower: Int, _ upper: Int) { self.lower = lower; self.upper = upper }
    /// Parses `200` or `200-299`.
    public init?(_ text: String) {
        let parts = text.trimmingWhitespace().split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let lo = plainInteger(parts[0]), let hi = plainInteger(parts.last ?? ""),
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

extension ProbeSpec {
    /// The probe for one member of a redundancy group: `{host}` and `{address}` replaced by the
    /// member's in the URL, address, command, headers and body (an inventory group's `health`).
    public func forMember(host: String, address: String) -> ProbeSpec {
        func fill(_ s: String) -> String { s.replacing("{host}", with: host).replacing("{address}", with: address) }
        var p = self
        p.name = "\(name)[\(host)]"
        p.url = url.map(fill)
        p.address = self.address.map(fill)
        p.command = command?.map(fill)
        p.headers = headers?.mapValues(fill)
        p.body = body.map(fill)
        return p
    }
}
