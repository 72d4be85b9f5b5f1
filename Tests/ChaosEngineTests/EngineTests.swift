import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosTesting
import Foundation
import Synchronization
import Testing

/// Wall time that only moves when a test says so.
final class ManualWallClock: WallClock {
    let value = Mutex<Int64>(1_000_000)
    func now() -> Int64 { value.withLock { $0 } }
    func advance(_ ms: Int64) { value.withLock { $0 += ms } }
}

/// A ledger in a fresh temporary directory.
func temporaryLedger() throws -> FaultLedger {
    let dir = NSTemporaryDirectory() + "chaos-ledger-\(UUID().uuidString)"
    return try FaultLedger(directory: dir)
}

struct Fixture {
    let host = FakeHost()
    let clock = ManualWallClock()
    let ledger: FaultLedger
    let engine: FaultEngine
    init() throws {
        ledger = try temporaryLedger()
        engine = FaultEngine(ledger: ledger, host: host, clock: clock)
    }

    func pausePlan(_ victims: [ProcessEntry], id: String = FaultEngine.newFaultID(), seconds: Int64 = 30) async throws -> FaultEngine.Plan {
        let req = FaultRequest(faultID: id, spec: FaultSpec(type: .processPause, duration: .seconds(seconds), with: .init()),
                               victims: victims, deadline: clock.now() + seconds * 1000)
        return try await engine.plan(req, target: "test victims")
    }

    /// An identity that is certainly dead: a pid the fake host never had.
    static let deadOwner = ProcessIdentity(pid: 999_999, startTime: 1)
}

@Suite("The engine moves faults through the ledger and never loses one")
struct EngineTests {
    @Test("a fault goes planned → injecting → injected → reverting → reverted, and lands in history")
    func lifecycle() async throws {
        let f = try Fixture()
        let v = f.host.spawn(name: "redis-server")
        let plan = try await f.pausePlan([v])
        let owner = f.host.spawn(name: "chaos").identity
        _ = try await f.engine.record(plan, owners: [owner])
        #expect(try f.ledger.record(plan.request.faultID)?.state == .planned)
        #expect(f.host.trace.isEmpty, "recording must not touch the host")
        _ = try await f.engine.inject(plan.request.faultID)
        #expect(try await f.engine.verify(plan.request.faultID) == .active)
        let done = try await f.engine.revert(plan.request.faultID, reason: "test")
        #expect(done.state == .reverted)
        #expect(done.history.map(\.state) == [.planned, .injecting, .injected, .reverting, .reverted])
        #expect(try f.ledger.openRecords().isEmpty)
        #expect(try f.ledger.history().map(\.id) == [plan.request.faultID])
        // Revert again: nothing more happens on the host.
        let traceBefore = f.host.trace
        _ = try await f.engine.revert(plan.request.faultID, reason: "again")
        #expect(f.host.trace == traceBefore)
    }

    @Test("a reversible fault without a deadline is refused before planning")
    func needsDuration() async throws {
        let f = try Fixture()
        let v = f.host.spawn(name: "x")
        let req = FaultRequest(faultID: "f-nodl", spec: FaultSpec(type: .processPause, with: .init()), victims: [v], deadline: nil)
        await #expect(throws: ChaosError.self) { try await f.engine.plan(req, target: "x") }
    }

    @Test("two faults that claim the same process are refused, naming the holder")
    func claims() async throws {
        let f = try Fixture()
        let v = f.host.spawn(name: "redis-server")
        let first = try await f.pausePlan([v], id: "f-first001")
        _ = try await f.engine.record(first, owners: [f.host.spawn(name: "chaos").identity])
        let second = try await f.pausePlan([v], id: "f-second01")
        do {
            _ = try await f.engine.record(second, owners: [])
            Issue.record("an overlapping claim must be refused")
        } catch {
            #expect(error.code == "fault.resourceBusy")
            #expect(error.message.contains("f-first001"))
            #expect(error.message.contains("chaos revert f-first001"))
        }
        #expect(try f.ledger.record("f-second01") == nil)
    }

    @Test("a crash after the injecting write and before the host change is reverted by recovery")
    func crashBeforeMutation() async throws {
        let f = try Fixture()
        let v = f.host.spawn(name: "redis-server")
        let plan = try await f.pausePlan([v], id: "f-crash001")
        var r = try await f.engine.record(plan, owners: [Fixture.deadOwner])
        // Simulate the process dying right after writing `injecting`.
        r.state = .injecting
        try f.ledger.write(r)
        let recovered = await f.engine.recover()
        #expect(recovered.map(\.id) == ["f-crash001"])
        #expect(recovered.first?.reason == "its owner is gone")
        #expect(try f.ledger.record("f-crash001")?.state == .reverted)
        #expect(f.host.with { $0.processes[v.pid]?.state } == "S")
    }

    @Test("a crash after injecting leaves a stopped process that recovery resumes")
    func crashAfterInject() async throws {
        let f = try Fixture()
        let v = f.host.spawn(name: "redis-server")
        let plan = try await f.pausePlan([v], id: "f-crash002")
        _ = try await f.engine.record(plan, owners: [Fixture.deadOwner])
        _ = try await f.engine.inject("f-crash002")
        #expect(f.host.with { $0.processes[v.pid]?.isStopped } == true)
        _ = await f.engine.recover()
        #expect(f.host.with { $0.processes[v.pid]?.isStopped } == false)
    }

    @Test("recovery leaves a fault alone while its owner lives and the deadline is ahead, and reverts it after")
    func recoveryRespectsOwner() async throws {
        let f = try Fixture()
        let v = f.host.spawn(name: "redis-server")
        let owner = f.host.spawn(name: "chaos").identity
        let plan = try await f.pausePlan([v], id: "f-alive001", seconds: 30)
        _ = try await f.engine.record(plan, owners: [owner])
        _ = try await f.engine.inject("f-alive001")
        #expect(await f.engine.recover().isEmpty)
        #expect(f.host.with { $0.processes[v.pid]?.isStopped } == true)
        f.clock.advance(30_000)
        let done = await f.engine.recover()
        #expect(done.map(\.reason) == ["past its deadline"])
        #expect(f.host.with { $0.processes[v.pid]?.isStopped } == false)
    }

    @Test("a failed inject is reverted at once and the error is passed on")
    func injectFailure() async throws {
        let f = try Fixture()
        let a = f.host.spawn(name: "a"), b = f.host.spawn(name: "b")
        f.host.with { $0.failures["signal STOP \(b.pid)"] = ChaosError("host.permissionDenied", "Not allowed.") }
        let plan = try await f.pausePlan([a, b], id: "f-half0001")
        _ = try await f.engine.record(plan, owners: [Fixture.deadOwner])
        await #expect(throws: ChaosError.self) { _ = try await f.engine.inject("f-half0001") }
        // a was stopped before b failed; the revert resumed it.
        #expect(f.host.with { $0.processes[a.pid]?.state } == "S")
        #expect(try f.ledger.record("f-half0001")?.state == .reverted)
    }

    @Test("a failed revert keeps the fault open with the reason, and a later revert finishes it")
    func revertFailure() async throws {
        let f = try Fixture()
        let v = f.host.spawn(name: "a")
        let plan = try await f.pausePlan([v], id: "f-stuck001")
        _ = try await f.engine.record(plan, owners: [Fixture.deadOwner])
        _ = try await f.engine.inject("f-stuck001")
        f.host.with { $0.failures["signal CONT"] = ChaosError("host.permissionDenied", "Not allowed to send SIGCONT.") }
        await #expect(throws: ChaosError.self) { try await f.engine.revert("f-stuck001", reason: "test") }
        let open = try #require(try f.ledger.record("f-stuck001"))
        #expect(open.needsRevert)
        #expect(open.failure == "Not allowed to send SIGCONT.")
        f.host.with { $0.failures = [:] }
        #expect(try await f.engine.revert("f-stuck001", reason: "retry").state == .reverted)
        #expect(f.host.with { $0.processes[v.pid]?.state } == "S")
    }

    @Test("the guardian reverts at the deadline and stops watching once reverted")
    func guardian() async throws {
        let f = try Fixture()
        let v = f.host.spawn(name: "a")
        let plan = try await f.pausePlan([v], id: "f-guard001", seconds: 1)
        _ = try await f.engine.record(plan, owners: [f.host.spawn(name: "chaos").identity])
        _ = try await f.engine.inject("f-guard001")
        f.clock.advance(1_000)
        let failures = await Guardian(engine: f.engine).watch("f-guard001")
        #expect(failures == 0)
        #expect(try f.ledger.record("f-guard001")?.state == .reverted)
        #expect(f.host.with { $0.processes[v.pid]?.isStopped } == false)
    }

    @Test("an unreadable ledger record is reported, not skipped")
    func corruptRecord() async throws {
        let f = try Fixture()
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: f.ledger.directory + "/f-broken01.json"))
        #expect(throws: ChaosError.self) { try f.ledger.openRecords() }
    }

    @Test("fault ids are unique and well formed")
    func ids() {
        let ids = (0..<2000).map { _ in FaultEngine.newFaultID() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.hasPrefix("f-") && $0.count == 10 })
    }
}

@Suite("Where a one-off runs: this host or another host's agent")
struct PlacementTests {
    let inventory = Inventory(
        hosts: [.init(name: "db1", address: "10.0.0.11", agent: "https://10.0.0.11:7433"),
                .init(name: "db2", address: "10.0.0.12", agent: "https://10.0.0.12:7433", tags: ["db"]),
                .init(name: "db3", address: "10.0.0.13", agent: "https://10.0.0.13:7433", tags: ["db"]),
                .init(name: "me", address: "10.0.0.99")],
        targets: [.init(name: "primary", host: "db1", process: ProcessSelector(name: "redis-server")),
                  .init(name: "replicas", tags: ["db"], process: ProcessSelector(name: "redis-server")),
                  .init(name: "moving", resolve: .init(command: ["resolve"]), process: ProcessSelector(port: 6379)),
                  .init(name: "local", host: "me", process: ProcessSelector(name: "x"))])

    func resolver(answer: String = "db3") -> TargetResolver {
        TargetResolver(host: FakeHost(), inventory: inventory, localNames: { ["me", "10.0.0.99"] }) { (_, _) throws(ChaosError) -> String in answer + "\n" }
    }

    @Test("a target on another host goes to that host with its process selector and the caller's selection")
    func remote() async throws {
        let spec = TargetSpec(ref: "primary", selection: Selection(count: 1, percent: nil, random: false))
        let placement = try await resolver().placement(spec)
        #expect(placement == .remote(inventory.hosts[0], TargetSpec(process: ProcessSelector(name: "redis-server"), selection: spec.selection)))
    }

    @Test("a target here, a host here, or no inventory target at all stays local")
    func local() async throws {
        #expect(try await resolver().placement(TargetSpec(ref: "local")) == .local)
        #expect(try await resolver().placement(TargetSpec(host: "me")) == .local)
        #expect(try await resolver().placement(TargetSpec(process: ProcessSelector(pid: 42))) == .local)
    }

    @Test("tags pick one of their hosts; a resolver command names the host; --host goes there")
    func choice() async throws {
        for _ in 0..<20 {
            guard case .remote(let h, _) = try await resolver().placement(TargetSpec(ref: "replicas")) else { Issue.record("not remote"); return }
            #expect(["db2", "db3"].contains(h.name))
        }
        guard case .remote(let moved, let t) = try await resolver(answer: "10.0.0.13").placement(TargetSpec(ref: "moving")) else { Issue.record("not remote"); return }
        #expect(moved.name == "db3" && t.process?.port == 6379)
        guard case .remote(let h2, _) = try await resolver().placement(TargetSpec(host: "db2")) else { Issue.record("not remote"); return }
        #expect(h2.name == "db2")
        // A host-wide fault on a named target takes the host and leaves the process selector behind.
        guard case .remote(let h3, let wide) = try await resolver().placement(TargetSpec(ref: "primary"), for: .networkBlackhole) else { Issue.record("not remote"); return }
        #expect(h3.name == "db1" && wide == TargetSpec())
    }

    @Test("unknown targets and hosts are usage errors with a suggestion")
    func unknown() async {
        do { _ = try await resolver().placement(TargetSpec(ref: "primry")); Issue.record("must fail") } catch {
            #expect(error.code == "target.unknown" && error.message.contains("primary"))
        }
        do { _ = try await resolver().placement(TargetSpec(host: "db9")); Issue.record("must fail") } catch {
            #expect(error.code == "target.unknownHost" && error.exit == .usage)
        }
    }
}

@Suite("The ledger's lock never takes a thread from the work it waits for")
struct LedgerLockTests {
    /// Reproduces the agent's deadlock under bench/hostile.sh: with a blocking flock, tasks waiting for
    /// the ledger took both cooperative threads while the holder, suspended in its revert (which runs
    /// in a task of its own), waited for a thread to go on.
    @Test("forty concurrent injects and reverts on one ledger all finish", .timeLimit(.minutes(1)))
    func concurrentLedgerWork() async throws {
        let f = try Fixture()
        let victims = (0..<20).map { f.host.spawn(name: "v\($0)") }
        let owner = f.host.spawn(name: "chaos").identity
        var ids: [String] = []
        for v in victims {
            let plan = try await f.pausePlan([v])
            _ = try await f.engine.record(plan, owners: [owner])
            ids.append(plan.request.faultID)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids {
                // Either may win: an inject after the revert is refused ("already reverted"), never stuck.
                group.addTask { _ = try? await f.engine.inject(id) }
                group.addTask { try? await Task.sleep(nanoseconds: 100_000); _ = try? await f.engine.revert(id, reason: "test") }
            }
            try await group.waitForAll()
        }
        for id in ids { _ = try await f.engine.revert(id, reason: "end") }
        #expect(try f.ledger.openRecords().isEmpty)
        #expect(f.host.with { s in victims.allSatisfy { s.processes[$0.pid]?.isStopped == false } })
    }
}
