@testable import ChaosReport
import Testing

@Suite("Figures as people read them")
struct FormattingTests {
    @Test("durations: ms under a second, else seconds with one decimal; missing is n/a")
    func durations() {
        #expect(Format.duration(250) == "250 ms")
        #expect(Format.duration(1500) == "1.5 s")
        #expect(Format.duration(14_000) == "14.0 s")
        #expect(Format.duration(0) == "0 ms")
        #expect(Format.duration(nil) == "n/a")
        #expect(Format.latency(3.44) == "3.4 ms")
        #expect(Format.latency(120.4) == "120 ms")
        #expect(Format.latency(1250) == "1.25 s")
        #expect(Format.latency(.infinity) == "n/a")
    }

    @Test("percentages: one decimal at most, never rounded up to 100 or down to 0")
    func percentages() {
        #expect(Format.percent(99.24) == "99.2 %")
        #expect(Format.percent(100) == "100 %")
        #expect(Format.percent(60) == "60 %")
        #expect(Format.percent(99.97) == "99.9 %")
        #expect(Format.percent(0.01) == "0.1 %")
        #expect(Format.percent(nil) == "n/a")
    }

    @Test("relative times and UTC timestamps")
    func times() {
        #expect(Format.relative(5_000, from: 0) == "+5.0 s")
        #expect(Format.relative(0, from: 500) == "-0.5 s")
        #expect(Format.seconds(35_000) == "35.000")
        #expect(Format.utc(0) == "1970-01-01 00:00:00 UTC")
        #expect(Format.utc(1_700_000_000_000) == "2023-11-14 22:13:20 UTC")
        #expect(Format.utc(951_782_400_000, iso: true) == "2000-02-29T00:00:00")
        #expect(Format.utc(-1_000) == "1969-12-31 23:59:59 UTC")
    }

    @Test("escaping for HTML, XML and terminals")
    func escaping() {
        #expect(Escape.html(#"<a href="x">&'</a>"#) == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;")
        #expect(Escape.xml("a\u{0}b\nc'") == "a\u{FFFD}b&#10;c&apos;")
        #expect(Escape.xml("a\nb<", content: true) == "a\nb&lt;")
        #expect(Escape.line("a\u{1B}[31mb\tc") == "a\u{FFFD}[31mb c")
        #expect(Escape.markdown("a|b <i>") == "a\\|b &lt;i&gt;")
    }
}
