import ChaosPOSIX
import Glibc
import Testing

@Suite("Releasing the executable's start-up pages")
struct StartupPagesTests {
    /// RssFile of this process (kB), from /proc/self/status.
    func residentFilePages() -> Int {
        let status = POSIXFiles.readText("/proc/self/status") ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("RssFile:") } ?? ""
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
    }

    @Test("the test bundle's own mappings are advised, fewer of its pages stay resident, and the code still runs")
    func release() {
        let before = residentFilePages()
        let advised = ThisProcess.releaseStartupPages()
        let after = residentFilePages()
        #expect((advised ?? 0) > 0, "the executable's mappings were found in /proc/self/maps")
        #expect(after < before, "resident file pages: \(before) kB before, \(after) kB after")
        // Everything it released comes back when used: the code below runs from those pages.
        #expect(POSIXFiles.readText("/proc/self/maps")?.isEmpty == false)
        #expect(ThisProcess.releaseStartupPages() == advised, "twice is harmless")
    }
}
