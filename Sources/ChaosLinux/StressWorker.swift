import ChaosCore
import Glibc

/// The body of `chaos _stress`: burns CPU or holds memory until a wall-clock deadline, then exits.
/// It is its own deadline: even if everything else dies, the stress ends on time.
public enum StressWorker {
    /// Milliseconds since the epoch.
    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Runs `workers` threads, each busy `load` percent of every 100 ms, until `until`.
    public static func burnCPU(workers: Int, load: Int, until: Int64) {
        let busy = Int64(max(1, min(100, load)))
        var threads: [pthread_t] = []
        for _ in 0..<max(1, workers) {
            var t = pthread_t()
            let box = Unmanaged.passRetained(Params(busyMs: busy, until: until))
            let rc = pthread_create(&t, nil, { raw in
                guard let raw else { return nil }
                let p = Unmanaged<Params>.fromOpaque(raw).takeRetainedValue()
                StressWorker.spin(busyMs: p.busyMs, until: p.until)
                return nil
            }, box.toOpaque())
            if rc == 0 { threads.append(t) } else { box.release() }
        }
        for t in threads { pthread_join(t, nil) }
    }

    final class Params { let busyMs: Int64; let until: Int64; init(busyMs: Int64, until: Int64) { self.busyMs = busyMs; self.until = until } } 

    static func spin(busyMs: Int64, until: Int64) {
        var x: UInt64 = 88172645463325252
        while true {
            let start = now()
            if start >= until { return }
            while now() - start < busyMs {
                // xorshift keeps the core busy without being optimised away
                x ^= x << 13; x ^= x >> 7; x ^= x << 17
            }
            if x == 0 { print("") }
            let idle = 100 - busyMs
            if idle > 0 { usleep(useconds_t(idle * 1000)) }
        }
    }

    /// Allocates `bytes`, touches every page so it is really resident, and holds it until `until`.
    /// - Returns: `false` when the memory could not be mapped.
    public static func holdMemory(bytes: Int64, until: Int64) -> Bool {
        guard bytes > 0, let p = mmap(nil, Int(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else { return false }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let bytesPtr = p.assumingMemoryBound(to: UInt8.self)
        var offset = 0
        while offset < Int(bytes) { bytesPtr[offset] = 1; offset += page }
        sleepUntil(until)
        munmap(p, Int(bytes))
        return true
    }

    /// Sleeps until the wall-clock deadline.
    public static func sleepUntil(_ until: Int64) {
        while true {
            let left = until - now()
            if left <= 0 { return }
            usleep(useconds_t(min(left, 1000) * 1000))
        }
    }
}
