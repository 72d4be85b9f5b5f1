import Glibc

/// The running process: its id, its executable and those installed beside it, exec, signal mask.
public enum ThisProcess {
    /// The process id (`getpid`).
    public static var id: Int32 { getpid() }

    /// The path of this process's executable (`/proc/self/exe`), or `argv[0]` when it cannot be read.
    public static var executable: String { POSIXFiles.readLink("/proc/self/exe") ?? CommandLine.arguments[0] }

    /// The path of the executable `name` in this executable's directory (`chaos-agent` beside `chaos`).
    public static func sibling(_ name: String) -> String {
        POSIXPath.join(POSIXPath.directory(of: executable), name)
    }

    /// Replaces this process with the executable at `path`, given `arguments` after its own path as
    /// `argv[0]` (same pid, terminal, environment and signal dispositions; `execv`).
    /// - Returns: only when the exec failed, with the reason.
    public static func replace(with path: String, arguments: [String]) -> SyscallError {
        var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) }
        argv.append(nil)
        execv(path, argv)
        let failure = SyscallError(.execute, path)
        for p in argv { free(p) }
        return failure
    }

    /// Unblocks every signal on the calling thread. Called on the main thread before any other thread
    /// exists, so that all threads inherit an empty mask (a parent may leave signals blocked).
    public static func unblockAllSignals() {
        var empty = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, nil)
    }

    /// The login name of the real user (`getpwuid(getuid())`), or `nil` when it has none.
    public static func userName() -> String? {
        guard let pw = getpwuid(getuid()), let name = pw.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}
