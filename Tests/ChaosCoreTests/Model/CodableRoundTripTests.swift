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
        p.corruptPercent = 0.5
        p.duplicatePercent = 3
        p.reorderPercent = 25
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

    /// Encodes `document` to JSON and reads that JSON back as a file.
    static func reloaded(_ document: ChaosDocument, outputFormatting: JSONEncoder.OutputFormatting = [.prettyPrinted, .sortedKeys]) throws -> ChaosDocument.Loaded {
        let encoder = JSONEncoder()
        encoder.outputFormatting = outputFormatting
        let data: Data
        switch document {
        case .experiment(let e): data = try encoder.encode(e)
        case .inventory(let i): data = try encoder.encode(i)
        }
        return ChaosDocument.load(String(decoding: data, as: UTF8.self), file: "encoded.json")
    }

    @Test("an experiment or inventory encoded to JSON is a valid file again, with the same model", arguments: [
        ("experiment", ValidDocumentTests.experimentYAML), ("inventory", ValidDocumentTests.inventoryYAML),
        ("minimal experiment", "apiVersion: chaos/v1\nkind: Experiment\nname: m\ntarget: db-primary\nfault: {type: process.kill}\n"),
        ("fault parameters", """
            apiVersion: chaos/v1
            kind: Experiment
            name: fill
            target: {host: db1, count: 2, percent: 33.3%, random: false}
            fault: {type: disk.fill, duration: 90500ms, with: {path: /srv, size: 1536KiB}}
            probes:
              - {name: ping, type: command, command: [redis-cli, ping], tolerance: {exitCode: 1, stdoutMatches: PONG, latencyBelow: 2s}}
              - {name: p, type: prometheus, url: "https://p:9090", query: up, tolerance: {valueBelow: 2, valueAbove: -1.5}}
            expect: {availability: {during: 90%}, latency: {p50: 20ms, p95: 80ms}}
            stopWhen: [{availabilityBelow: 10%, for: 1s}]
            schedule:
              monkey: {meanWorkdays: 5, minWorkdays: 1.5}
              timezone: America/New_York
              workdays: [mon, fri]
              hours: "10:00-24:00"
              holidayCalendar: holidays.ics
              blackouts: [{from: "2026-12-20T18:00:00Z", to: 2027-01-03, reason: freeze}, {from: 2027-02-01, to: 2027-02-02}]
              minSpacing: {group: 2h}
            safety: {maxCount: 3, maxPercent: 25, dryRun: true, allowProtected: true}
            """),
    ])
    func encodedIsAFile(what: String, text: String) throws {
        let original = try #require(Doc.load(text).document, "\(what) does not load")
        for formatting: JSONEncoder.OutputFormatting in [[.prettyPrinted, .sortedKeys], []] {
            let back = try Self.reloaded(original, outputFormatting: formatting)
            #expect(back.diagnostics.map(\.description) == [], "\(what)")
            switch (original, back.document) {
            case (.experiment(let a), .experiment(let b)?): #expect(a == b, "\(what)")
            case (.inventory(let a), .inventory(let b)?): #expect(a == b, "\(what)")
            default: Issue.record("\(what) came back as \(String(describing: back.document))")
            }
        }
    }

    @Test("the encoded shape is the file's: flat selection, 'for', nested availability, latency and minSpacing")
    func encodedShape() throws {
        var e = Experiment(name: "m", target: TargetSpec(ref: "db", selection: Selection(count: 1)), fault: FaultSpec(type: .processKill, with: FaultParameters()),
                           stopWhen: [StopCondition(availabilityBelow: 50, window: .seconds(10))])
        e.expect.latencyP99 = .milliseconds(800)
        e.schedule = ScheduleSpec(monkey: MonkeySchedule(meanWorkdays: 5, minWorkdays: 1), minSpacingTarget: .seconds(60))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func json(_ v: some Encodable) throws -> String { String(decoding: try encoder.encode(v), as: UTF8.self) }
        #expect(try json(e).hasPrefix(#"{"apiVersion":"chaos/v1","#))
        #expect(try json(e).contains(#""kind":"Experiment""#))
        #expect(try json(e.target) == #"{"count":1,"ref":"db"}"#)
        #expect(try json(e.stopWhen) == #"[{"availabilityBelow":50,"for":"10s"}]"#)
        #expect(try json(e.expect) == #"{"availability":{"after":100,"before":100,"during":95},"latency":{"p99":"800ms"},"maxOutage":"10s","recoverWithin":"30s"}"#)
        #expect(try json(e.schedule) == #"{"blackouts":[],"holidays":[],"hours":"09:00-17:00","minSpacing":{"target":"1m"},"monkey":{"meanWorkdays":5,"minWorkdays":1},"timezone":"UTC","workdays":["mon","tue","wed","thu","fri"]}"#)
        #expect(try json(Inventory()) == #"{"apiVersion":"chaos/v1","dependencies":[],"groups":[],"hosts":[],"kind":"Inventory","targets":[]}"#)
        var ping = ProbeSpec(name: "ping", type: .command)
        ping.tolerance.bodyMatches = "PONG"
        #expect(try json(ping).contains(#""tolerance":{"stdoutMatches":"PONG"}"#))
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
