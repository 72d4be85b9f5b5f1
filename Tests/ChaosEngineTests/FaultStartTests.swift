import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosTesting
import Synchronization
import Testing

/// Wall time that moves 100 ms each time it is read, so grace periods end without waiting.
final class SteppingClock: WallClock {
    let value = Mutex<Int64>(1_000_000)
    func now() -> Int64 { value.withLock { $0 += 100; return $0 } }
}

/// The one way a fault starts (one-offs, runs and the agent all use it).
@Suite("FaultStart: the sequence after planning, in one place")
struct FaultStartTests {
    struct Lab {
        let host = FakeHost()
        let engine: FaultEngine
        let me: ProcessIdentity
        init() throws {
            engine = FaultEngine(ledger: try temporaryLedger(), host: host, clock: SteppingClock())
            me = host.spawn(name: "chaos").identity
        }
        func plan(_ kind: FaultKind, _ victims: [ProcessEntry], with p: FaultParameters = .init()) async throws -> FaultEngine.Plan {
            let spec = FaultSpec(type: kind, duration: kind.isReversible ? .seconds(30) : nil, with: p)
            return try await engine.plan(FaultRequest(faultID: FaultEngine.newFaultID(), spec: spec, victims: victims,
                                                      deadline: kind.isReversible ? engine.clock.now() + 30_000 : nil), target: "victims")
        }
        var signals: [String] { host.trace.filter { $0.hasPrefix("signal") } }
    }

    @Test("reversible: recorded before the host is touched, the guardian becomes an owner, injected and confirmed")
    func reversible() async throws {
        let lab = try Lab()
        let v = lab.host.spawn(name: "app")
        let plan = try await lab.plan(.processPause, [v])
        let guardian = lab.host.spawn(name: "chaos").identity
        let seen = Mutex<[String]>([])
        var start = FaultStart(owners: [lab.me])
        let engine = lab.engine, host = lab.host
        start.guardian = { p throws(ChaosError) in
            // The record is durable before the guardian starts, and nothing was done to the host yet.
            let state = (try? engine.ledger.record(p.request.faultID))??.state
            seen.withLock { $0.append("guardian: \(state.map { "\($0)" } ?? "no record"), \(host.trace.filter { $0.hasPrefix("signal") }.count) signals") }
            return guardian
        }
        start.mayProceed = { reversible throws(ChaosError) in seen.withLock { $0.append("proceed? \(reversible)") } }
        let started = try await start.start(plan, on: lab.engine)
        #expect(started.isConfirmed && !started.revertedUnconfirmed)
        #expect(seen.withLock { $0 } == ["guardian: planned, 0 signals", "proceed? true"])
        let record = try #require(try lab.engine.ledger.record(started.id))
        #expect(record.state == .injected)
        #expect(record.owners == [lab.me, guardian])
        #expect(lab.signals == ["signal STOP \(v.pid)"])
    }

    @Test("a veto at the last moment (a halted agent) leaves the host untouched and the record closed")
    func veto() async throws {
        let lab = try Lab()
        let v = lab.host.spawn(name: "app")
        let plan = try await lab.plan(.processPause, [v])
        var start = FaultStart(owners: [lab.me])
        start.mayProceed = { _ throws(ChaosError) in throw ChaosError("agent.halted", "halted") }
        await #expect(throws: ChaosError.self) { try await start.start(plan, on: lab.engine) }
        #expect(lab.signals.isEmpty)
        #expect(try lab.engine.ledger.openRecords().isEmpty)
        let kill = try await lab.plan(.processKill, [v])
        await #expect(throws: ChaosError.self) { try await start.start(kill, on: lab.engine) }
        #expect(lab.signals.isEmpty, "a kill cannot be taken back: the veto comes before it")
    }

    @Test("a guardian that cannot start stops the fault before the host is touched")
    func guardianFails() async throws {
        let lab = try Lab()
        let v = lab.host.spawn(name: "app")
        let plan = try await lab.plan(.processPause, [v])
        var start = FaultStart(owners: [lab.me])
        start.guardian = { _ throws(ChaosError) in throw ChaosError("host.spawnFailed", "no guardian") }
        await #expect(throws: ChaosError.self) { try await start.start(plan, on: lab.engine) }
        #expect(lab.signals.isEmpty)
        #expect(try lab.engine.ledger.openRecords().isEmpty)
    }

    @Test("not confirmed: reverted at once, unless the caller judges (the agent)")
    func unconfirmed() async throws {
        for revert in [true, false] {
            let lab = try Lab()
            let v = lab.host.spawn(name: "app")
            let plan = try await lab.plan(.processPause, [v])
            try await lab.host.send(.kill, to: v.pid)  // gone before the inject: nothing to pause
            var start = FaultStart(owners: [lab.me])
            start.revertUnconfirmed = revert
            let started = try await start.start(plan, on: lab.engine)
            #expect(!started.isConfirmed)
            #expect(started.revertedUnconfirmed == revert)
            #expect(try lab.engine.ledger.openRecords().isEmpty == revert)
        }
    }

    @Test("cannot be undone: applied and confirmed; the agent's copy is a closed record in history")
    func irreversible() async throws {
        let lab = try Lab()
        let v = lab.host.spawn(name: "app")
        var start = FaultStart(owners: [lab.me])
        start.recordIrreversible = true
        start.idempotencyKey = "k-1"
        let started = try await start.start(try await lab.plan(.processKill, [v]), on: lab.engine)
        #expect(started.isConfirmed)
        #expect(started.record?.state == .reverted)
        #expect(try lab.engine.ledger.openRecords().isEmpty)
        #expect(lab.engine.ledger.fault(forKey: "k-1") == started.id)
        let w = lab.host.spawn(name: "app")
        var p = FaultParameters()
        p.signal = .term
        lab.host.with { $0.ignoresTerm.insert(w.pid) }
        let ignored = try await FaultStart(owners: [lab.me]).start(try await lab.plan(.processKill, [w], with: p), on: lab.engine)
        #expect(!ignored.isConfirmed, "a TERM the victim ignores is reported after the grace period, not as done")
        #expect(ignored.record == nil)
    }

    @Test("grace periods are one table")
    func grace() {
        var p = FaultParameters()
        #expect(GracePeriods.applied(FaultSpec(type: .processKill, with: p)) == 2000)
        p.signal = .term
        #expect(GracePeriods.applied(FaultSpec(type: .processKill, with: p)) == 5000)
        #expect(GracePeriods.active == 3000)
    }
}
