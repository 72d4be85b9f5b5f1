import Foundation
import Testing

/// The fuzzer in CI: a bounded, seeded run of `chaos-fuzz` over the repository's examples (bench/fuzz.sh
/// runs it for long). It needs no root: it only parses.
@Suite("Fuzzing every parser a stranger can feed")
struct FuzzTests {
    static let fuzz = URL(fileURLWithPath: Harness.chaos).deletingLastPathComponent().appendingPathComponent("chaos-fuzz").path

    @Test("30,000 mutated inputs through the document reader, the API body reader, the JSON parser, the agent configuration reader and the regex engine: no crash, no hang over 1 s, every diagnostic inside the text")
    func bounded() throws {
        let work = Harness.stateDir()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.fuzz)
        p.arguments = ["--inputs", "30000", "--seconds", "240", "--seed", "15", "--corpus", Harness.root + "/experiments",
                       "--corpus", Harness.root + "/deploy", "--corpus", Harness.root + "/Tests/Fixtures", "--work", work]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.standardError
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(p.terminationReason == .exit, "chaos-fuzz crashed; the input is in \(work)/current")
        let figures = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(text)")
        #expect(figures["hangs"] as? Int == 0, "\(text)")
        #expect(figures["problems"] as? Int == 0, "findings in \(work)/findings: \(text)")
        #expect((figures["inputs"] as? Int ?? 0) >= 1000, "\(text)")
        #expect(p.terminationStatus == 0, "\(text)")
    }
}
