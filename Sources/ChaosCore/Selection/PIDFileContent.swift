/// What a pid file may hold. Pure; the host reads at most ``maxBytes`` of a regular file and asks
/// this. A `pidfile` selector names a path, and the agent reads it as root: any root-readable file
/// could be named, so its content is never echoed, and only a file that is plainly a pid file counts.
public enum PIDFileContent {
    /// More than this is no pid file (postmaster.pid, the longest common one, is under 200 bytes).
    public static let maxBytes = 4096

    /// The pid in `bytes`, or `nil` when they are not a pid file's content.
    ///
    /// Accepted: the whole content is one process id (digits, with white space around it), or, for a
    /// file whose name ends in `.pid`, the first line is one (PostgreSQL's postmaster.pid goes on with
    /// its data directory and port). Nothing else: a first line of /etc/shadow is not a pid.
    public static func pid(in bytes: ArraySlice<UInt8>, path: String) -> Int32? {
        guard bytes.count <= maxBytes else { return nil }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        func number(_ s: ArraySlice<UInt8>) -> Int32? {
            let trimmed = s.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
            guard !trimmed.isEmpty, trimmed.count <= 10, trimmed.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            var n: Int64 = 0
            for b in trimmed { n = n * 10 + Int64(b - 0x30) }
            guard n > 0, n <= Int64(Int32.max) else { return nil }
            return Int32(n)
        }
        if let whole = number(bytes) { return whole }
        guard path.hasSuffix(".pid"), let newline = bytes.firstIndex(of: 0x0A) else { return nil }
        return number(bytes[bytes.startIndex..<newline])
    }
}
