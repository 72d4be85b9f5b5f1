import Glibc

extension ThisProcess {
    /// Gives back the pages of our own executable that only start-up needed (issue 21).
    ///
    /// A static Swift binary is large (the agent is 170 MB), and start-up touches pages all over it:
    /// the runtime scans every protocol conformance record, and the kernel maps 16 neighbours of
    /// each page touched. The agent's resident set was 34 MiB, 28 MiB of it pages of the binary, of
    /// which it used 6 MiB afterwards. This asks the kernel to reclaim the executable's pages now
    /// (`MADV_PAGEOUT`, Linux 5.4) and to read it without read-around from here on (`MADV_RANDOM`);
    /// what is used again comes back on its first touch. Clean file pages are dropped; pages the
    /// process wrote (relocated data) are anonymous: they stay without swap, and with swap they may
    /// be swapped out like any idle memory. Either way no content changes, only what is resident. Mappings of a replaced binary ("(deleted)")
    /// and every other file are left alone.
    /// - Returns: how many mappings were advised, or `nil` when /proc/self/maps could not be read.
    @discardableResult
    public static func releaseStartupPages() -> Int? {
        guard let exe = POSIXFiles.readLink("/proc/self/exe"), let maps = POSIXFiles.readText("/proc/self/maps", limit: 4 << 20) else { return nil }
        var advised = 0
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 6, String(fields[5]) == exe else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16), end > start,
                  let address = UnsafeMutableRawPointer(bitPattern: start) else { continue }
            _ = madvise(address, Int(end - start), MADV_RANDOM)
            if madvise(address, Int(end - start), pageOut) == 0 { advised += 1 }
        }
        return advised
    }

    /// `MADV_PAGEOUT` (Linux 5.4; not in every Glibc module map).
    private static let pageOut: Int32 = 21
}
