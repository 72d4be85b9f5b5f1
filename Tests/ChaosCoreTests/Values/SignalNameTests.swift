import Foundation
import Testing
@testable import ChaosCore

@Suite("SignalName")
struct SignalNameTests {
    @Test("names parse with or without SIG, in any case, with spaces around", arguments: [
        ("KILL", 9), ("SIGKILL", 9), ("kill", 9), ("sigkill", 9), ("SigTerm", 15), ("TERM", 15),
        (" HUP ", 1), ("INT", 2), ("USR1", 10), ("USR2", 12), ("STOP", 19), ("CONT", 18), ("CHLD", 17),
        ("SYS", 31), ("PWR", 30),
    ] as [(String, Int32)])
    func parsesNames(text: String, number: Int32) throws {
        let s = try #require(SignalName(text))
        #expect(s.number == number)
    }

    @Test("every name in the table parses to its number", arguments: SignalName.table.map { ($0.name, $0.number) })
    func tableIsConsistent(name: String, number: Int32) throws {
        #expect(try #require(SignalName(name)).number == number)
        #expect(try #require(SignalName("SIG" + name)).number == number)
        #expect(SignalName(unchecked: number).description == "SIG" + name)
    }

    @Test("numbers 1 to 64 are accepted", arguments: [1, 9, 15, 31, 32, 34, 64] as [Int32])
    func parsesNumbers(number: Int32) throws {
        #expect(try #require(SignalName(String(number))).number == number)
    }

    @Test("real-time signals are written RTMIN+n, n from 0 to 30", arguments: [
        ("RTMIN+0", 34), ("RTMIN+1", 35), ("SIGRTMIN+3", 37), ("rtmin+30", 64),
    ] as [(String, Int32)])
    func parsesRealTime(text: String, number: Int32) throws {
        #expect(try #require(SignalName(text)).number == number)
    }

    @Test("texts that name no signal are rejected", arguments: [
        "", "SIG", "FOO", "SIGFOO", "0", "65", "-1", "9.0", "RTMIN+31", "RTMIN+-1", "RTMIN+", "KILL9", "SIG KILL",
        "+9", "SIG+9", "SIG0", "SIG65", "SIG-1",
    ])
    func rejects(text: String) {
        #expect(SignalName(text) == nil)
    }

    @Test("description is SIG and the name, or SIG and the number for unnamed signals")
    func descriptions() {
        #expect(SignalName.kill.description == "SIGKILL")
        #expect(SignalName.term.description == "SIGTERM")
        #expect(SignalName.stop.description == "SIGSTOP")
        #expect(SignalName.cont.description == "SIGCONT")
        #expect(SignalName(unchecked: 34).description == "SIG34")
    }

    @Test("knownNames lists every table name in order")
    func knownNames() {
        #expect(SignalName.knownNames.hasPrefix("HUP, INT, QUIT"))
        #expect(SignalName.knownNames.hasSuffix("PWR, SYS"))
        #expect(SignalName.knownNames.split(separator: ",").count == SignalName.table.count)
    }

    @Test("encodes as its name and decodes from a name or a number")
    func codable() throws {
        let data = try JSONEncoder().encode([SignalName.term])
        #expect(String(decoding: data, as: UTF8.self) == #"["SIGTERM"]"#)
        #expect(try JSONDecoder().decode([SignalName].self, from: data) == [.term])
        #expect(try JSONDecoder().decode([SignalName].self, from: Data(#"[9, "hup"]"#.utf8)).map(\.number) == [9, 1])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([SignalName].self, from: Data("[99]".utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([SignalName].self, from: Data(#"["BOGUS"]"#.utf8)) }
    }

    @Test("every signal survives an encode/decode round trip, real-time ones included")
    func roundTripsEverySignal() throws {
        for n: Int32 in 1...64 {
            let s = try #require(SignalName(String(n)))
            #expect(SignalName(s.description) == s, "signal \(n) printed as '\(s)'")
            let back = try JSONDecoder().decode([SignalName].self, from: JSONEncoder().encode([s]))
            #expect(back == [s], "signal \(n) printed as '\(s)'")
        }
        #expect(SignalName("SIG34")?.number == 34)
        #expect(SignalName("sig9") == .kill)
        // The named ones do round-trip today; keep that true.
        for (_, n) in SignalName.table {
            let s = SignalName(unchecked: n)
            #expect(SignalName(s.description) == s)
        }
    }
}
