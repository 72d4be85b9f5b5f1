import ChaosCore

/// How figures are written in every format: "250 ms", "1.5 s", "99.2 %", "+5.0 s", "n/a".
enum Format {
    /// A figure that is not there.
    static let missing = "n/a"

    /// `value` with exactly `digits` decimals, rounded half away from zero ("n/a" when not finite).
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return missing }
        var scale: Int64 = 1
        for _ in 0..<max(0, digits) { scale *= 10 }
        let scaled = (abs(value) * Double(scale)).rounded()
        guard scaled < 9e15 else { return "\(value)" }
        let n = Int64(scaled)
        var out = (value < 0 && n != 0 ? "-" : "") + String(n / scale)
        if digits > 0 {
            let fraction = String(n % scale)
            out += "." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
        return out
    }

    /// A length of time in ms: "250 ms" under a second, else seconds with one decimal ("1.5 s").
    static func duration(_ ms: Int64?) -> String {
        guard let ms else { return missing }
        return abs(ms) < 1000 ? "\(ms) ms" : fixed(Double(ms) / 1000, 1) + " s"
    }

    /// A latency in ms: "3.4 ms", "120 ms", "1.25 s".
    static func latency(_ ms: Double?) -> String {
        guard let ms, ms.isFinite else { return missing }
        if abs(ms) < 10 { return fixed(ms, 1) + " ms" }
        if abs(ms) < 1000 { return fixed(ms, 0) + " ms" }
        return fixed(ms / 1000, 2) + " s"
    }

    /// A percentage with at most one decimal ("99.2 %", "100 %"). Never rounds to 100 or 0 when it is not.
    static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        var r = (value * 10).rounded() / 10
        if r >= 100, value < 100 { r = 99.9 }
        if r <= 0, value > 0 { r = 0.1 }
        return (r == r.rounded() ? fixed(r, 0) : fixed(r, 1)) + " %"
    }

    /// A time relative to `origin`, in seconds with a sign: "+5.0 s".
    static func relative(_ at: Int64, from origin: Int64) -> String {
        let delta = at - origin
        return (delta >= 0 ? "+" : "") + fixed(Double(delta) / 1000, 1) + " s"
    }

    /// A JUnit `time`: seconds with three decimals.
    static func seconds(_ ms: Int64) -> String { fixed(Double(max(0, ms)) / 1000, 3) }

    /// Milliseconds since the epoch as "2024-05-01 12:00:00 UTC" (or, with `iso`, "2024-05-01T12:00:00").
    static func utc(_ ms: Int64, iso: Bool = false) -> String {
        let secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let rest = secs - days * 86_400
        let (year, month, day) = ZoneClock.civil(Int(days))
        func two(_ n: some BinaryInteger) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let date = "\(year)-\(two(month))-\(two(day))"
        let time = "\(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))"
        return iso ? "\(date)T\(time)" : "\(date) \(time) UTC"
    }
}
