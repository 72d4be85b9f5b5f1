@testable import ChaosAgent
import ChaosCore
import ChaosPKI
import Foundation
import Logging
import Testing

/// The agent's credentials on real files: a reload takes a renewed certificate, a changed file is noticed,
/// and whatever is broken (a key that is not the certificate's, a list that does not parse, a certificate the
/// list revokes) is refused while the previous credentials stay in use.
@Suite("Agent credentials: reload without a restart")
struct AgentCredentialsTests {
    static func scratch() -> String {
        let dir = NSTemporaryDirectory() + "chaos-cred-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a renewed certificate is taken on reload; broken files are refused and the old credentials stay")
    func reload() throws {
        let dir = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ca = try CertificateAuthority.create(name: "test CA")
        try ca.write(to: dir, force: true)
        let request = try CertificateRequest(role: .agent, name: "db1", subjectAlternativeNames: ["127.0.0.1"])
        let first = try ca.issue(request, days: 90)
        try first.write(to: dir, force: true)
        try "".write(toFile: dir + "/revoked.txt", atomically: true, encoding: .utf8)
        let config = AgentConfiguration(address: "127.0.0.1", certificate: dir + "/db1.pem", key: dir + "/db1-key.pem", ca: dir + "/ca.pem")
        var c = config
        c.revoked = dir + "/revoked.txt"
        let metrics = AgentMetrics()
        let credentials = try AgentCredentials(c, hostname: "db1", metrics: metrics, logger: Logger(label: "test"))
        let firstEnd = try #require(credentials.notValidAfter)
        #expect(abs(firstEnd.timeIntervalSinceNow - 90 * 86_400) < 600)
        #expect(!credentials.changed())
        #expect(metrics.render(active: []).contains("chaos_agent_certificate_expiry_timestamp_seconds \(firstEnd.timeIntervalSince1970)"))

        // Renewed for the same key? No: a new pair, written in place (as 'chaos certs issue --force' does).
        let second = try ca.issue(request, days: 10)
        try second.write(to: dir, force: true)
        #expect(credentials.changed())
        #expect(credentials.reload(reason: "test") == nil)
        #expect(abs((credentials.notValidAfter ?? firstEnd).timeIntervalSinceNow - 10 * 86_400) < 600)
        #expect(!credentials.changed())

        // A key that is not the certificate's: refused, the 10-day certificate stays.
        let third = try ca.issue(request, days: 20)
        try third.certificatePEM.write(toFile: dir + "/db1.pem", atomically: true, encoding: .utf8)
        let why = try #require(credentials.reload(reason: "test"))
        #expect(why.contains("Cannot load the agent's TLS files") && why.contains("belong together"), "\(why)")
        #expect(abs((credentials.notValidAfter ?? firstEnd).timeIntervalSinceNow - 10 * 86_400) < 600)
        #expect(!credentials.changed(), "a broken file is not retried until it changes again")

        // The agent's own certificate on the revocation list: refused.
        try second.write(to: dir, force: true)
        try RevocationList.line(serial: PKIFormat.serialHex(second.certificate), subject: "db1", reason: nil, at: Date())
            .write(toFile: dir + "/revoked.txt", atomically: true, encoding: .utf8)
        #expect(credentials.reload(reason: "test")?.contains("revocation list") == true)
        // A list that does not parse: refused.
        try "zzz\n".write(toFile: dir + "/revoked.txt", atomically: true, encoding: .utf8)
        #expect(credentials.reload(reason: "test")?.contains("line 1") == true)
        #expect(metrics.render(active: []).contains("chaos_agent_credential_reloads_total{result=\"failed\"} 3"))
    }

    @Test("without a certificate: a key (0600) and a CSR are made, the error says what to do and exits 78; the key is kept")
    func firstStart() throws {
        let dir = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = AgentConfiguration(address: "127.0.0.1", certificate: dir + "/pki/agent.pem", key: dir + "/pki/agent-key.pem", ca: dir + "/pki/ca.pem")
        let error = #expect(throws: ChaosError.self) { try AgentCredentials(config, hostname: "db7", metrics: AgentMetrics(), logger: Logger(label: "test")) }
        #expect(error?.exit.status == 78)
        #expect(error?.message.contains("chaos certs token --host db7") == true)
        let key = try String(contentsOfFile: dir + "/pki/agent-key.pem", encoding: .utf8)
        let csr = try String(contentsOfFile: dir + "/pki/agent.csr", encoding: .utf8)
        #expect(try SigningRequest.verify(pem: csr, source: "agent.csr").requestedName == "db7")
        #expect(PKIFiles.mode(of: dir + "/pki/agent-key.pem") == 0o600)
        _ = #expect(throws: ChaosError.self) { try AgentCredentials(config, hostname: "db7", metrics: AgentMetrics(), logger: Logger(label: "test")) }
        #expect(try String(contentsOfFile: dir + "/pki/agent-key.pem", encoding: .utf8) == key)
    }
}
