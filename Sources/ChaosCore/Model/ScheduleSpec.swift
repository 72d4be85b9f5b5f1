/// When the controller runs an experiment: a cron expression, or Chaos-Monkey random kills, inside a
/// work calendar and outside blackouts.
public struct ScheduleSpec: Hashable, Sendable, Codable {
    /// Five-field cron (`minute hour day-of-month month day-of-week`).
    public var cron: CronExpression?
    /// Random fires like Netflix's Chaos Monkey.
    public var monkey: MonkeySchedule?
    /// IANA time zone of the cron, the work hours and days, and the blackouts written without an offset
    /// (default `UTC`).
    public var timezone: String
    /// Days on which experiments may run (default Monday–Friday).
    public var workdays: [Weekday]
    /// Hours of the day, `HH:MM-HH:MM` (default `09:00-17:00`).
    public var hours: TimeWindow
    /// Dates (`YYYY-MM-DD`) with no experiments.
    public var holidays: [String]
    /// An iCalendar file of holidays, relative to the experiment file.
    public var holidayCalendar: String?
    /// Periods with no experiments; a running experiment is halted when one begins.
    public var blackouts: [Blackout]
    /// Minimum time between two runs on the same target / the same group.
    public var minSpacingTarget: ChaosDuration?
    public var minSpacingGroup: ChaosDuration?

    public init(cron: CronExpression? = nil, monkey: MonkeySchedule? = nil, timezone: String = "UTC",
                workdays: [Weekday] = [.mon, .tue, .wed, .thu, .fri], hours: TimeWindow = TimeWindow(startMinute: 540, endMinute: 1020),
                holidays: [String] = [], holidayCalendar: String? = nil, blackouts: [Blackout] = [],
                minSpacingTarget: ChaosDuration? = nil, minSpacingGroup: ChaosDuration? = nil) {
        self.cron = cron; self.monkey = monkey; self.timezone = timezone; self.workdays = workdays; self.hours = hours
        self.holidays = holidays; self.holidayCalendar = holidayCalendar; self.blackouts = blackouts
        self.minSpacingTarget = minSpacingTarget; self.minSpacingGroup = minSpacingGroup
    }
}

/// Chaos-Monkey parameters, in work days.
public struct MonkeySchedule: Hashable, Sendable, Codable {
    /// Mean work days between kills (a kill on a work day with probability 1/mean).
    public var meanWorkdays: Double
    /// Minimum work days between two kills.
    public var minWorkdays: Double
    public init(meanWorkdays: Double, minWorkdays: Double) { self.meanWorkdays = meanWorkdays; self.minWorkdays = minWorkdays }
}

public enum Weekday: String, CaseIterable, Hashable, Sendable, Codable { case mon, tue, wed, thu, fri, sat, sun }

/// A time-of-day window in minutes after midnight, `09:00-17:00`; end after start.
public struct TimeWindow: Hashable, Sendable, Codable, CustomStringConvertible {
    public var startMinute: Int
    public var endMinute: Int
    public init(startMinute: Int, endMinute: Int) { self.startMinute = startMinute; self.endMinute = endMinute }
    /// Parses `HH:MM-HH:MM` (hours and minutes of one or two digits, spaces around `-` allowed); `24:00`
    /// may end a window but not start one.
    public init?(_ text: String) {
        let parts = text.trimmingWhitespace().split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = TimeWindow.minutes(parts[0]), let b = TimeWindow.minutes(parts[1], isEnd: true), a < b else { return nil }
        self.init(startMinute: a, endMinute: b)
    }
    static func minutes(_ s: Substring, isEnd: Bool = false) -> Int? {
        let hm = s.trimmingWhitespace().split(separator: ":", omittingEmptySubsequences: false)
        guard hm.count == 2, let h = plainInteger(hm[0], maxDigits: 2), let m = plainInteger(hm[1], maxDigits: 2), (0...59).contains(m) else { return nil }
        if h == 24 { return isEnd && m == 0 ? 1_440 : nil }
        return h < 24 ? h * 60 + m : nil
    }
    public var description: String {
        func f(_ m: Int) -> String { let h = m / 60, mm = m % 60; return (h < 10 ? "0" : "") + "\(h):" + (mm < 10 ? "0" : "") + "\(mm)" }
        return "\(f(startMinute))-\(f(endMinute))"
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let w = TimeWindow(try c.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "Not a HH:MM-HH:MM window.")
        }
        self = w
    }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(description) }
}

/// A period with no experiments: ISO 8601 date-times (`2026-12-20T00:00:00Z`) or dates.
///
/// A date alone is the start (00:00) of that day, and a date-time without an offset a wall-clock time,
/// both in the schedule's `timezone`; see ``CalendarText/instant(_:timeZone:)``.
public struct Blackout: Hashable, Sendable, Codable {
    public var from: String
    public var to: String
    public var reason: String?
    public init(from: String, to: String, reason: String? = nil) { self.from = from; self.to = to; self.reason = reason }
}

// MARK: File format coding

/// Encoded as in files: `minSpacing: {target, group}`; decoding applies the file's defaults.
extension ScheduleSpec {
    enum CodingKeys: String, CodingKey {
        case cron, monkey, timezone, workdays, hours, holidays, holidayCalendar, blackouts, minSpacing
    }
    enum SpacingKeys: String, CodingKey { case target, group }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(cron: try c.decodeIfPresent(CronExpression.self, forKey: .cron),
                  monkey: try c.decodeIfPresent(MonkeySchedule.self, forKey: .monkey))
        timezone = try c.decodeIfPresent(String.self, forKey: .timezone) ?? timezone
        workdays = try c.decodeIfPresent([Weekday].self, forKey: .workdays) ?? workdays
        hours = try c.decodeIfPresent(TimeWindow.self, forKey: .hours) ?? hours
        holidays = try c.decodeIfPresent([String].self, forKey: .holidays) ?? []
        holidayCalendar = try c.decodeIfPresent(String.self, forKey: .holidayCalendar)
        blackouts = try c.decodeIfPresent([Blackout].self, forKey: .blackouts) ?? []
        if c.contains(.minSpacing) {
            let s = try c.nestedContainer(keyedBy: SpacingKeys.self, forKey: .minSpacing)
            minSpacingTarget = try s.decodeIfPresent(ChaosDuration.self, forKey: .target)
            minSpacingGroup = try s.decodeIfPresent(ChaosDuration.self, forKey: .group)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(cron, forKey: .cron)
        try c.encodeIfPresent(monkey, forKey: .monkey)
        try c.encode(timezone, forKey: .timezone)
        try c.encode(workdays, forKey: .workdays)
        try c.encode(hours, forKey: .hours)
        try c.encode(holidays, forKey: .holidays)
        try c.encodeIfPresent(holidayCalendar, forKey: .holidayCalendar)
        try c.encode(blackouts, forKey: .blackouts)
        if minSpacingTarget != nil || minSpacingGroup != nil {
            var s = c.nestedContainer(keyedBy: SpacingKeys.self, forKey: .minSpacing)
            try s.encodeIfPresent(minSpacingTarget, forKey: .target)
            try s.encodeIfPresent(minSpacingGroup, forKey: .group)
        }
    }
}
