import ChaosCore
import ChaosRun
import Testing

/// `target: {domain: ...}`: one fault on every host of a domain, all or nothing.
@Suite("Fan-out: one fault on every host of a failure domain")
struct FanOutFaultDriverTests {
    static func fanOut(_ agents: FakeAgents, _ hosts: [String], clock: FakeClock) async throws -> FanOutFaultDriver {
        var parts: [(host: String, driver: any FaultDriver)] = []
        for h in hosts {
            let request = InjectRequest(idempotencyKey: "k-\(h)", lease: .seconds(9), fault: FaultSpec(type: .networkBlackhole, duration: .seconds(30), with: FaultParameters()),
                                        target: TargetSpec())
            parts.append((h, try await AgentFaultDriver(agent: try agents.agent(url: "https://\(h):7433", hostName: h), request: request, clock: clock)))
        }
        return FanOutFaultDriver(domain: "zone:a", parts: parts)
    }

    @Test("every host takes the fault together and gives it back together; the run sees one fault")
    func together() async throws {
        let clock = FakeClock(1_000_000)
        let agents = FakeAgents(clock: clock)
        let d = try await Self.fanOut(agents, ["app1", "db1"], clock: clock)
        #expect(d.target == "every host of zone:a (app1, db1)" && d.host == "zone:a" && d.reversible)
        let injected = try await d.inject()
        #expect(injected.notConfirmed == nil && injected.id.split(separator: ",").count == 2)
        #expect(agents.held.count == 2 && injected.actions.contains { $0.hasPrefix("app1: ") } && injected.actions.contains { $0.hasPrefix("db1: ") })
        await d.keepAlive()
        try await d.revert(reason: "duration elapsed")
        #expect(agents.held.isEmpty && agents.calls("revert").count == 2)
    }

    @Test("one host refuses: the hosts that took it are reverted before the error, which names the host and keeps its code")
    func allOrNothing() async throws {
        let clock = FakeClock(1_000_000)
        let agents = FakeAgents(clock: clock)
        let d = try await Self.fanOut(agents, ["app1", "db1", "db2"], clock: clock)
        _ = try await agents.agent(url: "https://db1:7433", hostName: "db1").halt(reason: "test")
        do {
            _ = try await d.inject()
            Issue.record("a halted host must refuse")
        } catch {
            #expect(error.code == "agent.halted" && error.message.hasPrefix("On db1 (of zone:a):") && error.message.contains("were reverted"), "\(error)")
        }
        #expect(agents.held.isEmpty, "app1 and db2 took the fault and gave it back: \(agents.held)")
        #expect(agents.calls("inject").count == 3)
    }
}
