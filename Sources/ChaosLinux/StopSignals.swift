import ChaosCore
import ChaosPOSIX
import Glibc

/// SIGTERM and SIGINT as a readable descriptor, for the helpers that sleep in `poll(2)` (the delay
/// relay, the packet engine): the handler writes one byte to a non-blocking pipe whose read end the
/// loop polls, so a stop request wakes the loop at once and is handled outside the handler.
/// SIGPIPE is ignored (a peer closing a socket must not kill a helper).
struct StopSignals {
    let read: Int32
    let write: Int32

    /// Makes the pipe and installs the handlers (one process has one set; the last call wins).
    static func install() throws(ChaosError) -> StopSignals {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw ChaosError("helper.pipe", "pipe: \(Errno.text(errno))") }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        stopWakeFD = fds[1]
        signal(SIGPIPE, SIG_IGN)
        let handler: @convention(c) (Int32) -> Void = { _ in
            var b: UInt8 = 1
            _ = Glibc.write(stopWakeFD, &b, 1)
        }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
        return StopSignals(read: fds[0], write: fds[1])
    }

    /// Empties the pipe (after the loop saw it readable).
    func drain() {
        var b: UInt8 = 0
        while Glibc.read(read, &b, 1) > 0 {}
    }

    /// Closes both ends. The handlers stay (a late SIGTERM while the process exits must not change its
    /// status) and write to no descriptor at all.
    func close() {
        stopWakeFD = -1
        Glibc.close(read)
        Glibc.close(write)
    }
}

nonisolated(unsafe) private var stopWakeFD: Int32 = -1
