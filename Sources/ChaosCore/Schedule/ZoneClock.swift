import Foundation

/// Wall-clock arithmetic in one IANA time zone, on plain numbers: an instant is seconds since
/// 1970-01-01T00:00:00Z, a day is days since 1970-01-01 on the zone's calendar, a minute is minutes
/// after the zone's local midnight.
///
/// Daylight-saving changes: a wall time the zone skips (02:30 on a spring-forward night in Berlin)
/// has no instant of its own, ``instant(day:minute:)`` returns nil and ``firstInstant(day:minute:)``
/// the end of the gap; a wall time the zone repeats (02:30 on a fall-back night) is the earlier of
/// its two instants, so a schedule fires once.
public struct ZoneClock: Sendable {
    public let zone: TimeZone
    public var identifier: String { zone.identifier }

    /// nil for a name that is not an IANA zone.
    public init?(_ identifier: String) {
        guard let z = TimeZone(identifier: identifier) else { return nil }
        zone = z
    }

    func offset(_ instant: Double) -> Int { zone.secondsFromGMT(for: Date(timeIntervalSince1970: instant)) }

    /// The local day, minute of the day and second within the minute of `instant`.
    public func local(_ instant: Double) -> (day: Int, minute: Int) {
        let wall = instant + Double(offset(instant))
        let day = Int((wall / 86_400).rounded(.down))
        return (day, Int(((wall - Double(day) * 86_400) / 60).rounded(.down)))
    }

    /// The instant of wall time `minute` on local `day`, or nil if the zone skips it.
    public func instant(day: Int, minute: Int) -> Double? {
        let wall = Double(day) * 86_400 + Double(minute) * 60
        // At most one offset change within a day on either side: the candidates are the offsets
        // half a day before and after; a candidate is right if the zone has that offset there.
        let candidates = Set([offset(wall - 43_200), offset(wall + 43_200)]).map { wall - Double($0) }.filter { t in
            Double(offset(t)) == wall - t
        }
        return candidates.min()
    }

    /// ``instant(day:minute:)``, or for a skipped wall time the first instant after the gap (a daily
    /// 02:30 fires at 03:00 on the night the clocks jump from 02:00 to 03:00).
    public func firstInstant(day: Int, minute: Int) -> Double {
        if let t = instant(day: day, minute: minute) { return t }
        let before = wallBefore(day: day, minute: minute)
        if let next = zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: before - 86_400))?.timeIntervalSince1970 {
            return next
        }
        return before
    }

    private func wallBefore(day: Int, minute: Int) -> Double {
        let wall = Double(day) * 86_400 + Double(minute) * 60
        return wall - Double(offset(wall - 43_200))
    }

    /// The weekday of a day number (1970-01-01 was a Thursday).
    public static func weekday(ofDay day: Int) -> Weekday {
        let all: [Weekday] = [.thu, .fri, .sat, .sun, .mon, .tue, .wed]
        return all[((day % 7) + 7) % 7]
    }

    /// Cron's weekday number (0 = Sunday ... 6 = Saturday) of a day number.
    static func cronWeekday(ofDay day: Int) -> Int { (((day + 4) % 7) + 7) % 7 }

    /// Howard Hinnant's `civil_from_days`: (year, month 1-12, day 1-31) of a day number.
    public static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// `YYYY-MM-DD` of a day number.
    public static func dateText(_ day: Int) -> String {
        let c = civil(day)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year)-\(two(c.month))-\(two(c.day))"
    }

    /// The day number of `YYYY-MM-DD`, or nil.
    public static func day(_ text: String) -> Int? { CalendarText.date(Substring(text)) }

    /// `YYYY-MM-DD HH:MM` local time of an instant.
    public func text(_ instant: Double) -> String {
        let l = local(instant)
        let h = l.minute / 60, m = l.minute % 60
        return Self.dateText(l.day) + " " + (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }
}
