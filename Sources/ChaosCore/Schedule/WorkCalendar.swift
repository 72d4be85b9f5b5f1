/// When an experiment may run: work days, work hours, holidays and blackouts of a schedule, in its
/// time zone. Pure: holidays from an iCalendar file are read at the edge and passed in as dates.
public struct WorkCalendar: Sendable {
    /// Why a moment is closed to experiments.
    public enum Closed: Hashable, Sendable, CustomStringConvertible {
        case blackout(String?)
        case holiday(String)
        case notWorkday(Weekday)
        case outsideHours(TimeWindow)

        public var description: String {
            switch self {
            case .blackout(let reason): return "blackout" + (reason.map { " (\($0))" } ?? "")
            case .holiday(let date): return "holiday \(date)"
            case .notWorkday(let day): return "\(day) is not a work day"
            case .outsideHours(let w): return "outside work hours \(w)"
            }
        }
        /// A short machine name: blackout, holiday, not_workday, outside_hours.
        public var code: String {
            switch self {
            case .blackout: return "blackout"
            case .holiday: return "holiday"
            case .notWorkday: return "not_workday"
            case .outsideHours: return "outside_hours"
            }
        }
    }

    public struct Period: Hashable, Sendable {
        public var from: Double
        public var to: Double
        public var reason: String?
    }

    public let clock: ZoneClock
    public let workdays: Set<Weekday>
    public let hours: TimeWindow
    /// Day numbers.
    public let holidays: Set<Int>
    /// Half-open [from, to) instants.
    public let blackouts: [Period]

    /// - Parameter extraHolidays: dates from the schedule's holiday calendar file.
    public init(_ spec: ScheduleSpec, extraHolidays: [String] = []) throws(ChaosError) {
        guard let clock = ZoneClock(spec.timezone) else {
            throw .usage("schedule.badTimeZone", "'\(spec.timezone)' is not an IANA time zone name (e.g. Europe/Berlin).")
        }
        self.clock = clock
        workdays = Set(spec.workdays)
        hours = spec.hours
        holidays = Set((spec.holidays + extraHolidays).compactMap(ZoneClock.day))
        blackouts = spec.blackouts.compactMap { b in
            guard let f = CalendarText.instant(b.from, timeZone: spec.timezone), let t = CalendarText.instant(b.to, timeZone: spec.timezone) else { return nil }
            return Period(from: f, to: t, reason: b.reason)
        }
    }

    /// The blackout in force at `t`, if any.
    public func blackout(at t: Double) -> Period? { blackouts.first { $0.from <= t && t < $0.to } }

    /// Whether runs may happen on local `day` at all (a work day, not a holiday).
    public func isOpenDay(_ day: Int) -> Bool { workdays.contains(ZoneClock.weekday(ofDay: day)) && !holidays.contains(day) }

    /// Why `t` is closed, or nil when a run may start then. Blackouts first (they also halt runs),
    /// then holidays, days, hours.
    public func closed(at t: Double) -> Closed? {
        if let b = blackout(at: t) { return .blackout(b.reason) }
        let l = clock.local(t)
        if holidays.contains(l.day) { return .holiday(ZoneClock.dateText(l.day)) }
        let weekday = ZoneClock.weekday(ofDay: l.day)
        if !workdays.contains(weekday) { return .notWorkday(weekday) }
        if l.minute < hours.startMinute || l.minute >= hours.endMinute { return .outsideHours(hours) }
        return nil
    }
}
