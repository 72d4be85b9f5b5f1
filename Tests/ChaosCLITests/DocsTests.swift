import ArgumentParser
import ChaosAgent
@testable import ChaosCLI
import ChaosCore
import ChaosFaults
import Foundation
import Testing

/// Every example in the docs and in experiments/ is checked: files by `chaos validate`, command
/// lines by the real argument parser, the fault table against the catalog, and the JSON Schemas
/// against the validator.
@Suite("Docs and examples stay true")
struct DocsTests {
    static let root = Harness.root

    static func files(in dir: String, ext: [String]) -> [String] {
        let base = root + "/" + dir
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return names.filter { n in ext.contains { n.hasSuffix($0) } }.sorted().map { "\(dir)/\($0)" }
    }

    static var exampleFiles: [String] {
        files(in: "experiments/examples", ext: [".yaml", ".json"]) + files(in: "experiments/sandbox", ext: [".yaml", ".json"])
            + files(in: "deploy", ext: [".yaml", ".json"])
    }

    static var fixtureFiles: [String] { files(in: "Tests/Fixtures/invalid", ext: [".yaml", ".json"]) }

    /// Code blocks of a Markdown file with the line before each fence.
    static func codeBlocks(_ path: String) throws -> [(language: String, marker: String, body: String)] {
        let lines = try String(contentsOfFile: root + "/" + path, encoding: .utf8).components(separatedBy: "\n")
        var out: [(String, String, String)] = []
        var i = 0
        while i < lines.count {
            if lines[i].hasPrefix("```") {
                let lang = String(lines[i].dropFirst(3)).trimmingWhitespace()
                let marker = i > 0 ? lines[i - 1] : ""
                var body: [String] = []
                i += 1
                while i < lines.count && !lines[i].hasPrefix("```") { body.append(lines[i]); i += 1 }
                out.append((lang, marker, body.joined(separator: "\n")))
            }
            i += 1
        }
        return out
    }

    @Test("there are examples to check")
    func examplesExist() {
        #expect(Self.exampleFiles.count >= 8)
        #expect(Self.fixtureFiles.count >= 10)
    }

    @Test("chaos validate accepts every example experiment and inventory (exit 0)")
    func examplesValidate() throws {
        let out = try Harness.run(["validate"] + Self.exampleFiles.map { Self.root + "/" + $0 }, state: Harness.stateDir())
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(out.stdout.components(separatedBy: ": ok (").count - 1 == Self.exampleFiles.count)
    }

    @Test("chaos validate reads controller configurations too: the example is ok, a broken one gets positions")
    func controllerConfigValidates() throws {
        let ok = try Harness.run(["validate", Self.root + "/deploy/controller.example.yaml"], state: Harness.stateDir())
        #expect(ok.status == 0 && ok.stdout.contains("ok (ControllerConfig"), "\(ok.stdout)\(ok.stderr)")
        let bad = Harness.stateDir() + "/controller.yaml"
        try "kind: ControllerConfig\napi: {listen: somewhere}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let out = try Harness.run(["validate", bad], state: Harness.stateDir())
        #expect(out.status == 64)
        #expect(out.stdout.contains("controller.yaml:1:1: inventory: is required") && out.stdout.contains("controller.yaml:2:7: api.listen"), "\(out.stdout)")
    }

    @Test("chaos validate rejects every invalid fixture with exit 64 and prints exactly the expected diagnostics")
    func fixturesValidate() throws {
        for file in Self.fixtureFiles {
            let out = try Harness.run(["validate", file], state: Harness.stateDir(), cwd: Self.root)
            #expect(out.status == 64, "\(file): \(out.stdout)")
            let expectedPath = Self.root + "/" + file.replacingOccurrences(of: ".yaml", with: ".expected").replacingOccurrences(of: ".json", with: ".expected")
            let expected = try String(contentsOfFile: expectedPath, encoding: .utf8).trimmingWhitespace()
            #expect(out.stdout.trimmingWhitespace() == expected, "\(file)")
        }
    }

    @Test("chaos validate --output json reports each file with its diagnostics")
    func validateJSON() throws {
        let files = [Self.exampleFiles[0], Self.fixtureFiles[0]]
        let out = try Harness.run(["validate", "--output", "json"] + files, state: Harness.stateDir(), cwd: Self.root)
        #expect(out.status == 64)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        let results = try #require(json["files"] as? [[String: Any]])
        #expect(results.map { $0["valid"] as? Bool } == [true, false])
        #expect(((results[1]["diagnostics"] as? [[String: Any]])?.first?["line"] as? Int ?? 0) > 0)
    }

    @Test("complete YAML examples in docs/formats.md and docs/verdicts.md pass chaos validate")
    func formatsDocExamples() throws {
        let blocks = try (Self.codeBlocks("docs/formats.md") + Self.codeBlocks("docs/verdicts.md")).filter { $0.marker.contains("<!-- validate -->") }
        #expect(blocks.count >= 3)
        let dir = Harness.stateDir()
        var paths: [String] = []
        for (i, b) in blocks.enumerated() {
            let path = "\(dir)/formats-example-\(i).\(b.language == "json" ? "json" : "yaml")"
            try b.body.write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let out = try Harness.run(["validate"] + paths, state: dir)
        #expect(out.status == 0, "\(out.stdout)")
    }

    @Test("every chaos command line shown in the README and docs parses with the real parser")
    func commandLinesParse() throws {
        var checked = 0
        for doc in ["README.md", "docs/faults.md", "docs/operations.md", "docs/architecture.md", "docs/certificates.md", "docs/verdicts.md", "docs/agent-api.md",
                    "docs/concepts.md", "docs/install-on-a-fleet.md"] {
            for block in try Self.codeBlocks(doc) where block.language == "sh" {
                for raw in block.body.components(separatedBy: "\n") {
                    // A comment, a redirection or a pipe ends the command line.
                    var line = (raw.components(separatedBy: "  #").first ?? raw)
                    for end in [" > ", " >> ", " | "] { line = line.components(separatedBy: end).first ?? line }
                    line = line.trimmingWhitespace()
                    guard line.hasPrefix("chaos ") else { continue }
                    // A shell glob stands for file names; the parser sees one.
                    let args = line.split(separator: " ").dropFirst().map { $0.contains("*") ? "example.yaml" : String($0) }
                    do {
                        _ = try ChaosCommand.parseAsRoot(args)
                        checked += 1
                    } catch where ChaosCommand.exitCode(for: error) == .success {
                        checked += 1  // --help, --version, --generate-completion-script: a clean exit
                    } catch {
                        Issue.record("\(doc): '\(line)' does not parse: \(ChaosCommand.message(for: error))")
                    }
                }
            }
        }
        #expect(checked >= 10)
    }

    @Test("every YAML block of docs/concepts.md and docs/install-on-a-fleet.md is a complete file that passes chaos validate")
    func guideExamples() throws {
        let dir = Harness.stateDir()
        var paths: [String] = []
        for doc in ["docs/concepts.md", "docs/install-on-a-fleet.md"] {
            for (i, b) in try Self.codeBlocks(doc).enumerated() where b.language == "yaml" {
                #expect(b.marker.contains("<!-- validate -->"), "\(doc): a YAML block without <!-- validate --> before it: \(b.body.prefix(80))")
                if b.body.contains("kind: AgentConfig") {
                    let (config, diagnostics) = AgentConfiguration.load(b.body, file: doc)
                    #expect(config != nil && diagnostics.isEmpty, "\(doc): \(diagnostics.map(\.description))")
                }
                let path = "\(dir)/\(doc.dropFirst(5).dropLast(3))-\(i).yaml"
                try b.body.write(toFile: path, atomically: true, encoding: .utf8)
                paths.append(path)
            }
        }
        #expect(paths.count >= 4)
        let out = try Harness.run(["validate"] + paths, state: dir)
        #expect(out.status == 0, "\(out.stdout)")
    }

    @Test("every image the docs show is in docs/images, a PNG under 300 KB")
    func docImages() throws {
        var shown = 0
        for doc in ["README.md"] + Self.files(in: "docs", ext: [".md"]) {
            let text = try String(contentsOfFile: Self.root + "/" + doc, encoding: .utf8)
            for part in text.components(separatedBy: "](").dropFirst() {
                guard let end = part.firstIndex(of: ")") else { continue }
                let link = String(part[..<end])
                guard link.hasSuffix(".png") else { continue }
                let base = doc.contains("/") ? Self.root + "/docs/" : Self.root + "/"
                let attributes = try? FileManager.default.attributesOfItem(atPath: base + link)
                let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
                #expect(size > 0 && size < 300_000, "\(doc): \(link) is missing or \(size) bytes")
                let data = FileManager.default.contents(atPath: base + link) ?? Data()
                #expect(data.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "\(doc): \(link) is not a PNG")
                shown += 1
            }
        }
        #expect(shown >= 3)
    }

    @Test("agent configuration examples in the docs load without problems")
    func agentConfigExamples() throws {
        var checked = 0
        for doc in ["docs/operations.md", "docs/agent-api.md", "docs/certificates.md"] {
            for block in try Self.codeBlocks(doc) where block.language == "yaml" && block.body.contains("kind: AgentConfig") {
                let (config, diagnostics) = AgentConfiguration.load(block.body, file: doc)
                #expect(config != nil && diagnostics.isEmpty, "\(doc): \(diagnostics.map(\.description))")
                checked += 1
            }
        }
        #expect(checked >= 1)
    }

    @Test("docs/faults.md lists exactly the kinds in FaultCatalog.all")
    func faultTable() throws {
        let text = try String(contentsOfFile: Self.root + "/docs/faults.md", encoding: .utf8)
        let listed = Set(text.components(separatedBy: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `") else { return nil }
            return line.dropFirst(3).split(separator: "`").first.map(String.init)
        }.filter { FaultKind(rawValue: $0) != nil })
        #expect(listed == Set(FaultCatalog.all.map(\.kind.rawValue)))
    }

    @Test("chaos schema inventory|controller-config|agent-config print the committed schemas in docs/schema/")
    func writtenSchemas() throws {
        for (kind, file) in [("inventory", "inventory.schema.json"), ("controller-config", "controller-config.schema.json"), ("agent-config", "agent-config.schema.json")] {
            let out = try Harness.run(["schema", kind], state: Harness.stateDir())
            let committed = try String(contentsOfFile: Self.root + "/docs/schema/" + file, encoding: .utf8)
            #expect(out.status == 0 && out.stdout.trimmingWhitespace() == committed.trimmingWhitespace(), "\(kind)")
            #expect((try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) != nil, "\(kind) is JSON")
        }
    }

    @Test("the JSON Schemas agree with the validator on every example and fixture",
          .enabled(if: FileManager.default.isExecutableFile(atPath: DocsTests.python), "needs python3 with jsonschema and PyYAML"))
    func schemaAgreement() throws {
        let files = Self.exampleFiles + Self.fixtureFiles
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python)
        p.arguments = [Self.root + "/scripts/check-schema.py"] + files.map { Self.root + "/" + $0 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 1, "some fixtures are invalid, so the schema check must fail overall: \(text)")
        for file in files {
            let line = text.components(separatedBy: "\n").first { $0.hasPrefix(Self.root + "/" + file + ": ") } ?? ""
            let validator = Self.exampleFiles.contains(file)
            #expect(line.hasPrefix(Self.root + "/" + file + (validator ? ": valid" : ": invalid")), "schema and validator disagree on \(file): \(line)")
        }
    }

    static let python: String = ProcessInfo.processInfo.environment["CHAOS_PYTHON"] ?? "/usr/bin/python3"
}
