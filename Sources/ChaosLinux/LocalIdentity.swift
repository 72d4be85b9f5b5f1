import Glibc

/// The names and addresses that mean "this host" when an inventory names hosts.
public enum LocalIdentity {
    /// `CHAOS_HOST` (if set), the hostname, and every address on the host's interfaces.
    public static func names(hostname: String) -> Set<String> {
        var out: Set<String> = [hostname]
        if let short = hostname.split(separator: ".").first { out.insert(String(short)) }
        if let env = getenv("CHAOS_HOST") { out.insert(String(cString: env)) }
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return out }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let ifa = cursor {
            defer { cursor = ifa.pointee.ifa_next }
            guard let addr = ifa.pointee.ifa_addr else { continue }
            let family = Int32(addr.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let len = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            if getnameinfo(addr, len, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 {
                var text = String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }
                out.insert(text)
            }
        }
        return out
    }
}
