// A small sd-bus client for the systemd service manager (org.freedesktop.systemd1).
//
// It speaks to the system manager (PID 1) or to a user manager (`systemd --user`) and wraps the few
// Manager and Unit methods chaos needs: LoadUnit, StartUnit, StopUnit, KillUnit and
// org.freedesktop.DBus.Properties.Get. Only non-variadic sd-bus functions are used (Swift cannot
// call `sd_bus_call_method` or `sd_bus_get_property`'s printf-style siblings): messages are built
// with `sd_bus_message_new_method_call` + `sd_bus_message_append_basic`, sent with `sd_bus_call`,
// and read with `sd_bus_message_read_basic` and `sd_bus_message_enter_container`.
//
// Reaching a manager:
// - `address: nil`: `sd_bus_open_system` (the system bus, /run/dbus/system_bus_socket) or
//   `sd_bus_open_user` (`DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`).
// - An explicit address such as `unix:path=/run/user/0/bus` connects as a bus client (sends Hello).
// - An address whose path ends in `/systemd/private` (the manager's own peer-to-peer socket, which
//   `systemctl` uses: `/run/systemd/private` or `$XDG_RUNTIME_DIR/systemd/private`) connects
//   without Hello, because that socket is not a message bus. Both kinds work against a user
//   manager started by `scripts/user-manager.sh`; the private socket needs no dbus-daemon.
internal import CSystemd
public import ChaosCore
import Glibc
import CLinuxShims
import Synchronization

/// The state of one systemd unit, as the service manager reports it.
public struct UnitStatus: Sendable, Hashable, Codable {
    /// The unit's primary name (its `Id`), e.g. `nginx.service`; an alias resolves to the real unit.
    public var name: String
    /// `loaded`, `not-found`, `bad-setting`, `error` or `masked`.
    public var loadState: String
    /// `active`, `reloading`, `inactive`, `failed`, `activating` or `deactivating`.
    public var activeState: String
    /// The unit-type-specific state, e.g. `running`, `dead`, `exited` or `auto-restart` for services.
    public var subState: String
    /// The main process of a service, or 0 when it has none (or the unit is not a service).
    public var mainPID: Int32
    /// The unit's cgroup path relative to the cgroup root, e.g. `/system.slice/nginx.service`;
    /// `nil` when the unit has no processes (inactive) or its type has no cgroup (targets, timers).
    public var controlGroup: String?

    /// Creates a status value, for tests and fakes.
    /// - Parameters:
    ///   - name: the unit's primary name.
    ///   - loadState: the unit's `LoadState`.
    ///   - activeState: the unit's `ActiveState`.
    ///   - subState: the unit's `SubState`.
    ///   - mainPID: the service's `MainPID`, 0 for none.
    ///   - controlGroup: the unit's `ControlGroup`, `nil` for none.
    public init(name: String, loadState: String, activeState: String, subState: String,
                mainPID: Int32 = 0, controlGroup: String? = nil) {
        self.name = name
        self.loadState = loadState
        self.activeState = activeState
        self.subState = subState
        self.mainPID = mainPID
        self.controlGroup = controlGroup
    }
}

/// An error from talking to a systemd service manager: a stable `code` and a `message` that says
/// what failed, on what, why and what to do.
public struct SystemdError: Error, Sendable, CustomStringConvertible {
    /// A stable, dotted code; see ``SystemdError/Code`` for the values.
    public var code: String
    /// Full sentences for people; user values are in single quotes.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: one of the ``SystemdError/Code`` values.
    ///   - message: full sentences ending with a period.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }

    /// The codes a ``SystemdManager`` throws. They are stable across versions.
    public enum Code {
        /// The unit is neither loaded nor installed (D-Bus error `org.freedesktop.systemd1.NoSuchUnit`,
        /// or `LoadState` `not-found` while inactive).
        public static let noSuchUnit = "systemd.noSuchUnit"
        /// No connection to the manager: no socket, connection refused, the manager is not on the bus,
        /// or the connection dropped.
        public static let busUnavailable = "systemd.busUnavailable"
        /// A call or a start/stop wait did not finish in time.
        public static let timeout = "systemd.timeout"
        /// The manager refused the call for a reason not listed here; the message quotes its error.
        public static let callFailed = "systemd.callFailed"
        /// The start job finished but the unit ended up `failed` or `inactive`.
        public static let unitFailed = "systemd.unitFailed"
        /// The unit is masked, so it cannot be started.
        public static let unitMasked = "systemd.unitMasked"
        /// `KillUnit` found no process to signal (for example `who: "main"` on an inactive service).
        public static let noSuchProcess = "systemd.noSuchProcess"
        /// The manager or the bus denied the call (not root, or polkit said no).
        public static let accessDenied = "systemd.accessDenied"
        /// An argument was rejected before or by the manager: bad unit name, `who` or signal.
        public static let invalidArgument = "systemd.invalidArgument"
    }
}

/// A connection to one systemd service manager over sd-bus.
///
/// Calls are synchronous and serialized by a lock around the `sd_bus` connection; ``start(_:timeout:)``
/// and ``stop(_:timeout:)`` release the lock while they sleep between polls. Call them off the
/// cooperative thread pool when they may wait long. A dropped connection is not re-opened: calls then
/// throw `systemd.busUnavailable`, and the caller makes a new manager.
///
/// Unit names without a type suffix get `.service`, as `systemctl` does (`nginx` is `nginx.service`).
public final class SystemdManager: @unchecked Sendable {
    /// Which manager this connection talks to.
    public let scope: SystemdScope
    /// The explicit D-Bus address given at creation, or `nil` for the scope's default bus.
    public let address: String?

    private let bus: OpaquePointer
    private let lock = Mutex(())

    /// Connects to the service manager of `scope`, and checks that it answers.
    ///
    /// With `address == nil` this calls `sd_bus_open_system` or `sd_bus_open_user`. With an address it
    /// calls `sd_bus_new`, `sd_bus_set_address`, `sd_bus_set_bus_client` (true, except for a
    /// `…/systemd/private` socket, which is peer-to-peer) and `sd_bus_start`. Then it reads the
    /// Manager's `Version` property (org.freedesktop.DBus.Properties.Get) to prove the manager is there.
    /// - Parameters:
    ///   - scope: the system manager (PID 1) or the calling user's manager.
    ///   - address: a D-Bus address such as `unix:path=/run/user/0/bus` or
    ///     `unix:path=/run/user/0/systemd/private`; `nil` (or empty) for the scope's default bus.
    /// - Throws: `systemd.busUnavailable` when there is no connection or nobody answers as
    ///   org.freedesktop.systemd1; `systemd.accessDenied`; `systemd.timeout`.
    public init(scope: SystemdScope, address: String? = nil) throws(SystemdError) {
        // An empty address (an empty environment variable, say) means "the default", like nil.
        let address = address.flatMap { $0.isEmpty ? nil : $0 }
        self.scope = scope
        self.address = address
        let opened = Self.open(scope: scope, address: address)
        guard let bus = opened.bus else {
            throw Self.unavailable(scope: scope, address: address, errno: -opened.result)
        }
        do {
            _ = try BusCall.property(bus, path: Self.managerPath, interface: Self.managerInterface,
                                     name: "Version", timeout: Self.callTimeout, read: BusCall.readString)
        } catch {
            sd_bus_flush_close_unref(bus)
            let described = Self.describe(error, scope: scope, doing: "Version", unit: nil, address: address)
            if described.code == SystemdError.Code.callFailed {
                throw Self.unavailable(scope: scope, address: address, errno: error.errno, detail: error.detail)
            }
            throw described
        }
        self.bus = bus
    }

    deinit {
        sd_bus_flush_close_unref(bus)
    }

    // MARK: Queries

    /// The state of `unit`.
    ///
    /// Calls `LoadUnit` on org.freedesktop.systemd1.Manager (which also finds installed units that are
    /// not loaded yet), then org.freedesktop.DBus.Properties.Get for `Id`, `LoadState`, `ActiveState`
    /// and `SubState` (org.freedesktop.systemd1.Unit), `MainPID` (org.freedesktop.systemd1.Service,
    /// services only) and `ControlGroup` (the unit type's interface: Service, Socket, Scope, Slice,
    /// Mount or Swap).
    /// - Parameter unit: a unit name such as `nginx.service` (`nginx` means `nginx.service`).
    /// - Returns: the unit's state; `mainPID` is 0 and `controlGroup` is `nil` when they do not apply.
    /// - Throws: `systemd.noSuchUnit` when the unit is neither installed nor running;
    ///   `systemd.invalidArgument` for a malformed name; `systemd.busUnavailable`, `systemd.timeout`,
    ///   `systemd.callFailed`.
    public func status(of unit: String) throws(SystemdError) -> UnitStatus {
        let name = Self.canonicalName(unit)
        return try locked { bus throws(SystemdError) in
            let path = try loadUnit(bus, name)
            return try readStatus(bus, name: name, path: path)
        }
    }

    /// The pids of every process in `unit`'s cgroup and its child cgroups, sorted.
    ///
    /// Reads `ControlGroup` as ``status(of:)`` does, then `cgroup.procs` files under the cgroup
    /// hierarchy systemd uses on this host: `/sys/fs/cgroup` (cgroup v2), `/sys/fs/cgroup/unified`
    /// (hybrid) or `/sys/fs/cgroup/systemd` (legacy).
    /// - Parameter unit: a unit name such as `nginx.service`.
    /// - Returns: the pids, sorted ascending; empty when the unit is inactive or has no cgroup.
    /// - Throws: the errors of ``status(of:)``.
    public func processes(of unit: String) throws(SystemdError) -> [Int32] {
        let status = try status(of: unit)
        guard let group = status.controlGroup else { return [] }
        var pids: [Int32] = []
        CgroupReader.collect(directory: CgroupReader.root + group, into: &pids)
        return Array(Set(pids)).sorted()
    }

    // MARK: Actions

    /// Starts `unit` and waits until it is active.
    ///
    /// Calls `StartUnit(name, "replace")` on org.freedesktop.systemd1.Manager, then polls the unit's
    /// `ActiveState` and `Job` (org.freedesktop.systemd1.Unit) every 20 ms. Once the start job is
    /// gone: `active` or `reloading` is success; `failed`, or `inactive` with a `Result` other than
    /// `success`, is `systemd.unitFailed` (a oneshot service that ran and exited successfully counts as
    /// started). A unit that is still `activating` (for example restarting) is waited for. On timeout
    /// the start job is left queued.
    /// - Parameters:
    ///   - unit: a unit name such as `nginx.service`.
    ///   - timeout: how long to wait for the unit to become active.
    /// - Throws: `systemd.noSuchUnit`, `systemd.unitMasked`, `systemd.unitFailed`, `systemd.timeout`,
    ///   `systemd.accessDenied`, `systemd.busUnavailable`, `systemd.callFailed`.
    public func start(_ unit: String, timeout: Duration) throws(SystemdError) {
        let name = Self.canonicalName(unit)
        let deadline = ContinuousClock.now + timeout
        let path = try locked { bus throws(SystemdError) in
            let path = try loadUnit(bus, name)
            try call(bus, Self.managerPath, Self.managerInterface, "StartUnit",
                     [.string(name), .string("replace")], unit: name, deadline: deadline)
            return path
        }
        while true {
            let state = try locked { bus throws(SystemdError) in try pollState(bus, name: name, path: path, deadline: deadline) }
            if !state.hasJob {
                switch state.activeState {
                case "active", "reloading":
                    return
                case "failed", "inactive":
                    let result = try locked { bus throws(SystemdError) in try serviceResult(bus, name: name, path: path) }
                    if state.activeState == "inactive" && result == "success" { return }
                    throw SystemdError(code: SystemdError.Code.unitFailed, message: """
                        Unit '\(name)' did not start in \(managerName): it is '\(state.activeState)' \
                        ('\(state.subState)'\(result.map { ", result '\($0)'" } ?? "")). See \
                        '\(systemctl) status \(name)' and the unit's log.
                        """)
                default:
                    break
                }
            }
            guard ContinuousClock.now < deadline else {
                throw SystemdError(code: SystemdError.Code.timeout, message: """
                    Unit '\(name)' did not become active within \(Self.describe(timeout)) in \(managerName): \
                    it is still '\(state.activeState)' ('\(state.subState)')\(state.hasJob ? " with its start job queued" : ""). \
                    Give it more time or see '\(systemctl) status \(name)'.
                    """)
            }
            Self.pause(until: deadline)
        }
    }

    /// Stops `unit` and waits until it is inactive (or failed).
    ///
    /// Calls `StopUnit(name, "replace")` on org.freedesktop.systemd1.Manager, then polls `ActiveState`
    /// and `Job` (org.freedesktop.systemd1.Unit) every 20 ms until the stop job is gone and the unit
    /// is `inactive` or `failed`. A unit with `Restart=` is not restarted after an explicit stop.
    /// - Parameters:
    ///   - unit: a unit name such as `nginx.service`.
    ///   - timeout: how long to wait for the unit to become inactive.
    /// - Throws: `systemd.noSuchUnit` (not installed and not loaded), `systemd.timeout`,
    ///   `systemd.accessDenied`, `systemd.busUnavailable`, `systemd.callFailed`.
    public func stop(_ unit: String, timeout: Duration) throws(SystemdError) {
        let name = Self.canonicalName(unit)
        let deadline = ContinuousClock.now + timeout
        let path = try locked { bus throws(SystemdError) in
            let path = try loadUnit(bus, name)
            try call(bus, Self.managerPath, Self.managerInterface, "StopUnit",
                     [.string(name), .string("replace")], unit: name, deadline: deadline)
            return path
        }
        while true {
            let state = try locked { bus throws(SystemdError) in try pollState(bus, name: name, path: path, deadline: deadline) }
            if !state.hasJob && (state.activeState == "inactive" || state.activeState == "failed") {
                return
            }
            guard ContinuousClock.now < deadline else {
                throw SystemdError(code: SystemdError.Code.timeout, message: """
                    Unit '\(name)' did not stop within \(Self.describe(timeout)) in \(managerName): it is still \
                    '\(state.activeState)' ('\(state.subState)'). Its processes may ignore SIGTERM; see \
                    '\(systemctl) status \(name)', or kill them with '\(systemctl) kill --signal=SIGKILL \(name)'.
                    """)
            }
            Self.pause(until: deadline)
        }
    }

    /// Sends `signal` to processes of `unit` through the manager.
    ///
    /// Calls `KillUnit(name, who, signal)` on org.freedesktop.systemd1.Manager. The manager reacts as to
    /// any other death of the process: a service with `Restart=always` is restarted.
    /// - Parameters:
    ///   - unit: a unit name such as `nginx.service`.
    ///   - who: `all` (every process in the cgroup), `main` (the main process) or `control` (the
    ///     process running an `ExecStartPre=`/`ExecStop=`-style command).
    ///   - signal: the signal number, e.g. `SIGKILL`.
    /// - Throws: `systemd.invalidArgument` for another `who` or a bad signal, `systemd.noSuchUnit`,
    ///   `systemd.noSuchProcess` when there is nothing to signal (the unit is not running, or it has
    ///   no main or control process), `systemd.accessDenied`,
    ///   `systemd.busUnavailable`, `systemd.timeout`, `systemd.callFailed`.
    public func kill(_ unit: String, who: String, signal: Int32) throws(SystemdError) {
        let name = Self.canonicalName(unit)
        guard ["all", "main", "control"].contains(who) else {
            throw SystemdError(code: SystemdError.Code.invalidArgument, message: """
                Cannot signal unit '\(name)': '\(who)' is not a process group systemd knows. Use 'all', \
                'main' or 'control'.
                """)
        }
        guard signal > 0 && signal < 65 else {
            throw SystemdError(code: SystemdError.Code.invalidArgument, message: """
                Cannot signal unit '\(name)': '\(signal)' is not a signal number. Use a number from 1 to 64, \
                e.g. 9 for SIGKILL or 15 for SIGTERM.
                """)
        }
        let deadline = ContinuousClock.now + Self.callTimeout
        do {
            _ = try locked { bus throws(SystemdError) in
                try call(bus, Self.managerPath, Self.managerInterface, "KillUnit",
                         [.string(name), .string(who), .int32(signal)], unit: name, deadline: deadline)
            }
        } catch where error.code == SystemdError.Code.noSuchUnit {
            // KillUnit answers "not loaded" for an installed unit that is not running (systemd unloads
            // idle units): tell that apart from a unit that does not exist at all.
            let status = try status(of: name)
            throw SystemdError(code: SystemdError.Code.noSuchProcess, message: """
                Unit '\(status.name)' has no process to signal in \(managerName): it is \
                '\(status.activeState)' ('\(status.subState)'). Start it first with '\(systemctl) start \(status.name)'.
                """)
        }
    }

    // MARK: - Internals

    static let destination = "org.freedesktop.systemd1"
    static let managerPath = "/org/freedesktop/systemd1"
    static let managerInterface = "org.freedesktop.systemd1.Manager"
    static let unitInterface = "org.freedesktop.systemd1.Unit"
    static let serviceInterface = "org.freedesktop.systemd1.Service"
    /// The longest one D-Bus call may take (sd-bus's own default is 25 s too).
    static let callTimeout: Duration = .seconds(25)
    /// How often start/stop look at the unit.
    static let pollInterval: Duration = .milliseconds(20)

    private var managerName: String { Self.managerName(scope) }
    private var systemctl: String { scope == .user ? "systemctl --user" : "systemctl" }

    private static func managerName(_ scope: SystemdScope) -> String {
        scope == .user ? "the user service manager" : "the system service manager"
    }

    /// `nginx` → `nginx.service`; names that already carry a type suffix are unchanged.
    static func canonicalName(_ unit: String) -> String {
        let suffixes = [".service", ".socket", ".target", ".timer", ".path", ".slice", ".scope",
                        ".mount", ".automount", ".swap", ".device"]
        if suffixes.contains(where: { unit.hasSuffix($0) }) { return unit }
        return unit + ".service"
    }

    private func locked<T>(_ body: (OpaquePointer) throws(SystemdError) -> T) throws(SystemdError) -> T where T: Sendable {
        let bus = self.bus
        return try lock.withLock { _ throws(SystemdError) -> T in try body(bus) }
    }

    /// One method call to systemd, with errors described for `unit`.
    @discardableResult
    private func call(_ bus: OpaquePointer, _ path: String, _ interface: String, _ member: String,
                      _ arguments: [BusCall.Argument], unit: String?, deadline: ContinuousClock.Instant) throws(SystemdError) -> String? {
        do {
            return try BusCall.method(bus, path: path, interface: interface, member: member, arguments: arguments,
                                      timeout: Self.callBudget(until: deadline)) { reply throws(BusFailure) in
                // StartUnit, StopUnit and LoadUnit answer with an object path; KillUnit with nothing.
                member == "KillUnit" ? nil : try BusCall.readString(reply, type: "o")
            }
        } catch {
            throw Self.describe(error, scope: scope, doing: member, unit: unit, address: address)
        }
    }

    private func loadUnit(_ bus: OpaquePointer, _ name: String) throws(SystemdError) -> String {
        let deadline = ContinuousClock.now + Self.callTimeout
        guard let path = try call(bus, Self.managerPath, Self.managerInterface, "LoadUnit", [.string(name)],
                                  unit: name, deadline: deadline) else {
            throw SystemdError(code: SystemdError.Code.callFailed, message: """
                \(managerName.capitalizedFirst) answered 'LoadUnit' for '\(name)' without an object path. \
                This is unexpected; report it with the output of '\(systemctl) --version'.
                """)
        }
        return path
    }

    private func property<T>(_ bus: OpaquePointer, _ path: String, _ interface: String, _ name: String, unit: String,
                             deadline: ContinuousClock.Instant,
                             read: (OpaquePointer) throws(BusFailure) -> T) throws(SystemdError) -> T {
        do {
            return try BusCall.property(bus, path: path, interface: interface, name: name,
                                        timeout: Self.callBudget(until: deadline), read: read)
        } catch {
            throw Self.describe(error, scope: scope, doing: "Get \(name)", unit: unit, address: address)
        }
    }

    private func string(_ bus: OpaquePointer, _ path: String, _ interface: String, _ name: String,
                        unit: String, deadline: ContinuousClock.Instant) throws(SystemdError) -> String {
        try property(bus, path, interface, name, unit: unit, deadline: deadline, read: BusCall.readString)
    }

    private func readStatus(_ bus: OpaquePointer, name: String, path: String) throws(SystemdError) -> UnitStatus {
        let deadline = ContinuousClock.now + Self.callTimeout
        let unitInterface = Self.unitInterface
        let loadState = try string(bus, path, unitInterface, "LoadState", unit: name, deadline: deadline)
        let activeState = try string(bus, path, unitInterface, "ActiveState", unit: name, deadline: deadline)
        if loadState == "not-found" && activeState == "inactive" {
            throw Self.noSuchUnit(name, scope: scope)
        }
        let id = try string(bus, path, unitInterface, "Id", unit: name, deadline: deadline)
        let subState = try string(bus, path, unitInterface, "SubState", unit: name, deadline: deadline)
        var mainPID: Int32 = 0
        var controlGroup: String?
        if let typeInterface = Self.cgroupInterface(for: id) {
            let group = try string(bus, path, typeInterface, "ControlGroup", unit: name, deadline: deadline)
            controlGroup = group.isEmpty ? nil : group
        }
        if id.hasSuffix(".service") {
            let pid = try property(bus, path, Self.serviceInterface, "MainPID", unit: name, deadline: deadline,
                                   read: BusCall.readUInt32)
            mainPID = Int32(truncatingIfNeeded: pid)
        }
        return UnitStatus(name: id.isEmpty ? name : id, loadState: loadState, activeState: activeState,
                          subState: subState, mainPID: mainPID, controlGroup: controlGroup)
    }

    private struct PollState {
        var activeState: String
        var subState: String
        var hasJob: Bool
    }

    private func pollState(_ bus: OpaquePointer, name: String, path: String,
                           deadline: ContinuousClock.Instant) throws(SystemdError) -> PollState {
        let active = try string(bus, path, Self.unitInterface, "ActiveState", unit: name, deadline: deadline)
        let sub = try string(bus, path, Self.unitInterface, "SubState", unit: name, deadline: deadline)
        let jobID = try property(bus, path, Self.unitInterface, "Job", unit: name, deadline: deadline,
                                 read: BusCall.readJobID)
        return PollState(activeState: active, subState: sub, hasJob: jobID != 0)
    }

    /// The service's `Result` (`success`, `exit-code`, `signal`, `timeout`...), `nil` for other unit types.
    private func serviceResult(_ bus: OpaquePointer, name: String, path: String) throws(SystemdError) -> String? {
        guard name.hasSuffix(".service") else { return nil }
        let deadline = ContinuousClock.now + Self.callTimeout
        return try string(bus, path, Self.serviceInterface, "Result", unit: name, deadline: deadline)
    }

    /// The interface that carries `ControlGroup` for a unit type, `nil` for types without a cgroup.
    static func cgroupInterface(for name: String) -> String? {
        let types = ["service": "Service", "socket": "Socket", "scope": "Scope", "slice": "Slice",
                     "mount": "Mount", "swap": "Swap"]
        guard let dot = name.lastIndex(of: ".") else { return nil }
        let suffix = String(name[name.index(after: dot)...])
        return types[suffix].map { "org.freedesktop.systemd1.\($0)" }
    }

    /// How long the next call may take: what is left until `deadline`, at least 1 s (so a call made
    /// just before the deadline can still answer), at most ``callTimeout``.
    static func callBudget(until deadline: ContinuousClock.Instant) -> Duration {
        let left = deadline - ContinuousClock.now
        return min(callTimeout, max(left, .seconds(1)))
    }

    static func pause(until deadline: ContinuousClock.Instant) {
        let left = deadline - ContinuousClock.now
        let step = min(pollInterval, max(left, .milliseconds(1)))
        let (seconds, attoseconds) = step.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR {
            request = remaining
        }
    }

    /// `1.5 s`, `20 s`, `250 ms`.
    static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000) s" }
        return "\(Double(milliseconds) / 1000) s"
    }

    // MARK: Opening

    private static func open(scope: SystemdScope, address: String?) -> (bus: OpaquePointer?, result: Int32) {
        var bus: OpaquePointer?
        guard let address else {
            let r = scope == .system ? sd_bus_open_system(&bus) : sd_bus_open_user(&bus)
            return r < 0 ? (nil, r) : (bus, r)
        }
        var r = sd_bus_new(&bus)
        guard r >= 0, let created = bus else { return (nil, r < 0 ? r : -ENOMEM) }
        r = sd_bus_set_address(created, address)
        if r >= 0 { r = sd_bus_set_bus_client(created, isPrivateSocket(address) ? 0 : 1) }
        if r >= 0 { r = sd_bus_start(created) }
        guard r >= 0 else {
            sd_bus_flush_close_unref(created)
            return (nil, r)
        }
        return (created, r)
    }

    /// Whether `address` names a manager's private peer-to-peer socket (no bus, no Hello).
    static func isPrivateSocket(_ address: String) -> Bool {
        // A D-Bus address is `transport:key=value,key=value;next-address`; we look at the first one.
        let first = address.split(separator: ";").first.map(String.init) ?? address
        let pairs = first.drop(while: { $0 != ":" }).dropFirst().split(separator: ",")
        for pair in pairs where pair.hasPrefix("path=") {
            return pair.hasSuffix("/systemd/private")
        }
        return false
    }

    // MARK: Errors

    static func noSuchUnit(_ name: String, scope: SystemdScope) -> SystemdError {
        let systemctl = scope == .user ? "systemctl --user" : "systemctl"
        return SystemdError(code: SystemdError.Code.noSuchUnit, message: """
            Unit '\(name)' does not exist in \(managerName(scope)): it is neither loaded nor installed. \
            Check the name with '\(systemctl) list-units --all' or '\(systemctl) list-unit-files'.
            """)
    }

    private static func unavailable(scope: SystemdScope, address: String?, errno: Int32, detail: String? = nil) -> SystemdError {
        let target = address.map { "at '\($0)'" } ?? (scope == .user ? "on the session bus" : "on the system bus")
        var why = detail ?? describeErrno(errno)
        if errno == ENOMEDIUM && address == nil && scope == .user {
            // sd_bus_open_user's answer when it has no address to try.
            why = "neither 'DBUS_SESSION_BUS_ADDRESS' nor 'XDG_RUNTIME_DIR' is set"
        }
        let hint: String
        switch (scope, address) {
        case (.user, nil):
            hint = "Check that 'systemd --user' runs for this user and that 'XDG_RUNTIME_DIR' (or 'DBUS_SESSION_BUS_ADDRESS') points at its runtime directory."
        case (.system, nil):
            hint = "Check that systemd is PID 1 and that the system bus runs ('/run/dbus/system_bus_socket'), or pass the address 'unix:path=/run/systemd/private' as root."
        case (_, .some):
            hint = "Check that the manager runs and the address is right: use 'unix:path=…/bus' for a message bus or 'unix:path=…/systemd/private' for the manager's own socket."
        }
        return SystemdError(code: SystemdError.Code.busUnavailable, message: """
            Cannot reach \(managerName(scope)) \(target): \(why). \(hint)
            """)
    }

    private static func describe(_ failure: BusFailure, scope: SystemdScope, doing member: String, unit: String?,
                                 address: String?) -> SystemdError {
        let manager = managerName(scope)
        let systemctl = scope == .user ? "systemctl --user" : "systemctl"
        let on = unit.map { " for '\($0)'" } ?? ""
        let why = failure.detail.map(\.lowercasedFirst) ?? describeErrno(failure.errno)
        switch (failure.name ?? "", failure.errno) {
        case ("org.freedesktop.systemd1.NoSuchUnit", _):
            return noSuchUnit(unit ?? "?", scope: scope)
        case ("org.freedesktop.systemd1.UnitMasked", _):
            let name = unit ?? "?"
            return SystemdError(code: SystemdError.Code.unitMasked, message: """
                Cannot start '\(name)': the unit is masked in \(manager). Unmask it with \
                '\(systemctl) unmask \(name)' if that is intended.
                """)
        case ("org.freedesktop.systemd1.NoSuchProcess", _):
            let name = unit ?? "?"
            return SystemdError(code: SystemdError.Code.noSuchProcess, message: """
                \(manager.capitalizedFirst) has no process to signal in '\(name)': \(why). The unit is probably \
                not running; check it with '\(systemctl) status \(name)'.
                """)
        case ("org.freedesktop.DBus.Error.AccessDenied", _), ("org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", _),
             (_, EPERM), (_, EACCES):
            return SystemdError(code: SystemdError.Code.accessDenied, message: """
                \(manager.capitalizedFirst) denied '\(member)'\(on): \(why). Run chaos as root, or grant it the \
                polkit action for managing units.
                """)
        case ("org.freedesktop.DBus.Error.InvalidArgs", _), (_, EINVAL):
            return SystemdError(code: SystemdError.Code.invalidArgument, message: """
                \(manager.capitalizedFirst) rejected '\(member)'\(on): \(why). Check the unit name (as \
                '\(systemctl) list-unit-files' spells it) and the signal.
                """)
        case ("org.freedesktop.DBus.Error.Timeout", _), ("org.freedesktop.DBus.Error.NoReply", _), (_, ETIMEDOUT):
            return SystemdError(code: SystemdError.Code.timeout, message: """
                \(manager.capitalizedFirst) did not answer '\(member)'\(on) in time: \(why). It may be busy or \
                stuck; check it with '\(systemctl) status'.
                """)
        case ("org.freedesktop.DBus.Error.ServiceUnknown", _), ("org.freedesktop.DBus.Error.NameHasNoOwner", _),
             ("org.freedesktop.DBus.Error.Disconnected", _), (_, ENOTCONN), (_, ECONNRESET), (_, ECONNREFUSED),
             (_, EPIPE), (_, ENOENT), (_, EBADR):
            return unavailable(scope: scope, address: address, errno: failure.errno, detail: why)
        default:
            return SystemdError(code: SystemdError.Code.callFailed, message: """
                \(manager.capitalizedFirst) failed '\(member)'\(on): \(why)\(failure.name.map { " (\($0))" } ?? ""). \
                See '\(systemctl) status\(unit.map { " \($0)" } ?? "")' for details.
                """)
        }
    }

    static func describeErrno(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text).lowercasedFirst
    }
}

// MARK: - sd-bus calls

/// A failed sd-bus call: the negative return value as a positive errno, and the D-Bus error if any.
struct BusFailure: Error {
    /// A positive errno value.
    var errno: Int32
    /// The D-Bus error name, e.g. `org.freedesktop.systemd1.NoSuchUnit`.
    var name: String?
    /// The D-Bus error message, without a final period.
    var detail: String?
}

/// Thin, non-variadic wrappers over sd-bus message calls. Callers hold the connection's lock.
enum BusCall {
    /// A basic argument of a method call.
    enum Argument {
        case string(String)
        case int32(Int32)
    }

    /// Calls `member` on systemd and reads the reply with `read`.
    static func method<T>(_ bus: OpaquePointer, path: String, interface: String, member: String,
                          arguments: [Argument], timeout: Duration,
                          read: (OpaquePointer) throws(BusFailure) -> T) throws(BusFailure) -> T {
        var message: OpaquePointer?
        let created = sd_bus_message_new_method_call(bus, &message, SystemdManager.destination, path, interface, member)
        guard created >= 0, let message else { throw BusFailure(errno: -created) }
        defer { sd_bus_message_unref(message) }
        for argument in arguments {
            let r: Int32
            switch argument {
            case .string(let value):
                r = value.withCString { sd_bus_message_append_basic(message, typeCode("s"), $0) }
            case .int32(let value):
                r = withUnsafePointer(to: value) { sd_bus_message_append_basic(message, typeCode("i"), $0) }
            }
            guard r >= 0 else { throw BusFailure(errno: -r, detail: "cannot build the '\(member)' message") }
        }
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer?
        let r = sd_bus_call(bus, message, microseconds(timeout), &error, &reply)
        guard r >= 0, let reply else {
            var detail = error.message.map { String(cString: $0) }
            if let text = detail, text.hasSuffix(".") { detail = String(text.dropLast()) }
            throw BusFailure(errno: r < 0 ? -r : EIO, name: error.name.map { String(cString: $0) }, detail: detail)
        }
        defer { sd_bus_message_unref(reply) }
        return try read(reply)
    }

    /// org.freedesktop.DBus.Properties.Get(interface, name); `read` sees the variant's content.
    static func property<T>(_ bus: OpaquePointer, path: String, interface: String, name: String, timeout: Duration,
                            read: (OpaquePointer) throws(BusFailure) -> T) throws(BusFailure) -> T {
        try method(bus, path: path, interface: "org.freedesktop.DBus.Properties", member: "Get",
                   arguments: [.string(interface), .string(name)], timeout: timeout) { reply throws(BusFailure) in
            let r = sd_bus_message_enter_container(reply, typeCode("v"), nil)
            guard r > 0 else { throw BusFailure(errno: r < 0 ? -r : EBADMSG, detail: "property '\(name)' has no value") }
            let value = try read(reply)
            _ = sd_bus_message_exit_container(reply)
            return value
        }
    }

    /// Reads a string (`s`) or object path (`o`).
    static func readString(_ message: OpaquePointer, type: Character) throws(BusFailure) -> String {
        var value: UnsafePointer<CChar>?
        let r = sd_bus_message_read_basic(message, typeCode(type), &value)
        guard r > 0, let value else {
            throw BusFailure(errno: r < 0 ? -r : EBADMSG, detail: "the reply has no value of type '\(type)'")
        }
        return String(cString: value)
    }

    /// Reads a string (`s`).
    static func readString(_ message: OpaquePointer) throws(BusFailure) -> String {
        try readString(message, type: "s")
    }

    /// Reads an unsigned 32-bit integer (`u`).
    static func readUInt32(_ message: OpaquePointer) throws(BusFailure) -> UInt32 {
        var value: UInt32 = 0
        let r = sd_bus_message_read_basic(message, typeCode("u"), &value)
        guard r > 0 else { throw BusFailure(errno: r < 0 ? -r : EBADMSG, detail: "the reply has no value of type 'u'") }
        return value
    }

    /// Reads a unit's `Job` property, a `(uo)` struct, and returns the job id (0 when none).
    static func readJobID(_ message: OpaquePointer) throws(BusFailure) -> UInt32 {
        let r = sd_bus_message_enter_container(message, typeCode("r"), "uo")
        guard r > 0 else { throw BusFailure(errno: r < 0 ? -r : EBADMSG, detail: "the 'Job' property is not a '(uo)' struct") }
        let id = try readUInt32(message)
        _ = try readString(message, type: "o")
        _ = sd_bus_message_exit_container(message)
        return id
    }

    static func typeCode(_ character: Character) -> CChar {
        CChar(truncatingIfNeeded: character.asciiValue ?? 0)
    }

    static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        let value = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        return UInt64(max(value, 1))
    }
}

// MARK: - cgroups

/// Reads pids out of the cgroup hierarchy that systemd uses.
enum CgroupReader {
    /// `/sys/fs/cgroup` on a pure cgroup v2 host, `/sys/fs/cgroup/unified` on a hybrid one (where systemd
    /// keeps its own tree in cgroup v2), `/sys/fs/cgroup/systemd` on a legacy (v1 only) one.
    static let root: String = {
        if isCgroup2("/sys/fs/cgroup") { return "/sys/fs/cgroup" }
        if isCgroup2("/sys/fs/cgroup/unified") { return "/sys/fs/cgroup/unified" }
        return "/sys/fs/cgroup/systemd"
    }()

    private static func isCgroup2(_ path: String) -> Bool {
        var info = statfs()
        guard chaos_statfs(path, &info) == 0 else { return false }
        return info.f_type == 0x6367_7270  // CGROUP2_SUPER_MAGIC
    }

    /// Appends the pids in `directory/cgroup.procs` and in every child cgroup below it.
    static func collect(directory: String, into pids: inout [Int32]) {
        if let text = readFile(directory + "/cgroup.procs") {
            for line in text.split(separator: "\n") {
                if let pid = Int32(line), pid > 0 { pids.append(pid) }
            }
        }
        guard let dir = opendir(directory) else { return }
        var children: [String] = []
        while let entry = readdir(dir) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { children.append(name) }
        }
        closedir(dir)
        for child in children {
            collect(directory: directory + "/" + child, into: &pids)
        }
    }

    private static func readFile(_ path: String) -> String? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
    fileprivate var lowercasedFirst: String { prefix(1).lowercased() + dropFirst() }
}
