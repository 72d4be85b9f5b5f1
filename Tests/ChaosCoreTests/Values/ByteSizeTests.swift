import Foundation
import Testing
@testable import ChaosCore

@Suite("ByteSize parsing and printing")
struct ByteSizeTests {
    @Test("binary units are powers of 1024, decimal units powers of 1000", arguments: [
        ("4096B", 4_096),
        ("0B", 0),
        ("512KiB", 524_288),
        ("100MiB", 104_857_600),
        ("1GiB", 1_073_741_824),
        ("1.5GiB", 1_610_612_736),
        ("2TiB", 2_199_023_255_552),
        ("1kB", 1_000),
        ("1KB", 1_000),
        ("5MB", 5_000_000),
        ("2GB", 2_000_000_000),
        ("1TB", 1_000_000_000_000),
        ("10 MiB", 10_485_760),
        (" 3KiB\n", 3_072),
    ] as [(String, Int64)])
    func parsesValid(text: String, bytes: Int64) throws {
        #expect(try ByteSize.parse(text).bytes == bytes)
    }

    @Test("invalid sizes throw the error that names the problem", arguments: [
        ("100", ByteSize.ParseError.missingUnit("100")),
        ("1.5", .missingUnit("1.5")),
        ("100XB", .unknownUnit("100XB", unit: "XB")),
        ("1mib", .unknownUnit("1mib", unit: "mib")),
        ("1Mi", .unknownUnit("1Mi", unit: "Mi")),
        ("2 bytes", .unknownUnit("2 bytes", unit: "bytes")),
        ("MiB", .malformed("MiB")),
        ("", .malformed("")),
        ("-1MiB", .malformed("-1MiB")),
        ("1.2.3MiB", .malformed("1.2.3MiB")),
    ])
    func rejectsInvalid(text: String, error: ByteSize.ParseError) {
        #expect(throws: error) { try ByteSize.parse(text) }
    }

    @Test("sizes beyond what Int64 holds are rejected")
    func rejectsHuge() {
        #expect(throws: ByteSize.ParseError.self) { try ByteSize.parse("10000000TiB") }
        #expect(throws: ByteSize.ParseError.self) { try ByteSize.parse("9000000000GB") }
    }

    @Test("error descriptions and the hint", arguments: [
        (ByteSize.ParseError.malformed("x"), "'x' is not a size"),
        (.missingUnit("100"), "'100' has no unit"),
        (.unknownUnit("1XB", unit: "XB"), "'1XB' has unknown unit 'XB'"),
    ])
    func errorDescriptions(error: ByteSize.ParseError, text: String) {
        #expect(error.description == text)
        #expect(error.hint.contains("KiB") && error.hint.contains("MB") && error.hint.contains("'100MiB'"))
    }

    @Test("description picks the largest binary unit and one decimal", arguments: [
        (0, "0 B"), (512, "512 B"), (1_023, "1023 B"), (1_024, "1 KiB"), (1_536, "1.5 KiB"),
        (1_048_576, "1 MiB"), (1_610_612_736, "1.5 GiB"), (1 << 40, "1 TiB"), (5 << 40, "5 TiB"),
        (1 << 50, "1024 TiB"), (2_000_000_000, "1.9 GiB"),
    ] as [(Int64, String)])
    func describes(bytes: Int64, text: String) {
        #expect(ByteSize(bytes: bytes).description == text)
    }

    @Test("parse(description) is within the rounding of one decimal of the unit", arguments: propertySeeds)
    func approximateRoundTrip(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<2_000 {
            let exponent = Int.random(in: 0...50, using: &rng)
            let bytes = Int64.random(in: 0...(Int64(1) << exponent), using: &rng)
            let size = ByteSize(bytes: bytes)
            let back = try ByteSize.parse(size.description)
            let factor: Int64 = bytes >= 1 << 40 ? 1 << 40 : bytes >= 1 << 30 ? 1 << 30 : bytes >= 1 << 20 ? 1 << 20 : bytes >= 1 << 10 ? 1 << 10 : 1
            #expect(abs(back.bytes - bytes) <= factor / 20 + 1, "seed \(seed): \(bytes) printed as '\(size)' parses to \(back.bytes)")
        }
    }

    @Test("description never shows 1024 of a unit when the next unit exists")
    func noRolloverAt1024() {
        #expect(ByteSize(bytes: 1_048_575).description == "1 MiB")
        #expect(ByteSize(bytes: 1_073_741_823).description == "1 GiB")
        #expect(ByteSize(bytes: (1 << 40) - 1).description == "1 TiB")
        // Just below the rounding point the smaller unit stays.
        #expect(ByteSize(bytes: 1_048_524).description == "1023.9 KiB")
        #expect(ByteSize(bytes: 1_023).description == "1023 B")
    }

    @Test("a whole number of bytes parses exactly, past Double's 53 bits")
    func exactWholeNumbers() throws {
        #expect(try ByteSize.parse("9007199254740993B").bytes == 9_007_199_254_740_993)
        #expect(try ByteSize.parse("8191TiB").bytes == 8_191 << 40)
    }

    @Test("a size of 9e18 bytes or more is too large, and says so", arguments: ["10000000TiB", "9000000000000000000B", "99999999999999999999B", "8388608TiB"])
    func tooLarge(text: String) {
        #expect(throws: ByteSize.ParseError.tooLarge(text)) { try ByteSize.parse(text) }
        #expect(ByteSize.ParseError.tooLarge(text).description == "'\(text)' is too large")
    }

    @Test("negative byte counts are clamped to zero; sizes order by bytes")
    func clampAndOrder() {
        #expect(ByteSize(bytes: -10).bytes == 0)
        #expect(ByteSize(bytes: 1) < ByteSize(bytes: 2))
        #expect(!(ByteSize(bytes: 2) < ByteSize(bytes: 2)))
    }

    @Test("encodes as exact text with a unit, as files write it; decodes from that, a number or another text")
    func codable() throws {
        let sizes = [ByteSize(bytes: 1_536), ByteSize(bytes: 100 << 20), ByteSize(bytes: 3 << 40), ByteSize(bytes: 0), ByteSize(bytes: (1 << 30) + 1)]
        let data = try JSONEncoder().encode(sizes)
        #expect(String(decoding: data, as: UTF8.self) == #"["1536B","100MiB","3TiB","0B","1073741825B"]"#)
        #expect(try JSONDecoder().decode([ByteSize].self, from: data) == sizes)
        #expect(try JSONDecoder().decode([ByteSize].self, from: Data("[1536]".utf8)) == [ByteSize(bytes: 1_536)])
        #expect(try JSONDecoder().decode([ByteSize].self, from: Data(#"["1KiB", "2kB"]"#.utf8)) == [ByteSize(bytes: 1_024), ByteSize(bytes: 2_000)])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([ByteSize].self, from: Data(#"["100"]"#.utf8)) }
    }
}
