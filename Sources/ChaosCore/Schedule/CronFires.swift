extension CronExpression {
    /// Whether the expression matches local `day` (month, and day of month / day of week: when
    /// both are restricted either may match, as in Vixie cron).
    func matches(day: Int) -> Bool {
        let c = ZoneClock.civil(day)
        guard months.contains(c.month) else { return false }
        let dom = daysOfMonth.contains(c.day)
        let dow = daysOfWeek.contains(ZoneClock.cronWeekday(ofDay: day))
        switch (domRestricted, dowRestricted) {
        case (true, true): return dom || dow
        case (true, false): return dom
        case (false, true): return dow
        case (false, false): return true
        }
    }

    /// Every instant in [from, to) at which the expression fires in `clock`'s zone, in order. A wall
    /// time the zone skips fires at the end of the gap, a repeated one once (see ``ZoneClock``).
    public func fires(from: Double, to: Double, clock: ZoneClock) -> [Double] {
        guard from < to else { return [] }
        var out: [Double] = []
        let minutesOfDay = hours.sorted().flatMap { h in minutes.sorted().map { h * 60 + $0 } }
        let secondsOfMinute = seconds.sorted()
        var day = clock.local(from).day - 1
        let last = clock.local(to).day + 1
        while day <= last {
            if matches(day: day) {
                for m in minutesOfDay {
                    let minute = clock.firstInstant(day: day, minute: m)
                    for s in secondsOfMinute {
                        let t = minute + Double(s)
                        if t >= from && t < to && out.last.map({ $0 < t }) ?? true { out.append(t) }
                    }
                }
            }
            day += 1
        }
        return out
    }
}
