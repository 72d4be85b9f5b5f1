import Foundation
import Testing

/// `chaos schedule preview` end to end: files on disk, a holiday calendar, JSON out.
@Suite("chaos schedule preview")
struct SchedulePreviewTests {
    @Test("fires and skips with reasons, reads the holiday calendar beside the file, and names a bad calendar's line")
    func preview() throws {
        let dir = Harness.stateDir()
        try FileManager.default.createDirectory(atPath: dir + "/exp/db", withIntermediateDirectories: true)
        try """
        BEGIN:VCALENDAR
        BEGIN:VEVENT
        DTSTART;VALUE=DATE:20261229
        END:VEVENT
        END:VCALENDAR

        """.write(toFile: dir + "/exp/db/holidays.ics", atomically: true, encoding: .utf8)
        try """
        apiVersion: chaos/v1
        kind: Experiment
        name: daily-kill
        target: {host: db1, process: {name: redis-server}}
        fault: {type: process.kill}
        schedule:
          cron: "0 11 * * *"
          timezone: Europe/Berlin
          holidayCalendar: holidays.ics
          blackouts: [{from: "2026-12-31", to: "2027-01-01", reason: freeze}]

        """.write(toFile: dir + "/exp/db/daily-kill.yaml", atomically: true, encoding: .utf8)
        let r = try Harness.run(["schedule", "preview", dir + "/exp", "--from", "2026-12-28", "--days", "5", "--output", "json"], state: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let byDay = Dictionary(uniqueKeysWithValues: lines.map { (String(($0["local"] as? String ?? "").prefix(10)), $0) })
        #expect(byDay["2026-12-28"]?["fires"] as? Bool == true)
        #expect(byDay["2026-12-28"]?["at"] as? String == "2026-12-28T10:00:00Z", "11:00 in Berlin")
        #expect(byDay["2026-12-29"]?["skip"] as? String == "holiday", "from the calendar file")
        #expect(byDay["2026-12-31"]?["skip"] as? String == "blackout")
        #expect(byDay["2027-01-02"] == nil, "Saturday's match is outside work days: hidden without --all")
        let all = try Harness.run(["schedule", "preview", dir + "/exp", "--from", "2026-12-28", "--days", "6", "--all"], state: dir)
        #expect(all.stdout.contains("sat is not a work day"), "\(all.stdout)")

        try "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:29.12.2026\nEND:VEVENT\n".write(toFile: dir + "/exp/db/holidays.ics", atomically: true, encoding: .utf8)
        let bad = try Harness.run(["schedule", "preview", dir + "/exp", "--from", "2026-12-28"], state: dir)
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("holidays.ics:3: DTSTART '29.12.2026' is not a date"), "\(bad.stderr)")
    }
}
