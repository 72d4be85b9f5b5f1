import Testing
@testable import ChaosCore

/// Diagnostics that are wrong or unhelpful today; each test says what the right output is.
@Suite("Known diagnostic issues")
struct KnownDiagnosticIssuesTests {
    static func schedule(_ blackout: String) -> String {
        """
        apiVersion: chaos/v1
        kind: Experiment
        name: x
        target: {process: {name: web}}
        fault: {type: process.kill}
        schedule:
          cron: "0 10 * * *"
          blackouts:
            - \(blackout)
        """
    }

    @Test(
        "blackout order is judged by instants, not by comparing the texts",
        .bug(id: "blackout-text-compare", "ExperimentReader.readSchedule (ExperimentReader.swift:310) decides 'ends before it starts' with 'to < from' on the raw strings and only when both have the same length. With zone offsets the text order is not the time order: from 10:00+05:00 (05:00Z) to 09:00+00:00 (09:00Z) is a valid 4-hour blackout but is reported as ending before it starts. And a date against a date-time (from 2026-12-21 to 2026-12-20T12:00:00Z) is never checked. Fix: convert both ends to instants (dates at 00:00 in the schedule's time zone) and compare those.")
    )
    func blackoutOrderByInstant() {
        let offsets = Doc.diagnostics(Self.schedule(#"{from: "2026-12-20T10:00:00+05:00", to: "2026-12-20T09:00:00+00:00"}"#))
        let mixed = Doc.diagnostics(Self.schedule(#"{from: 2026-12-21, to: "2026-12-20T12:00:00Z"}"#))
        withKnownIssue("text comparison of ISO 8601 stamps") {
            #expect(offsets == [])
            #expect(mixed == ["t.yaml:9:7: schedule.blackouts[0].to: ends before it starts; swap 'from' and 'to'"])
        }
        // Same-format stamps are compared correctly today; keep that.
        #expect(Doc.diagnostics(Self.schedule("{from: 2026-12-20, to: 2026-12-10}")) == [
            "t.yaml:9:7: schedule.blackouts[0].to: ends before it starts; swap 'from' and 'to'",
        ])
        #expect(Doc.diagnostics(Self.schedule("{from: 2026-12-10, to: 2026-12-20}")) == [])
    }

    @Test(
        "a parameter given to a kind that takes none gets a useful hint",
        .bug(id: "empty-known-fields", "MappingReader.finish (FieldReader.swift:228-231) builds 'known fields here: ' from the keys read; for process.pause and systemd.stop FaultParameters.fields(for:) is empty, so 'with: {signal: STOP}' ends in 't.yaml:8:10: fault.with.signal: unknown field; known fields here: ' with nothing after the colon. Fix: when nothing is known say e.g. \"process.pause takes no parameters; remove 'with'\".")
    )
    func emptyKnownFields() throws {
        let got = Doc.diagnostics("""
            apiVersion: chaos/v1
            kind: Experiment
            name: x
            target: {process: {name: web}}
            fault:
              type: process.pause
              duration: 10s
              with: {signal: STOP}
            """)
        let only = try #require(got.first)
        #expect(got.count == 1)
        #expect(only.hasPrefix("t.yaml:8:10: fault.with.signal: unknown field; "))
        withKnownIssue("the hint lists no fields") {
            #expect(!only.hasSuffix("known fields here: "))
        }
    }
}
