import ChaosCore
import ChaosReport
import Testing

@Suite("HTML report")
struct HTMLReportTests {
    func occurrences(_ needle: String, in text: String) -> Int { text.ranges(of: needle).count }

    @Test("self-contained: nothing fetched, no scripts, no external style")
    func selfContained() {
        let html = RunReport.render(Fixture.gameDay, format: .html)
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">"))
        #expect(html.contains("<meta charset=\"utf-8\">"))
        #expect(html.contains("default-src 'none'"))
        for forbidden in ["http://", "https://", "<script", "<link", "<img", "<iframe", "src=", "url(", "@import", "//fonts"] {
            #expect(!html.contains(forbidden), "\(forbidden)")
        }
        #expect(html.hasSuffix("</body>\n</html>\n"))
    }

    @Test("every user string is escaped")
    func escapes() {
        var run = Fixture.run(experiment: Fixture.evil, id: "r-\"evil'", webProbe: "<b>web</b>")
        run.verdict.reasons.append("<img src=x onerror=alert(1)>")
        run.target = "eth0\"><script>"
        let html = RunReport.render([run, Fixture.failed], format: .html, title: "T<i>")
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("<b>"))
        #expect(!html.contains("<i>"))
        #expect(html.contains("<h2>&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;</h2>"))
        #expect(html.contains("<title>T&lt;i&gt;</title>"))
        #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;"))
        #expect(html.contains("&lt;b&gt;web&lt;/b&gt;"))
        #expect(html.contains("r-&quot;evil&#39;"))
        #expect(HTMLShape.unbalanced(html) == nil)
    }

    @Test("one inline SVG per run with one mark per sample, shaped and coloured by judgement")
    func timeline() {
        let runs = [Fixture.failed, Fixture.passed]
        let html = RunReport.render(runs, format: .html)
        #expect(occurrences("<svg ", in: html) == 2)
        let samples = runs.flatMap(\.journal.samples)
        #expect(occurrences("class=\"mark ", in: html) == samples.count)
        #expect(occurrences("<circle class=\"mark ok\"", in: html) == samples.filter { $0.judgement == .ok }.count)
        #expect(occurrences("<path class=\"mark fail\"", in: html) == samples.filter { if case .fail = $0.judgement { true } else { false } }.count)
        #expect(occurrences("<rect class=\"mark blind\"", in: html) == 1)
        // Each mark says in words what it is.
        #expect(html.contains("<title>web +8.0 s during: fail: status 503 (1.00 s)</title>"))
        #expect(html.contains("<title>api +25.3 s after: blind: observer overloaded (20 ms)</title>"))
        // Phase bands, fault moments with labels, an axis in seconds, a legend in words.
        for phase in ["before", "during", "after"] { #expect(occurrences("<g class=\"band \(phase)\">", in: html) == 2) }
        #expect(html.contains(">during (fault)</text>"))
        #expect(html.contains(">after (recovery)</text>"))
        #expect(occurrences(">injected +5.0 s</text>", in: html) == 2)
        #expect(occurrences(">verified +5.5 s</text>", in: html) == 2)
        #expect(occurrences(">reverted +20.0 s</text>", in: html) == 2)
        #expect(html.contains(">0 s</text>") && html.contains(">5 s</text>") && html.contains(">35 s</text>"))
        for word in [">ok</text>", ">fail</text>", ">blind</text>"] { #expect(occurrences(word, in: html) == 2) }
        // One lane per probe.
        #expect(occurrences("<line class=\"lane\"", in: html) == 4)
    }

    @Test("verdict, reasons and figures; several runs get a summary with anchors")
    func content() {
        let html = RunReport.render(Fixture.gameDay, format: .html, title: "Game day")
        #expect(html.contains("<table class=\"summary\">"))
        for i in 1...4 {
            #expect(html.contains("href=\"#run-\(i)\""))
            #expect(html.contains("<section id=\"run-\(i)\">"))
        }
        #expect(html.contains("<span class=\"verdict failed\">FAILED</span>"))
        #expect(html.contains("<span class=\"verdict failed\">FAILED (aborted)</span>"))
        #expect(html.contains("<li>outage of 14 s, longer than the 10s allowed</li>"))
        #expect(html.contains("<tr><th scope=\"row\">availability</th><td class=\"num\">100 %</td><td class=\"num\">60 %</td><td class=\"num\">100 %</td></tr>"))
        #expect(html.contains("<tr><th scope=\"row\">time to recover</th><td class=\"num\">2.0 s</td></tr>"))
        #expect(HTMLShape.unbalanced(html) == nil)
    }

    @Test("a kill: bands before and after only, no revert line")
    func kill() {
        let html = RunReport.render([Fixture.kill], format: .html)
        #expect(html.contains("<g class=\"band before\">"))
        #expect(!html.contains("<g class=\"band during\">"))
        #expect(html.contains("<g class=\"band after\">"))
        #expect(html.contains(">injected +5.0 s</text>"))
        #expect(!html.contains(">reverted +"))
        #expect(html.ranges(of: "class=\"mark ").count == Fixture.kill.journal.samples.count)
    }

    @Test("the summary is only for several runs")
    func single() {
        #expect(!RunReport.render([Fixture.failed], format: .html).contains("class=\"summary\""))
    }
}

/// A check that elements nest: every start tag but the void ones is closed, in order.
enum HTMLShape {
    static let void: Set<String> = ["meta", "br", "hr", "img", "input", "link", "wbr"]

    /// The first problem, or nil.
    static func unbalanced(_ html: String) -> String? {
        var stack: [String] = []
        for match in html.matches(of: /<(\/?)([a-zA-Z][a-zA-Z0-9]*)([^<>]*?)(\/?)>/) {
            let name = String(match.output.2).lowercased()
            if !match.output.1.isEmpty {
                guard stack.last == name else { return "</\(name)> closes <\(stack.last ?? "nothing")>" }
                stack.removeLast()
            } else if match.output.4.isEmpty && !void.contains(name) {
                stack.append(name)
            }
        }
        return stack.isEmpty ? nil : "unclosed: \(stack)"
    }
}
