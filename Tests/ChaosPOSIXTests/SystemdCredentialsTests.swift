import ChaosPOSIX
import Foundation
import Testing

@Suite("Files from systemd's LoadCredential=")
struct SystemdCredentialsTests {
    @Test("a file named by its base name in CREDENTIALS_DIRECTORY wins; otherwise the path as written")
    func resolve() throws {
        let dir = NSTemporaryDirectory() + "chaos-cred-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "key".write(toFile: dir + "/controller-key.pem", atomically: true, encoding: .utf8)
        #expect(SystemdCredentials.resolve("/etc/chaos/pki/controller-key.pem", directory: dir) == dir + "/controller-key.pem")
        #expect(SystemdCredentials.resolve("/etc/chaos/pki/controller.pem", directory: dir) == "/etc/chaos/pki/controller.pem")
        #expect(SystemdCredentials.resolve("/etc/chaos/pki/controller-key.pem", directory: nil) == "/etc/chaos/pki/controller-key.pem")
        #expect(SystemdCredentials.resolve("/etc/chaos/pki/controller-key.pem", directory: "") == "/etc/chaos/pki/controller-key.pem")
        // Nothing outside the directory: '..' and '/' as a base name fall back to the path.
        #expect(SystemdCredentials.resolve("/etc/..", directory: dir) == "/etc/..")
        #expect(SystemdCredentials.resolve("/", directory: dir) == "/")
    }

    @Test("a file's stamp changes when it is replaced, even with the same size in the same second")
    func stamp() throws {
        let dir = NSTemporaryDirectory() + "chaos-stamp-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/a.pem"
        #expect(POSIXFiles.stamp(path).hasSuffix(":missing"))
        try "aaaa".write(toFile: path, atomically: true, encoding: .utf8)
        let first = POSIXFiles.stamp(path)
        try "bbbb".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(POSIXFiles.stamp(path) != first)
    }
}
