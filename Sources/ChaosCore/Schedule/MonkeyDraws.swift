/// Chaos-Monkey draws for one experiment: on each open work day (a work day that is not a holiday),
/// a kill with probability `p` at a uniformly random minute of the work hours; after a kill the next
/// `g - 1` open work days draw nothing, where `g = max(1, ⌈minWorkdays⌉)`.
///
/// `p = 1 / (meanWorkdays - g + 1)`, so the mean gap between kills, in open work days, is
/// `(g - 1) + 1/p = meanWorkdays`: the minimum makes gaps more regular without changing the mean
/// (with the default minimum of 1, `p` is exactly `1/meanWorkdays`, as in Netflix's Chaos Monkey).
///
/// Draws are deterministic per (seed, experiment, day): `chaos schedule preview` shows exactly what
/// the controller with the same seed will do. A draw that lands in a blackout is lost (no kill, and
/// it does not restart the minimum gap).
public struct MonkeyDraws: Sendable {
    public let schedule: MonkeySchedule
    public let seed: UInt64
    public let experiment: String

    public init(_ schedule: MonkeySchedule, seed: UInt64, experiment: String) {
        self.schedule = schedule; self.seed = seed; self.experiment = experiment
    }

    var gap: Int { max(1, Int(schedule.minWorkdays.rounded(.up))) }

    public var probability: Double { min(1, 1 / max(1, schedule.meanWorkdays - Double(gap) + 1)) }

    /// Two uniform numbers in [0, 1) for `day`: whether, and when.
    func draw(day: Int) -> (whether: Double, when: Double) {
        func mix(_ x: UInt64) -> UInt64 { SplitMix64.mix(x &+ 0x9E37_79B9_7F4A_7C15) }
        let name = experiment.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
        let key = mix(mix(seed ^ name) ^ UInt64(bitPattern: Int64(day)))
        let unit = { (z: UInt64) in Double(z >> 11) / Double(UInt64(1) << 53) }
        return (unit(mix(key)), unit(mix(key ^ 0xA5A5_A5A5_A5A5_A5A5)))
    }

    public struct Draw: Hashable, Sendable {
        public var at: Double
        /// Set when the draw fell into a blackout: no kill.
        public var blocked: WorkCalendar.Closed?
    }

    /// The draws on local days `fromDay...toDay`, given the local day of the last kill before them.
    public func draws(_ calendar: WorkCalendar, fromDay: Int, toDay: Int, lastKillDay: Int?) -> [Draw] {
        var out: [Draw] = []
        // Open work days since the last kill (a kill long ago, or none: free to draw).
        let start = max(fromDay, (lastKillDay ?? fromDay - 1) + 1)
        guard start <= toDay else { return [] }
        var since = gap
        if let last = lastKillDay {
            since = 0
            var d = last + 1
            while d < start && since < gap { if calendar.isOpenDay(d) { since += 1 }; d += 1 }
        }
        let window = calendar.hours
        for day in start...toDay {
            guard calendar.isOpenDay(day) else { continue }
            since += 1
            guard since >= gap else { continue }
            let d = draw(day: day)
            guard d.whether < probability else { continue }
            let minute = window.startMinute + Int(d.when * Double(window.endMinute - window.startMinute))
            let at = calendar.clock.firstInstant(day: day, minute: minute)
            if let b = calendar.blackout(at: at) {
                out.append(Draw(at: at, blocked: .blackout(b.reason)))
            } else {
                out.append(Draw(at: at, blocked: nil))
                since = 0
            }
        }
        return out
    }
}
