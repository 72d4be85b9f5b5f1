import Foundation

/// Calendar text as written in schedules: dates `YYYY-MM-DD` and ISO 8601 date-times
/// `YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]`. Every part has its exact number of ASCII digits: no signs,
/// no spaces, no one-digit months.
public enum CalendarText {
    /// A date or date-time as written, before it is placed in a time zone.
    struct Stamp {
        /// Days since 1970-01-01.
        var day: Int
        /// Seconds after midnight (0 for a date alone).
        var secondOfDay: Double
        /// The offset from UTC in seconds when written (`Z`, `+02:00`); `nil` for local time or a date alone.
        var offset: Int?
    }

    /// Whether `s` is a real date `YYYY-MM-DD` (leap years included).
    public static func isDate(_ s: String) -> Bool { date(Substring(s)) != nil }

    /// Whether `s` is a date, or a date-time `YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]`.
    public static func isDateOrDateTime(_ s: String) -> Bool { stamp(s) != nil }

    /// The instant `s` names, in seconds since 1970-01-01T00:00:00Z.
    ///
    /// A date alone is the start (00:00) of that day, and a date-time without an offset is a wall-clock
    /// time, both in `timeZone` (an IANA name; `UTC` when it is unknown). A date-time with `Z` or an offset
    /// is that instant wherever it is read.
    /// - Returns: `nil` when `s` is not a date or date-time.
    public static func instant(_ s: String, timeZone: String = "UTC") -> Double? {
        guard let stamp = stamp(s) else { return nil }
        let wallClock = Double(stamp.day) * 86_400 + stamp.secondOfDay
        if let offset = stamp.offset { return wallClock - Double(offset) }
        guard let zone = TimeZone(identifier: timeZone) else { return wallClock }
        // The zone's offset at the wall-clock time read as UTC, then corrected once at the found instant,
        // which is exact except inside the hour a daylight-saving change skips or repeats.
        var guess = wallClock - Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: wallClock)))
        guess = wallClock - Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: guess)))
        return guess
    }

    // MARK: Parsing

    static func digits(_ s: Substring, _ count: Int) -> Int? {
        s.count == count ? plainInteger(s, maxDigits: count) : nil
    }

    /// Days since 1970-01-01 of a `YYYY-MM-DD` date.
    static func date(_ s: Substring) -> Int? {
        let p = s.split(separator: "-", omittingEmptySubsequences: false)
        guard p.count == 3, let y = digits(p[0], 4), let m = digits(p[1], 2), let d = digits(p[2], 2), (1...12).contains(m) else { return nil }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        guard (1...days).contains(d) else { return nil }
        return daysFromCivil(y, m, d)
    }

    /// Howard Hinnant's `days_from_civil`: days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func stamp(_ s: String) -> Stamp? {
        let parts = Substring(s).split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let day = date(first) else { return nil }
        guard parts.count == 2 else { return Stamp(day: day, secondOfDay: 0, offset: nil) }
        var time = parts[1]
        var offset: Int?
        if time.hasSuffix("Z") {
            offset = 0
            time = time.dropLast()
        } else if let sign = time.lastIndex(where: { $0 == "+" || $0 == "-" }) {
            let zone = time[time.index(after: sign)...].split(separator: ":", omittingEmptySubsequences: false)
            guard zone.count == 2, let zh = digits(zone[0], 2), let zm = digits(zone[1], 2), (0...14).contains(zh), (0...59).contains(zm) else { return nil }
            offset = (time[sign] == "-" ? -1 : 1) * (zh * 3_600 + zm * 60)
            time = time[..<sign]
        }
        let hms = time.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(hms.count), let h = digits(hms[0], 2), let m = digits(hms[1], 2), (0...23).contains(h), (0...59).contains(m) else { return nil }
        var second = 0.0
        if hms.count == 3 {
            let sf = hms[2].split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            guard let whole = digits(sf[0], 2), (0...60).contains(whole) else { return nil }
            second = Double(whole)
            if sf.count == 2 {
                guard !sf[1].isEmpty, sf[1].allSatisfy({ ("0"..."9").contains($0) }), let fraction = Double("0." + sf[1]) else { return nil }
                second += fraction
            }
        }
        return Stamp(day: day, secondOfDay: Double(h * 3_600 + m * 60) + second, offset: offset)
    }
}
