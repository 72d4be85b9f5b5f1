import ChaosCore
import ChaosFaults
import ChaosTesting
import Testing

@Suite("Planning decides everything before the host is touched")
struct FaultPlanTests {
    let fs = FilesystemStats(size: 1000, available: 800, free: 850, id: 7, isDirectory: true)

    func request(_ p: FaultParameters, id: String = "f-plan0001") -> FaultRequest {
        FaultRequest(faultID: id, spec: FaultSpec(type: .diskFill, duration: .seconds(5), with: p), deadline: 1)
    }

    @Test("disk.fill sizes follow df: used / (used + available)")
    func fillPercent() throws {
        var p = FaultParameters()
        p.path = "/data"
        p.percent = 95
        let r = try DiskFillFault().plan(request(p), facts: fs)
        // used = size - free = 150; used + available = 950; 95 % of 950 rounded up = 903; need = 903 - 150 = 753
        #expect(r.bytes == 753)
        #expect(r.file == "/data/.chaos-fill-f-plan0001")
        #expect(abs(r.percentPlanned - 95) < 0.2)
    }

    @Test("disk.fill with free leaves exactly that much available")
    func fillFree() throws {
        var p = FaultParameters()
        p.path = "/data/"
        p.free = ByteSize(bytes: 100)
        let r = try DiskFillFault().plan(request(p), facts: fs)
        #expect(r.bytes == 700)
        #expect(r.file == "/data/.chaos-fill-f-plan0001")
    }

    @Test("disk.fill on a file path puts the fill file beside it")
    func fillFilePath() throws {
        var p = FaultParameters()
        p.path = "/var/lib/redis/dump.rdb"
        p.size = ByteSize(bytes: 10)
        var facts = fs
        facts.isDirectory = false
        let r = try DiskFillFault().plan(request(p), facts: facts)
        #expect(r.file == "/var/lib/redis/.chaos-fill-f-plan0001")
        #expect(r.claims == [.filesystem(7), .path("/var/lib/redis/.chaos-fill-f-plan0001")])
    }

    @Test("disk.fill refuses when there is nothing to fill, or too much")
    func fillRefusals() {
        var p = FaultParameters()
        p.path = "/data"
        p.percent = 10
        #expect(throws: ChaosError.self) { try DiskFillFault().plan(request(p), facts: fs) }
        do {
            _ = try DiskFillFault().plan(request(p), facts: fs)
        } catch {
            #expect(error.code == "fault.nothingToDo")
            #expect(error.message.contains("already 15.8% used"))
        }
        p.percent = nil
        p.size = ByteSize(bytes: 801)
        do {
            _ = try DiskFillFault().plan(request(p), facts: fs)
            Issue.record("a fill larger than the free space must be refused")
        } catch {
            #expect(error.code == "fault.tooLarge")
        }
    }

    @Test("a fill of the ledger's own filesystem keeps the ledger's reserve; a level stops short of it, a size is refused")
    func fillKeepsLedgerReserve() throws {
        var p = FaultParameters()
        p.path = "/data"
        p.percent = 100
        var r = request(p)
        r.diskFill.ledgerFilesystem = 7
        r.diskFill.ledgerReserve = 100
        let level = try DiskFillFault().plan(r, facts: fs)
        #expect(level.bytes == 700, "800 available less the 100 reserved")
        #expect(level.keepFree == 100)
        p.percent = nil
        p.size = ByteSize(bytes: 750)
        r = request(p)
        r.diskFill.ledgerFilesystem = 7
        r.diskFill.ledgerReserve = 100
        #expect(throws: ChaosError.self) { try DiskFillFault().plan(r, facts: fs) }
        r.diskFill.ledgerFilesystem = 8
        #expect(try DiskFillFault().plan(r, facts: fs).bytes == 750, "another filesystem keeps no reserve")
    }

    @Test("a fill that would leave the disk fuller than the host's maxPercent is refused by policy")
    func fillMaxPercent() throws {
        var p = FaultParameters()
        p.path = "/data"
        p.percent = 95
        var r = request(p)
        r.diskFill.maxPercent = 90
        do {
            _ = try DiskFillFault().plan(r, facts: fs)
            Issue.record("95 % is over the host's 90 %")
        } catch {
            #expect(error.code == "policy.denied" && error.message.contains("maxPercent"))
        }
        p.percent = 90
        #expect(try DiskFillFault().plan(request(p), facts: fs).bytes > 0)
    }

    @Test("stress.memory refuses more than 90 % of available memory")
    func memoryGuard() throws {
        var p = FaultParameters()
        p.size = ByteSize(bytes: 950)
        let req = FaultRequest(faultID: "f-m", spec: FaultSpec(type: .stressMemory, duration: .seconds(1), with: p), deadline: 99)
        let facts = HostFacts(selfPID: 1, cpuCount: 2, memoryAvailable: 1000, hostname: "h")
        #expect(throws: ChaosError.self) { try StressFault(.stressMemory).plan(req, facts: facts) }
        p.size = ByteSize(bytes: 900)
        let ok = FaultRequest(faultID: "f-m", spec: FaultSpec(type: .stressMemory, duration: .seconds(1), with: p), deadline: 99)
        let r = try StressFault(.stressMemory).plan(ok, facts: facts)
        #expect(r.arguments == ["_stress", "memory", "--fault-id", "f-m", "--until", "99", "--bytes", "900"])
    }

    @Test("stress.cpu defaults to one worker per CPU at full load")
    func cpuDefaults() throws {
        let req = FaultRequest(faultID: "f-c", spec: FaultSpec(type: .stressCPU, duration: .seconds(1), with: .init()), deadline: 42)
        let r = try StressFault(.stressCPU).plan(req, facts: HostFacts(selfPID: 1, cpuCount: 8, memoryAvailable: 1, hostname: "h"))
        #expect(r.arguments == ["_stress", "cpu", "--fault-id", "f-c", "--until", "42", "--workers", "8", "--load", "100"])
    }

    @Test("systemd.stop refuses a unit that is not running")
    func stopInactive() {
        let req = FaultRequest(faultID: "f-s", spec: FaultSpec(type: .systemdStop, duration: .seconds(1), with: .init()), unit: "x.service", deadline: 1)
        let state = UnitState(name: "x.service", loadState: "loaded", activeState: "inactive", subState: "dead", mainPID: 0)
        do {
            _ = try SystemdStopFault().plan(req, facts: state)
            Issue.record("stopping an inactive unit must be refused")
        } catch {
            #expect(error.code == "fault.nothingToDo")
            #expect(error.message == "Unit 'x.service' is inactive (dead), so there is nothing to stop. Start it first or pick a running unit.")
        }
    }

    @Test("process faults refuse an empty victim list")
    func noVictims() {
        let req = FaultRequest(faultID: "f-k", spec: FaultSpec(type: .processKill, with: .init()))
        #expect(throws: ChaosError.self) { try ProcessKillFault().plan(req, facts: ()) }
    }

    @Test("a reused pid is never signalled: the victim's start time must match")
    func pidReuse() async throws {
        let host = FakeHost()
        let v = host.spawn(name: "app")
        let receipt = try ProcessPauseFault().plan(FaultRequest(faultID: "f-r", spec: FaultSpec(type: .processPause, duration: .seconds(1), with: .init()), victims: [v], deadline: 1), facts: ())
        // The victim dies and its pid is reused by another process.
        host.with { s in
            s.processes[v.pid] = ProcessEntry(pid: v.pid, ppid: 1, name: "innocent", cmdline: ["innocent"], state: "S", startTime: v.startTime + 99)
        }
        try await ProcessPauseFault().inject(receipt, on: host)
        #expect(host.trace.isEmpty)
        #expect(host.with { $0.processes[v.pid]?.state } == "S")
    }
}
