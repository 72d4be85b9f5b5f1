/// A length of time written with units, as in experiment files and on the command line:
/// `500ms`, `30s`, `2m`, `1h30m`, `1d`.
///
/// Stored in milliseconds. A bare number such as `30` is rejected: the unit is what makes a
/// file readable, and `30` could mean seconds or milliseconds.
public struct ChaosDuration: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The length in milliseconds, never negative.
    public var milliseconds: Int64

    /// Creates a duration of `milliseconds`.
    public init(milliseconds: Int64) { self.milliseconds = max(0, milliseconds) }
    /// Creates a duration of whole seconds.
    public static func seconds(_ s: Int64) -> ChaosDuration { .init(milliseconds: s * 1000) }
    /// Creates a duration of milliseconds.
    public static func milliseconds(_ ms: Int64) -> ChaosDuration { .init(milliseconds: ms) }

    /// The units accepted, longest suffix first so that `ms` wins over `m`.
    static let units: [(suffix: String, ms: Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// Why a duration text could not be parsed; `description` is a full sentence fragment for diagnostics.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case missingUnit(String)
        case unknownUnit(String, unit: String)
        case malformed(String)
        case tooLarge(String)
        public var description: String {
            switch self {
            case .empty: return "is empty"
            case .missingUnit(let t): return "'\(t)' has no unit"
            case .unknownUnit(let t, let u): return "'\(t)' has unknown unit '\(u)'"
            case .malformed(let t): return "'\(t)' is not a duration"
            case .tooLarge(let t): return "'\(t)' is too large"
            }
        }
        /// What to write instead.
        public var hint: String { "use a number with a unit: ms, s, m, h or d, e.g. '500ms', '30s', '2m' or '1h30m'" }
    }

    /// Parses `text` such as `1m30s`.
    /// - Throws: ``ParseError`` naming what is wrong.
    public static func parse(_ text: String) throws(ParseError) -> ChaosDuration {
        let t = text.trimmingWhitespace()
        guard !t.isEmpty else { throw .empty }
        var total: Int64 = 0
        var rest = Substring(t)
        var sawUnit = false
        while !rest.isEmpty {
            let digits = rest.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
            guard !digits.isEmpty, let value = Double(digits), value.isFinite else { throw .malformed(t) }
            rest = rest.dropFirst(digits.count)
            let unitText = rest.prefix(while: { $0.isLetter || $0 == "µ" })
            if unitText.isEmpty {
                if sawUnit { throw .malformed(t) }
                throw .missingUnit(t)
            }
            guard let unit = units.first(where: { $0.suffix == unitText.lowercased() }) else {
                throw .unknownUnit(t, unit: String(unitText))
            }
            rest = rest.dropFirst(unitText.count)
            let ms = value * Double(unit.ms)
            guard ms < 9.0e15 else { throw .tooLarge(t) }
            total += Int64(ms.rounded())
            sawUnit = true
        }
        return ChaosDuration(milliseconds: total)
    }

    /// The shortest exact text for this duration, e.g. `1m30s`, `500ms`, `0s`.
    public var description: String {
        if milliseconds == 0 { return "0s" }
        var ms = milliseconds
        var out = ""
        for (suffix, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            let n = ms / size
            if n > 0 { out += "\(n)\(suffix)"; ms -= n * size }
        }
        return out
    }

    /// The Swift `Duration` of the same length.
    public var duration: Duration { .milliseconds(milliseconds) }
    /// The length in seconds, as a `Double`.
    public var seconds: Double { Double(milliseconds) / 1000 }

    public static func < (a: ChaosDuration, b: ChaosDuration) -> Bool { a.milliseconds < b.milliseconds }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        do { self = try ChaosDuration.parse(text) } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "Duration \(error); \(error.hint).")
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension StringProtocol {
    /// This string without leading and trailing spaces, tabs and newlines (no Foundation needed).
    public func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
