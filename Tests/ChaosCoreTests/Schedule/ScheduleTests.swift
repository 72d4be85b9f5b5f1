@testable import ChaosCore
import Foundation
import Testing

/// The schedule's pure logic, with instants given by hand (a manual clock).
@Suite("Schedules: cron in time zones, work calendars, Chaos Monkey, spacing")
struct ScheduleTests {
    static func at(_ s: String, _ zone: String = "UTC") -> Double { CalendarText.instant(s, timeZone: zone)! }
    static func spec(_ f: (inout ScheduleSpec) -> Void) -> ScheduleSpec { var s = ScheduleSpec(); f(&s); return s }

    @Test("a wall time skipped by daylight saving does not exist; a repeated one is its earlier instant")
    func zoneClock() throws {
        let berlin = try #require(ZoneClock("Europe/Berlin"))
        let spring = try #require(ZoneClock.day("2026-03-29"))
        #expect(berlin.instant(day: spring, minute: 150) == nil, "02:30 does not exist on 29 March 2026 in Berlin")
        #expect(berlin.firstInstant(day: spring, minute: 150) == Self.at("2026-03-29T01:00:00Z"), "it fires when the gap ends, 03:00 CEST")
        let autumn = try #require(ZoneClock.day("2026-10-25"))
        #expect(berlin.instant(day: autumn, minute: 150) == Self.at("2026-10-25T00:30:00Z"), "02:30 CEST, not 02:30 CET")
        #expect(berlin.local(Self.at("2026-10-25T01:30:00Z")).minute == 150, "the second 02:30 is still 02:30 locally")
        #expect(ZoneClock.weekday(ofDay: ZoneClock.day("2026-11-29")!) == .sun)
        #expect(ZoneClock.dateText(ZoneClock.day("2024-02-29")!) == "2024-02-29")
    }

    @Test("cron follows the zone's wall clock across daylight-saving changes")
    func cronAcrossDST() throws {
        let ny = try #require(ZoneClock("America/New_York"))
        let cron = try CronExpression("0 10 * * mon-fri")
        let fires = cron.fires(from: Self.at("2026-03-06T00:00:00Z"), to: Self.at("2026-03-14T00:00:00Z"), clock: ny)
        // 10:00 EST is 15:00Z until Friday 6 March; from Monday 9 March (EDT) it is 14:00Z.
        #expect(fires.map { ny.text($0) } == ["2026-03-06 10:00", "2026-03-09 10:00", "2026-03-10 10:00", "2026-03-11 10:00", "2026-03-12 10:00", "2026-03-13 10:00"])
        #expect(fires.first == Self.at("2026-03-06T15:00:00Z") && fires[1] == Self.at("2026-03-09T14:00:00Z"))

        let berlin = try #require(ZoneClock("Europe/Berlin"))
        let nightly = try CronExpression("30 2 * * *")
        let spring = nightly.fires(from: Self.at("2026-03-28T00:00:00Z"), to: Self.at("2026-03-31T00:00:00Z"), clock: berlin)
        #expect(spring.map { berlin.text($0) } == ["2026-03-28 02:30", "2026-03-29 03:00", "2026-03-30 02:30"], "the skipped 02:30 fires once, at 03:00")
        let autumn = nightly.fires(from: Self.at("2026-10-24T00:00:00Z"), to: Self.at("2026-10-27T00:00:00Z"), clock: berlin)
        #expect(autumn.count == 3, "the repeated 02:30 fires once: \(autumn.map { berlin.text($0) })")
        let everyQuarter = try CronExpression("*/15 2 * * *")
        let gap = everyQuarter.fires(from: Self.at("2026-03-29T00:00:00Z"), to: Self.at("2026-03-29T02:00:00Z"), clock: berlin)
        #expect(gap == [Self.at("2026-03-29T01:00:00Z")], "four skipped times fire once at the end of the gap")
    }

    @Test("cron: day of month and day of week are ORed when both are restricted")
    func cronDomDow() throws {
        let utc = try #require(ZoneClock("UTC"))
        let fires = try CronExpression("0 12 13 * fri").fires(from: Self.at("2026-11-01"), to: Self.at("2026-12-01"), clock: utc)
        #expect(fires.map { utc.text($0).prefix(10) } == ["2026-11-06", "2026-11-13", "2026-11-20", "2026-11-27"])
        let first = try CronExpression("0 9 1 * *").fires(from: Self.at("2026-01-01"), to: Self.at("2027-01-01"), clock: utc)
        #expect(first.count == 12)
    }

    @Test("the calendar closes blackouts, holidays, other days and hours, in the schedule's zone")
    func calendar() throws {
        let cal = try WorkCalendar(Self.spec {
            $0.timezone = "Europe/Berlin"; $0.workdays = [.mon, .tue, .wed, .thu, .sat]; $0.hours = TimeWindow("08:00-16:30")!
            $0.holidays = ["2026-12-24"]; $0.blackouts = [Blackout(from: "2026-12-28", to: "2027-01-02", reason: "year end")]
        }, extraHolidays: ["2026-12-31"])
        #expect(cal.closed(at: Self.at("2026-12-01T08:00", "Europe/Berlin")) == nil, "Tuesday 08:00 Berlin")
        #expect(cal.closed(at: Self.at("2026-12-01T07:59", "Europe/Berlin")) == .outsideHours(TimeWindow("08:00-16:30")!))
        #expect(cal.closed(at: Self.at("2026-12-01T16:30", "Europe/Berlin"))?.code == "outside_hours", "the window's end is outside")
        #expect(cal.closed(at: Self.at("2026-12-04T10:00", "Europe/Berlin")) == .notWorkday(.fri))
        #expect(cal.closed(at: Self.at("2026-12-05T10:00", "Europe/Berlin")) == nil, "Saturday is a work day here")
        #expect(cal.closed(at: Self.at("2026-12-24T10:00", "Europe/Berlin")) == .holiday("2026-12-24"))
        #expect(cal.closed(at: Self.at("2026-12-29T10:00", "Europe/Berlin")) == .blackout("year end"))
        #expect(cal.closed(at: Self.at("2027-01-02T10:00", "Europe/Berlin")) == .notWorkday(.sat) || cal.closed(at: Self.at("2027-01-02T10:00", "Europe/Berlin")) == nil,
                "the blackout ends at the start of 2 January")
        #expect(throws: ChaosError.self) { try WorkCalendar(Self.spec { $0.timezone = "GMT+1 land" }) }
    }

    @Test("property: nothing fires in a blackout, on a holiday, on another day or outside hours, whatever the cron")
    func neverClosed() throws {
        var rng = SplitMix64(seed: 7)
        let zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
        let crons = ["*/7 * * * *", "0 */3 * * *", "15 9-17 * * *", "0 2 * * *", "30 2 * 3,10 sun", "0 0 1 * *"]
        for _ in 0..<60 {
            let zone = zones.randomElement(using: &rng)!
            let start = Self.at("2026-01-01") + Double(rng.next() % 300) * 86_400
            let from = ZoneClock.dateText(Int(start / 86_400) + 3), to = ZoneClock.dateText(Int(start / 86_400) + 6)
            let s = Self.spec {
                $0.cron = try? CronExpression(crons.randomElement(using: &rng)!)
                $0.timezone = zone
                $0.workdays = Weekday.allCases.filter { _ in rng.next() % 3 != 0 }.ifEmpty([.wed])
                $0.hours = TimeWindow(startMinute: Int(rng.next() % 600), endMinute: 700 + Int(rng.next() % 740))
                $0.holidays = [ZoneClock.dateText(Int(start / 86_400) + 1)]
                $0.blackouts = [Blackout(from: from, to: to + "T12:00")]
            }
            let cal = try WorkCalendar(s)
            let exp = ScheduledExperiment(name: "e", target: "t", groups: [], schedule: s, calendar: cal, runSeconds: 60)
            let plan = SchedulePlanner.plan([exp], from: start, to: start + 14 * 86_400, seed: 1, history: [])
            for f in plan where f.fires {
                let l = cal.clock.local(f.at)
                #expect(cal.blackout(at: f.at) == nil && !cal.holidays.contains(l.day))
                #expect(s.workdays.contains(ZoneClock.weekday(ofDay: l.day)))
                #expect(l.minute >= s.hours.startMinute && l.minute < s.hours.endMinute, "\(zone) \(cal.clock.text(f.at)) \(s.hours)")
            }
            for f in plan where !f.fires { #expect(cal.closed(at: f.at) != nil || f.skipCode == "target_busy") }
        }
    }

    @Test("monkey: over 10,000 work days the mean gap between kills is within 5 % of meanWorkdays; the minimum gap always holds",
          arguments: [(5.0, 1.0), (3.0, 2.0), (10.0, 4.0), (2.0, 0.0)], [UInt64(1), 2, 3])
    func monkeyMean(_ params: (Double, Double), seed: UInt64) throws {
        let (mean, minimum) = params
        let cal = try WorkCalendar(Self.spec { $0.workdays = [.mon, .tue, .wed, .thu, .fri] })
        let start = try #require(ZoneClock.day("2027-01-04"))  // a Monday
        let days = 14_000  // 10,000 work days
        let draws = MonkeyDraws(MonkeySchedule(meanWorkdays: mean, minWorkdays: minimum), seed: seed, experiment: "monkey")
            .draws(cal, fromDay: start, toDay: start + days - 1, lastKillDay: nil)
        let workIndex = Dictionary(uniqueKeysWithValues: (start..<(start + days)).filter(cal.isOpenDay).enumerated().map { ($0.element, $0.offset) })
        let kills = draws.map { workIndex[cal.clock.local($0.at).day]! }
        #expect(workIndex.count == 10_000)
        let gaps = zip(kills.dropFirst(), kills).map { $0 - $1 }
        let observed = Double(gaps.reduce(0, +)) / Double(gaps.count)
        print("[schedule] monkey mean \(mean) min \(minimum): \(kills.count) kills, mean gap \(observed) work days, min gap \(gaps.min() ?? 0)")
        #expect(abs(observed - mean) / mean < 0.05, "mean gap \(observed)")
        #expect(gaps.allSatisfy { $0 >= max(1, Int(minimum)) })
        #expect(draws.allSatisfy { cal.closed(at: $0.at) == nil }, "inside work days and hours")
    }

    @Test("monkey draws are the same for the same seed, differ with another, and resume after the last kill")
    func monkeyDeterministic() throws {
        let cal = try WorkCalendar(ScheduleSpec())
        let d0 = ZoneClock.day("2027-02-01")!
        let a = MonkeyDraws(MonkeySchedule(meanWorkdays: 2, minWorkdays: 1), seed: 9, experiment: "x").draws(cal, fromDay: d0, toDay: d0 + 60, lastKillDay: nil)
        let b = MonkeyDraws(MonkeySchedule(meanWorkdays: 2, minWorkdays: 1), seed: 9, experiment: "x").draws(cal, fromDay: d0, toDay: d0 + 60, lastKillDay: nil)
        let c = MonkeyDraws(MonkeySchedule(meanWorkdays: 2, minWorkdays: 1), seed: 10, experiment: "x").draws(cal, fromDay: d0, toDay: d0 + 60, lastKillDay: nil)
        #expect(a == b && a != c)
        // A kill yesterday with a 3-work-day minimum: nothing in the next two work days.
        let after = MonkeyDraws(MonkeySchedule(meanWorkdays: 3, minWorkdays: 3), seed: 1, experiment: "x").draws(cal, fromDay: d0, toDay: d0 + 30, lastKillDay: d0 - 1)
        let firstDay = try #require(after.first.map { cal.clock.local($0.at).day })
        #expect(firstDay >= d0 + 2, "Monday's kill → not before Wednesday")
    }

    @Test("property: spacing per target and group holds and no target has two runs at once, whatever fires")
    func spacing() throws {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<40 {
            var exps: [ScheduledExperiment] = []
            for i in 0..<5 {
                let s = Self.spec {
                    $0.cron = try? CronExpression(["*/10 * * * *", "0 * * * *", "*/25 9-16 * * *"].randomElement(using: &rng)!)
                    $0.workdays = Weekday.allCases; $0.hours = TimeWindow("00:00-24:00")!
                    $0.minSpacingTarget = .milliseconds(Int64(rng.next() % 7200) * 1000)
                    $0.minSpacingGroup = rng.next() % 2 == 0 ? .milliseconds(Int64(rng.next() % 3600) * 1000) : nil
                }
                exps.append(ScheduledExperiment(name: "e\(i)", target: ["db", "web", "cache"][i % 3], groups: [i % 2 == 0 ? "g1" : "g2"],
                                                schedule: s, calendar: try WorkCalendar(s), runSeconds: Double(rng.next() % 900)))
            }
            let from = Self.at("2026-06-01")
            let history = [PastRun(experiment: "e0", target: "db", groups: ["g1"], at: from - 600)]
            let plan = SchedulePlanner.plan(exps, from: from, to: from + 2 * 86_400, seed: 5, history: history)
            let fired = history.map { ($0.at, $0.experiment, $0.target, $0.groups) } + plan.filter(\.fires).map { f in
                (f.at, f.experiment, f.target, exps.first { $0.name == f.experiment }!.groups)
            }
            for (i, f) in fired.enumerated() {
                let e = exps.first { $0.name == f.1 }!
                for g in fired[..<i] {
                    let ge = exps.first { $0.name == g.1 }!
                    if g.2 == f.2 {
                        #expect(f.0 >= g.0 + ge.runSeconds, "two runs on \(f.2) at once")
                        if let min = e.schedule.minSpacingTarget, i > 0, g.0 >= from - 600 { #expect(f.0 - g.0 >= Double(min.milliseconds) / 1000) }
                    }
                    if let min = e.schedule.minSpacingGroup, !Set(g.3).isDisjoint(with: e.groups) {
                        #expect(f.0 - g.0 >= Double(min.milliseconds) / 1000, "group spacing")
                    }
                }
            }
        }
    }

    @Test("holiday calendars: dates, multi-day events, folded lines, yearly rules; errors name the line")
    func ics() throws {
        let text = """
        BEGIN:VCALENDAR\r
        VERSION:2.0\r
        BEGIN:VEVENT\r
        SUMMARY:Christmas\r
        DTSTART;VALUE=DATE:20261225\r
        DTEND;VALUE=DATE:20261227\r
        END:VEVENT\r
        BEGIN:VEVENT\r
        SUMMARY:New year, a long
          description\r
        DTSTART:20270101T000000Z\r
        RRULE:FREQ=YEARLY;COUNT=3\r
        END:VEVENT\r
        BEGIN:VEVENT\r
        DTSTART;VALUE=DATE:20270503\r
        DURATION:P2D\r
        END:VEVENT\r
        END:VCALENDAR\r
        """
        let dates = try HolidayCalendar.dates(text, file: "h.ics", through: "2028-12-31")
        #expect(dates == ["2026-12-25", "2026-12-26", "2027-01-01", "2027-05-03", "2027-05-04", "2028-01-01"])
        do {
            _ = try HolidayCalendar.dates("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:2026-12-25\nEND:VEVENT\n", file: "h.ics", through: "2027-01-01")
            Issue.record("a bad date must be refused")
        } catch {
            #expect(error.message.hasPrefix("h.ics:3: DTSTART '2026-12-25' is not a date"))
        }
        #expect(throws: ChaosError.self) { try HolidayCalendar.dates("BEGIN:VEVENT\n", file: "x", through: "2027-01-01") }
    }
}

private extension Array {
    func ifEmpty(_ other: [Element]) -> [Element] { isEmpty ? other : self }
}


@Suite("Due fires: never twice, missed once, halted skipped")
struct DueFiresTests {
    static func fire(_ name: String, _ at: Double, skip: String? = nil) -> PlannedFire {
        PlannedFire(at: at, experiment: name, target: "t", trigger: .cron, skipCode: skip, skipReason: skip)
    }

    @Test("a controller restarted after a crash neither repeats a started fire nor runs a long-missed one late")
    func restart() {
        let plan = [Self.fire("a", 1_000), Self.fire("b", 1_030), Self.fire("c", 1_100), Self.fire("d", 1_190), Self.fire("e", 1_200, skip: "blackout"), Self.fire("f", 1_300)]
        // "a" was started before the crash (its record was written first); the controller was down
        // from 1,010 to 1,200, with a grace of 60 s.
        let recorded: Set<DueFires.Key> = [DueFires.Key(plan[0])]
        let d = DueFires.decide(plan, recorded: recorded, now: 1_200, grace: 60)
        #expect(d.start.map(\.experiment) == ["d"], "within the grace: starts late")
        #expect(d.missed.map(\.experiment) == ["b", "c"], "long missed: recorded, not run")
        #expect(d.skipped.map(\.experiment) == ["e"])
        #expect(!d.start.contains { $0.experiment == "a" } && !d.start.contains { $0.experiment == "f" }, "started before, or not due yet")
        // Once recorded, the next look decides nothing about them again.
        let after = recorded.union((d.start + d.missed + d.skipped).map(DueFires.Key.init))
        let next = DueFires.decide(plan, recorded: after, now: 1_250, grace: 60)
        #expect(next.start.isEmpty && next.missed.isEmpty && next.skipped.isEmpty)
    }

    @Test("property: over any sequence of looks, each fire is decided exactly once")
    func exactlyOnce() {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<200 {
            let plan = (0..<20).map { i in Self.fire("e\(i % 4)", Double(i * 37 + Int(rng.next() % 30)), skip: rng.next() % 5 == 0 ? "holiday" : nil) }
            var recorded = Set<DueFires.Key>()
            var decided: [DueFires.Key] = []
            var now = 0.0
            while now < 900 {
                now += Double(rng.next() % 120)
                let d = DueFires.decide(plan, recorded: recorded, now: now, grace: 45, halted: rng.next() % 7 == 0 ? "incident" : nil)
                let keys = (d.start + d.missed + d.skipped).map(DueFires.Key.init)
                decided += keys
                recorded.formUnion(keys)
            }
            #expect(Set(decided).count == decided.count, "decided twice")
            #expect(Set(decided) == Set(plan.filter { $0.at <= now }.map(DueFires.Key.init)))
        }
    }
}
