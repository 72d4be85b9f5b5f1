import ChaosCore
import ChaosStore
import Foundation
import Testing

@Suite("The controller's fire records and values, beside the runs")
struct FireStoreTests {
    static func fire(_ name: String, _ ms: Int64, _ state: FireRecord.State, runID: String? = nil) -> FireRecord {
        FireRecord(experiment: name, scheduledMs: ms, target: "db-primary", groups: ["redis", "db"], trigger: .monkey,
                   state: state, reason: state == .skipped ? "blackout (freeze)" : nil, runID: runID, decidedMs: ms + 5)
    }

    @Test("a fire is recorded once per (experiment, scheduled time), replaced by its next state, and survives reopening")
    func roundTrip() throws {
        try withTemporaryDirectory { dir in
            let store = try SQLiteRunStore(directory: dir)
            try store.record(Self.fire("kill", 1_000, .started, runID: "r-1"))
            try store.record(Self.fire("kill", 2_000, .skipped))
            try store.record(Self.fire("pause", 1_500, .missed))
            #expect(try store.fires(in: .started).map(\.runID) == ["r-1"])
            try store.record(Self.fire("kill", 1_000, .finished, runID: "r-1"))
            let again = try SQLiteRunStore(directory: dir)
            let all = try again.fires(sinceMs: 0)
            #expect(all.map(\.experiment) == ["kill", "pause", "kill"], "oldest first")
            #expect(all.first == Self.fire("kill", 1_000, .finished, runID: "r-1"), "replaced, every field kept")
            #expect(try again.fires(in: .started).isEmpty)
            #expect(try again.fires(sinceMs: 1_600).map(\.scheduledMs) == [2_000])
            #expect(try again.value("lastLookMs") == nil)
            try again.setValue("1234", for: "lastLookMs")
            try again.setValue("5678", for: "lastLookMs")
            #expect(try SQLiteRunStore(directory: dir).value("lastLookMs") == "5678")
        }
    }
}
