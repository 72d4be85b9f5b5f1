public import ChaosCore
import ChaosPOSIX
import Glibc
import CLinuxShims
import Synchronization

/// The real host: /proc, kill(2), statvfs, fallocate, posix_spawn and sd-bus.
public final class LinuxHost: HostSystem {
    public let facts: HostFacts
    private let executable: String
    private let managers = Mutex<[SystemdScope: SystemdManager]>([:])
    private let probed = Mutex<HostCapabilities?>(nil)
    /// How long unit start/stop may take before chaos gives up.
    public let unitTimeout: Duration = .seconds(90)

    /// - Parameter executable: the chaos binary helpers are started from; defaults to this process's.
    public init(executable: String? = nil) {
        let pid = getpid()
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)
        let hostname = String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        facts = HostFacts(selfPID: pid, cpuCount: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
                          memoryAvailable: ProcFS.memoryAvailable(), hostname: hostname)
        self.executable = executable ?? ThisProcess.executable
    }

    // MARK: Processes

    public func processTable() async throws(ChaosError) -> ProcessTable { ProcFS.table() }

    public func process(_ pid: Int32) async -> ProcessEntry? { ProcFS.process(pid) }

    public func send(_ signal: SignalName, to pid: Int32) async throws(ChaosError) {
        guard Glibc.kill(pid, signal.number) == 0 else {
            let e = errno
            switch e {
            case ESRCH: throw ChaosError("host.noSuchProcess", "Process \(pid) does not exist any more.")
            case EPERM: throw ChaosError("host.permissionDenied", "Not allowed to send \(signal) to process \(pid). Run chaos as root or as the process's user.")
            default: throw ChaosError("host.signalFailed", "Sending \(signal) to process \(pid) failed: \(Errno.text(e)).")
            }
        }
    }

    /// pidfds polled together: each turns readable when its process has ended. Blocks the calling
    /// thread for at most `limit`, so callers keep it to milliseconds.
    public func awaitExit(_ pids: [Int32], within limit: Duration) async {
        let opened = pids.map { chaos_pidfd_open($0) }.filter { $0 >= 0 }
        defer { for fd in opened { close(fd) } }
        var fds = opened.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: limit)
        var waiting = fds.count
        while waiting > 0 {
            let left = clock.now.duration(to: end)
            guard left > .zero else { return }
            let ms = Int32(clamping: max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            let n = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), ms) }
            if n < 0 && errno != EINTR { return }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                fds[i].fd = -1   // ended: poll skips a negative descriptor
                waiting -= 1
            }
        }
    }

    public func readPIDFile(_ path: String) async throws(ChaosError) -> Int32 {
        // Non-blocking, so a FIFO cannot hold the caller; only a small regular file is read, and its
        // content is never echoed (the agent reads as root whatever path a caller names).
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            throw ChaosError("target.pidfileUnreadable", "Cannot read the pidfile '\(path)': \(Errno.text(errno)). Check the path and that the service is running.")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size <= PIDFileContent.maxBytes else {
            throw Self.notAPIDFile(path)
        }
        var buffer = [UInt8](repeating: 0, count: PIDFileContent.maxBytes + 1)
        var count = 0
        while count < buffer.count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            count += n
        }
        guard let pid = PIDFileContent.pid(in: buffer[0..<count], path: path) else { throw Self.notAPIDFile(path) }
        return pid
    }

    static func notAPIDFile(_ path: String) -> ChaosError {
        ChaosError("target.pidfileInvalid", "'\(path)' is not a pid file: it must hold only a process id. Point '--pidfile' at the service's pid file, or select the process by '--unit' or '--port'.")
    }

    public func listeners(onTCPPort port: Int) async throws(ChaosError) -> [Int32] {
        ProcFS.owners(of: ProcFS.listeningInodes(port: port))
    }

    // MARK: systemd

    private func manager(_ scope: SystemdScope) throws(ChaosError) -> SystemdManager {
        do {
            return try managers.withLock { cache throws(SystemdError) in
                if let m = cache[scope] { return m }
                let m = try SystemdManager(scope: scope)
                cache[scope] = m
                return m
            }
        } catch { throw Self.map(error) }
    }

    static func map(_ e: SystemdError) -> ChaosError { ChaosError(e.code, e.message) }

    public func unitStatus(_ unit: String, scope: SystemdScope) async throws(ChaosError) -> UnitState {
        let m = try manager(scope)
        do {
            let s = try m.status(of: unit)
            return UnitState(name: s.name, loadState: s.loadState, activeState: s.activeState, subState: s.subState, mainPID: s.mainPID)
        } catch { throw Self.map(error) }
    }

    public func startUnit(_ unit: String, scope: SystemdScope) async throws(ChaosError) {
        let m = try manager(scope)
        do { try m.start(unit, timeout: unitTimeout) } catch { throw Self.map(error) }
    }

    public func stopUnit(_ unit: String, scope: SystemdScope) async throws(ChaosError) {
        let m = try manager(scope)
        do { try m.stop(unit, timeout: unitTimeout) } catch { throw Self.map(error) }
    }

    public func killUnit(_ unit: String, scope: SystemdScope, who: String, signal: SignalName) async throws(ChaosError) {
        let m = try manager(scope)
        do { try m.kill(unit, who: who, signal: signal.number) } catch { throw Self.map(error) }
    }

    public func unitProcesses(_ unit: String, scope: SystemdScope) async throws(ChaosError) -> [Int32] {
        let m = try manager(scope)
        do { return try m.processes(of: unit) } catch { throw Self.map(error) }
    }

    // MARK: Files

    public func filesystem(at path: String) async throws(ChaosError) -> FilesystemStats {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else {
            let e = errno
            throw ChaosError(e == ENOENT ? "host.noSuchPath" : "host.statFailed",
                             "Cannot read the filesystem of '\(path)': \(Errno.text(e)). Give an existing directory on the disk to fill.")
        }
        var s = stat()
        let isDir = stat(path, &s) == 0 && (s.st_mode & S_IFMT) == S_IFDIR
        let frsize = Int64(st.f_frsize)
        return FilesystemStats(size: Int64(st.f_blocks) * frsize, available: Int64(st.f_bavail) * frsize,
                               free: Int64(st.f_bfree) * frsize, id: UInt64(st.f_fsid), isDirectory: isDir)
    }

    public func canonicalPath(_ path: String) async -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public func allocateFile(_ path: String, bytes: Int64) async throws(ChaosError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let e = errno
            throw ChaosError(e == EEXIST ? "fault.resourceBusy" : "host.createFailed",
                             "Cannot create the fill file '\(path)': \(Errno.text(e)).\(e == EEXIST ? " Another fault owns it; see 'chaos status'." : "")")
        }
        defer { close(fd) }
        if fallocate(fd, 0, 0, off_t(bytes)) == 0 { return }
        let e = errno
        if e == EOPNOTSUPP {
            // Filesystems without fallocate: write zeros.
            let chunk = [UInt8](repeating: 0, count: 1 << 20)
            var left = bytes
            while left > 0 {
                let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, Int(min(Int64(chunk.count), left))) }
                if n < 0 { if errno == EINTR { continue }; break }
                left -= Int64(n)
            }
            if left == 0 { return }
        }
        let failure = errno
        unlink(path)
        throw ChaosError("host.allocateFailed", "Could not allocate \(ByteSize(bytes: bytes)) in '\(path)': \(Errno.text(e == EOPNOTSUPP ? failure : e)). The file was removed; nothing is left behind.")
    }

    public func fileSize(_ path: String) async -> Int64? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return Int64(s.st_blocks) * 512 > Int64(s.st_size) ? Int64(s.st_blocks) * 512 : Int64(s.st_size)
    }

    @discardableResult
    public func removeFile(_ path: String) async throws(ChaosError) -> Bool {
        if unlink(path) == 0 { return true }
        let e = errno
        if e == ENOENT { return false }
        throw ChaosError("host.removeFailed", "Cannot remove '\(path)': \(Errno.text(e)). Remove it by hand and run 'chaos status'.")
    }

    // MARK: Commands

    public func run(_ argv: [String], input: String?, timeout: Duration) async throws(ChaosError) -> CommandResult {
        try await CommandRunner.run(argv, input: input, timeout: timeout)
    }

    public func readFile(_ path: String) async -> String? { POSIXFiles.readText(path) }

    public func capabilities() async -> HostCapabilities {
        if let cached = probed.withLock({ $0 }) { return cached }
        let caps = await CapabilityProbe.probe()
        probed.withLock { $0 = caps }
        return caps
    }

    // MARK: Helpers

    public func spawnHelper(_ arguments: [String]) async throws(ChaosError) -> ProcessIdentity {
        let pid = try Spawner.spawnDetached([executable] + arguments)
        // The child's start time is readable as soon as it exists.
        guard let p = ProcFS.process(pid) else { return ProcessIdentity(pid: pid, startTime: 0) }
        return p.identity
    }
}
