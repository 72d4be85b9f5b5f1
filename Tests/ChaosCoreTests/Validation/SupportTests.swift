import Foundation
import Testing
@testable import ChaosCore

@Suite("Validation helpers: Spelling, NameRule, Diagnostic")
struct ValidationSupportTests {
    @Test("Spelling suggests the closest word within a typo's distance", arguments: [
        ("descripton", ["name", "description", "fault"], "description"),
        ("proccess", ["process", "probes"], "process"),
        ("proces", ["process", "probes"], "probes"),  // a tie at distance 1: the alphabetically first wins, so the answer is stable
        ("PROBES", ["probes"], "probes"),
        ("tcpp", ["http", "tcp", "command"], "tcp"),
        ("web", ["wev", "wex"], "wev"),
    ] as [(String, [String], String)])
    func suggestions(word: String, candidates: [String], expected: String) {
        #expect(Spelling.closest(to: word, in: candidates) == expected)
    }

    @Test("Spelling suggests nothing when no word is close", arguments: [
        ("colour", ["name", "fault"]), ("xyz", ["abc"]), ("db", ["web"]), ("anything", []),
    ] as [(String, [String])])
    func noSuggestion(word: String, candidates: [String]) {
        #expect(Spelling.closest(to: word, in: candidates) == nil)
    }

    @Test("edit distance", arguments: [
        ("", "", 0), ("a", "", 1), ("", "abc", 3), ("kitten", "sitting", 3), ("web", "wbe", 2), ("same", "same", 0),
    ] as [(String, String, Int)])
    func distance(a: String, b: String, d: Int) {
        #expect(Spelling.distance(Array(a), Array(b)) == d)
        #expect(Spelling.distance(Array(b), Array(a)) == d)
    }

    @Test("names: lowercase letters, digits, '-', '_', '.', starting with a letter or digit, at most 63", arguments: [
        ("kill-db-primary", true), ("a", true), ("0day", true), ("a.b_c-d", true), (String(repeating: "a", count: 63), true),
        ("", false), ("Kill", false), ("-a", false), ("_a", false), (".a", false), ("a b", false), ("é", false),
        (String(repeating: "a", count: 64), false), ("a/b", false),
    ])
    func names(name: String, valid: Bool) {
        #expect(NameRule.isValid(name) == valid)
    }

    @Test("a diagnostic prints FILE:LINE:COLUMN: path: message; hint")
    func diagnosticFormat() {
        let d = Diagnostic(file: "e.yaml", location: SourceLocation(line: 3, column: 7), path: "fault.type", message: "'x' is not allowed", hint: "use 'process.kill'")
        #expect(d.description == "e.yaml:3:7: fault.type: 'x' is not allowed; use 'process.kill'")
        let bare = Diagnostic(file: "e.yaml", location: .start, path: "", message: "the file is empty")
        #expect(bare.description == "e.yaml:1:1: (document): the file is empty")
    }

    @Test("the sink keeps problems in the order reported")
    func sinkOrder() {
        let sink = DiagnosticSink(file: "f")
        #expect(sink.isEmpty)
        sink.report(SourceLocation(line: 9, column: 1), "b", "second")
        sink.report(SourceLocation(line: 2, column: 1), "a", "first", hint: "h")
        #expect(sink.diagnostics.map(\.description) == ["f:9:1: b: second", "f:2:1: a: first; h"])
        #expect(!sink.isEmpty)
    }

    @Test("YAML scalars keep their resolved kind; quoted text is always a string")
    func scalarKinds() throws {
        let root = try #require(try DocumentNode.parse("a: 1\nb: 1.5\nc: true\nd: ~\ne: \"1\"\nf: text\n"))
        guard case .mapping(let entries, _) = root else { Issue.record("not a mapping"); return }
        let kinds = entries.map { entry -> String in
            guard case .scalar(_, let kind, _) = entry.value else { return "?" }
            return "\(entry.key)=\(kind)"
        }
        #expect(kinds == ["a=int", "b=float", "c=bool", "d=null", "e=string", "f=string"])
        #expect(entries.map(\.value.shapeName) == ["a number", "a number", "a boolean", "null", "a string", "a string"])
        #expect(entries.map(\.keyLocation.line) == [1, 2, 3, 4, 5, 6])
    }
}

@Suite("Fault parameters allowed by kind")
struct FaultParameterFieldTests {
    static let samples: [String: String] = [
        "signal": "TERM", "who": "main", "path": "/srv", "percent": "50", "free": "1GiB", "size": "1GiB", "workers": "2",
        "load": "50", "direction": "egress", "to": "[db1]", "and": "[db2]", "ports": "['80']", "protocol": "tcp",
        "interface": "eth0", "lossPercent": "10", "corruptPercent": "5", "duplicatePercent": "5", "reorderPercent": "25", "delay": "10ms", "jitter": "1ms", "rate": "1mbit", "mode": "oneway", "probeName": "db1.internal",
        "includeControlPort": "false",
    ]

    @Test("every field a kind allows is read, and every other field is reported unknown", arguments: FaultKind.allCases)
    func fieldsByKind(kind: FaultKind) {
        let allowed = Set(kind.descriptor.parameters.map(\.name))
        #expect(allowed.isSubset(of: Set(Self.samples.keys)), "a sample is missing for a field of \(kind)")
        for (field, value) in Self.samples.sorted(by: { $0.key < $1.key }) {
            let text = """
                apiVersion: chaos/v1
                kind: Experiment
                name: x
                target: {}
                fault: {type: \(kind), duration: 1m, with: {\(field): \(value)}}
                """
            let unknown = Doc.diagnostics(text).filter { $0.contains("fault.with.\(field): unknown field") }
            #expect(unknown.isEmpty == allowed.contains(field), "\(kind) with '\(field)': \(unknown)")
        }
    }
}

@Suite("Agent inject requests on the wire")
struct InjectRequestWireTests {
    @Test("what a client encodes, the agent reads back unchanged (with and without a lease)")
    func roundTrip() throws {
        var p = FaultParameters()
        p.ports = ["6379"]
        let pause = InjectRequest(runID: "r-1", idempotencyKey: "oneoff/abc", lease: .seconds(9),
                                  fault: FaultSpec(type: .processPause, duration: .seconds(30), with: FaultParameters()),
                                  target: TargetSpec(process: ProcessSelector(name: "redis-server"), selection: Selection(count: 1, percent: nil, random: true)))
        let blackhole = InjectRequest(idempotencyKey: "oneoff/def", lease: nil, fault: FaultSpec(type: .networkBlackhole, duration: .seconds(30), with: p),
                                      target: TargetSpec(), to: ["10.0.0.21"])
        for request in [pause, blackhole] {
            let text = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
            let (read, diagnostics) = InjectRequest.read(text)
            #expect(diagnostics.isEmpty, "\(diagnostics)")
            #expect(read == request, "\(text)")
        }
    }

    @Test("an agent fault decodes from the agent's JSON, new fields optional")
    func faultDecodes() throws {
        let json = #"{"id":"f-1","kind":"process.pause","state":"injected","target":"t","actions":["a"],"leaseExpiresAt":5}"#
        let f = try JSONDecoder().decode(AgentFault.self, from: Data(json.utf8))
        #expect(f.kind == .processPause && f.leaseExpiresAt == 5 && f.note == nil && !f.isFinished)
    }
}
