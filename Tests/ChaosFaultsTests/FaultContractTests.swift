import ChaosCore
import ChaosFaults
import ChaosTesting
import Testing

@Suite("Every fault passes the contract on a simulated host")
struct FaultContractTests {
    static let deadline: Int64 = 4_000_000_000_000

    @Test("process.pause stops the victims and resumes them; revert twice is harmless")
    func pause() async throws {
        let host = FakeHost()
        let a = host.spawn(name: "redis-server"), b = host.spawn(name: "redis-server")
        let request = FaultRequest(faultID: "f-test0001", spec: FaultSpec(type: .processPause, duration: .seconds(30), with: .init()),
                                   victims: [a, b], deadline: Self.deadline)
        try await FaultContract.check(try FaultCatalog.fault(.processPause), request, on: host) {
            host.with { s in [a.pid, b.pid].compactMap { s.processes[$0] }.filter(\.isStopped).map { "\($0.pid) still stopped" } }
        }
        #expect(host.trace == ["signal STOP \(a.pid)", "signal STOP \(b.pid)", "signal CONT \(a.pid)", "signal CONT \(b.pid)", "signal CONT \(a.pid)", "signal CONT \(b.pid)"])
    }

    @Test("process.kill leaves the victims dead and has nothing to revert")
    func kill() async throws {
        let host = FakeHost()
        let v = host.spawn(name: "app")
        let request = FaultRequest(faultID: "f-test0002", spec: FaultSpec(type: .processKill, with: .init()), victims: [v])
        let planned = try await FaultContract.check(try FaultCatalog.fault(.processKill), request, on: host)
        #expect(planned.actions == ["send SIGKILL to \(v.pid) (app)"])
        #expect(host.with { $0.processes[v.pid]?.isDead } == true)
    }

    @Test("systemd.stop stops a running unit and starts it again")
    func systemdStop() async throws {
        let host = FakeHost()
        host.addUnit("redis.service")
        let request = FaultRequest(faultID: "f-test0003", spec: FaultSpec(type: .systemdStop, duration: .seconds(60), with: .init()),
                                   unit: "redis.service", deadline: Self.deadline)
        try await FaultContract.check(try FaultCatalog.fault(.systemdStop), request, on: host) {
            host.with { $0.units["redis.service"]?.isActive == true ? [] : ["redis.service is not running"] }
        }
        #expect(host.trace == ["stop redis.service", "start redis.service", "start redis.service"])
    }

    @Test("disk.fill creates one owned file and removes it")
    func diskFill() async throws {
        let host = FakeHost()
        var p = FaultParameters()
        p.path = "/var/lib/redis"
        p.percent = 95
        let request = FaultRequest(faultID: "f-test0004", spec: FaultSpec(type: .diskFill, duration: .seconds(60), with: p), deadline: Self.deadline)
        let planned = try await FaultContract.check(try FaultCatalog.fault(.diskFill), request, on: host) {
            host.with { $0.files.keys.map { "file \($0) left" } }
        }
        #expect(planned.claims.contains(.path("/var/lib/redis/.chaos-fill-f-test0004")))
        #expect(host.with { $0.filesystem.available } == 900 << 20)
    }

    @Test("disk.fill to a level takes what is left when another writer took space after the plan, and counts as active")
    func diskFillRace() async throws {
        let host = FakeHost()
        var p = FaultParameters()
        p.path = "/var/lib/redis"
        p.percent = 100
        let fault = try FaultCatalog.fault(.diskFill)
        let request = FaultRequest(faultID: "f-test0014", spec: FaultSpec(type: .diskFill, duration: .seconds(60), with: p), deadline: Self.deadline)
        let planned = try await fault.plan(request, on: host)
        // Redis appends 64 KiB to its log between the plan and the fallocate.
        host.with { $0.filesystem.available -= 64 << 10; $0.filesystem.free -= 64 << 10 }
        try await fault.inject(planned.receipt, on: host)
        #expect(host.with { $0.filesystem.available } == 0, "the disk is full, as asked")
        #expect(try await fault.verify(planned.receipt, on: host) == .active)
        try await fault.revert(planned.receipt, on: host)
        #expect(host.with { $0.files.isEmpty })
        // A fill of a size is a size: the same race fails it, and nothing is left.
        p.percent = nil
        p.size = ByteSize(bytes: host.with { $0.filesystem.available })
        let sized = try await fault.plan(FaultRequest(faultID: "f-test0015", spec: FaultSpec(type: .diskFill, duration: .seconds(60), with: p), deadline: Self.deadline), on: host)
        host.with { $0.filesystem.available -= 4096; $0.filesystem.free -= 4096 }
        await #expect(throws: ChaosError.self) { try await fault.inject(sized.receipt, on: host) }
        #expect(host.with { $0.files.isEmpty })
    }

    @Test("stress faults start one helper named by the fault id and kill it", arguments: [FaultKind.stressCPU, .stressMemory])
    func stress(kind: FaultKind) async throws {
        let host = FakeHost()
        var p = FaultParameters()
        p.size = ByteSize(bytes: 64 << 20)
        let request = FaultRequest(faultID: "f-test0005", spec: FaultSpec(type: kind, duration: .seconds(10), with: p), deadline: Self.deadline)
        try await FaultContract.check(try FaultCatalog.fault(kind), request, on: host) {
            host.with { $0.processes.values.filter { $0.cmdline.contains("f-test0005") && !$0.isDead }.map { "helper \($0.pid) alive" } }
        }
        #expect(host.trace.first?.hasPrefix("spawn chaos _stress \(kind == .stressCPU ? "cpu" : "memory") --fault-id f-test0005 --until \(Self.deadline)") == true)
    }

    @Test("the contract catches a fault that does not take effect")
    func contractCanFail() async throws {
        let host = FakeHost()
        let v = host.spawn(name: "app")
        host.with { $0.ignoresTerm.insert(v.pid) }
        var p = FaultParameters()
        p.signal = .term
        let request = FaultRequest(faultID: "f-test0006", spec: FaultSpec(type: .processKill, with: p), victims: [v])
        await #expect(throws: FaultContract.Violation.self) {
            try await FaultContract.check(try FaultCatalog.fault(.processKill), request, on: host, settle: .milliseconds(30))
        }
    }

    @Test("every kind named by the catalog is implemented once")
    func catalog() {
        let kinds = FaultCatalog.all.map(\.kind)
        #expect(Set(kinds).count == kinds.count)
        #expect(Set(kinds) == Set(FaultKind.allCases), "every kind the file format accepts has an implementation")
    }
}
