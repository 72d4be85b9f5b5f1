import Glibc

/// The process's resource limits.
public enum ResourceLimits {
    /// Raises the soft limit on open files to the hard limit (a systemd unit sets the hard one with
    /// LimitNOFILE=), for servers that hold a descriptor per connection.
    /// - Returns: the soft limit before and after, when it was raised.
    @discardableResult
    public static func raiseOpenFiles() -> (before: UInt64, after: UInt64)? {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return nil }
        let before = UInt64(limit.rlim_cur)
        limit.rlim_cur = limit.rlim_max
        guard setrlimit(resource, &limit) == 0 else { return nil }
        return (before, UInt64(limit.rlim_cur))
    }

    /// The soft limit on open files now, or `nil` when it cannot be read.
    public static var openFiles: UInt64? {
        var limit = rlimit()
        return getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 ? UInt64(limit.rlim_cur) : nil
    }
}
