import Foundation

/// A TCP/UDP port or inclusive range, `6379` or `8000-8100`.
public struct PortRange: Hashable, Sendable, Codable, CustomStringConvertible {
    public var lower: Int
    public var upper: Int
    public init?(_ text: String) {
        let parts = text.trimmingWhitespace().split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let lo = plainInteger(parts[0]), let hi = plainInteger(parts.last ?? ""),
              (1...65535).contains(lo), (1...65535).contains(hi), lo <= hi else { return nil }
        lower = lo; upper = hi
    }
    public init(lower: Int, upper: Int) { self.lower = lower; self.upper = upper }
    public var description: String { lower == upper ? "\(lower)" : "\(lower)-\(upper)" }
}

/// A bandwidth in tc's units: `kbit`, `mbit`, `gbit` (bits) or `kbps`, `mbps` (bytes), e.g. `1mbit`.
public struct BandwidthRate: Hashable, Sendable, Codable {
    /// Bits per second.
    public var bitsPerSecond: Int64
    public init?(_ text: String) {
        let t = text.trimmingWhitespace().lowercased()
        let number = t.prefix(while: { $0.isNumber || $0 == "." })
        guard let v = Double(number), v > 0 else { return nil }
        let factors: [String: Double] = ["bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9]
        guard let f = factors[String(t.dropFirst(number.count))], v * f >= 1, v * f < 1e15 else { return nil }
        bitsPerSecond = Int64(v * f)
    }
}

/// IANA time-zone names, checked against the system's tz database through Foundation.
public enum TimeZoneNames {
    /// The IANA names the system lists, plus `UTC`, for "did you mean" hints.
    public static let known: [String] = TimeZone.knownTimeZoneIdentifiers + ["UTC"]
    static let knownSet = Set(known)

    /// Whether `name` is an IANA time-zone name: one the system lists, `UTC`, or another name of the tz
    /// database (a link such as `Asia/Kolkata` or `Etc/UTC`) that the system resolves to itself.
    /// Offsets and abbreviations Foundation also understands (`GMT+1`, `UTC+01:00`) are not names.
    public static func isKnown(_ name: String) -> Bool {
        knownSet.contains(name) || TimeZone(identifier: name)?.identifier == name
    }

    /// The known name closest to `name`, for a hint.
    public static func closest(to name: String) -> String? { Spelling.closest(to: name, in: known) }
}
