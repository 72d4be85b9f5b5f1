import ChaosAgent
import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosTesting
import Foundation
import Synchronization
import Testing

final class TestClock: WallClock {
    let value = Mutex<Int64>(1_000_000)
    func now() -> Int64 { value.withLock { $0 } }
    func advance(_ ms: Int64) { value.withLock { $0 += ms } }
}

struct AgentFixture {
    let host = FakeHost()
    let clock = TestClock()
    let manager: FaultManager
    let me: ProcessIdentity

    let dir: String

    init(policy: AgentPolicy = AgentPolicy(), defaultLease: ChaosDuration = .seconds(15), maxLease: ChaosDuration = .seconds(300), dir: String? = nil) throws {
        let dir = dir ?? NSTemporaryDirectory() + "chaos-agent-\(UUID().uuidString.prefix(8))"
        self.dir = dir
        let engine = FaultEngine(ledger: try FaultLedger(directory: dir + "/ledger"), host: host, clock: clock)
        let resolver = TargetResolver(host: host, inventory: nil, localNames: { ["fakehost"] }) { (_, _) throws(ChaosError) -> String in "" }
        me = host.spawn(name: "chaos", cmdline: ["/usr/bin/chaos", "agent"]).identity
        manager = FaultManager(engine: engine, resolver: resolver, policy: policy, controlPort: 7433, me: me, stateDir: dir,
                               defaultLease: defaultLease, maxLease: maxLease)
    }

    func pause(_ pid: Int32, key: String = "k1", lease: Int64 = 2, duration: Int64 = 30) -> InjectRequest {
        InjectRequest(runID: "r-1", idempotencyKey: key, lease: .seconds(lease),
                      fault: FaultSpec(type: .processPause, duration: .seconds(duration), with: FaultParameters()),
                      target: TargetSpec(process: ProcessSelector(pid: pid)))
    }
}

@Suite("The agent's fault manager: idempotency, leases, halt, policy")
struct FaultManagerTests {
    let operatorAlice = Caller(role: "operator", name: "alice")

    @Test("the epoch header: absent, one whole number; two values, a sign, letters, 21 digits are refused")
    func epochHeader() throws {
        #expect(try AgentAPI.controllerEpoch([]).get() == nil)
        #expect(try AgentAPI.controllerEpoch(["42"]).get() == 42)
        #expect(try AgentAPI.controllerEpoch(["18446744073709551615"]).get() == UInt64.max)
        for bad in [["1", "2"], ["-1"], ["+1"], ["1e3"], [" 1"], ["123456789012345678901"], ["18446744073709551616"], [""]] {
            if case .success = AgentAPI.controllerEpoch(bad) { Issue.record("accepted \(bad)") }
        }
    }

    @Test("fencing: a controller epoch below the highest seen may not inject or renew, even after a restart; reverts, and requests without an epoch, pass")
    func fencing() async throws {
        let f = try AgentFixture()
        let controller = Caller(role: "controller", name: "ctl-a")
        let v = f.host.spawn(name: "redis-server")
        let view = try await f.manager.inject(f.pause(v.pid, key: "a"), by: controller, epoch: 5)
        _ = try await f.manager.renew(view.id, lease: .seconds(2), by: controller, epoch: 5)
        #expect(await f.manager.highestEpoch == 5)
        // A new leader (epoch 6) speaks; the old one (epoch 5) wakes up.
        let w = f.host.spawn(name: "web")
        _ = try await f.manager.inject(f.pause(w.pid, key: "b"), by: Caller(role: "controller", name: "ctl-b"), epoch: 6)
        for attempt in 0..<2 {
            do {
                if attempt == 0 { _ = try await f.manager.inject(f.pause(v.pid, key: "c"), by: controller, epoch: 5) }
                else { _ = try await f.manager.renew(view.id, lease: .seconds(2), by: controller, epoch: 5) }
                Issue.record("a stale leader was admitted")
            } catch {
                #expect(error.code == "controller.fenced" && error.message.contains("epoch 6") && error.message.contains("epoch 5"), "\(error)")
            }
        }
        // Its fault is not kept alive: the lease runs out and the reaper reverts it.
        f.clock.advance(2100)
        #expect(await f.manager.reap().map(\.id).contains(view.id))
        // Operators (no epoch) and reverts are never fenced.
        let x = f.host.spawn(name: "cron")
        let mine = try await f.manager.inject(f.pause(x.pid, key: "d"), by: operatorAlice)
        _ = try await f.manager.revert(mine.id, reason: "done", by: operatorAlice)
        // A restart remembers the epoch.
        let again = try AgentFixture(dir: f.dir)
        #expect(await again.manager.highestEpoch == 6)
        await #expect(throws: ChaosError.self) { _ = try await again.manager.inject(again.pause(v.pid, key: "e"), by: controller, epoch: 5) }
    }

    @Test("the same idempotency key twice injects once")
    func idempotency() async throws {
        let f = try AgentFixture()
        let v = f.host.spawn(name: "redis-server")
        let first = try await f.manager.inject(f.pause(v.pid), by: operatorAlice)
        let second = try await f.manager.inject(f.pause(v.pid), by: operatorAlice)
        #expect(first.created == true)
        #expect(second.created == false)
        #expect(first.id == second.id)
        #expect(f.host.trace.filter { $0.hasPrefix("signal STOP") }.count == 1)
        #expect(first.requestedBy == "operator:alice")
    }

    @Test("a fault whose lease is not renewed is reverted by the reaper, and renewing keeps it")
    func lease() async throws {
        let f = try AgentFixture()
        let v = f.host.spawn(name: "redis-server")
        let view = try await f.manager.inject(f.pause(v.pid, lease: 2), by: .local)
        f.clock.advance(1500)
        #expect(await f.manager.reap().isEmpty)
        _ = try await f.manager.renew(view.id, lease: .seconds(2))
        f.clock.advance(1500)
        #expect(await f.manager.reap().isEmpty, "renewed 1.5 s ago with a 2 s lease")
        #expect(f.host.with { $0.processes[v.pid]?.isStopped } == true)
        f.clock.advance(600)
        let reaped = await f.manager.reap()
        #expect(reaped.map(\.reason) == ["its lease ran out"])
        #expect(f.host.with { $0.processes[v.pid]?.isStopped } == false)
    }

    @Test("a request without a lease gets lease.default; leases above lease.max are refused at inject and renew")
    func leaseLimits() async throws {
        let f = try AgentFixture(defaultLease: .seconds(7), maxLease: .seconds(60))
        let v = f.host.spawn(name: "redis-server")
        var request = f.pause(v.pid, duration: 600)
        request.lease = nil
        let view = try await f.manager.inject(request, by: .local)
        #expect(view.leaseExpiresAt == f.clock.now() + 7000)
        await #expect(throws: ChaosError.self) { _ = try await f.manager.renew(view.id, lease: .seconds(61)) }
        #expect(try await f.manager.renew(view.id, lease: .seconds(60)).leaseExpiresAt == f.clock.now() + 60_000)
        let w = f.host.spawn(name: "worker")
        do {
            _ = try await f.manager.inject(f.pause(w.pid, key: "long", lease: 61), by: .local)
            Issue.record("a lease over lease.max must be refused")
        } catch {
            #expect(error.code == "policy.denied")
            #expect(error.message.contains("lease.max"))
        }
        #expect(f.host.trace.filter { $0.hasPrefix("signal STOP") }.count == 1, "nothing injected for the refused request")
    }

    @Test("a kill is confirmed before the agent answers")
    func killConfirmed() async throws {
        let f = try AgentFixture()
        let v = f.host.spawn(name: "redis-server")
        let view = try await f.manager.inject(InjectRequest(idempotencyKey: "kill", lease: nil,
                                                            fault: FaultSpec(type: .processKill, duration: nil, with: FaultParameters()),
                                                            target: TargetSpec(process: ProcessSelector(pid: v.pid))), by: .local)
        #expect(view.state == "applied")
        #expect(view.verified == "gone")
    }

    @Test("a lease never extends a fault past its deadline")
    func leaseCappedByDeadline() async throws {
        let f = try AgentFixture()
        let v = f.host.spawn(name: "x")
        let view = try await f.manager.inject(f.pause(v.pid, lease: 2, duration: 3), by: .local)
        let renewed = try await f.manager.renew(view.id, lease: .seconds(60))
        #expect(renewed.leaseExpiresAt == renewed.deadline)
    }

    @Test("a new agent reverts what the previous one left: its owner is gone")
    func restartRecovery() async throws {
        let f = try AgentFixture()
        let v = f.host.spawn(name: "x")
        _ = try await f.manager.inject(f.pause(v.pid, lease: 60), by: .local)
        f.host.with { $0.processes[f.me.pid]?.state = "Z" }   // the agent died
        let reaped = await f.manager.reap()
        #expect(reaped.map(\.reason) == ["its owner is gone"])
        #expect(f.host.with { $0.processes[v.pid]?.isStopped } == false)
    }

    @Test("halt reverts everything and refuses new faults until resume")
    func halt() async throws {
        let f = try AgentFixture()
        let a = f.host.spawn(name: "a"), b = f.host.spawn(name: "b")
        _ = try await f.manager.inject(f.pause(a.pid, key: "a"), by: .local)
        _ = try await f.manager.inject(f.pause(b.pid, key: "b"), by: .local)
        let done = await f.manager.halt(reason: "game over", by: operatorAlice)
        #expect(done.count == 2 && done.allSatisfy { $0.error == nil })
        #expect(f.host.with { s in [a.pid, b.pid].allSatisfy { s.processes[$0]?.isStopped == false } })
        do {
            _ = try await f.manager.inject(f.pause(a.pid, key: "c"), by: .local)
            Issue.record("a halted agent must refuse")
        } catch {
            #expect(error.code == "agent.halted")
        }
        await f.manager.resume()
        #expect(try await f.manager.inject(f.pause(a.pid, key: "d"), by: .local).created == true)
    }

    @Test("the local policy refuses kinds, durations and protected processes whatever the caller says")
    func policy() async throws {
        let f = try AgentFixture(policy: AgentPolicy(allow: ["process.*"], maxDuration: .seconds(60), denyProcesses: ["postgres"]))
        let pg = f.host.spawn(name: "postgres")
        do {
            _ = try await f.manager.inject(f.pause(pg.pid), by: .local)
            Issue.record("a deny-listed process must be refused")
        } catch { #expect(error.code == "target.protected") }
        let v = f.host.spawn(name: "x")
        do {
            _ = try await f.manager.inject(f.pause(v.pid, key: "long", duration: 120), by: .local)
            Issue.record("a too long fault must be refused")
        } catch { #expect(error.code == "policy.denied") }
        var fill = f.pause(v.pid, key: "disk")
        fill.fault = FaultSpec(type: .diskFill, duration: .seconds(10), with: FaultParameters())
        fill.target = TargetSpec()
        do {
            _ = try await f.manager.inject(fill, by: .local)
            Issue.record("a kind outside 'allow' must be refused")
        } catch { #expect(error.code == "policy.denied") }
        #expect(f.host.trace.filter { $0.hasPrefix("signal") }.isEmpty, "nothing may be injected when refused")
    }

    @Test("permissions come from the certificate's role and name")
    func permissions() {
        let policy = AgentPolicy(permissions: [.init(role: "controller", actions: Set(AgentPolicy.Action.allCases)),
                                               .init(role: "operator", names: ["alice"], actions: [.read, .halt])])
        #expect(policy.refusal(Caller(role: "controller", name: "controller"), .inject) == nil)
        #expect(policy.refusal(operatorAlice, .halt) == nil)
        #expect(policy.refusal(operatorAlice, .inject) != nil)
        #expect(policy.refusal(Caller(role: "operator", name: "mallory"), .read) != nil)
        #expect(policy.refusal(Caller(role: "agent", name: "db2"), .read) != nil)
        #expect(policy.refusal(.local, .inject) == nil)
    }
}

@Suite("Agent configuration")
struct AgentConfigurationTests {
    @Test("a complete file loads; plaintext off loopback and missing TLS files are refused with positions")
    func load() {
        let good = """
        apiVersion: chaos/v1
        kind: AgentConfig
        name: db1
        listen: {address: 0.0.0.0, port: 7433}
        tls: {certificate: /etc/chaos/pki/db1.pem, key: /etc/chaos/pki/db1-key.pem, ca: /etc/chaos/pki/ca.pem}
        lease: {default: 10s, max: 2m}
        policy:
          allow: [process.*, network.*]
          maxDuration: 5m
          maxDurations: {disk.fill: 1m}
          denyProcesses: [postgres]
          protectedPorts: [22]
          permissions:
            - {role: controller, actions: [read, inject, revert, renew, halt, resume, preview]}
            - {role: operator, names: [alice], actions: [read, halt]}
        """
        let (c, d) = AgentConfiguration.load(good, file: "agent.yaml")
        #expect(d.isEmpty, "\(d)")
        #expect(c?.policy.maxDurations["disk.fill"] == .seconds(60))
        #expect(c?.policy.permissions.count == 2)
        let (_, bad) = AgentConfiguration.load("plaintext: true\nlisten: {address: 0.0.0.0}\npolicy: {permissions: [{role: operator, actions: [fly]}]}\n", file: "a.yaml")
        #expect(bad.map(\.description).contains { $0.hasPrefix("a.yaml:3:") && $0.contains("'fly' is not allowed") })
        let (_, noTLS) = AgentConfiguration.load("listen: {port: 7433}\n", file: "a.yaml")
        #expect(noTLS.first?.message.contains("'tls.certificate'") == true)
    }
}

@Suite("The fault manager under concurrent requests: one fault per key, nothing held after a halt")
struct FaultManagerRaceTests {
    let alice = Caller(role: "operator", name: "alice")

    @Test("ten concurrent requests with one key make one fault and all get its id")
    func concurrentSameKey() async throws {
        let f = try AgentFixture()
        let v = f.host.spawn(name: "redis-server")
        let views = try await withThrowingTaskGroup(of: AgentFault.self) { group in
            for _ in 0..<10 { group.addTask { try await f.manager.inject(f.pause(v.pid, key: "same"), by: alice) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(views.map(\.id)).count == 1)
        #expect(views.filter { $0.created == true }.count == 1)
        #expect(f.host.trace.filter { $0.hasPrefix("signal STOP") }.count == 1)
    }

    @Test("a halt that races injections leaves nothing held when it returns, and refuses renewals")
    func haltRacesInject() async throws {
        for trial in 0..<20 {
            let f = try AgentFixture()
            let v = f.host.spawn(name: "victim")
            async let injected = try? f.manager.inject(f.pause(v.pid, key: "k\(trial)", lease: 30), by: alice)
            if trial % 2 == 0 { await Task.yield() }
            _ = await f.manager.halt(reason: "race", by: alice)
            #expect(f.host.with { $0.processes[v.pid]?.isStopped } == false, "trial \(trial): held after halt returned")
            #expect(try await f.manager.list().isEmpty, "trial \(trial)")
            if let view = await injected {
                await #expect(throws: ChaosError.self) { _ = try await f.manager.renew(view.id, lease: .seconds(10), by: alice) }
            }
        }
    }
}

@Suite("The agent's default policy is least privilege")
struct AgentPolicyDefaultTests {
    @Test("without permissions, operators read, preview, revert and halt; only the controller injects, renews and resumes")
    func defaults() {
        let p = AgentPolicy()
        let op = Caller(role: "operator", name: "alice"), ctl = Caller(role: "controller", name: "controller")
        for a in [AgentPolicy.Action.read, .preview, .revert, .halt] { #expect(p.refusal(op, a) == nil, "\(a)") }
        for a in [AgentPolicy.Action.inject, .renew, .resume] { #expect(p.refusal(op, a) != nil, "\(a)") }
        for a in AgentPolicy.Action.allCases { #expect(p.refusal(ctl, a) == nil) }
        #expect(p.refusal(Caller(role: "agent", name: "db2"), .read) != nil)
    }

    @Test("policy.diskFill is read with positions: absolute paths and a percentage")
    func diskFillConfig() {
        let (c, d) = AgentConfiguration.load("plaintext: true\nlisten: {address: 127.0.0.1}\npolicy: {diskFill: {paths: [/srv/a/../b], maxPercent: 90%}}\n", file: "a.yaml")
        #expect(d.isEmpty, "\(d)")
        #expect(c?.policy.diskFill.paths == ["/srv/b"])
        #expect(c?.policy.diskFill.maxPercent == 90)
        let (_, bad) = AgentConfiguration.load("plaintext: true\nlisten: {address: 127.0.0.1}\npolicy: {diskFill: {paths: [srv], maxPercent: 0}}\n", file: "a.yaml")
        #expect(bad.map { "\($0.line):\($0.column) \($0.path)" } == ["3:29 policy.diskFill.paths[0]", "3:47 policy.diskFill.maxPercent"], "\(bad)")
    }
}
