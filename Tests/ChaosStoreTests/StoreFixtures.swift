import ChaosCore
import Foundation

/// A fresh directory under NSTemporaryDirectory() for `body`, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = NSTemporaryDirectory() + "chaos-store-tests-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// How a fixture run turns out.
enum RunShape { case passing, failing, inconclusive }

/// A small run: one http probe sampled each second, 3 s before, 6 s during and 8 s after the fault;
/// the verdict computed from the journal.
func makeRun(_ id: String, experiment: String = "web-kill", startedAt: Int64 = 1_700_000_000_000, shape: RunShape = .passing,
             status: RunStatus = .completed) -> RunRecord {
    let probe = ProbeSpec(name: "web", type: .http)
    var events = [RunEvent(at: startedAt, kind: .started)]
    var samples: [Sample] = []
    var t = startedAt
    func add(_ count: Int, _ phase: Phase, _ judgement: Judgement) {
        for _ in 0..<count {
            samples.append(Sample(probe: "web", at: t, latencyMs: judgement.isOK ? 12.5 : 1000, phase: phase, judgement: judgement))
            t += 1000
        }
    }
    if shape != .inconclusive { add(3, .before, .ok) }
    events.append(RunEvent(at: t, kind: .gateMet))
    events.append(RunEvent(at: t, kind: .injected, detail: "SIGKILL to pid 4242"))
    events.append(RunEvent(at: t + 5, kind: .verified))
    add(6, .during, shape == .failing ? .fail("connection refused") : .ok)
    events.append(RunEvent(at: t, kind: .reverted))
    add(8, .after, .ok)
    events.append(RunEvent(at: t, kind: .ended))
    let journal = Journal(runID: id, experiment: experiment, reversible: true, probes: [probe], expect: ExpectSpec(),
                          events: events, samples: samples)
    return RunRecord(runID: id, experiment: experiment, file: "/etc/chaos/\(experiment).yaml", host: nil, faultKind: .processPause,
                     target: "nginx", status: status, startedAt: startedAt, endedAt: t, verdict: Verdict.of(journal), journal: journal)
}

/// The bytes of the file at `path`.
func fileBytes(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }

/// Appends `text` to the file at `path` as it is (no newline added).
func appendRaw(_ text: String, to path: String) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
}
