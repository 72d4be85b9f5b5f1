import ChaosCore
import ChaosPOSIX
import Glibc

/// Reads processes and sockets from /proc.
public enum ProcFS {
    /// PF_KTHREAD in /proc/PID/stat's flags.
    static let kernelThreadFlag: UInt64 = 0x0020_0000

    /// One process, or `nil` when it is gone or unreadable.
    public static func process(_ pid: Int32, root: String = "/proc") -> ProcessEntry? {
        guard let stat = try? POSIXFiles.read("\(root)/\(pid)/stat", limit: 1 << 20) else { return nil }
        guard var entry = parseStat(stat) else { return nil }
        if let cmd = try? POSIXFiles.read("\(root)/\(pid)/cmdline", limit: 64 * 1024) {
            entry.cmdline = parseCmdline(cmd)
        }
        if let status = POSIXFiles.readText("\(root)/\(pid)/status") {
            for line in status.split(separator: "\n") where line.hasPrefix("Uid:") || line.hasPrefix("Tgid:") {
                let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
                guard fields.count > 1 else { continue }
                if line.hasPrefix("Uid:"), let uid = UInt32(fields[1]) { entry.uid = uid }
                if line.hasPrefix("Tgid:"), let tgid = Int32(fields[1]) { entry.tgid = tgid }
            }
        }
        entry.executable = POSIXFiles.readLink("\(root)/\(pid)/exe")
        return entry
    }

    /// Every process.
    public static func table(root: String = "/proc") -> ProcessTable {
        ProcessTable(POSIXFiles.list(root).compactMap { Int32($0) }.compactMap { process($0, root: root) })
    }

    /// Parses `/proc/PID/stat`: `pid (comm) state ppid ... flags(9) ... starttime(22)`. The name may
    /// hold spaces and parentheses, so it runs to the *last* `)`.
    public static func parseStat(_ bytes: [UInt8]) -> ProcessEntry? {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")), let close = bytes.lastIndex(of: UInt8(ascii: ")")), open < close,
              let pid = Int32(String(decoding: bytes[..<open], as: UTF8.self).trimmingWhitespace()) else { return nil }
        let name = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
        let rest = String(decoding: bytes[(close + 1)...], as: UTF8.self).split(separator: " ")
        // rest[0] = state (field 3), rest[1] = ppid (4), rest[6] = flags (9), rest[19] = starttime (22)
        guard rest.count > 19, let ppid = Int32(rest[1]), let flags = UInt64(rest[6]), let start = UInt64(rest[19]) else { return nil }
        return ProcessEntry(pid: pid, ppid: ppid, name: name, cmdline: [], state: String(rest[0]), startTime: start,
                            isKernelThread: flags & kernelThreadFlag != 0 || pid == 2 || ppid == 2)
    }

    /// Splits NUL-separated arguments.
    public static func parseCmdline(_ bytes: [UInt8]) -> [String] {
        var parts = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if parts.last == "" { parts.removeLast() }
        return parts
    }

    /// Socket inodes listening on TCP `port`, from /proc/net/tcp and tcp6 (state 0A = LISTEN).
    public static func listeningInodes(port: Int, root: String = "/proc") -> Set<UInt64> {
        var out = Set<UInt64>()
        for file in ["\(root)/net/tcp", "\(root)/net/tcp6"] {
            guard let text = POSIXFiles.readText(file) else { continue }
            out.formUnion(parseListeners(text, port: port))
        }
        return out
    }

    /// Parses one /proc/net/tcp table for listeners on `port`.
    public static func parseListeners(_ text: String, port: Int) -> Set<UInt64> {
        var out = Set<UInt64>()
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ")
            guard f.count > 9, f[3] == "0A", let colon = f[1].lastIndex(of: ":"),
                  let p = Int(f[1][f[1].index(after: colon)...], radix: 16), p == port, let inode = UInt64(f[9]), inode != 0 else { continue }
            out.insert(inode)
        }
        return out
    }

    /// Pids holding any of `inodes` as an open socket (`/proc/PID/fd/N -> socket:[INODE]`).
    public static func owners(of inodes: Set<UInt64>, root: String = "/proc") -> [Int32] {
        guard !inodes.isEmpty else { return [] }
        var pids: [Int32] = []
        for name in POSIXFiles.list(root) {
            guard let pid = Int32(name) else { continue }
            for fd in POSIXFiles.list("\(root)/\(pid)/fd") {
                guard let link = POSIXFiles.readLink("\(root)/\(pid)/fd/\(fd)"), link.hasPrefix("socket:["),
                      let inode = UInt64(link.dropFirst(8).dropLast()), inodes.contains(inode) else { continue }
                pids.append(pid)
                break
            }
        }
        return pids.sorted()
    }

    /// MemAvailable in bytes.
    public static func memoryAvailable(root: String = "/proc") -> Int64 {
        guard let text = POSIXFiles.readText("\(root)/meminfo"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }) else { return 0 }
        let f = line.split(separator: " ")
        return f.count > 1 ? (Int64(f[1]) ?? 0) * 1024 : 0
    }
}
