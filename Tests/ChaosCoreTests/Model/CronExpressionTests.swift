import Foundation
import Testing
@testable import ChaosCore

@Suite("CronExpression")
struct CronExpressionTests {
    @Test("a star means every value of the field")
    func stars() throws {
        let c = try CronExpression("* * * * *")
        #expect(c.minutes == Set(0...59))
        #expect(c.hours == Set(0...23))
        #expect(c.daysOfMonth == Set(1...31))
        #expect(c.months == Set(1...12))
        #expect(c.daysOfWeek == Set(0...6))
        #expect(!c.domRestricted)
        #expect(!c.dowRestricted)
        #expect(c.description == "* * * * *")
    }

    @Test("values, ranges, steps and lists give the right sets", arguments: [
        ("*/15", Set([0, 15, 30, 45])),
        ("5", Set([5])),
        ("5-10", Set(5...10)),
        ("5-10/2", Set([5, 7, 9])),
        ("5/20", Set([5, 25, 45])),
        ("1,2,30", Set([1, 2, 30])),
        ("0-4,50-59/3", Set([0, 1, 2, 3, 4, 50, 53, 56, 59])),
        ("*/100", Set([0])),
        ("59", Set([59])),
    ])
    func minuteField(text: String, expected: Set<Int>) throws {
        #expect(try CronExpression("\(text) * * * *").minutes == expected)
    }

    @Test("each field is read in its place")
    func fieldsInOrder() throws {
        let c = try CronExpression("30 9-17 1,15 6 2")
        #expect(c.minutes == [30])
        #expect(c.hours == Set(9...17))
        #expect(c.daysOfMonth == [1, 15])
        #expect(c.months == [6])
        #expect(c.daysOfWeek == [2])
        #expect(c.domRestricted)
        #expect(c.dowRestricted)
    }

    @Test("month and weekday names, in any case", arguments: [
        ("0 0 * jan *", [1], Set(0...6)),
        ("0 0 * JAN,Jul,dec *", [1, 7, 12], Set(0...6)),
        ("0 0 * mar-may *", [3, 4, 5], Set(0...6)),
        ("0 10 * * mon-fri", Set(1...12), [1, 2, 3, 4, 5]),
        ("0 10 * * SUN,sat", Set(1...12), [0, 6]),
        ("0 10 * jun-aug/2 tue", [6, 8], [2]),
    ] as [(String, Set<Int>, Set<Int>)])
    func names(text: String, months: Set<Int>, days: Set<Int>) throws {
        let c = try CronExpression(text)
        #expect(c.months == months)
        #expect(c.daysOfWeek == days)
    }

    @Test("weekday 7 is Sunday, like 0", arguments: [
        ("7", Set([0])), ("0,7", [0]), ("5-7", [5, 6, 0]), ("*/2", [0, 2, 4, 6]),
    ] as [(String, Set<Int>)])
    func sevenIsSunday(field: String, days: Set<Int>) throws {
        #expect(try CronExpression("0 0 * * \(field)").daysOfWeek == days)
    }

    @Test("a day field that starts with '*' is unrestricted, as in Vixie cron and cronie")
    func starStepIsUnrestricted() throws {
        let c = try CronExpression("0 0 */1 * mon")
        #expect(c.dowRestricted)
        #expect(!c.domRestricted)
        let d = try CronExpression("0 0 1-15 * */2")
        #expect(d.domRestricted)
        #expect(!d.dowRestricted)
        #expect(try CronExpression("0 0 1,*/2 * *").domRestricted)
    }

    @Test("signs are not numbers in cron fields", arguments: ["+5 * * * *", "0 +1 * * *", "*/+2 * * * *", "0 0 * * -1"])
    func signsRejected(text: String) {
        #expect(throws: CronExpression.ParseError.self) { try CronExpression(text) }
    }

    @Test("tabs and repeated spaces separate fields")
    func whitespace() throws {
        let c = try CronExpression("0\t12  *   * *")
        #expect(c.hours == [12])
        #expect(c.text == "0\t12  *   * *")
    }

    @Test("six fields: the seconds first; every ten seconds fires six times a minute, at the right instants")
    func seconds() throws {
        let c = try CronExpression("*/10 * * * * *")
        #expect(c.seconds == [0, 10, 20, 30, 40, 50] && c.minutes.count == 60)
        let utc = try #require(ZoneClock("UTC"))
        let fires = c.fires(from: 1_800_000_000, to: 1_800_000_060, clock: utc)
        #expect(fires == [0, 10, 20, 30, 40, 50].map { 1_800_000_000 + Double($0) })
        #expect(try CronExpression("0 10 * * tue").seconds == [0])
        #expect(try CronExpression("15,45 0 12 * * *").fires(from: 1_800_000_000, to: 1_800_000_000 + 86_400, clock: utc).count == 2)
    }

    @Test("errors name the field and the problem", arguments: [
        ("* * * *", "'* * * *' has 4 fields; cron needs 5 (minute hour day-of-month month day-of-week), or 6 with the seconds first"),
        ("* * * * * * *", "'* * * * * * *' has 7 fields; cron needs 5 (minute hour day-of-month month day-of-week), or 6 with the seconds first"),
        ("", "'' has 0 fields; cron needs 5 (minute hour day-of-month month day-of-week), or 6 with the seconds first"),
        ("60 * * * * *", "second 60 is outside 0-59"),
        ("60 * * * *", "minute 60 is outside 0-59"),
        ("* 24 * * *", "hour 24 is outside 0-23"),
        ("* * 0 * *", "day-of-month 0 is outside 1-31"),
        ("* * 32 * *", "day-of-month 32 is outside 1-31"),
        ("* * * 13 *", "month 13 is outside 1-12"),
        ("* * * 0 *", "month 0 is outside 1-12"),
        ("* * * * 8", "day-of-week 8 is outside 0-7"),
        ("*/0 * * * *", "minute step '0' must be a positive number"),
        ("* */x * * *", "hour step 'x' must be a positive number"),
        ("* * * * 1/-1", "day-of-week step '-1' must be a positive number"),
        ("x * * * *", "minute 'x' is not a number"),
        ("* * * foo *", "month 'foo' is not a number or a name (jan, feb, mar, apr, may, jun, jul, aug, sep, oct, nov, dec)"),
        ("* * * * funday", "day-of-week 'funday' is not a number or a name (sun, mon, tue, wed, thu, fri, sat)"),
        ("mon * * * *", "minute 'mon' is not a number"),
        ("10-5 * * * *", "minute range '10-5' runs backwards"),
        ("* * * * fri-mon", "day-of-week range 'fri-mon' runs backwards"),
        ("1-2-3 * * * *", "minute '1-2-3' is malformed"),
        ("1/2/3 * * * *", "minute '1/2/3' is malformed"),
    ])
    func errors(text: String, message: String) {
        #expect(throws: CronExpression.ParseError(description: message)) { try CronExpression(text) }
    }

    @Test("round-trips through JSON as its text; bad text fails to decode")
    func codable() throws {
        let c = try CronExpression("0 10 * * mon-fri")
        let data = try JSONEncoder().encode([c])
        #expect(String(decoding: data, as: UTF8.self) == #"["0 10 * * mon-fri"]"#)
        #expect(try JSONDecoder().decode([CronExpression].self, from: data) == [c])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([CronExpression].self, from: Data(#"["61 * * * *"]"#.utf8)) }
    }

    @Test("every single value of every field parses to itself", arguments: [
        (0, 0...59), (1, 0...23), (2, 1...31), (3, 1...12), (4, 0...6),
    ] as [(Int, ClosedRange<Int>)])
    func exhaustiveSingleValues(position: Int, range: ClosedRange<Int>) throws {
        for v in range {
            var fields = ["*", "*", "*", "*", "*"]
            fields[position] = String(v)
            let c = try CronExpression(fields.joined(separator: " "))
            let sets = [c.minutes, c.hours, c.daysOfMonth, c.months, c.daysOfWeek]
            #expect(sets[position] == [v], "value \(v) in field \(position)")
        }
    }
}

@Suite("CalendarText")
struct CalendarTextTests {
    @Test("real dates are dates", arguments: [
        "2026-01-01", "2026-12-31", "2024-02-29", "2000-02-29", "2026-04-30", "1999-11-30",
    ])
    func validDates(text: String) {
        #expect(CalendarText.isDate(text))
        #expect(CalendarText.isDateOrDateTime(text))
    }

    @Test("impossible or misshapen dates are not", arguments: [
        "2023-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-01-00", "2026-01-32",
        "2026-4-01", "26-04-01", "2026/04/01", "abcd-01-01", "2026-01", "2026-01-01-01", "", "2026-01-01T10:00",
    ])
    func invalidDates(text: String) {
        #expect(!CalendarText.isDate(text))
    }

    @Test("date-times with optional seconds and a zone are accepted", arguments: [
        "2026-12-20T18:00", "2026-12-20T18:00:00", "2026-12-20T18:00:00Z", "2026-12-20T00:00Z",
        "2026-12-20T18:00:00+02:00", "2026-12-20T18:00:00-05:30", "2026-12-20T23:59:59.5Z", "2026-12-31T23:59:60Z",
    ])
    func validDateTimes(text: String) {
        #expect(CalendarText.isDateOrDateTime(text))
    }

    @Test("bad times, zones and dates are rejected", arguments: [
        "2026-12-20T24:00", "2026-12-20T18:60", "2026-12-20T18", "2026-12-20T18:00:61", "2026-12-20T18:00:00+2",
        "2026-12-20T18:00:00+15:00", "2026-12-20T18:00:00+02:60", "2026-02-30T10:00", "2026-12-20 18:00",
        "2026-12-20t18:00", "T18:00", "2026-12-20Tab:cd",
    ])
    func invalidDateTimes(text: String) {
        #expect(!CalendarText.isDateOrDateTime(text))
    }

    @Test("signs, short parts and a dangling T are not part of a date", arguments: [
        "2026-+1-+1", "+026-01-01", "2026-1-01", "2026-01-1", "26-01-01", "02026-01-01", "2026-01-01T",
        "2026-12-20T+1:00", "2026-12-20T8:00", "2026-12-20T18:0", "2026-12-20T18:00:0", "2026-12-20T18:00:00.",
        "2026-12-20T18:00:00+1:00", "2026-12-20T18:00:00+01:0", "2026-12-20T18:00+-1:00", " 2026-01-01",
    ])
    func signsAndDanglingT(text: String) {
        #expect(!CalendarText.isDateOrDateTime(text))
        #expect(!CalendarText.isDate(text))
    }

    @Test("instants: dates at midnight, offsets applied, local times in the given zone", arguments: [
        ("1970-01-01", "UTC", 0),
        ("2026-12-20", "UTC", 1_797_724_800),
        ("2026-12-20T10:00:00+05:00", "UTC", 1_797_724_800 + 5 * 3_600),
        ("2026-12-20T09:00Z", "Europe/Paris", 1_797_724_800 + 9 * 3_600),
        ("2026-12-20", "Europe/Paris", 1_797_724_800 - 3_600),
        ("2026-07-01T12:00", "Europe/Paris", 1_782_907_200 - 2 * 3_600),
        ("2024-02-29T23:59:59.5-00:30", "UTC", 1_709_251_199.5 + 1_800),
    ] as [(String, String, Double)])
    func instants(text: String, zone: String, seconds: Double) {
        #expect(CalendarText.instant(text, timeZone: zone) == seconds)
    }
}
