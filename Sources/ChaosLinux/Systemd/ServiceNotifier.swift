// Service readiness, status and watchdog notifications to systemd (sd-daemon, `sd_notify(3)`).
//
// Two ways to reach a service manager, chosen when the notifier is made:
//
// - `ServiceNotifier()` (production): libsystemd does the work. `sd_notify`, `sd_notify_barrier` and
//   `sd_watchdog_enabled` read `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the process
//   environment themselves. The environment is only read, never changed (`unset_environment` is 0):
//   changing it in a multi-threaded process is unsafe, and with `NotifyAccess=main` the manager ignores
//   messages from helper processes that inherit `NOTIFY_SOCKET` anyway.
// - `ServiceNotifier(environment:)` (tests, and tools that relay for someone else): the same three
//   variables come from a dictionary, and the same datagram text goes out through a few lines of
//   socket code here, because libsystemd has no call that takes a socket address. That code follows
//   libsystemd 252 (`sd_pid_notify_with_fds`, `sd_notify_barrier`, `sd_watchdog_enabled`): one
//   `AF_UNIX` `SOCK_DGRAM` datagram per message to a path or, for a leading '@', an abstract address;
//   a barrier is `BARRIER=1` carrying the write end of a pipe, done when the receiver closes it.
//
// Messages are built in one place (`ServiceNotifier.state(_:)`) for both, so what the tests receive
// on their own socket is byte for byte what libsystemd sends to the manager.
internal import CSystemd
public import ChaosCore
import Glibc

/// Tells the service manager (systemd) that the service is ready, what it is doing, that it is
/// stopping, and that it is still alive (watchdog). Every call is a no-op that returns `false` when
/// no manager listens (`NOTIFY_SOCKET` unset), so the agent can call them unconditionally.
public struct ServiceNotifier: Sendable {
    /// Where `NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID` and `INVOCATION_ID` come from.
    public enum Environment: Sendable, Hashable {
        /// The process environment, read by libsystemd (`sd_notify` and friends).
        case process
        /// These values; datagrams are sent by this type's own socket code.
        case explicit([String: String])
    }

    /// The source of the notification variables.
    public let environment: Environment
    /// The pid that `WATCHDOG_PID` must name for the watchdog to apply to us (explicit environments).
    let pid: Int32

    /// A notifier for the service manager that started this process (libsystemd, process environment).
    public init() {
        self.environment = .process
        self.pid = getpid()
    }

    /// A notifier whose variables come from `environment` instead of the process environment.
    /// - Parameters:
    ///   - environment: `NOTIFY_SOCKET` (an absolute path, or `@name` for an abstract socket),
    ///     optionally `WATCHDOG_USEC`, `WATCHDOG_PID` and `INVOCATION_ID`.
    ///   - pid: the process `WATCHDOG_PID` is compared with; this process by default.
    public init(environment: [String: String], pid: Int32 = getpid()) {
        self.environment = .explicit(environment)
        self.pid = pid
    }

    /// A notifier that sends to the datagram socket at `socket` (`NOTIFY_SOCKET` syntax), with no
    /// watchdog.
    public init(socket: String) {
        self.init(environment: ["NOTIFY_SOCKET": socket])
    }

    // MARK: Where we run

    /// The value of one of the variables this notifier reads.
    func variable(_ name: String) -> String? {
        switch environment {
        case .process: return getenv(name).map { String(cString: $0) }
        case .explicit(let values): return values[name]
        }
    }

    /// `NOTIFY_SOCKET`: where notifications go; `nil` when no manager listens.
    public var notifySocket: String? {
        variable("NOTIFY_SOCKET").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether a systemd service manager started this process: it gave us a notification socket
    /// (`NOTIFY_SOCKET`, `Type=notify` services) or an invocation id (`INVOCATION_ID`, every service
    /// since systemd 232). Whether logs should go to the journal is ``LoggingBootstrap``'s question.
    public var isUnderSystemd: Bool {
        notifySocket != nil || !(variable("INVOCATION_ID") ?? "").isEmpty
    }

    /// Whether the host was booted with systemd as PID 1 (`sd_booted(3)`: `/run/systemd/system/` exists).
    public static var systemBooted: Bool { sd_booted() > 0 }

    // MARK: Notifications

    /// `READY=1`, with `STATUS=` when `status` is given: start-up is finished (for `Type=notify`, the
    /// unit becomes active now).
    /// - Returns: `true` when the message was sent, `false` when no manager listens.
    /// - Throws: `notify.failed` when sending failed, `notify.badAddress` for an unusable `NOTIFY_SOCKET`.
    @discardableResult
    public func ready(status: String? = nil) throws(ChaosError) -> Bool {
        try send(Self.state([("READY", "1")] + (status.map { [("STATUS", $0)] } ?? [])))
    }

    /// `STOPPING=1`, with `STATUS=` when `status` is given: the service is shutting down (the agent
    /// sends it when SIGTERM arrives, before it reverts its faults).
    @discardableResult
    public func stopping(status: String? = nil) throws(ChaosError) -> Bool {
        try send(Self.state([("STOPPING", "1")] + (status.map { [("STATUS", $0)] } ?? [])))
    }

    /// `STATUS=text`: a one-line status that `systemctl status` shows. Line breaks become spaces.
    @discardableResult
    public func status(_ text: String) throws(ChaosError) -> Bool {
        try send(Self.state([("STATUS", text)]))
    }

    /// `WATCHDOG=1`: a keep-alive ping; see ``watchdogInterval()`` and ``WatchdogPinger``.
    @discardableResult
    public func watchdogPing() throws(ChaosError) -> Bool {
        try send(Self.state([("WATCHDOG", "1")]))
    }

    /// `EXTEND_TIMEOUT_USEC=`: asks the manager for `duration` more before it gives up on a start or
    /// stop in progress (e.g. while start-up recovery reverts many leftover faults).
    @discardableResult
    public func extendTimeout(by duration: Duration) throws(ChaosError) -> Bool {
        try send(Self.state([("EXTEND_TIMEOUT_USEC", String(Self.microseconds(duration)))]))
    }

    /// Sends a raw notification: newline-separated `KEY=value` assignments (see `sd_notify(3)`).
    /// Prefer the named methods; build the text with ``state(_:)`` so that values cannot inject lines.
    /// - Returns: `true` when sent, `false` when no manager listens.
    @discardableResult
    public func send(_ state: String) throws(ChaosError) -> Bool {
        switch environment {
        case .process:
            let rc = sd_notify(0, state)
            if rc < 0 { throw Self.failure("send '\(Self.summary(state))'", errno: -rc) }
            return rc > 0
        case .explicit:
            guard let socket = notifySocket else { return false }
            try Self.sendDatagram(Array(state.utf8), to: socket, passing: [])
            return true
        }
    }

    /// Waits until the manager has received every notification sent before (`sd_notify_barrier(3)`).
    /// A short-lived sender (a process that notifies and exits at once) must call this before it exits,
    /// or the manager may not be able to attribute its messages to the unit.
    /// - Returns: `true` when the manager confirmed, `false` when no manager listens.
    /// - Throws: `notify.barrierTimeout` when the manager did not confirm within `timeout`;
    ///   `notify.failed` when the barrier could not be sent.
    @discardableResult
    public func barrier(timeout: Duration = .seconds(5)) throws(ChaosError) -> Bool {
        switch environment {
        case .process:
            let rc = sd_notify_barrier(0, Self.microseconds(timeout))
            if rc == -ETIMEDOUT { throw Self.barrierTimeout(timeout) }
            if rc < 0 { throw Self.failure("send a barrier", errno: -rc) }
            return rc > 0
        case .explicit:
            guard let socket = notifySocket else { return false }
            try Self.barrier(socket: socket, timeout: timeout)
            return true
        }
    }

    // MARK: Watchdog

    /// The watchdog timeout the manager enforces (`WatchdogSec=`, passed as `WATCHDOG_USEC`), or `nil`
    /// when it expects no pings from this process: the variables are unset, malformed, or
    /// `WATCHDOG_PID` names another process. Ping at half this interval, as systemd recommends
    /// (``WatchdogPinger`` does).
    public func watchdogInterval() -> Duration? {
        switch environment {
        case .process:
            var usec: UInt64 = 0
            guard sd_watchdog_enabled(0, &usec) > 0 else { return nil }
            return .microseconds(usec)
        case .explicit:
            guard let usec = Self.watchdogMicroseconds(usec: variable("WATCHDOG_USEC"),
                                                       pid: variable("WATCHDOG_PID"), ourPID: pid) else { return nil }
            return .microseconds(usec)
        }
    }

    /// A pinger for this notifier's watchdog, or `nil` when the watchdog is off.
    public func watchdogPinger() -> WatchdogPinger? {
        watchdogInterval().map { WatchdogPinger(notifier: self, timeout: $0) }
    }

    /// What `sd_watchdog_enabled` (libsystemd 252) makes of the two variables: `WATCHDOG_USEC` must be
    /// a decimal number other than 0 and 2^64-1 (infinity); `WATCHDOG_PID`, when set, must be a valid
    /// pid equal to ours.
    static func watchdogMicroseconds(usec: String?, pid: String?, ourPID: Int32) -> UInt64? {
        guard let usec, let value = UInt64(usec), value != 0, value != UInt64.max else { return nil }
        if let pid {
            guard let named = Int32(pid), named > 0, named == ourPID else { return nil }
        }
        return value
    }

    // MARK: Message text

    /// The notification text for `assignments`: `KEY=value` lines joined by '\n'. A line break in a
    /// value would start a new assignment (a status text could otherwise say `READY=1`), so line
    /// breaks in values become spaces.
    public static func state(_ assignments: [(String, String)]) -> String {
        assignments.map { key, value in
            key + "=" + String(value.map { $0.isNewline ? " " : $0 })
        }.joined(separator: "\n")
    }

    /// Whole microseconds in `duration` (negative counts as 0), as sd-daemon wants them.
    static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000)
        if overflow { return UInt64.max - 1 }
        return whole + UInt64(attoseconds / 1_000_000_000_000)
    }

    /// A message on one line, for error messages.
    static func summary(_ state: String) -> String {
        String(state.map { $0.isNewline ? " " : $0 })
    }

    static func failure(_ what: String, errno code: Int32) -> ChaosError {
        ChaosError("notify.failed",
                   "Could not \(what) to the service manager: \(String(cString: strerror(code))) (errno \(code)). "
                   + "Check that NOTIFY_SOCKET names a socket that the manager still listens on.")
    }

    static func barrierTimeout(_ timeout: Duration) -> ChaosError {
        ChaosError("notify.barrierTimeout",
                   "The service manager did not confirm the notifications within \(timeout) (sd_notify_barrier). "
                   + "It may be overloaded or no longer reading NOTIFY_SOCKET; the notifications may be lost.")
    }

    // MARK: Sending without libsystemd (explicit environments)

    /// Sends one datagram with `bytes` to `address` (`/path` or `@abstract`), passing `fds` with
    /// SCM_RIGHTS when there are any.
    static func sendDatagram(_ bytes: [UInt8], to address: String, passing fds: [Int32]) throws(ChaosError) {
        let (resolved, length) = try unixAddress(address)
        var socketAddress = resolved
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw failure("create a socket to send '\(address)'", errno: errno) }
        defer { close(fd) }

        var control = [UInt8](repeating: 0, count: fds.isEmpty ? 0 : UnixControlMessage.space(fds.count * MemoryLayout<Int32>.size))
        if !fds.isEmpty { UnixControlMessage.writeRights(fds, into: &control) }
        var payload = bytes
        let sent: Int = payload.withUnsafeMutableBytes { data in
            withUnsafeMutablePointer(to: &socketAddress) { name in
                control.withUnsafeMutableBytes { controlBytes in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_name = UnsafeMutableRawPointer(name)
                        message.msg_namelen = length
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        if !fds.isEmpty {
                            message.msg_control = controlBytes.baseAddress
                            message.msg_controllen = controlBytes.count
                        }
                        var result: Int
                        repeat { result = sendmsg(fd, &message, Int32(MSG_NOSIGNAL)) } while result < 0 && errno == EINTR
                        return result
                    }
                }
            }
        }
        if sent < 0 { throw failure("send '\(summary(String(decoding: bytes, as: UTF8.self)))' to '\(address)'", errno: errno) }
    }

    /// `BARRIER=1` with the write end of a fresh pipe; done when the receiver has closed that end.
    static func barrier(socket address: String, timeout: Duration) throws(ChaosError) {
        var ends: [Int32] = [-1, -1]
        guard pipe2(&ends, O_CLOEXEC) == 0 else { throw failure("create a pipe for a barrier", errno: errno) }
        let readEnd = ends[0]
        defer { close(readEnd) }
        do {
            try sendDatagram(Array("BARRIER=1".utf8), to: address, passing: [ends[1]])
        } catch {
            close(ends[1])
            throw error
        }
        close(ends[1])

        // POLLHUP is reported whatever `events` asks for: it comes once no process holds the write end.
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            let milliseconds = left <= .zero ? 0 : Int32(clamping: (microseconds(left) + 999) / 1000)
            var entry = pollfd(fd: readEnd, events: 0, revents: 0)
            let rc = poll(&entry, 1, milliseconds)
            if rc < 0 && errno == EINTR { continue }
            if rc < 0 { throw failure("wait for a barrier on '\(address)'", errno: errno) }
            if rc > 0 && entry.revents & Int16(POLLHUP) != 0 { return }
            if rc > 0 { throw failure("wait for a barrier on '\(address)' (poll reported \(entry.revents))", errno: EIO) }
            if ContinuousClock.now >= deadline { throw barrierTimeout(timeout) }
        }
    }

    /// A `sockaddr_un` for `NOTIFY_SOCKET` syntax and its length: an absolute path, or `@name` for
    /// Linux's abstract namespace (the '@' becomes a leading NUL, and the length ends at the name).
    static func unixAddress(_ address: String) throws(ChaosError) -> (sockaddr_un, socklen_t) {
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(address.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        guard abstract || bytes.first == UInt8(ascii: "/"), bytes.count > 1 else {
            throw ChaosError("notify.badAddress",
                             "NOTIFY_SOCKET is '\(address)', which is neither an absolute path nor '@' and an abstract socket name. "
                             + "Give the path of an AF_UNIX datagram socket.")
        }
        let capacity = MemoryLayout.size(ofValue: socketAddress.sun_path)
        // A path needs room for its terminating NUL; an abstract name does not have one.
        guard bytes.count <= (abstract ? capacity : capacity - 1) else {
            throw ChaosError("notify.badAddress",
                             "NOTIFY_SOCKET '\(address)' is \(bytes.count) bytes long; a unix socket address holds at most \(capacity - 1). "
                             + "Use a shorter path.")
        }
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? MemoryLayout<sa_family_t>.size
        return (socketAddress, socklen_t(offset + bytes.count + (abstract ? 0 : 1)))
    }
}

/// Sends `WATCHDOG=1` at half the watchdog timeout, as systemd recommends, until its task is cancelled.
///
/// ```swift
/// if let pinger = ServiceNotifier().watchdogPinger() {
///     group.addTask { await pinger.run() }   // cancelled with the group when the agent stops
/// }
/// ```
public struct WatchdogPinger: Sendable {
    /// Where the pings go.
    public let notifier: ServiceNotifier
    /// The manager's watchdog timeout (``ServiceNotifier/watchdogInterval()``).
    public let timeout: Duration

    /// - Parameters:
    ///   - notifier: where the pings go.
    ///   - timeout: the manager's watchdog timeout; pings go out at half of it.
    public init(notifier: ServiceNotifier, timeout: Duration) {
        self.notifier = notifier
        self.timeout = timeout
    }

    /// The time between two pings: half the timeout, and at least a millisecond.
    public var interval: Duration { max(timeout / 2, .milliseconds(1)) }

    /// Pings at once, then every ``interval``, until the calling task is cancelled; then returns.
    /// A ping that fails is reported to `onFailure` and the loop goes on (the next ping may succeed;
    /// if none does, the manager's watchdog restarts the service, which is the point).
    /// - Returns: how many pings were sent.
    @discardableResult
    public func run(onFailure: (@Sendable (ChaosError) -> Void)? = nil) async -> Int {
        var sent = 0
        while !Task.isCancelled {
            do {
                if try notifier.watchdogPing() { sent += 1 }
            } catch {
                onFailure?(error)
            }
            do { try await Task.sleep(for: interval) } catch { break }
        }
        return sent
    }
}

/// Control messages (`cmsghdr`) by hand: glibc's CMSG_* are macros that Swift does not import.
/// The layout is glibc's: each header and payload aligned to `size_t`.
enum UnixControlMessage {
    static func align(_ length: Int) -> Int {
        let word = MemoryLayout<Int>.size
        return (length + word - 1) & ~(word - 1)
    }

    /// CMSG_LEN: header plus `payload` bytes.
    static func length(_ payload: Int) -> Int { align(MemoryLayout<cmsghdr>.size) + payload }

    /// CMSG_SPACE: the buffer room one message with `payload` bytes takes.
    static func space(_ payload: Int) -> Int { align(MemoryLayout<cmsghdr>.size) + align(payload) }

    /// Where the payload starts (CMSG_DATA), from the start of a header.
    static var dataOffset: Int { align(MemoryLayout<cmsghdr>.size) }

    /// Writes one SCM_RIGHTS message carrying `fds` at the start of `buffer`, which must hold
    /// `space(fds.count * 4)` bytes.
    static func writeRights(_ fds: [Int32], into buffer: inout [UInt8]) {
        buffer.withUnsafeMutableBytes { raw in
            var header = cmsghdr()
            header.cmsg_len = length(fds.count * MemoryLayout<Int32>.size)
            header.cmsg_level = SOL_SOCKET
            header.cmsg_type = Int32(SCM_RIGHTS)
            raw.storeBytes(of: header, toByteOffset: 0, as: cmsghdr.self)
            for (index, fd) in fds.enumerated() {
                raw.storeBytes(of: fd, toByteOffset: dataOffset + index * MemoryLayout<Int32>.size, as: Int32.self)
            }
        }
    }

    /// One control message read back: its level, type and payload bytes.
    struct Message {
        var level: Int32
        var type: Int32
        var data: [UInt8]
    }

    /// The control messages in the first `length` bytes of `buffer` (CMSG_FIRSTHDR/CMSG_NXTHDR).
    static func parse(_ buffer: UnsafeRawBufferPointer, length: Int) -> [Message] {
        var messages: [Message] = []
        var offset = 0
        let headerSize = MemoryLayout<cmsghdr>.size
        let end = min(length, buffer.count)
        while offset + headerSize <= end {
            let header = buffer.loadUnaligned(fromByteOffset: offset, as: cmsghdr.self)
            let total = Int(header.cmsg_len)
            guard total >= dataOffset, offset + total <= end else { break }
            let data = Array(buffer[(offset + dataOffset)..<(offset + total)])
            messages.append(Message(level: header.cmsg_level, type: header.cmsg_type, data: data))
            offset += align(total)
        }
        return messages
    }
}
