/// Holidays from an iCalendar (`.ics`) file, as `YYYY-MM-DD` dates.
///
/// Read: every `VEVENT`'s `DTSTART` (a date, or a date-time whose date is taken), `DTEND` (exclusive;
/// absent: one day) or `DURATION` in days (`P3D`), and a yearly `RRULE` (`FREQ=YEARLY` with optional
/// `COUNT` or `UNTIL`), expanded up to `through` (a `YYYY-MM-DD`). Folded lines (a line starting with a
/// space or tab continues the previous one) are unfolded; other properties and components are
/// ignored. Problems are reported with the file's line number.
public enum HolidayCalendar {
    public static func dates(_ text: String, file: String, through: String) throws(ChaosError) -> [String] {
        guard let horizon = ZoneClock.day(through) else { throw .usage("schedule.badDate", "'\(through)' is not a date.") }
        // Unfold, remembering where each logical line started.
        var lines: [(no: Int, text: String)] = []
        // "\r\n" is one Character in Swift: split on it as well as on "\n" and "\r".
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).enumerated() {
            let line = String(raw)
            if (line.hasPrefix(" ") || line.hasPrefix("\t")), !lines.isEmpty {
                lines[lines.count - 1].text += line.dropFirst()
            } else if !line.isEmpty {
                lines.append((i + 1, line))
            }
        }
        guard lines.first?.text.uppercased() == "BEGIN:VCALENDAR" else {
            throw ChaosError("schedule.badCalendar", "\(file):1: not an iCalendar file (it must start with BEGIN:VCALENDAR).")
        }
        var out = Set<Int>()
        var event: (line: Int, start: Int?, end: Int?, days: Int?, rule: String?)?
        for (no, line) in lines {
            let upper = line.uppercased()
            if upper == "BEGIN:VEVENT" { event = (no, nil, nil, nil, nil); continue }
            if upper == "END:VEVENT" {
                guard let e = event else { throw ChaosError("schedule.badCalendar", "\(file):\(no): END:VEVENT without BEGIN:VEVENT.") }
                guard let start = e.start else { throw ChaosError("schedule.badCalendar", "\(file):\(e.line): this VEVENT has no DTSTART.") }
                let length = max(1, e.end.map { $0 - start } ?? e.days ?? 1)
                var starts = [start]
                if let rule = e.rule { starts = try yearly(rule, from: start, through: horizon, file: file, line: e.line) }
                for s in starts { for d in s..<(s + length) { out.insert(d) } }
                event = nil
                continue
            }
            guard event != nil, let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].split(separator: ";").first.map { $0.uppercased() } ?? ""
            let value = String(line[line.index(after: colon)...]).trimmingWhitespace()
            switch name {
            case "DTSTART", "DTEND":
                guard let day = date(value) else {
                    throw ChaosError("schedule.badCalendar", "\(file):\(no): \(name) '\(value)' is not a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSS).")
                }
                if name == "DTSTART" { event?.start = day } else { event?.end = day }
            case "DURATION":
                guard value.hasPrefix("P"), value.hasSuffix("D"), let n = Int(value.dropFirst().dropLast()), n > 0 else {
                    throw ChaosError("schedule.badCalendar", "\(file):\(no): DURATION '\(value)' must be whole days, e.g. P1D.")
                }
                event?.days = n
            case "RRULE":
                event?.rule = value
            default:
                continue
            }
        }
        if let e = event { throw ChaosError("schedule.badCalendar", "\(file):\(e.line): this VEVENT has no END:VEVENT.") }
        return out.sorted().map(ZoneClock.dateText)
    }

    /// `20261225` or `20261225T000000[Z]` → day number.
    static func date(_ v: String) -> Int? {
        let d = v.prefix(8)
        guard d.count == 8, d.allSatisfy(\.isNumber) else { return nil }
        let rest = v.dropFirst(8)
        guard rest.isEmpty || rest.hasPrefix("T") else { return nil }
        return ZoneClock.day("\(d.prefix(4))-\(d.dropFirst(4).prefix(2))-\(d.suffix(2))")
    }

    static func yearly(_ rule: String, from start: Int, through horizon: Int, file: String, line: Int) throws(ChaosError) -> [Int] {
        var parts: [String: String] = [:]
        for p in rule.split(separator: ";") {
            let kv = p.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { parts[kv[0].uppercased()] = String(kv[1]) }
        }
        guard parts["FREQ"]?.uppercased() == "YEARLY", Set(parts.keys).isSubset(of: ["FREQ", "COUNT", "UNTIL", "INTERVAL"]) else {
            throw ChaosError("schedule.badCalendar", "\(file):\(line): only 'RRULE:FREQ=YEARLY' (with COUNT, UNTIL or INTERVAL) is understood, not '\(rule)'. List the dates instead.")
        }
        let count = parts["COUNT"].flatMap(Int.init)
        let until = parts["UNTIL"].flatMap(date) ?? horizon
        let interval = max(1, parts["INTERVAL"].flatMap(Int.init) ?? 1)
        let c = ZoneClock.civil(start)
        var out: [Int] = []
        var year = c.year
        while out.count < (count ?? Int.max) {
            // Feb 29 exists only in leap years; other years skip it, as calendars do.
            if let d = ZoneClock.day(String(format4(year)) + "-" + two(c.month) + "-" + two(c.day)) {
                if d > min(until, horizon) { break }
                out.append(d)
            } else if year > ZoneClock.civil(min(until, horizon)).year { break }
            year += interval
        }
        return out
    }

    static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    static func format4(_ v: Int) -> String { String(repeating: "0", count: max(0, 4 - String(v).count)) + String(v) }
}
