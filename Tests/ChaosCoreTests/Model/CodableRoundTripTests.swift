import Foundation
import Testing
@testable import ChaosCore

@Suite("Codable round trips of the model")
struct CodableRoundTripTests {
    static func roundTrip<T: Codable & Equatable>(_ value: T) throws -> T {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try JSONDecoder().decode(T.self, from: encoder.encode(value))
    }

    /// An experiment with every optional part filled in.
    static func maximalExperiment() throws -> Experiment {
        var p = FaultParameters()
        p.signal = SignalName("HUP")
        p.who = "main"
        p.path = "/var/lib/redis"
        p.percent = 95
        p.free = ByteSize(bytes: 100 << 20)
        p.size = ByteSize(bytes: 1 << 30)
        p.workers = 4
        p.load = 80
        p.direction = "egress"
        p.to = ["db1", "10.0.0.0/24"]
        p.ports = ["6379", "8000-8100"]
        p.protocol = "tcp"
        p.interface = "eth0"
        p.lossPercent = 12.5
        p.delay = .milliseconds(200)
        p.jitter = .milliseconds(20)
        p.rate = "1mbit"
        p.and = ["db2"]
        p.mode = "oneway"
        p.includeControlPort = true
        var http = ProbeSpec(name: "web", type: .http, interval: .seconds(2), timeout: .milliseconds(750), successThreshold: 2, failureThreshold: 4)
        http.url = "https://10.0.0.10/health"
        http.method = "POST"
        http.headers = ["Accept": "application/json", "X-Run": "1"]
        http.body = #"{"ping": true}"#
        http.insecure = true
        http.caFile = "/etc/ssl/ca.pem"
        http.tolerance.status = [StatusRange(200, 299), StatusRange(304, 304)]
        http.tolerance.bodyMatches = "ok|up"
        http.tolerance.jsonPath = "$.status"
        http.tolerance.equals = "up"
        http.tolerance.latencyBelow = .milliseconds(300)
        var prom = ProbeSpec(name: "p", type: .prometheus)
        prom.url = "http://10.0.0.5:9090"
        prom.query = "up"
        prom.tolerance.valueBelow = 2
        prom.tolerance.valueAbove = -1.5
        prom.tolerance.valueEquals = 1
        var cmd = ProbeSpec(name: "c", type: .command)
        cmd.command = ["redis-cli", "ping"]
        cmd.tolerance.exitCode = 0
        return Experiment(
            name: "everything",
            description: "All the fields.",
            target: TargetSpec(ref: nil, host: "db1", process: ProcessSelector(unit: "redis.service", user: true),
                               selection: Selection(count: 2, percent: 33.3, random: true)),
            fault: FaultSpec(type: .networkDelay, duration: .milliseconds(90_500), with: p),
            probes: [http, prom, cmd],
            expect: ExpectSpec(availabilityBefore: 99.9, availabilityDuring: 90, availabilityAfter: 99, maxOutage: .seconds(3),
                               recoverWithin: .seconds(45), latencyP50: .milliseconds(20), latencyP95: .milliseconds(80), latencyP99: .milliseconds(120)),
            stopWhen: [StopCondition(probe: "web", availabilityBelow: 50, window: .seconds(10)), StopCondition(availabilityBelow: 10, window: .seconds(1))],
            schedule: ScheduleSpec(cron: nil, monkey: MonkeySchedule(meanWorkdays: 5, minWorkdays: 1.5), timezone: "America/New_York",
                                   workdays: [.mon, .fri], hours: TimeWindow(startMinute: 600, endMinute: 1_440), holidays: ["2026-12-25"],
                                   holidayCalendar: "holidays.ics",
                                   blackouts: [Blackout(from: "2026-12-20T18:00:00Z", to: "2027-01-03", reason: "freeze"), Blackout(from: "2027-02-01", to: "2027-02-02")],
                                   minSpacingTarget: .seconds(3_600), minSpacingGroup: .seconds(7_200)),
            safety: SafetySpec(maxCount: 3, maxPercent: 25, dryRun: true, allowProtected: true)
        )
    }

    @Test("an experiment with every field set survives JSON encoding and decoding")
    func maximalExperimentRoundTrip() throws {
        let e = try Self.maximalExperiment()
        #expect(try Self.roundTrip(e) == e)
    }

    @Test("the experiment and inventory loaded from YAML survive JSON encoding and decoding")
    func loadedDocumentsRoundTrip() throws {
        guard case .experiment(let e) = try #require(Doc.load(ValidDocumentTests.experimentYAML).document) else {
            Issue.record("not an experiment"); return
        }
        #expect(try Self.roundTrip(e) == e)
        guard case .inventory(let i) = try #require(Doc.load(ValidDocumentTests.inventoryYAML).document) else {
            Issue.record("not an inventory"); return
        }
        #expect(try Self.roundTrip(i) == i)
        #expect(try Self.roundTrip(ValidDocumentTests.expectedInventory()) == ValidDocumentTests.expectedInventory())
    }

    @Test("a minimal experiment round-trips with its optionals absent")
    func minimalExperimentRoundTrip() throws {
        let e = Experiment(name: "m", target: TargetSpec(ref: "db-primary"), fault: FaultSpec(type: .processKill, with: FaultParameters()))
        let back = try Self.roundTrip(e)
        #expect(back == e)
        #expect(back.schedule == nil && back.description == nil && back.fault.duration == nil)
    }

    @Test("an empty inventory round-trips")
    func emptyInventoryRoundTrip() throws {
        #expect(try Self.roundTrip(Inventory()) == Inventory())
    }

    @Test("values are encoded in their written forms")
    func encodedForms() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let fault = FaultSpec(type: .processKill, duration: .seconds(90), with: { var p = FaultParameters(); p.signal = .term; return p }())
        let json = String(decoding: try encoder.encode(fault), as: UTF8.self)
        #expect(json == #"{"duration":"1m30s","type":"process.kill","with":{"signal":"SIGTERM"}}"#)
        let window = String(decoding: try encoder.encode([TimeWindow(startMinute: 545, endMinute: 1_020)]), as: UTF8.self)
        #expect(window == #"["09:05-17:00"]"#)
        let status = String(decoding: try encoder.encode([StatusRange(200, 299), StatusRange(404, 404)]), as: UTF8.self)
        #expect(status == #"["200-299","404"]"#)
    }

    @Test("a changed field does not compare equal after the round trip (the check can fail)")
    func roundTripDetectsChange() throws {
        var e = try Self.maximalExperiment()
        let original = e
        e.fault.with.jitter = .milliseconds(21)
        #expect(try Self.roundTrip(e) != original)
    }
}
