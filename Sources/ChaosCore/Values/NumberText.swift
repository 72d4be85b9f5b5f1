/// Numbers as people read them, without a trap on any value: a whole number inside ±10^15 prints
/// as digits (`95`, not `95.0`), anything else as Swift prints a Double (`99.5`, `1e+19`, `inf`).
/// `String(Int64(d))` traps on 1e19; every number that came from input is printed through here.
public enum NumberText {
    public static func format(_ d: Double) -> String {
        if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }

    /// `d` as an Int64 when it is a finite whole number Int64 can hold exactly, else `nil`. Never traps.
    public static func exactInt64(_ d: Double) -> Int64? { Int64(exactly: d) }

    /// `d` rounded and clamped into Int64's range (NaN is 0). Never traps.
    public static func clampedInt64(_ d: Double) -> Int64 {
        guard !d.isNaN else { return 0 }
        if d >= 9.2e18 { return Int64.max }
        if d <= -9.2e18 { return Int64.min }
        return Int64(d.rounded())
    }
}
