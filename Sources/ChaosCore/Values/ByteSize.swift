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

    /// Why a size text could not be parsed.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case missingUnit(String)
        case unknownUnit(String, unit: String)
        public var description: String {
            switch self {
            case .malformed(let t): return "'\(t)' is not a size"
            case .missingUnit(let t): return "'\(t)' has no unit"
            case .unknownUnit(let t, let u): return "'\(t)' has unknown unit '\(u)'"
            }
        }
        /// What to write instead.
        public var hint: String { "use a number with a unit: B, KiB, MiB, GiB, TiB (or kB, MB, GB, TB), e.g. '100MiB'" }
    }

    /// Parses `text` such as `1.5GiB`.
    /// - Throws: ``ParseError``.
    public static func parse(_ text: String) throws(ParseError) -> ByteSize {
        let t = text.trimmingWhitespace()
        let number = t.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
        guard !number.isEmpty, let value = Double(number), value.isFinite else { throw .malformed(t) }
        let unitText = t.dropFirst(number.count).trimmingWhitespace()
        guard !unitText.isEmpty else { throw .missingUnit(t) }
        guard let unit = units.first(where: { $0.suffix == unitText }) else { throw .unknownUnit(t, unit: unitText) }
        let bytes = value * Double(unit.factor)
        guard bytes < 9.0e18 else { throw .malformed(t) }
        return ByteSize(bytes: Int64(bytes.rounded()))
    }

    /// A readable binary rendering, e.g. `1.5 GiB`, `512 B`.
    public var description: String {
        let steps: [(String, Int64)] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        for (name, factor) in steps where bytes >= factor {
            let v = Double(bytes) / Double(factor)
            let rounded = (v * 10).rounded() / 10
            return rounded == rounded.rounded() ? "\(Int64(rounded)) \(name)" : "\(rounded) \(name)"
        }
        return "\(bytes) B"
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
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(bytes)
    }
}
