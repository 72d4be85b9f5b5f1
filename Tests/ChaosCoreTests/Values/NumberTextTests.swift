import ChaosCore
import Testing

@Suite("Numbers and paths as text, without traps")
struct NumberTextTests {
    @Test("whole numbers print as digits, anything else as a Double; nothing traps", arguments: [
        (95.0, "95"), (99.5, "99.5"), (-0.0, "0"), (1e19, "1e+19"), (-1e19, "-1e+19"), (9.3e18, "9.3e+18"),
        (Double.infinity, "inf"), (1e15, "1000000000000000.0"), (999_999_999_999_999, "999999999999999"),
    ] as [(Double, String)])
    func format(value: Double, text: String) { #expect(NumberText.format(value) == text) }

    @Test("NaN prints and clamps without a trap")
    func nan() {
        #expect(NumberText.format(.nan) == "nan")
        #expect(NumberText.clampedInt64(.nan) == 0)
        #expect(NumberText.clampedInt64(1e300) == Int64.max)
        #expect(NumberText.clampedInt64(-1e300) == Int64.min)
        #expect(NumberText.exactInt64(1e19) == nil)
        #expect(NumberText.exactInt64(42) == 42)
    }

    @Test("paths: '.' and '..' resolved by text, containment by whole components")
    func paths() {
        #expect(PathText.normalized("/srv/a/../b/./c/") == "/srv/b/c")
        #expect(PathText.normalized("/../..") == "/")
        #expect(PathText.normalized("srv") == nil)
        #expect(PathText.isInside("/srv/data/x", "/srv/data"))
        #expect(PathText.isInside("/srv/data", "/srv/data/"))
        #expect(!PathText.isInside("/srv/database", "/srv/data"))
        #expect(PathText.isInside("/anything", "/"))
    }

    @Test("rates and sizes too large for Int64 are refused, not trapped")
    func hugeValues() {
        #expect(BandwidthRate("1e30gbit") == nil)
        #expect(BandwidthRate("0.0001bit") == nil)
        #expect(BandwidthRate("1mbit")?.bitsPerSecond == 1_000_000)
        #expect(throws: ByteSize.ParseError.self) { try ByteSize.parse("1e30GiB") }
    }
}
