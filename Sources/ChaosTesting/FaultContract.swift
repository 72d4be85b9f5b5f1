public import ChaosCore
public import ChaosFaults

/// The contract every fault must pass, on a fake or a real host:
/// plan → inject → verify active → revert → revert again → verify absent → nothing left behind.
public enum FaultContract {
    /// A failed step, named.
    public struct Violation: Error, CustomStringConvertible {
        public var step: String
        public var detail: String
        public var description: String { "\(step): \(detail)" }
    }

    /// Runs the contract and returns the planned fault.
    /// - Parameters:
    ///   - leftovers: what is still on the host after revert (empty means clean); checked last.
    ///   - settle: how long to keep polling verify for asynchronous effects (a helper starting).
    @discardableResult
    public static func check(_ fault: AnyFault, _ request: FaultRequest, on host: any HostSystem,
                             settle: Duration = .seconds(3),
                             leftovers: () async -> [String] = { [] }) async throws -> PlannedFault {
        let planned = try await fault.plan(request, on: host)
        try await fault.inject(planned.receipt, on: host)
        let active = try await poll(until: .active, fault, planned, host, settle)
        guard active == .active else { throw Violation(step: "verify after inject", detail: "expected active, got \(active)") }
        if fault.isReversible {
            try await fault.revert(planned.receipt, on: host)
            try await fault.revert(planned.receipt, on: host)
            let after = try await poll(until: .absent, fault, planned, host, settle)
            guard after == .absent else { throw Violation(step: "verify after revert", detail: "expected absent, got \(after)") }
            let left = await leftovers()
            guard left.isEmpty else { throw Violation(step: "leftovers", detail: left.joined(separator: "; ")) }
        }
        return planned
    }

    static func poll(until wanted: FaultState, _ fault: AnyFault, _ planned: PlannedFault, _ host: any HostSystem, _ limit: Duration) async throws -> FaultState {
        let clock = ContinuousClock()
        let end = clock.now + limit
        var state = try await fault.verify(planned.receipt, on: host)
        while state != wanted, clock.now < end {
            try await Task.sleep(for: .milliseconds(10))
            state = try await fault.verify(planned.receipt, on: host)
        }
        return state
    }
}
