import ChaosCore
import Glibc

/// A controller's lead over a shared store, judged on its own monotonic clock: granted at the moment
/// the request was *sent* plus the lease, so the controller always believes it leads for less time
/// than the store grants (the store starts counting later, when the request arrives). A paused
/// process (SIGSTOP, a long GC-free stall, a VM freeze) wakes up past that moment and knows at once
/// that it no longer leads, without asking anyone; what it sent before the pause is fenced by the
/// agents (the epoch).
///
/// Pure bookkeeping with an injected clock; the loop that asks the store lives in the controller.
public struct LeadLease: Sendable {
    public struct Lead: Hashable, Sendable {
        public var epoch: Int64
        /// Since when this controller leads (the store's milliseconds).
        public var sinceMs: Int64
        /// Monotonic nanoseconds after which it must behave as a standby.
        public var untilNs: UInt64
    }

    /// The lease asked for.
    public let ttl: ChaosDuration
    /// A safety margin taken off every lease (a tenth of it, at most a second).
    public var marginNs: UInt64 { UInt64(min(ttl.milliseconds / 10, 1000)) * 1_000_000 }
    public private(set) var lead: Lead?

    public init(ttl: ChaosDuration) { self.ttl = ttl }

    /// How often to renew: a third of the lease, so two renewals can fail before it lapses.
    public var renewEveryMs: Int64 { max(200, ttl.milliseconds / 3) }

    /// What changed after an answer of the store to a request sent at `sentNs`.
    public enum Change: Hashable, Sendable {
        case none
        /// This controller now leads at `epoch` (first time, or after losing it, or a new epoch).
        case elected(epoch: Int64)
        /// It led and does not any more: `why`.
        case deposed(why: String)
    }

    /// Takes the store's answer to a lead request (`holder` asked; `leader` is who leads now).
    public mutating func answered(_ leader: LeaderRecord?, holder: String, sentNs: UInt64) -> Change {
        let before = lead
        if let leader, leader.holder == holder, !leader.isExpired {
            lead = Lead(epoch: leader.epoch, sinceMs: leader.sinceMs, untilNs: sentNs + UInt64(ttl.milliseconds) * 1_000_000 - marginNs)
            return before?.epoch == leader.epoch ? .none : .elected(epoch: leader.epoch)
        }
        lead = nil
        guard before != nil else { return .none }
        return .deposed(why: leader.map { "\($0.holder) leads now (epoch \($0.epoch))" } ?? "the store granted no lead")
    }

    /// The lead at monotonic time `nowNs`, or nil (and forgotten) when its lease lapsed.
    public mutating func current(nowNs: UInt64) -> (lead: Lead?, change: Change) {
        guard let l = lead else { return (nil, .none) }
        guard nowNs < l.untilNs else {
            lead = nil
            return (nil, .deposed(why: "its lease lapsed without a renewal (the store did not answer in time)"))
        }
        return (l, .none)
    }

    /// Whether it leads at `nowNs` (without forgetting anything).
    public func leads(nowNs: UInt64) -> Bool { lead.map { nowNs < $0.untilNs } ?? false }
}

/// The monotonic clock (CLOCK_MONOTONIC: it keeps counting while the process is stopped).
public enum Monotonic {
    public static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
