import ChaosCore
import ChaosReport
import Foundation
import Testing

@Suite("JSON report")
struct JSONReportTests {
    struct Document: Decodable { var runs: [RunRecord] }

    @Test("decodes back to the same records")
    func roundTrip() throws {
        let runs = Fixture.gameDay + [Fixture.run(experiment: Fixture.evil)]
        let json = RunReport.render(runs, format: .json)
        let decoded = try JSONDecoder().decode(Document.self, from: Data(json.utf8))
        #expect(decoded.runs == runs)
    }

    @Test("sorted keys, pretty-printed, runs at the top")
    func shape() {
        let json = RunReport.render([Fixture.passed], format: .json)
        #expect(json.hasPrefix("{\n  \"runs\" : [\n    {\n      \"endedAt\" : "))
        #expect(RunReport.render([], format: .json).contains("\"runs\" : ["))
    }
}
