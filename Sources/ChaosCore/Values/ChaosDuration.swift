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
        /// What to write instead; for units in the wrong case, the corrected text (`30S` → `30s`).
        public var hint: String {
            if case .unknownUnit(let t, _) = self, t.lowercased() != t, (try? ChaosDuration.parse(t.lowercased())) != nil {
                return "did you mean '\(t.lowercased())'? Units are lowercase: ms, s, m, h or d"
            }
            return "use a number with a unit: ms, s, m, h or d, e.g. '500ms', '30s', '2m' or '1h30m'"
        }
    }

    /// Parses `text` such as `1m30s`. Units are lowercase and exact; one space may separate a number from
    /// its unit (`30 s`), none may separate the parts (`1m 30s` is malformed).
    /// - Throws: ``ParseError`` naming what is wrong.
    public static func parse(_ text: String) throws(ParseError) -> ChaosDuration {
        let t = text.trimmingWhitespace()
        guard !t.isEmpty else { throw .empty }
        var total: Int64 = 0
        var rest = Substring(t)
        var sawUnit = false
        let isUnitCharacter: (Character) -> Bool = { $0.isLetter || $0 == "µ" }
        while !rest.isEmpty {
            let digits = rest.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
            guard !digits.isEmpty, let value = Double(digits), value.isFinite else { throw .malformed(t) }
            rest = rest.dropFirst(digits.count)
            if rest.first == " ", let next = rest.dropFirst().first, isUnitCharacter(next) { rest = rest.dropFirst() }
            let unitText = rest.prefix(while: isUnitCharacter)
            if unitText.isEmpty {
                // '30' has no unit; '1m30' and '30  s' are malformed.
                if sawUnit || !rest.isEmpty { throw .malformed(t) }
                throw .missingUnit(t)
            }
            guard let unit = units.first(where: { $0.suffix == unitText }) else {
                throw .unknownUnit(t, unit: String(unitText))
            }
            rest = rest.dropFirst(unitText.count)
            let ms = value * Double(unit.ms)
            guard ms < 9.0e15 else { throw .tooLarge(t) }
            let (sum, overflow) = total.addingReportingOverflow(Int64(ms.rounded()))
            guard !overflow else { throw .tooLarge(t) }
            total = sum
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
    /// This string without leading and trailing whitespace and line endings, `\r\n` included
    /// (no Foundation needed).
    public func trimmingWhitespace() -> String {
        guard let start = firstIndex(where: { !$0.isWhitespace }), let end = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[start...end])
    }
}

/// A whole number written with ASCII digits only: no sign, no spaces, no decimal point, at most
/// `maxDigits` digits. For fields where `+80` or ` 80` is a typo rather than a number.
func plainInteger<S: StringProtocol>(_ text: S, maxDigits: Int = 9) -> Int? {
    guard !text.isEmpty, text.count <= maxDigits, text.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
    return Int(text)
}
