import Glibc

/// The file operations chaos needs to survive crashes and share files between processes, each
/// written once: durable writes, locked appends, `mkdir -p`, whole-file reads, locks.
///
/// Every call retries `EINTR` and closes what it opens, on every path. Failures are ``SyscallError``s
/// naming the step and the path; callers turn them into their own errors.
public enum POSIXFiles {
    // MARK: Writing

    /// Writes `bytes` to `path` so that a crash leaves the old content or the new, never part of it:
    /// a new temporary file in the same directory (`O_CREAT|O_EXCL|O_NOFOLLOW`), its mode set exactly
    /// (`fchmod`: the umask does not apply), written, `fsync`ed, put in place, then the directory
    /// `fsync`ed so the new name survives too. Nothing is left behind when it fails.
    /// - Parameters:
    ///   - mode: the file's permission bits, exactly.
    ///   - replacing: `true` replaces an existing file atomically (`rename`); `false` never touches one
    ///     (`link`, which fails when the name exists: no race) and fails with `alreadyExists`.
    /// - Throws: `createTemporary`, `setMode`, `write`, `flush` (with the temporary file's path), `replace`
    ///   or `link` (with `path`).
    public static func writeDurably(_ bytes: [UInt8], to path: String, mode: mode_t, replacing: Bool = true) throws(SyscallError) {
        let directory = POSIXPath.directory(of: path)
        let temporary = POSIXPath.join(directory, ".\(POSIXPath.baseName(of: path)).tmp-\(getpid())-\(UInt32.random(in: .min ... .max))")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw SyscallError(.createTemporary, temporary) }
        var placed = false
        defer { if !placed { unlink(temporary) } }
        do {
            defer { close(fd) }
            guard fchmod(fd, mode) == 0 else { throw SyscallError(.setMode, temporary) }
            try writeAll(fd, bytes, path: temporary)
            guard fsync(fd) == 0 else { throw SyscallError(.flush, temporary) }
        }
        if replacing {
            guard rename(temporary, path) == 0 else { throw SyscallError(.replace, path) }
        } else if link(temporary, path) != 0 {
            let code = errno
            // Some file systems have no hard links: fall back to a check and a rename.
            guard code == EPERM || code == EOPNOTSUPP || code == EMLINK, !exists(path) else { throw SyscallError(.link, path, code: code) }
            guard rename(temporary, path) == 0 else { throw SyscallError(.link, path) }
        } else {
            unlink(temporary)
        }
        placed = true
        syncDirectory(directory)
    }

    /// Appends `bytes` to `path` (created with `mode`, less the umask) under an exclusive `flock`, with
    /// one `write(2)` on an `O_APPEND` descriptor (the rest is written again, still under the lock, only
    /// if the kernel took part of it: a full disk), then `fsync`s. Appenders in several processes or
    /// threads never interleave. Blocks while another holds the lock.
    /// - Parameter startOnNewLine: when the file does not end with a newline (a line torn by a crash),
    ///   write one first, so that the appended line is whole.
    /// - Throws: `open`, `lock`, `inspect`, `read`, `write`, `flush`.
    public static func appendLocked(_ bytes: [UInt8], to path: String, mode: mode_t, startOnNewLine: Bool = false) throws(SyscallError) {
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SyscallError(.open, path) }
        defer { close(fd) }  // also releases the lock
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw SyscallError(.lock, path) }
        }
        var bytes = bytes
        if startOnNewLine, try endsTorn(fd, path: path) { bytes.insert(0x0A, at: 0) }
        try writeAll(fd, bytes, path: path)
        guard fsync(fd) == 0 else { throw SyscallError(.flush, path) }
    }

    /// `fsync` of a directory, so that a rename, link or unlink in it survives a crash. Best effort.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Removes the file `path` (`unlink`). Best effort: `false` when it could not (or was not there).
    @discardableResult
    public static func remove(_ path: String) -> Bool { unlink(path) == 0 }

    /// Creates `path` and its missing parents, like `mkdir -p`; an existing directory (or a link to one)
    /// is left as it is. Modes are given to `mkdir`, so the umask applies.
    /// - Parameters:
    ///   - mode: the mode of `path` itself.
    ///   - parentMode: the mode of missing parents (`mode` when `nil`).
    /// - Throws: `makeDirectory` naming the first directory that could not be made; `notADirectory` when
    ///   it exists and is something else.
    public static func makeDirectories(_ path: String, mode: mode_t, parentMode: mode_t? = nil) throws(SyscallError) {
        if isDirectory(path) { return }
        let parts = path.split(separator: "/")
        var current = path.hasPrefix("/") ? "/" : ""
        for (i, part) in parts.enumerated() {
            current += (current.isEmpty || current.hasSuffix("/") ? "" : "/") + part
            if mkdir(current, i == parts.count - 1 ? mode : parentMode ?? mode) == 0 { continue }
            let code = errno
            guard code == EEXIST else { throw SyscallError(.makeDirectory, current, code: code) }
            guard isDirectory(current) else { throw SyscallError(.makeDirectory, current, code: ENOTDIR) }
        }
    }

    // MARK: Reading

    /// The content of `path`, at most `limit` bytes (pass one more than you accept to see whether a file
    /// is larger).
    /// - Throws: `open` (`notFound` when it does not exist), `read`.
    public static func read(_ path: String, limit: Int = .max) throws(SyscallError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SyscallError(.open, path) }
        defer { close(fd) }
        var out: [UInt8] = []
        // Small first (most reads are of /proc files, a few hundred bytes), larger for big files.
        var chunk = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            let want = min(chunk.count, limit - out.count)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, want) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SyscallError(.read, path)
            }
            if n == 0 { break }
            out += chunk[0..<n]
            if n == chunk.count, chunk.count < 64 * 1024 { chunk = [UInt8](repeating: 0, count: 64 * 1024) }
        }
        return out
    }

    /// The content of `path` as UTF-8 text, at most `limit` bytes of it; `nil` when it cannot be read
    /// (gone, no permission).
    public static func readText(_ path: String, limit: Int = 1 << 20) -> String? {
        (try? read(path, limit: limit)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The target of the symbolic link `path`, or `nil` when it is not one (or cannot be read).
    public static func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The names in directory `path`, without `.` and `..`; none when it cannot be read.
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    /// Whether anything is at `path`, a dangling symbolic link included (`lstat`).
    public static func exists(_ path: String) -> Bool {
        var info = Glibc.stat()
        return lstat(path, &info) == 0
    }

    /// Whether `path` is a directory, or a symbolic link to one.
    public static func isDirectory(_ path: String) -> Bool {
        var info = Glibc.stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    /// Whether `path` is a regular file this process may execute.
    public static func isExecutable(_ path: String) -> Bool {
        var info = Glibc.stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && access(path, X_OK) == 0
    }

    /// Checks that this process may read `path` (`access(R_OK)`).
    /// - Throws: `open` with the reason (`notFound`, `EACCES`, `tooManyOpenFiles`...).
    public static func checkReadable(_ path: String) throws(SyscallError) {
        guard access(path, R_OK) == 0 else { throw SyscallError(.open, path) }
    }

    // MARK: Locks

    /// A file held open for an exclusive `flock`, released when the holder closes it or dies.
    public struct LockFile: Sendable {
        public let path: String
        private let fd: Int32

        /// Opens (creating, with `mode`) the lock file `path`.
        /// - Throws: `open`.
        public init(path: String, mode: mode_t = 0o600) throws(SyscallError) {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode)
            guard fd >= 0 else { throw SyscallError(.open, path) }
            self.path = path
            self.fd = fd
        }

        /// Takes the lock without blocking (`LOCK_EX|LOCK_NB`).
        /// - Returns: `false` when another descriptor holds it (wait and try again).
        /// - Throws: `lock`.
        public func tryLock() throws(SyscallError) -> Bool {
            while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                switch errno {
                case EINTR: continue
                case EWOULDBLOCK: return false
                default: throw SyscallError(.lock, path)
                }
            }
            return true
        }

        /// Releases the lock (the file stays open).
        public func unlock() { flock(fd, LOCK_UN) }

        /// Closes the file, which releases the lock too.
        public func close() { _ = Glibc.close(fd) }
    }

    // MARK: Bytes

    /// Writes all of `bytes`, retrying `EINTR` and short writes.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SyscallError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SyscallError(.write, path)
            }
            offset += n
        }
    }

    /// Whether the file is not empty and its last byte is not a newline (a torn line).
    private static func endsTorn(_ fd: Int32, path: String) throws(SyscallError) -> Bool {
        var info = Glibc.stat()
        guard fstat(fd, &info) == 0 else { throw SyscallError(.inspect, path) }
        guard info.st_size > 0 else { return false }
        var last: UInt8 = 0
        guard pread(fd, &last, 1, info.st_size - 1) == 1 else { throw SyscallError(.read, path) }
        return last != 0x0A
    }
}
