import Glibc

/// The real-time clock.
public enum Epoch {
    /// Milliseconds since 1970-01-01T00:00:00Z (`CLOCK_REALTIME`).
    public static func milliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
