import ChaosCore
@testable import ChaosController
import ChaosPKI
import Foundation
import Synchronization

/// A backend at the boundary: fixed runs, and halts and resumes recorded with who made them.
final class FakeBackend: ControllerBackend, Sendable {
    let stored: [RunRecord]
    let calls = Mutex<[String]>([])
    let state = Mutex(HaltState.running)
    init(runs: [RunRecord] = []) { stored = runs }

    func overview() async -> ControllerOverview {
        ControllerOverview(now: 1_700_000_000_000, halt: state.withLock { $0 },
                           running: [LiveRun(runID: "r-live", experiment: "kill <b>app</b>", target: "app1", startedAt: 1_700_000_000_000, step: "verified",
                                             probes: [LiveProbe(name: "site", status: "ok"), LiveProbe(name: "db", status: "failing")])],
                           upcoming: [UpcomingFire(experiment: "nightly", target: "db-primary", at: 1_700_000_600_000, trigger: "cron"),
                                      UpcomingFire(experiment: "xmas", target: "db-primary", at: 1_700_000_900_000, trigger: "cron", skipCode: "blackout", skipReason: "blackout (freeze)")],
                           experiments: 3, scheduled: 2,
                           agents: AgentsSummary(total: 3, reachable: 2, halted: 0, unreachable: [AgentAck(host: "db3", ok: false, error: "timeout <5s>")], checkedAt: 1_700_000_000_000))
    }
    func runs(_ filter: RunFilter) async throws(ChaosError) -> [RunRecord] {
        stored.filter { r in (filter.experiment == nil || r.experiment == filter.experiment) && (filter.outcome == nil || r.verdict.outcome == filter.outcome) }
    }
    func run(_ id: String) async throws(ChaosError) -> RunRecord? { stored.first { $0.runID == id } }
    func experimentNames() async throws(ChaosError) -> [String] { Set(stored.map(\.experiment)).sorted() }
    func halt(by caller: ControllerCaller, reason: String) async -> HaltOutcome {
        calls.withLock { $0.append("halt by \(caller): \(reason)") }
        let h = HaltState(halted: true, by: caller.name, reason: reason, at: 1_700_000_000_000)
        state.withLock { $0 = h }
        return HaltOutcome(halt: h, agents: [AgentAck(host: "db1", ok: true, reverted: 1), AgentAck(host: "db2", ok: false, error: "unreachable")], abortedRuns: ["r-live"], elapsedMs: 42)
    }
    func resume(by caller: ControllerCaller) async -> HaltOutcome {
        calls.withLock { $0.append("resume by \(caller)") }
        state.withLock { $0 = .running }
        return HaltOutcome(halt: .running, agents: [], abortedRuns: [], elapsedMs: 3)
    }
    func audit(limit: Int) async throws(ChaosError) -> [AuditEntry] { [AuditEntry(at: 1_700_000_000_000, who: "alice (operator, certificate)", action: "halt", detail: "<incident>")] }
}

enum Fixtures {
    static let t0: Int64 = 1_700_000_000_000

    /// A run with `name` as its experiment (user text, escaped everywhere).
    static func run(_ id: String, experiment: String, failing: Bool) -> RunRecord {
        var events = [RunEvent(at: t0, kind: .started), RunEvent(at: t0 + 1000, kind: .gateMet), RunEvent(at: t0 + 1100, kind: .injected, detail: "kill"),
                      RunEvent(at: t0 + 1200, kind: .verified), RunEvent(at: t0 + 5000, kind: .reverted)]
        events.append(RunEvent(at: t0 + 10_000, kind: .ended))
        var samples: [Sample] = []
        for s in 0..<10 {
            let at = t0 + Int64(s) * 1000
            let phase: Phase = s < 1 ? .before : s < 5 ? .during : .after
            samples.append(Sample(probe: "site", at: at, latencyMs: 5, phase: phase, judgement: failing && s == 3 ? .fail("status 503") : .ok))
        }
        let journal = Journal(runID: id, experiment: experiment, reversible: true, probes: [ProbeSpec(name: "site", type: .http)],
                              expect: ExpectSpec(), events: events, samples: samples)
        return RunRecord(runID: id, experiment: experiment, file: nil, host: "app1", faultKind: .processPause, target: "app (host app1)",
                         status: .completed, startedAt: t0, endedAt: t0 + 10_000, verdict: Verdict.of(journal), journal: journal)
    }

    static func scratch(_ label: String) -> String {
        let dir = NSTemporaryDirectory() + "chaos-controller-\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    struct PKI {
        var dir: String
        var ca: String
        var controller: WrittenFiles
        var alice: WrittenFiles
        /// An operator certificate that controller.yaml grants nothing (a viewer).
        var grafana: WrittenFiles
        var agent: WrittenFiles
        var strangerCA: String
        var stranger: WrittenFiles
    }

    /// A CA with the controller (SAN 127.0.0.1), operators 'alice' and 'grafana' and an agent 'db1'; and a
    /// certificate from another CA.
    static func pki(_ dir: String) throws -> PKI {
        let ca = try CertificateAuthority.create()
        let caFiles = try ca.write(to: dir, force: false)
        let controller = try ca.issue(try CertificateRequest(role: .controller, name: "controller", subjectAlternativeNames: ["127.0.0.1"])).write(to: dir, force: false)
        let alice = try ca.issue(try CertificateRequest(role: .operator, name: "alice")).write(to: dir, force: false)
        let grafana = try ca.issue(try CertificateRequest(role: .operator, name: "grafana")).write(to: dir, force: false)
        let agent = try ca.issue(try CertificateRequest(role: .agent, name: "db1", subjectAlternativeNames: ["127.0.0.1"])).write(to: dir, force: false)
        let otherDir = dir + "/other"
        try FileManager.default.createDirectory(atPath: otherDir, withIntermediateDirectories: true)
        let other = try CertificateAuthority.create(name: "other")
        let otherFiles = try other.write(to: otherDir, force: false)
        let stranger = try other.issue(try CertificateRequest(role: .operator, name: "mallory")).write(to: otherDir, force: false)
        return PKI(dir: dir, ca: caFiles.certificate, controller: controller, alice: alice, grafana: grafana, agent: agent, strangerCA: otherFiles.certificate, stranger: stranger)
    }
}

/// curl, for real HTTPS requests with client certificates.
enum Curl {
    struct Answer {
        var status: Int
        var headers: String
        var body: String
    }

    static func request(_ url: String, method: String = "GET", args: [String] = [], data: String? = nil) throws -> Answer {
        let dir = Fixtures.scratch("curl")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var argv = ["-sS", "--max-time", "10", "-X", method, "-D", dir + "/headers", "-o", dir + "/body", "-w", "%{http_code}"] + args
        if let data { argv += ["--data-binary", data] }
        argv.append(url)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = argv
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let code = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return Answer(status: Int(code) ?? 0, headers: (try? String(contentsOfFile: dir + "/headers", encoding: .utf8)) ?? "",
                      body: (try? String(contentsOfFile: dir + "/body", encoding: .utf8)) ?? "")
    }
}

extension ControllerAccess.Identified {
    /// A caller of `role` by certificate (or, with `cookie`, signed in with a token).
    static func by(_ name: String, _ role: ControllerRole, cookie: Bool = false) -> Self {
        .init(caller: ControllerCaller(name: name, role: role, credential: cookie ? .token : .certificate), byCookie: cookie)
    }
}

extension ControllerCaller {
    static func op(_ name: String) -> Self { .init(name: name, role: .operator, credential: .certificate) }
}
