import Foundation
import Testing
@testable import ChaosCore

/// The descriptors are the one place a fault kind is declared: the schema and the docs tables are
/// generated from them (and must be regenerated when they change), and the validator and the CLI read
/// parameters through them.
@Suite("Fault descriptors")
struct FaultDescriptorTests {
    static func experiment(_ d: FaultDescriptor) -> String {
        let target: String
        switch d.subject {
        case .processes: target = "{process: {name: app}}"
        case .unit: target = "{process: {unit: app.service}}"
        case .host: target = "{}"
        }
        return "\(Doc.experimentHeader)\ntarget: \(target)\nfault: \(d.example)\n"
    }

    @Test("the committed JSON Schema is the one the descriptors generate (run scripts/generate-docs.sh after changing one)")
    func schemaIsGenerated() throws {
        let committed = try FixtureTests.read("docs/schema/experiment.schema.json")
        #expect(Self.firstDifference(committed, ExperimentSchema.text()) == nil, "docs/schema/experiment.schema.json is stale: run scripts/generate-docs.sh")
    }

    @Test("the fault tables of docs/formats.md are the ones the descriptors generate")
    func tablesAreGenerated() throws {
        let doc = try FixtureTests.read("docs/formats.md")
        let updated = try #require(FaultTables.replacing(in: doc), "docs/formats.md lost its generated block markers")
        #expect(Self.firstDifference(doc, updated) == nil, "the fault tables in docs/formats.md are stale: run scripts/generate-docs.sh")
    }

    /// "line N: committed ≠ generated", or nil when equal: a short message instead of two whole files.
    static func firstDifference(_ committed: String, _ generated: String) -> String? {
        guard committed != generated else { return nil }
        let a = committed.components(separatedBy: "\n"), b = generated.components(separatedBy: "\n")
        let n = zip(a, b).prefix { $0 == $1 }.count
        return "line \(n + 1): committed '\(n < a.count ? a[n] : "<end>")', generated '\(n < b.count ? b[n] : "<end>")'"
    }

    @Test("a changed descriptor changes the schema, so the schema test above cannot pass on a stale file")
    func schemaFollowsDescriptors() throws {
        let schema = ExperimentSchema.text()
        for d in FaultDescriptor.all {
            #expect(schema.contains("\"with.\(d.kind)\""))
            for p in d.parameters { #expect(schema.contains("\"\(p.name)\""), "\(d.kind).\(p.name) missing from the schema") }
        }
        let tables = FaultTables.markdown()
        for d in FaultDescriptor.all { #expect(tables.contains("| `\(d.kind)` |")) }
    }

    @Test("every descriptor's documented example is a valid fault", arguments: FaultDescriptor.all.map(\.kind))
    func examplesValidate(kind: FaultKind) {
        let text = Self.experiment(kind.descriptor)
        #expect(Doc.diagnostics(text) == [], "\(text)")
    }

    @Test("every parameter's example value reads cleanly, and its default too when it is a value", arguments: FaultDescriptor.all.map(\.kind))
    func parameterExamples(kind: FaultKind) {
        let d = kind.descriptor
        for p in d.parameters {
            let sink = DiagnosticSink(file: "t")
            let node = try? DocumentNode.parse("v: \(p.example)")
            let value = node.flatMap { $0.value("v") }.flatMap { FaultParameterReader(FieldReader(sink: sink), d).value($0, "v", p) }
            #expect(value != nil && sink.isEmpty, "\(kind).\(p.name) example '\(p.example)': \(sink.diagnostics.map(\.description))")
        }
        for rule in d.rules {
            switch rule {
            case .exactlyOne(let names, _): for n in names { #expect(d.parameter(n) != nil, "\(kind) rule names unknown '\(n)'") }
            case .notAbove(let a, let b): #expect(d.parameter(a) != nil && d.parameter(b) != nil)
            }
        }
        #expect(Set(d.parameters.map(\.name)).count == d.parameters.count, "\(kind) declares a parameter twice")
    }

    @Test("kinds exist only by their descriptors; unknown names are refused, also when decoding")
    func kinds() throws {
        #expect(FaultKind.allCases.count == FaultDescriptor.all.count)
        #expect(Set(FaultKind.allCases).count == FaultKind.allCases.count)
        for k in FaultKind.allCases { #expect(FaultKind(rawValue: k.rawValue) == k) }
        #expect(FaultKind(rawValue: "process.explode") == nil)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(FaultKind.self, from: Data(#""process.explode""#.utf8)) }
        #expect(FaultKind.processKill.isReversible == false && FaultKind.processSignal.isReversible == false)
        #expect(FaultKind.networkCorrupt.shapesPackets && !FaultKind.networkLoss.shapesPackets)
    }

    @Test("parameters keep the wire form of the ledger and the agent API")
    func wireForm() throws {
        var p = FaultParameters()
        p.lossPercent = 30
        p.delay = .milliseconds(200)
        p.ports = ["6379"]
        p.size = try ByteSize.parse("1GiB")
        p.signal = .term
        p.includeControlPort = true
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        let text = String(decoding: try e.encode(p), as: UTF8.self)
        #expect(text == #"{"delay":"200ms","includeControlPort":true,"lossPercent":30,"ports":["6379"],"signal":"SIGTERM","size":"1GiB"}"#)
        let back = try JSONDecoder().decode(FaultParameters.self, from: Data(text.utf8))
        #expect(back == p)
        #expect(back.delay == .milliseconds(200) && back.signal == .term && back.ports == ["6379"])
        // What an older chaos stored: a number of bytes, a signal number, numeric ports.
        let old = try JSONDecoder().decode(FaultParameters.self, from: Data(#"{"size":1024,"signal":15,"ports":[6379],"to":null}"#.utf8))
        #expect(old.size == ByteSize(bytes: 1024) && old.signal == .term && old.ports == ["6379"] && !old.has("to"))
        p.delay = nil
        #expect(!p.has("delay"))
    }

    @Test("one-off arguments are read by the descriptor, and the messages name the options")
    func arguments() {
        var a = FaultArguments(.networkLoss, options: ["ports": "--port"])
        a.set("lossPercent", "150", option: "--percent")
        a.set("ports", list: ["80", "99999"])
        a.set("protocol", "sctp")
        guard case .failure(let problems) = a.read() else { Issue.record("accepted"); return }
        #expect(problems.lines.contains("--percent: 150% is out of range; use a percentage from 0.1 to 100"))
        #expect(problems.lines.contains("--port: '99999' is not a port or port range; use e.g. '6379' or '8000-8100' (1-65535)"))
        #expect(problems.lines.contains { $0.hasPrefix("--protocol: 'sctp' is not allowed") })

        var fill = FaultArguments(.diskFill)
        fill.set("path", "/srv"); fill.set("percent", "95"); fill.set("free", "1GiB")
        guard case .failure(let p2) = fill.read() else { Issue.record("accepted"); return }
        #expect(p2.lines == ["gives more than one of --percent, --free and --size; give exactly one: '--percent 95', '--free 100MiB' or '--size 1GiB'"])

        var set = FaultArguments(.processSignal, bySet: true)
        set.set("sig", "HUP")
        guard case .failure(let p3) = set.read() else { Issue.record("accepted"); return }
        #expect(p3.lines == ["--set sig: unknown field; known fields here: signal", "--set signal: is required; add e.g. '--set signal=HUP'"])

        var ok = FaultArguments(.networkDelay)
        ok.set("delay", "200ms"); ok.set("jitter", "20ms"); ok.set("includeControlPort", flag: true)
        guard case .success(let params) = ok.read() else { Issue.record("refused"); return }
        #expect(params.delay == .milliseconds(200) && params.jitter == .milliseconds(20) && params.includeControlPort == true)
        #expect(FaultArguments.option("includeControlPort") == "--include-control-port")
        #expect(FaultArguments.help(.stressCPU, "load") == "Share of each worker's CPU time to burn. (1-100) Default: 100.")
    }

    @Test("hostile argument texts are refused, not trusted: huge numbers, NUL, empty")
    func hostileArguments() {
        for text in ["1e400", "-1", "0x10", "9999999999999999999999", "", " ", "1\u{0}0", "nan", "inf"] {
            var a = FaultArguments(.stressCPU)
            a.set("workers", text)
            if case .success(let p) = a.read() { Issue.record("workers '\(VisibleText.of(text))' was accepted as \(String(describing: p.workers))") }
        }
        var a = FaultArguments(.diskFill)
        a.set("path", "/srv\u{0}/etc"); a.set("size", "1GiB")
        if case .success = a.read() { Issue.record("a path with NUL was accepted") }
    }
}
