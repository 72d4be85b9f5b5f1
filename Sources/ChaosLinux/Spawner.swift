import ChaosCore
import ChaosPOSIX
import CLinuxShims
import Glibc

/// Starts helper processes that must outlive their parent: own session (setsid), standard streams on
/// /dev/null, nothing inherited but the environment.
enum Spawner {
    static func spawnDetached(_ argv: [String]) throws(ChaosError) -> Int32 {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // POSIX_SPAWN_SETSID (glibc 2.26+) = 0x80; also reset signal mask and defaults.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(0x80 | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in Int32(0)...2 {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        // Inherit nothing else: a helper that outlives us must not hold our caller's pipes or sockets
        // open (whoever waits for our output to end would wait for the helper too).
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)

        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        // Helpers must not talk to systemd as if they were the agent (NOTIFY_SOCKET, WATCHDOG_*).
        var cEnv: [UnsafeMutablePointer<CChar>?] = []
        var e = environ
        while let entry = e.pointee {
            let text = String(cString: entry)
            if !["NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID="].contains(where: text.hasPrefix) { cEnv.append(strdup(text)) }
            e += 1
        }
        cEnv.append(nil)
        defer { for p in cEnv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attr, cArgs, cEnv)
        guard rc == 0 else {
            throw ChaosError("host.spawnFailed", "Could not start '\(argv[0])': \(Errno.text(rc)). Check that the chaos binary is still in place.")
        }
        return pid
    }
}
