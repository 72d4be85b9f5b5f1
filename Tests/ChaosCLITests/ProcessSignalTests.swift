import ChaosCore
import ChaosFaults
import ChaosLinux
import ChaosTesting
import Foundation
import Glibc
import Testing

/// process.signal, the kind added by following docs/adding-a-fault.md: its descriptor
/// (ChaosCore/Faults/Descriptors/ProcessSignal.swift), its fault (ChaosFaults/Process/ProcessSignalFault.swift),
/// its example (experiments/examples/process-signal.yaml) and this file. No command of its own:
/// `chaos inject process.signal --set signal=HUP ...` reaches it from the descriptor.
@Suite("process.signal")
struct ProcessSignalTests {
    @Test("the contract on a fake host: one signal to each victim, nothing to revert")
    func contract() async throws {
        let host = FakeHost()
        let a = host.spawn(name: "app"), b = host.spawn(name: "app")
        var p = FaultParameters()
        p.signal = SignalName("HUP")
        let request = FaultRequest(faultID: "f-sig00001", spec: FaultSpec(type: .processSignal, with: p), victims: [a, b])
        let planned = try await FaultContract.check(try FaultCatalog.fault(.processSignal), request, on: host)
        #expect(planned.actions == ["send SIGHUP to \(a.pid) (app)", "send SIGHUP to \(b.pid) (app)"])
        #expect(host.trace.filter { $0.hasPrefix("signal") } == ["signal HUP \(a.pid)", "signal HUP \(b.pid)"])
    }

    @Test("a stop signal is verified as stopped; a victim that is not stopped is named")
    func stopVerified() async throws {
        let host = FakeHost()
        let v = host.spawn(name: "app")
        var p = FaultParameters()
        p.signal = .stop
        let fault = try FaultCatalog.fault(.processSignal)
        let planned = try await fault.plan(FaultRequest(faultID: "f-sig00002", spec: FaultSpec(type: .processSignal, with: p), victims: [v]), on: host)
        #expect(try await fault.verify(planned.receipt, on: host) != .active)
        try await fault.inject(planned.receipt, on: host)
        #expect(try await fault.verify(planned.receipt, on: host) == .active)
    }

    @Test("planning refuses no victims and no signal")
    func refusals() async throws {
        let host = FakeHost()
        let fault = try FaultCatalog.fault(.processSignal)
        var p = FaultParameters()
        p.signal = .term
        await #expect(throws: ChaosError.self) { try await fault.plan(FaultRequest(faultID: "f-sig00003", spec: FaultSpec(type: .processSignal, with: p)), on: host) }
        let v = host.spawn(name: "app")
        await #expect(throws: ChaosError.self) {
            try await fault.plan(FaultRequest(faultID: "f-sig00004", spec: FaultSpec(type: .processSignal, with: FaultParameters()), victims: [v]), on: host)
        }
    }

    @Test("files: the example validates; a missing signal, a duration and an unknown signal are refused where they are written")
    func files() throws {
        let ok = try Harness.run(["validate", Harness.root + "/experiments/examples/process-signal.yaml"], state: Harness.stateDir())
        #expect(ok.status == 0, "\(ok.stdout)")
        let bad = """
            apiVersion: chaos/v1
            kind: Experiment
            name: x
            target: {process: {name: app}}
            fault: {type: process.signal, duration: 10s, with: {signal: NOPE}}
            """
        let diagnostics = ChaosDocument.load(bad, file: "t.yaml").diagnostics.map(\.description)
        #expect(diagnostics == [
            "t.yaml:5:31: fault.duration: process.signal cannot be undone, so it has no duration; remove 'duration'; recovery is measured from the moment of the fault",
            "t.yaml:5:61: fault.with.signal: 'NOPE' is not a signal; use a name such as KILL, TERM, INT, HUP or a number 1-64",
        ])
    }

    /// A shell that appends a line to `file` for each SIGHUP, started with no blocked signals.
    static func handler(writingTo file: String) throws -> pid_t {
        let script = "trap 'echo hup >> \(file)' HUP; i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"
        let pid = try Harness.spawn(["/bin/sh", "-c", script])
        // Ready once the kernel says the shell catches SIGHUP (bit 0 of SigCgt), however slow the machine.
        let caught = Harness.waitUntil(timeout: 30) {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            let mask = status.split(separator: "\n").first { $0.hasPrefix("SigCgt:") }?.split(separator: "\t").last
            return mask.flatMap { UInt64($0.trimmingCharacters(in: .whitespaces), radix: 16) }.map { $0 & 1 == 1 } ?? false
        }
        guard caught else { throw ChaosError("test.spawn", "the shell did not set its HUP trap") }
        return pid
    }

    @Test("for real: chaos inject delivers the signal to a live handler once, which survives; a dry run sends nothing",
          .enabled(if: Harness.integration, "needs root and CHAOS_INTEGRATION=1"))
    func real() throws {
        let state = Harness.stateDir()
        let file = state + "/hups"
        let pid = try Self.handler(writingTo: file)
        defer { kill(pid, SIGKILL); var s: Int32 = 0; waitpid(pid, &s, 0) }
        let dry = try Harness.run(["inject", "process.signal", "--set", "signal=HUP", "--pid", String(pid), "--dry-run"], state: state)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("send SIGHUP to \(pid)"))
        usleep(300_000)
        #expect(!FileManager.default.fileExists(atPath: file), "the dry run sent a signal")
        let out = try Harness.run(["inject", "process.signal", "--set", "signal=HUP", "--pid", String(pid), "--output", "json"], state: state)
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        #expect(json["kind"] as? String == "process.signal")
        #expect(json["state"] as? String == "done")
        #expect(Harness.waitUntil(timeout: 5) { (try? String(contentsOfFile: file, encoding: .utf8)) == "hup\n" })
        #expect(!Harness.isDead(pid), "a handled HUP must not kill the process")
        // Nothing is left: no open record in the ledger.
        let status = try Harness.run(["status", "--output", "json"], state: state)
        #expect(!status.stdout.contains("process.signal"), "\(status.stdout)")
        // Protected processes stay protected for any signal.
        let refused = try Harness.run(["inject", "process.signal", "--set", "signal=HUP", "--pid", "1"], state: state)
        #expect(refused.status != 0)
    }
}
