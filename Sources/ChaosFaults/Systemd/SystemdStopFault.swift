public import ChaosCore

/// `systemd.stop`: stops a systemd unit through the service manager (sd-bus `StopUnit`), and starts it
/// again on revert (`StartUnit`) if it was running before.
///
/// - Receipt: the unit, the manager (system or user) and whether it was active before.
/// - Revert: `StartUnit` when it was active before; starting an active unit is a no-op, so revert is
///   idempotent. A unit that was not running is refused at plan time (nothing to stop).
/// - Needs: access to the manager's bus (root for the system manager).
public struct SystemdStopFault: Fault {
    public let kind = FaultKind.systemdStop
    public init() {}

    public struct Receipt: FaultReceipt {
        public var unit: String
        public var scope: SystemdScope
        public var wasActive: Bool
        public var actions: [String] {
            let flag = scope == .user ? " --user" : ""
            return ["StopUnit '\(unit)' (systemctl\(flag) stop \(unit))", wasActive ? "on revert StartUnit '\(unit)'" : "on revert nothing (it was not running)"]
        }
        public var claims: [ResourceClaim] { [.unit(unit, scope)] }
    }

    public func gather(_ request: FaultRequest, on host: some HostSystem) async throws(ChaosError) -> UnitState {
        try await host.unitStatus(try SystemdFaults.unit(request), scope: request.scope)
    }

    public func plan(_ request: FaultRequest, facts: UnitState) throws(ChaosError) -> Receipt {
        let unit = try SystemdFaults.unit(request)
        guard facts.isActive else {
            throw ChaosError("fault.nothingToDo", "Unit '\(unit)' is \(facts.activeState) (\(facts.subState)), so there is nothing to stop. Start it first or pick a running unit.")
        }
        return Receipt(unit: unit, scope: request.scope, wasActive: true)
    }

    public func inject(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        try await host.stopUnit(receipt.unit, scope: receipt.scope)
    }

    public func verify(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState {
        let s = try await host.unitStatus(receipt.unit, scope: receipt.scope)
        return s.isActive ? .absent : .active
    }

    public func revert(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        guard receipt.wasActive else { return }
        try await host.startUnit(receipt.unit, scope: receipt.scope)
    }
}

/// `systemd.kill`: sends a signal (SIGKILL by default) to a unit's processes through the service
/// manager (sd-bus `KillUnit`, like `systemctl kill`). Not reversible: the unit's `Restart=` policy
/// decides what happens next, which is what the experiment observes.
///
/// - Receipt: the unit, the manager, `who` (all, main, control), the signal and the main pid before.
/// - Verify: the old main process is gone.
public struct SystemdKillFault: Fault {
    public let kind = FaultKind.systemdKill
    public init() {}

    public struct Receipt: FaultReceipt {
        public var unit: String
        public var scope: SystemdScope
        public var who: String
        public var signal: SignalName
        public var mainPIDBefore: Int32
        public var mainStartTime: UInt64?
        public var actions: [String] { ["KillUnit '\(unit)' who=\(who) signal=\(signal) (systemctl\(scope == .user ? " --user" : "") kill -s \(signal) --kill-whom=\(who) \(unit))"] }
        public var claims: [ResourceClaim] { [.unit(unit, scope)] }
    }

    public struct Facts: Sendable { var state: UnitState; var main: ProcessEntry? }

    public func gather(_ request: FaultRequest, on host: some HostSystem) async throws(ChaosError) -> Facts {
        let state = try await host.unitStatus(try SystemdFaults.unit(request), scope: request.scope)
        let main = state.mainPID > 0 ? await host.process(state.mainPID) : nil
        return Facts(state: state, main: main)
    }

    public func plan(_ request: FaultRequest, facts: Facts) throws(ChaosError) -> Receipt {
        let unit = try SystemdFaults.unit(request)
        guard facts.state.isActive else {
            throw ChaosError("fault.nothingToDo", "Unit '\(unit)' is \(facts.state.activeState), so it has no processes to kill. Pick a running unit.")
        }
        return Receipt(unit: unit, scope: request.scope, who: request.spec.with.who ?? "all", signal: request.spec.with.signal ?? .kill,
                       mainPIDBefore: facts.state.mainPID, mainStartTime: facts.main?.startTime)
    }

    public func inject(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        try await host.killUnit(receipt.unit, scope: receipt.scope, who: receipt.who, signal: receipt.signal)
    }

    public func verify(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState {
        guard receipt.mainPIDBefore > 0, let start = receipt.mainStartTime else { return .active }
        let alive = await host.live(Victim(ProcessEntry(pid: receipt.mainPIDBefore, ppid: 0, name: receipt.unit, cmdline: [], state: "S", startTime: start))) != nil
        return alive ? .drifted(reason: "main process \(receipt.mainPIDBefore) is still running") : .active
    }

    public func revert(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {}
}

enum SystemdFaults {
    static func unit(_ request: FaultRequest) throws(ChaosError) -> String {
        guard let unit = request.unit else {
            throw .usage("target.noUnit", "\(request.spec.type) needs a systemd unit. Give one with '--unit NAME.service'.")
        }
        return unit
    }
}
