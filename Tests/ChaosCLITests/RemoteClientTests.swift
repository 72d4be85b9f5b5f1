import ChaosCore
import ChaosRemote
import Foundation
import Testing

@Suite("The agent client's credentials")
struct RemoteClientTests {
    @Test("unreadable or broken certificate files are usage errors that name the file and the fix")
    func badFiles() throws {
        let dir = NSTemporaryDirectory() + "chaos-remote-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "not a certificate".write(toFile: dir + "/alice.pem", atomically: true, encoding: .utf8)
        try "not a key".write(toFile: dir + "/alice-key.pem", atomically: true, encoding: .utf8)
        let broken = ClientCredentials(certificate: dir + "/alice.pem", key: dir + "/alice-key.pem", ca: dir + "/alice.pem")
        do { _ = try HTTPAgentConnector().open(broken); Issue.record("must fail") } catch {
            #expect(error.code == "pki.invalid" && error.exit == .usage)
            #expect(error.message.contains(dir + "/alice.pem") && error.message.contains("chaos certs issue"))
        }
        let missing = ClientCredentials(certificate: dir + "/bob.pem", key: dir + "/bob-key.pem", ca: dir + "/ca.pem")
        do { _ = try HTTPAgentConnector().open(missing); Issue.record("must fail") } catch {
            #expect(error.message.contains(dir + "/bob.pem"))
        }
    }
}
