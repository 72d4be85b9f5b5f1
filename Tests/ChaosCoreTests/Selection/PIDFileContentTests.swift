import ChaosCore
import Testing

@Suite("What counts as a pid file")
struct PIDFileContentTests {
    func pid(_ text: String, path: String = "/run/x") -> Int32? { PIDFileContent.pid(in: ArraySlice(Array(text.utf8)), path: path) }

    @Test("a pid, with white space around it")
    func plain() {
        #expect(pid("1234\n") == 1234)
        #expect(pid("  42  ") == 42)
        #expect(pid("4194304\r\n") == 4_194_304)
    }

    @Test("anything else is no pid file, so nothing of it is ever shown", arguments: [
        "root:$y$j9T$hash:19000:0:99999:7:::\n", "", "\n", "0", "-5", "12 34", "0x10", "99999999999", "2147483648", "1234\nsecret\n", "1e3",
    ])
    func refused(text: String) { #expect(pid(text) == nil) }

    @Test("a .pid file may go on after its first line (PostgreSQL's postmaster.pid)")
    func postmaster() {
        #expect(pid("4242\n/var/lib/postgresql/15/main\n1700000000\n5432\n", path: "/var/lib/postgresql/15/main/postmaster.pid") == 4242)
        #expect(pid("4242\n/var/lib/postgresql\n", path: "/etc/passwd") == nil)
        #expect(pid(String(repeating: "1", count: PIDFileContent.maxBytes + 1), path: "a.pid") == nil)
    }
}
