/// An amount of bytes written with a unit: `100MiB`, `1GiB`, `512KiB`, `2GB`, `4096B`.
///
/// Binary units (`KiB`, `MiB`, `GiB`, `TiB`) are powers of 1024; decimal units (`kB`, `MB`, `GB`, `TB`)
/// powers of 1000. A bare number is rejected so that `--size 1` never means one byte by accident.
public struct ByteSize: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The number of bytes.
    public var bytes: Int64
    /// Creates a size of `bytes`.
    public init(bytes: Int64) { self.bytes = max(0, bytes) }

    static let units: [(suffix: String, factor: Int64)] = [
        ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("kB", 1000), ("KB", 1000),
        ("B", 1),
    ]

    /// Why a size text could not be parsed; `description` is a sentence fragment for diagnostics.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case missingUnit(String)
        case unknownUnit(String, unit: String)
        /// 9e18 bytes or more (about 8 EiB): more than any disk or memory, and near Int64's limit.
        case tooLarge(String)
        public var description: String {
            switch self {
            case .malformed(let t): return "'\(t)' is not a size"
            case .missingUnit(let t): return "'\(t)' has no unit"
            case .unknownUnit(let t, let u): return "'\(t)' has unknown unit '\(u)'"
            case .tooLarge(let t): return "'\(t)' is too large"
            }
        }
        /// What to write instead.
        public var hint: String {
            if case .tooLarge = self { return "use a size below 8 EiB, e.g. '100GiB'" }
            return "use a number with a unit: B, KiB, MiB, GiB, TiB (or kB, MB, GB, TB), e.g. '100MiB'"
        }
    }

    /// Parses `text` such as `1.5GiB` or `10 MiB`. Whole numbers are exact; decimals round to the byte.
    /// - Throws: ``ParseError``.
    public static func parse(_ text: String) throws(ParseError) -> ByteSize {
        let t = text.trimmingWhitespace()
        let number = t.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
        guard !number.isEmpty, let value = Double(number), value.isFinite else { throw .malformed(t) }
        let unitText = t.dropFirst(number.count).trimmingWhitespace()
        guard !unitText.isEmpty else { throw .missingUnit(t) }
        guard let unit = units.first(where: { $0.suffix == unitText }) else { throw .unknownUnit(t, unit: unitText) }
        let limit: Int64 = 9_000_000_000_000_000_000
        if number.allSatisfy({ $0 != "." }), let whole = Int64(number) {
            let (bytes, overflow) = whole.multipliedReportingOverflow(by: unit.factor)
            guard !overflow, bytes < limit else { throw .tooLarge(t) }
            return ByteSize(bytes: bytes)
        }
        let bytes = value * Double(unit.factor)
        guard bytes < Double(limit) else { throw .tooLarge(t) }
        return ByteSize(bytes: Int64(bytes.rounded()))
    }

    /// A readable binary rendering rounded to one decimal, e.g. `1.5 GiB`, `512 B`. The unit is chosen
    /// after rounding, so 1_048_575 bytes is `1 MiB`, never `1024 KiB`.
    public var description: String {
        let steps: [(String, Int64)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40)]
        guard var i = steps.lastIndex(where: { bytes >= $0.1 }) else { return "\(bytes) B" }
        func rounded(_ i: Int) -> Double { (Double(bytes) / Double(steps[i].1) * 10).rounded() / 10 }
        var v = rounded(i)
        while v >= 1024, i + 1 < steps.count {
            i += 1
            v = rounded(i)
        }
        return v == v.rounded() ? "\(Int64(v)) \(steps[i].0)" : "\(v) \(steps[i].0)"
    }

    /// The exact text of the file format: the largest binary unit that divides the size, e.g. `100MiB`,
    /// `1536B`, `0B`. This is how a size is encoded.
    public var exactText: String {
        for (name, factor) in [("TiB", Int64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= factor && bytes % factor == 0 {
            return "\(bytes / factor)\(name)"
        }
        return "\(bytes)B"
    }

    public static func < (a: ByteSize, b: ByteSize) -> Bool { a.bytes < b.bytes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int64.self) { self.init(bytes: n); return }
        let text = try c.decode(String.self)
        do { self = try ByteSize.parse(text) } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "Size \(error); \(error.hint).")
        }
    }
    /// Encodes ``exactText`` (as written in files); decoding also takes a plain number of bytes.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(exactText)
    }
}
