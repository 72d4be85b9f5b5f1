import ChaosCore
import ChaosReport
import Testing

@Suite("Text and Markdown reports")
struct TextReportTests {
    @Test("the fixtures have the verdicts the reports are tested against")
    func fixtures() {
        #expect(Fixture.passed.verdict.outcome == .passed)
        #expect(Fixture.failed.verdict.outcome == .failed)
        #expect(Fixture.failed.verdict.failures == [.outage, .sloBreach])
        #expect(Fixture.failed.verdict.figures.longestOutageMs == 14_000)
        #expect(Fixture.failed.verdict.figures.timeToRecoverMs == 2_000)
        #expect(Fixture.inconclusive.verdict.outcome == .inconclusive)
    }

    @Test("text: header, verdict in capitals with reasons, figures, fault timeline")
    func textOneRun() {
        let text = RunReport.render([Fixture.failed], format: .text)
        #expect(text.contains("web-latency  run r-fail  network.delay on eth0 (host web-1)  status completed"))
        #expect(text.contains("\nFAILED\n"))
        #expect(text.contains("  - outage of 14 s, longer than the 10s allowed"))
        #expect(text.contains("  - availability during the fault 60 %, 95 % required"))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("                   before  during  after"))
        #expect(lines.contains("  availability     100 %   60 %    100 %"))
        #expect(lines.contains("  p50 latency      14 ms   20 ms   20 ms"))
        #expect(lines.contains("  p99 latency      20 ms   20 ms   44 ms"))
        #expect(lines.contains("  samples          10      30      30"))
        #expect(lines.contains("  longest outage   14.0 s"))
        #expect(lines.contains("  time to detect   3.0 s"))
        #expect(lines.contains("  time to recover  2.0 s"))
        #expect(lines.contains("  injected  +5.0 s"))
        #expect(lines.contains("  verified  +5.5 s"))
        #expect(lines.contains("  reverted  +20.0 s"))
        #expect(!text.contains("EXPERIMENT"), "one run: no summary")
    }

    @Test("text: a kill has no during phase and no revert; recovery is from the kill")
    func textKill() {
        let run = Fixture.kill
        #expect(run.verdict.outcome == .passed)
        let text = RunReport.render([run], format: .text)
        #expect(text.contains("kill-web  run r-kill  process.kill on eth0 (host web-1)  status completed"))
        #expect(text.contains("  samples          10      0       60\n"))
        #expect(text.contains("  time to recover  3.0 s\n"))
        #expect(text.contains("  reverted  n/a\n"))
    }

    @Test("text: several runs start with a summary table")
    func textGameDay() {
        let text = RunReport.render(Fixture.gameDay, format: .text, title: "Game day")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "Game day")
        #expect(lines[1] == "========")
        #expect(lines[3].hasPrefix("EXPERIMENT   VERDICT           REASON   "))
        #expect(lines[3].hasSuffix("TTR     OUTAGE"))
        #expect(lines[4] == "api-blip     PASSED            degraded gracefully and recovered; longest outage 1 s  0 ms    1.0 s")
        #expect(lines[5] == "web-latency  FAILED            outage of 14 s, longer than the 10s allowed (+1 more)  2.0 s   14.0 s")
        #expect(lines[6] == "db-failover  INCONCLUSIVE      the fault was never injected                           n/a     0 ms")
        #expect(lines[7].hasPrefix("cache-loss   FAILED (aborted)  "))
        #expect(text.contains("INCONCLUSIVE\n  - the fault was never injected"))
    }

    @Test("text: terminal escape sequences in user strings are neutralised")
    func textControlCharacters() {
        let text = RunReport.render([Fixture.run(experiment: "evil\u{1B}[2J\u{202E}name\nsecond line")], format: .text)
        #expect(!text.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
        #expect(text.contains("evil\u{FFFD}[2J\u{FFFD}name second line  run r-1"))
    }

    @Test("md: headings, verdict, pipe tables with user strings escaped")
    func markdown() {
        let md = RunReport.render([Fixture.failed, Fixture.run(experiment: "a|b*c", id: "r|2")], format: .md, title: "Game | day")
        #expect(md.hasPrefix("# Game \\| day\n"))
        #expect(md.contains("| Experiment | Verdict | Reason | TTR | Outage |"))
        #expect(md.contains("| web-latency | FAILED | outage of 14 s, longer than the 10s allowed (+1 more) | 2.0 s | 14.0 s |"))
        #expect(md.contains("## a\\|b\\*c"))
        #expect(md.contains("Run r\\|2 ·"))
        #expect(md.contains("**FAILED**\n\n- outage of 14 s, longer than the 10s allowed\n"))
        #expect(md.contains("| Figure | Before | During | After |\n| --- | ---: | ---: | ---: |\n| availability | 100 % | 60 % | 100 % |"))
        #expect(md.contains("| reverted | +20.0 s |"))
        // Every table row has as many unescaped pipes as its header.
        var expected: Int?
        for line in md.split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("|") else { expected = nil; continue }
            let pipes = line.replacing("\\|", with: "").filter { $0 == "|" }.count
            if let expected { #expect(pipes == expected, "\(line)") } else { expected = pipes }
        }
    }

    @Test("every format renders no runs without crashing")
    func empty() {
        for format in ReportFormat.allCases { #expect(!RunReport.render([], format: format).isEmpty) }
        #expect(RunReport.render([], format: .text).contains("No runs."))
    }
}
