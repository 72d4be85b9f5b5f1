import ChaosCore
import ChaosRun
import Testing

/// The controller's own judgement of its lead, on its monotonic clock.
@Suite("LeadLease: a lead judged on the controller's own clock")
struct LeadLeaseTests {
    static let s: UInt64 = 1_000_000_000
    func record(_ holder: String, epoch: Int64, expired: Bool = false) -> LeaderRecord {
        LeaderRecord(holder: holder, epoch: epoch, sinceMs: 1_000, expiresMs: expired ? 1_000 : 16_000, nowMs: 2_000)
    }

    @Test("granted: elected once, kept quietly on renewal; counted from the send, minus the margin")
    func grant() {
        var l = LeadLease(ttl: .seconds(15))
        #expect(l.renewEveryMs == 5_000 && l.marginNs == Self.s)
        #expect(l.answered(record("me", epoch: 4), holder: "me", sentNs: 100 * Self.s) == .elected(epoch: 4))
        #expect(l.lead?.untilNs == 114 * Self.s, "15 s from the send, less 1 s")
        #expect(l.answered(record("me", epoch: 4), holder: "me", sentNs: 105 * Self.s) == .none)
        #expect(l.leads(nowNs: 118 * Self.s) && !l.leads(nowNs: 119 * Self.s))
    }

    @Test("another holder, an expired answer, or a lapse without renewal: deposed, once")
    func deposed() {
        var l = LeadLease(ttl: .seconds(3))
        #expect(l.marginNs == 300_000_000)
        _ = l.answered(record("me", epoch: 1), holder: "me", sentNs: 10 * Self.s)
        #expect(l.current(nowNs: 12 * Self.s).lead != nil)
        let lapsed = l.current(nowNs: 13 * Self.s)
        #expect(lapsed.lead == nil)
        if case .deposed(let why) = lapsed.change { #expect(why.contains("lapsed")) } else { Issue.record("\(lapsed.change)") }
        #expect(l.current(nowNs: 14 * Self.s).change == .none, "said once")

        _ = l.answered(record("me", epoch: 2), holder: "me", sentNs: 20 * Self.s)
        if case .deposed(let why) = l.answered(record("other", epoch: 3), holder: "me", sentNs: 21 * Self.s) {
            #expect(why.contains("other leads now (epoch 3)"))
        } else { Issue.record("not deposed") }
        #expect(l.answered(record("me", epoch: 3, expired: true), holder: "me", sentNs: 22 * Self.s) == .none, "not leading, nothing changes")
        #expect(l.answered(record("me", epoch: 5), holder: "me", sentNs: 23 * Self.s) == .elected(epoch: 5), "a new epoch is a new election")
    }

    @Test("a process stopped past its lease wakes up not leading, without asking anyone")
    func stopped() {
        var l = LeadLease(ttl: .seconds(15))
        _ = l.answered(record("me", epoch: 7), holder: "me", sentNs: 1_000 * Self.s)
        // SIGSTOP for a minute: CLOCK_MONOTONIC kept counting.
        #expect(!l.leads(nowNs: 1_060 * Self.s))
        let woken = Monotonic.nowNs()
        #expect(woken > 0)
    }
}
