/// A fault's parameters (`with:`), as checked values keyed by name.
///
/// Which names a kind takes, their types, ranges and rules are its ``FaultDescriptor``'s; the reader
/// (``FaultParameterReader``) is the only way user input becomes parameters. Code reads and writes
/// them through typed keys, declared beside the descriptors as members of ``ParameterKeys``:
///
/// ```swift
/// var p = FaultParameters()
/// p.lossPercent = 30            // ParameterKeys.lossPercent: ParameterKey<Double>
/// let signal = p.signal ?? .kill
/// ```
///
/// Stored and sent as a JSON object with the values as files write them (`"delay": "200ms"`).
@dynamicMemberLookup
public struct FaultParameters: Hashable, Sendable, Codable {
    /// The values by name; never holds `null`.
    public private(set) var values: [String: JSONValue]

    public init() { values = [:] }
    public init(values: [String: JSONValue]) { self.values = values.filter { $0.value != .null } }

    /// The value of `key`, or `nil` when absent or not of the key's type.
    public subscript<V>(key: ParameterKey<V>) -> V? {
        get { values[key.name].flatMap(V.init(parameter:)) }
        set { values[key.name] = newValue?.parameter }
    }

    /// `p.lossPercent`: the typed key of that name in ``ParameterKeys``.
    public subscript<V>(dynamicMember path: KeyPath<ParameterKeys, ParameterKey<V>>) -> V? {
        get { self[ParameterKeys()[keyPath: path]] }
        set { self[ParameterKeys()[keyPath: path]] = newValue }
    }

    /// Sets a value read and checked elsewhere (the reader), by name.
    public mutating func set(_ name: String, _ value: JSONValue?) { values[name] = value == .null ? nil : value }

    /// Whether `name` has a value.
    public func has(_ name: String) -> Bool { values[name] != nil }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard case .object(let o) = try c.decode(JSONValue.self) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "A fault's parameters must be an object.")
        }
        self.init(values: o)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(JSONValue.object(values))
    }
}

/// The name of a parameter and the type of its value.
public struct ParameterKey<Value: ParameterValue>: Sendable {
    public let name: String
    public init(_ name: String) { self.name = name }
}

/// The typed parameter keys, one computed property each, declared beside the descriptors that use them
/// (`extension ParameterKeys { public var lossPercent: ParameterKey<Double> { .init("lossPercent") } }`).
public struct ParameterKeys: Sendable { public init() {} }

/// A type a parameter's value can have, with its stored (JSON) form.
public protocol ParameterValue: Sendable {
    init?(parameter: JSONValue)
    var parameter: JSONValue { get }
}

extension Double: ParameterValue {
    public init?(parameter: JSONValue) { guard case .number(let n) = parameter else { return nil }; self = n }
    public var parameter: JSONValue { .number(self) }
}
extension Int: ParameterValue {
    public init?(parameter: JSONValue) {
        guard case .number(let n) = parameter, let i = Int(exactly: n) else { return nil }
        self = i
    }
    public var parameter: JSONValue { .number(Double(self)) }
}
extension Bool: ParameterValue {
    public init?(parameter: JSONValue) { guard case .bool(let b) = parameter else { return nil }; self = b }
    public var parameter: JSONValue { .bool(self) }
}
extension String: ParameterValue {
    public init?(parameter: JSONValue) { guard case .string(let s) = parameter else { return nil }; self = s }
    public var parameter: JSONValue { .string(self) }
}
extension Array: ParameterValue where Element == String {
    public init?(parameter: JSONValue) {
        guard case .array(let items) = parameter else { return nil }
        var out: [String] = []
        for item in items {
            switch item {
            case .string(let s): out.append(s)
            case .number(let n): out.append(NumberText.format(n))  // `ports: [6379]` in a stored spec
            default: return nil
            }
        }
        self = out
    }
    public var parameter: JSONValue { .array(map { .string($0) }) }
}
extension ChaosDuration: ParameterValue {
    public init?(parameter: JSONValue) {
        guard case .string(let s) = parameter, let d = try? ChaosDuration.parse(s) else { return nil }
        self = d
    }
    public var parameter: JSONValue { .string(description) }
}
extension ByteSize: ParameterValue {
    public init?(parameter: JSONValue) {
        switch parameter {
        case .string(let s): guard let v = try? ByteSize.parse(s) else { return nil }; self = v
        case .number(let n): guard let b = Int64(exactly: n) else { return nil }; self.init(bytes: b)
        default: return nil
        }
    }
    public var parameter: JSONValue { .string(exactText) }
}
extension SignalName: ParameterValue {
    public init?(parameter: JSONValue) {
        switch parameter {
        case .string(let s): guard let v = SignalName(s) else { return nil }; self = v
        case .number(let n): guard let i = Int(exactly: n), let v = SignalName(String(i)) else { return nil }; self = v
        default: return nil
        }
    }
    public var parameter: JSONValue { .string(description) }
}
