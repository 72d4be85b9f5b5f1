import Foundation
import Testing
@testable import ChaosCore

/// The files in the repository that document the formats: invalid fixtures with the exact output of
/// `chaos validate` beside them, the example experiments and inventory, and the complete examples in
/// docs/formats.md. Paths are relative to the package root, as `chaos validate` run there prints them.
/// After a deliberate change of messages, `CHAOS_UPDATE_FIXTURES=1 swift test --filter FixtureTests`
/// rewrites the `.expected` files; review them with `git diff`.
@Suite("Fixtures, examples and documented files")
struct FixtureTests {
    /// The package root, found from this file's path (Tests/ChaosCoreTests/Validation/FixtureTests.swift).
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The files directly in `directory` whose extension is one of `extensions`, sorted.
    static func files(in directory: String, extensions: Set<String>) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(directory).path)) ?? []
        return names.filter { extensions.contains(($0 as NSString).pathExtension) }.sorted().map { "\(directory)/\($0)" }
    }

    /// Experiments and inventories (what ChaosDocument reads); the controller's and the agent's
    /// configurations among the fixtures are checked through `chaos validate` (DocsTests.fixturesValidate).
    static let invalidFixtures = files(in: "Tests/Fixtures/invalid", extensions: ["yaml", "json"]).filter { path in
        let text = (try? read(path)) ?? ""
        return !text.contains("\nkind: ControllerConfig") && !text.contains("\nkind: AgentConfig")
    }
    static let validFiles = files(in: "experiments/examples", extensions: ["yaml", "json"]) + ["deploy/inventory.example.yaml"]

    @Test("the fixture and example directories are found")
    func found() {
        #expect(Self.invalidFixtures.count >= 20, "no fixtures under \(Self.root.path)")
        #expect(Self.validFiles.count >= 10)
    }

    @Test("each invalid fixture gives exactly the lines of its .expected file", arguments: invalidFixtures)
    func invalidFixture(path: String) throws {
        let expectedPath = (path as NSString).deletingPathExtension + ".expected"
        let loaded = ChaosDocument.load(try Self.read(path), file: path)
        // CHAOS_UPDATE_FIXTURES=1 rewrites the .expected files from what the validator prints; review the diff.
        if ProcessInfo.processInfo.environment["CHAOS_UPDATE_FIXTURES"] == "1" {
            let text = loaded.diagnostics.map { $0.description + "\n" }.joined()
            try text.write(to: Self.root.appendingPathComponent(expectedPath), atomically: true, encoding: .utf8)
        }
        let expected = try Self.read(expectedPath).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        #expect(loaded.diagnostics.map(\.description) == expected, "\(path)")
        #expect(loaded.document == nil)
        #expect(!expected.isEmpty, "\(expectedPath) lists no diagnostics")
    }

    @Test("each example experiment and the example inventory load with no diagnostics", arguments: validFiles)
    func validFile(path: String) throws {
        let loaded = ChaosDocument.load(try Self.read(path), file: path)
        #expect(loaded.diagnostics.map(\.description) == [], "\(path)")
        #expect(loaded.isValid)
    }

    /// The YAML blocks of docs/formats.md marked `<!-- validate -->`.
    static func documentedFiles() throws -> [String] {
        let lines = try read("docs/formats.md").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var blocks: [String] = []
        var i = 0
        while i < lines.count {
            if lines[i].trimmingWhitespace() == "<!-- validate -->", i + 1 < lines.count, lines[i + 1].hasPrefix("```yaml") {
                var j = i + 2
                var body: [String] = []
                while j < lines.count, !lines[j].hasPrefix("```") { body.append(lines[j]); j += 1 }
                blocks.append(body.joined(separator: "\n") + "\n")
                i = j
            }
            i += 1
        }
        return blocks
    }

    @Test("every complete file shown in docs/formats.md loads with no diagnostics")
    func documentedExamples() throws {
        let blocks = try Self.documentedFiles()
        #expect(blocks.count >= 5)
        for (n, text) in blocks.enumerated() {
            let loaded = ChaosDocument.load(text, file: "docs/formats.md#\(n + 1)")
            #expect(loaded.diagnostics.map(\.description) == [], "block \(n + 1)")
            #expect(loaded.isValid, "block \(n + 1)")
        }
    }
}
