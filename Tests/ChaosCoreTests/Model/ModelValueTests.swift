import Foundation
import Testing
@testable import ChaosCore

@Suite("Small model values")
struct ModelValueTests {
    @Test("FaultKind: reversibility and subject by kind", arguments: FaultKind.allCases)
    func faultKinds(kind: FaultKind) {
        #expect(kind.isReversible == !(kind == .processKill || kind == .systemdKill || kind == .processSignal))
        switch kind {
        case .processKill, .processPause, .processSignal: #expect(kind.subject == .processes)
        case .systemdStop, .systemdKill: #expect(kind.subject == .unit)
        default: #expect(kind.subject == .host)
        }
        #expect(kind.shapesPackets == [.networkDelay, .networkCorrupt, .networkDuplicate, .networkReorder].contains(kind))
        #expect(kind.description == kind.rawValue)
        #expect(kind.rawValue.split(separator: ".").count == 2, "kinds are area.action")
    }

    @Test("ProcessSelector: setCount, scope and description", arguments: [
        (ProcessSelector(), 0, "no selector"),
        (ProcessSelector(pid: 42), 1, "pid 42"),
        (ProcessSelector(pidfile: "/run/x.pid"), 1, "pidfile '/run/x.pid'"),
        (ProcessSelector(name: "redis-server"), 1, "name 'redis-server'"),
        (ProcessSelector(match: "java .*kafka"), 1, "command line matching 'java .*kafka'"),
        (ProcessSelector(port: 6379), 1, "listener on TCP port 6379"),
        (ProcessSelector(unit: "redis.service"), 1, "unit 'redis.service'"),
        (ProcessSelector(unit: "app.service", user: true), 1, "user unit 'app.service'"),
        (ProcessSelector(pid: 1, name: "x", port: 2), 3, "pid 1"),
    ] as [(ProcessSelector, Int, String)])
    func selectors(selector: ProcessSelector, count: Int, text: String) {
        #expect(selector.setCount == count)
        #expect(selector.description == text)
    }

    @Test("ProcessSelector.scope is user only when user is true")
    func scope() {
        #expect(ProcessSelector(unit: "a.service").scope == .system)
        #expect(ProcessSelector(unit: "a.service", user: false).scope == .system)
        #expect(ProcessSelector(unit: "a.service", user: true).scope == .user)
        #expect(ProcessSelector.fieldNames == ["pid", "pidfile", "name", "match", "port", "unit"])
    }

    @Test("PortRange accepts ports and ranges in 1-65535", arguments: [
        ("80", 80, 80, "80"), ("8000-8100", 8000, 8100, "8000-8100"), (" 1-65535 ", 1, 65535, "1-65535"), ("22-22", 22, 22, "22"),
    ] as [(String, Int, Int, String)])
    func portRanges(text: String, lower: Int, upper: Int, description: String) throws {
        let r = try #require(PortRange(text))
        #expect(r.lower == lower && r.upper == upper)
        #expect(r.description == description)
    }

    @Test("PortRange rejects the rest", arguments: ["0", "65536", "100-80", "a", "", "1-2-3", "-5", "80-", "1.5", "+80", "80-+90", "8 0"])
    func badPortRanges(text: String) {
        #expect(PortRange(text) == nil)
    }

    @Test("BandwidthRate converts tc units to bits per second", arguments: [
        ("1mbit", 1_000_000), ("512kbit", 512_000), ("1gbit", 1_000_000_000), ("100bit", 100), ("1kbps", 8_000),
        ("2mbps", 16_000_000), ("1.5MBIT", 1_500_000), ("10bps", 80),
    ] as [(String, Int64)])
    func rates(text: String, bits: Int64) throws {
        #expect(try #require(BandwidthRate(text)).bitsPerSecond == bits)
    }

    @Test("BandwidthRate rejects missing or unknown units and zero", arguments: ["1", "1mb", "0mbit", "mbit", "", "-1mbit", "1 mbit"])
    func badRates(text: String) {
        #expect(BandwidthRate(text) == nil)
    }

    @Test("StatusRange parses codes and ranges of 100-599", arguments: [
        ("200", 200, 200), ("200-299", 200, 299), ("599", 599, 599), ("100-100", 100, 100),
    ] as [(String, Int, Int)])
    func statusRanges(text: String, lower: Int, upper: Int) throws {
        let r = try #require(StatusRange(text))
        #expect(r == StatusRange(lower, upper))
        #expect(r.contains(lower) && r.contains(upper) && !r.contains(lower - 1) && !r.contains(upper + 1))
    }

    @Test("StatusRange rejects the rest", arguments: ["99", "600", "299-200", "abc", "", "2xx", "+200", "200-+299"])
    func badStatusRanges(text: String) {
        #expect(StatusRange(text) == nil)
    }

    @Test("TimeWindow parses HH:MM-HH:MM with the end after the start", arguments: [
        ("09:00-17:00", 540, 1_020, "09:00-17:00"), ("0:00-24:00", 0, 1_440, "00:00-24:00"), (" 9:05 - 9:06 ", 545, 546, "09:05-09:06"),
    ] as [(String, Int, Int, String)])
    func windows(text: String, start: Int, end: Int, description: String) throws {
        let w = try #require(TimeWindow(text))
        #expect(w.startMinute == start && w.endMinute == end)
        #expect(w.description == description)
    }

    @Test("TimeWindow rejects backwards, empty and out-of-range windows", arguments: [
        "17:00-09:00", "09:00-09:00", "24:01-24:30", "25:00-26:00", "09:60-10:00", "9-17", "", "09:00", "09:00-17:00-18:00",
        "-09:00-17:00", "09:00--17:00", "09:00-17:00-", "+9:00-17:00", "09:+5-17:00", "24:00-24:00", "009:00-17:00",
    ])
    func badWindows(text: String) {
        #expect(TimeWindow(text) == nil)
    }

    @Test("time zone names are checked against the system database", arguments: [
        ("UTC", true), ("Europe/Paris", true), ("America/New_York", true), ("Mars/Olympus", false), ("", false),
        // IANA links the system resolves to themselves are names too...
        ("Asia/Kolkata", true), ("Etc/UTC", true), ("GMT", true),
        // ...but offsets and spellings Foundation also understands are not.
        ("GMT+1", false), ("UTC+01:00", false), ("utc", false), ("europe/paris", false),
    ])
    func timeZones(name: String, known: Bool) {
        #expect(TimeZoneNames.isKnown(name) == known)
    }

    @Test("ChaosError maps its exit kinds to the design's exit statuses")
    func chaosError() throws {
        #expect(ChaosError("x.y", "Boom.").exit.status == 1)
        #expect(ChaosError.usage("x.y", "Bad.").exit.status == 64)
        #expect(ChaosError.internalError("x.y", "Bug.").exit.status == 70)
        #expect(ChaosError("x.y", "Boom.").description == "Boom.")
        let e = ChaosError.usage("target.noMatch", "No process matched.")
        #expect(try JSONDecoder().decode(ChaosError.self, from: JSONEncoder().encode(e)) == e)
    }

    @Test("JSONValue decodes every JSON shape and encodes it back")
    func jsonValue() throws {
        let text = #"{"a":[1,2.5,"s",true,null],"b":{"c":false}}"#
        let v = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(v == .object(["a": .array([.number(1), .number(2.5), .string("s"), .bool(true), .null]), "b": .object(["c": .bool(false)])]))
        #expect(try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(v)) == v)
    }

    @Test("Selection and defaults of the spec structs are the documented ones")
    func defaults() {
        let e = ExpectSpec()
        #expect(e.availabilityBefore == 100 && e.availabilityDuring == 95 && e.availabilityAfter == 100)
        #expect(e.maxOutage == .seconds(10) && e.recoverWithin == .seconds(30))
        let s = ScheduleSpec()
        #expect(s.timezone == "UTC" && s.workdays == [.mon, .tue, .wed, .thu, .fri] && s.hours.description == "09:00-17:00")
        let p = ProbeSpec(name: "p", type: .tcp)
        #expect(p.interval == .seconds(1) && p.timeout == .seconds(1) && p.successThreshold == 1 && p.failureThreshold == 1)
        #expect(SafetySpec() == SafetySpec(maxCount: nil, maxPercent: nil, dryRun: false, allowProtected: false))
    }
}
