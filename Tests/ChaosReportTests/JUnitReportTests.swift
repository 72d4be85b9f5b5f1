import ChaosCore
import ChaosReport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// What a CI system would read: elements with their attributes and text.
final class JUnitReader: NSObject, XMLParserDelegate {
    struct Element { var name: String; var attributes: [String: String]; var text = "" }
    var elements: [Element] = []
    var open: [Int] = []

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        open.append(elements.count)
        elements.append(Element(name: name, attributes: attributes))
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let i = open.last { elements[i].text += string }
    }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) { open.removeLast() }

    static func read(_ xml: String) -> (ok: Bool, elements: [Element], error: String?) {
        let parser = XMLParser(data: Data(xml.utf8))
        let reader = JUnitReader()
        parser.delegate = reader
        let ok = parser.parse()
        return (ok, reader.elements, parser.parserError.map { "\($0)" })
    }
}

@Suite("JUnit report")
struct JUnitReportTests {
    @Test("parses with XMLParser; counts tests, failures and skipped")
    func counts() throws {
        let xml = RunReport.render(Fixture.gameDay, format: .junit, title: "Game day")
        let (ok, elements, error) = JUnitReader.read(xml)
        #expect(ok, "\(error ?? "")")
        #expect(elements.first?.name == "testsuites")
        let suite = try #require(elements.first { $0.name == "testsuite" })
        #expect(suite.attributes["name"] == "Game day")
        #expect(suite.attributes["tests"] == "4")
        #expect(suite.attributes["failures"] == "1")
        #expect(suite.attributes["skipped"] == "2")
        #expect(suite.attributes["errors"] == "0")
        #expect(suite.attributes["time"] == "110.000")
        #expect(suite.attributes["timestamp"] == "2023-11-14T22:13:20")
        #expect(elements.filter { $0.name == "testcase" }.count == 4)
        #expect(elements.filter { $0.name == "failure" }.count == 1)
        #expect(elements.filter { $0.name == "skipped" }.count == 2)

        let cases = elements.filter { $0.name == "testcase" }
        #expect(cases[1].attributes["classname"] == "chaos.web-latency")
        #expect(cases[1].attributes["name"] == "web-latency (network.delay on eth0)")
        #expect(cases[1].attributes["time"] == "35.000")
        let failure = try #require(elements.first { $0.name == "failure" })
        #expect(failure.attributes["message"] == "outage of 14 s, longer than the 10s allowed; availability during the fault 60 %, 95 % required")
        #expect(failure.attributes["type"] == "outage,slo_breach")
        #expect(failure.text.contains("availability     100 %   60 %    100 %"))
        #expect(failure.text.contains("time to recover  2.0 s"))
        let skipped = elements.filter { $0.name == "skipped" }.compactMap { $0.attributes["message"] }
        #expect(skipped == ["inconclusive (not_injected): the fault was never injected",
                            "run aborted: " + Fixture.aborted.verdict.reasons.joined(separator: "; ")])
    }

    @Test("every user string is XML-escaped and reads back the same")
    func escaping() throws {
        var run = Fixture.run(experiment: Fixture.evil + "\u{1}]]>", webProbe: "p<&>")
        run.verdict.outcome = .failed
        run.verdict.reasons = ["line one\nline \"two\" <&>"]
        let xml = RunReport.render([run], format: .junit, title: "a\"b<c>")
        let (ok, elements, error) = JUnitReader.read(xml)
        #expect(ok, "\(error ?? "")")
        let testcase = try #require(elements.first { $0.name == "testcase" })
        #expect(testcase.attributes["classname"] == "chaos." + Fixture.evil + "\u{FFFD}]]>")
        #expect(testcase.attributes["name"] == Fixture.evil + "\u{FFFD}]]> (network.delay on eth0)")
        #expect(elements.first { $0.name == "failure" }?.attributes["message"] == "line one\nline \"two\" <&>")
        #expect(elements.first { $0.name == "testsuites" }?.attributes["name"] == "a\"b<c>")
        #expect(elements.first { $0.name == "system-out" }?.text.contains("p<&>") == false, "probes are not listed")
    }

    @Test("no runs: an empty suite that still parses")
    func empty() {
        let (ok, elements, _) = JUnitReader.read(RunReport.render([], format: .junit))
        #expect(ok)
        #expect(elements.first { $0.name == "testsuite" }?.attributes["tests"] == "0")
    }
}
