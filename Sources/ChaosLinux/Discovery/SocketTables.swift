import ChaosCore
import ChaosPOSIX

/// The kernel's socket tables (`/proc/net/tcp`, `tcp6`, `udp`, `udp6`), parsed. Pure where it can be:
/// the parsers take the files' text, so tests feed them fixed lines.
public enum SocketTables {
    /// One row of a table.
    public struct Row: Hashable, Sendable {
        public var proto: String
        public var localAddress: String
        public var localPort: Int
        public var remoteAddress: String
        public var remotePort: Int
        /// The kernel's state code: `0A` listen, `01` established (for UDP, `07` unconnected, `01` connected).
        public var state: String
        public var inode: UInt64

        public init(proto: String, localAddress: String, localPort: Int, remoteAddress: String, remotePort: Int, state: String, inode: UInt64) {
            self.proto = proto; self.localAddress = localAddress; self.localPort = localPort
            self.remoteAddress = remoteAddress; self.remotePort = remotePort; self.state = state; self.inode = inode
        }

        public var isListening: Bool { proto == "tcp" ? state == "0A" : state == "07" && remotePort == 0 }
        public var isEstablished: Bool { state == "01" && remotePort != 0 }
        /// A TCP connection closed or closing within the last minute or so (FIN_WAIT1/2, TIME_WAIT,
        /// CLOSE_WAIT, LAST_ACK, CLOSING): evidence of a short-lived conversation, though the kernel
        /// no longer ties a TIME_WAIT socket to a process (its inode is 0).
        public var isRecentlyClosed: Bool { proto == "tcp" && remotePort != 0 && ["04", "05", "06", "08", "09", "0B"].contains(state) }
    }

    /// Parses one table (`proto` is `tcp` or `udp`, for IPv4 and IPv6 alike). Lines that do not parse
    /// are skipped.
    public static func parse(_ text: String, proto: String) -> [Row] {
        var rows: [Row] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count > 9, let (la, lp) = endpoint(f[1]), let (ra, rp) = endpoint(f[2]), let inode = UInt64(f[9]) else { continue }
            rows.append(Row(proto: proto, localAddress: la, localPort: lp, remoteAddress: ra, remotePort: rp, state: String(f[3]), inode: inode))
        }
        return rows
    }

    /// `0100007F:1F90` → ("127.0.0.1", 8080); 32 hex digits for IPv6 (four host-order 32-bit words).
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is given as its IPv4 address.
    static func endpoint(_ text: Substring) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...], radix: 16) else { return nil }
        let hex = text[..<colon]
        func bytes(_ word: Substring) -> [UInt8]? {
            guard word.count == 8, let v = UInt32(word, radix: 16) else { return nil }
            return [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)]
        }
        if hex.count == 8, let b = bytes(hex) { return (b.map(String.init).joined(separator: "."), port) }
        guard hex.count == 32 else { return nil }
        var all: [UInt8] = []
        var i = hex.startIndex
        for _ in 0..<4 {
            let j = hex.index(i, offsetBy: 8)
            guard let b = bytes(hex[i..<j]) else { return nil }
            all += b
            i = j
        }
        if all[0..<10].allSatisfy({ $0 == 0 }) && all[10] == 0xff && all[11] == 0xff {
            return (all[12...].map(String.init).joined(separator: "."), port)
        }
        return (ipv6Text(all), port)
    }

    /// RFC 5952 text of 16 bytes: lower-case hex groups, the longest run of two or more zero groups as `::`.
    static func ipv6Text(_ b: [UInt8]) -> String {
        let groups = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
        var bestStart = -1, bestLength = 0, start = -1
        for i in 0...8 {
            if i < 8 && groups[i] == 0 { if start < 0 { start = i } } else if start >= 0 {
                if i - start > bestLength { bestStart = start; bestLength = i - start }
                start = -1
            }
        }
        if bestLength < 2 { return groups.map { String($0, radix: 16) }.joined(separator: ":") }
        let head = groups[..<bestStart].map { String($0, radix: 16) }.joined(separator: ":")
        let tail = groups[(bestStart + bestLength)...].map { String($0, radix: 16) }.joined(separator: ":")
        return head + "::" + tail
    }

    /// The systemd service of a process, from its `/proc/PID/cgroup` text: the innermost path
    /// component ending in `.service` (`0::/system.slice/redis-server.service` → `redis-server.service`).
    public static func unit(fromCgroup text: String) -> String? {
        for line in text.split(separator: "\n") {
            guard let path = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).last else { continue }
            if let unit = path.split(separator: "/").last(where: { $0.hasSuffix(".service") }) { return String(unit) }
        }
        return nil
    }
}
