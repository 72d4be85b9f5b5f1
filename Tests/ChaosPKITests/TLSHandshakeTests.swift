@testable import ChaosPKI
import ChaosCore
import Foundation
import Glibc
import Testing

/// Real mutual-TLS handshakes on loopback with `openssl s_server` / `s_client`: the certificates work for
/// what they are for, and only for that.
@Suite("Mutual TLS handshakes with openssl s_server and s_client", .enabled(if: PKITest.hasOpenSSL, "needs openssl (apt-get install openssl)"))
struct TLSHandshakeTests {
    struct Handshake {
        var client: PKITest.Output
        var server: String
    }

    /// An agent-like server (client certificate required, verified against `serverCA`) and one client.
    static func handshake(dir: String, server: WrittenFiles, serverCA: String, client: WrittenFiles, clientCA: String,
                          verifyIP: String = "127.0.0.1") throws -> Handshake {
        let openssl = try #require(PKITest.openssl)
        for _ in 0..<10 {
            let port = Int.random(in: 20_000...60_000)
            let s = Process()
            s.executableURL = URL(fileURLWithPath: openssl)
            s.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", server.certificate, "-key", server.privateKey,
                           "-CAfile", serverCA, "-Verify", "1", "-verify_return_error", "-naccept", "1", "-brief"]
            let out = Pipe()
            s.standardOutput = out
            s.standardError = out
            // stdin stays open until the client is done: s_server stops serving at end of input.
            let input = Pipe()
            s.standardInput = input
            try s.run()
            defer { if s.isRunning { s.terminate() } }
            // Connect as soon as the server listens (a refused connection means not yet, or the port was taken).
            var result: PKITest.Output?
            for _ in 0..<50 {
                let c = try PKITest.run(openssl, ["s_client", "-connect", "127.0.0.1:\(port)", "-cert", client.certificate, "-key", client.privateKey,
                                                  "-CAfile", clientCA, "-verify_return_error", "-verify_ip", verifyIP, "-brief"])
                if c.text.contains("Connection refused") && s.isRunning { usleep(100_000); continue }
                result = c
                break
            }
            try input.fileHandleForWriting.close()
            guard let result else { continue }
            let deadline = Date().addingTimeInterval(10)
            while s.isRunning && Date() < deadline { usleep(20_000) }
            if s.isRunning { s.terminate() }
            let serverText = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            if serverText.contains("Address already in use") { continue }
            return Handshake(client: result, server: serverText)
        }
        throw ChaosError("test.port", "no free port for s_server after 10 tries")
    }

    @Test("an operator and the controller reach an agent; each side verifies the other, and the client checks the agent's IP SAN")
    func mutual() throws {
        let dir = PKITest.scratch("tls")
        defer { PKITest.cleanup(dir) }
        let ca = try PKITest.authority(in: dir)
        let agent = try ca.issue(try CertificateRequest(role: .agent, name: "local", subjectAlternativeNames: ["127.0.0.1"])).write(to: dir, force: false)
        for client in [try CertificateRequest(role: .operator, name: "alice"), try CertificateRequest(role: .controller, name: "")] {
            let files = try ca.issue(client).write(to: dir, force: false)
            let h = try Self.handshake(dir: dir, server: agent, serverCA: dir + "/ca.pem", client: files, clientCA: dir + "/ca.pem")
            #expect(h.client.status == 0, "\(h.client.text)")
            #expect(h.client.text.contains("Verification: OK"), "\(h.client.text)")
            #expect(h.client.text.contains("Peer certificate: O = chaos, OU = agent, CN = local"))
            #expect(!h.server.contains("verify error"), "\(h.server)")
            #expect(h.server.contains("Peer certificate: O = chaos, OU = \(client.role), CN = \(client.name)"), "\(h.server)")
            #expect(h.server.contains("Verification: OK"), "\(h.server)")
        }
    }

    @Test("the agent refuses a client certificate from another CA")
    func rogueClient() throws {
        let dir = PKITest.scratch("tls"), other = PKITest.scratch("tls-rogue")
        defer { PKITest.cleanup(dir); PKITest.cleanup(other) }
        let ca = try PKITest.authority(in: dir)
        let rogue = try PKITest.authority(in: other, name: "rogue CA")
        let agent = try ca.issue(try CertificateRequest(role: .agent, name: "local", subjectAlternativeNames: ["127.0.0.1"])).write(to: dir, force: false)
        let mallory = try rogue.issue(try CertificateRequest(role: .controller, name: "")).write(to: other, force: false)
        let h = try Self.handshake(dir: dir, server: agent, serverCA: dir + "/ca.pem", client: mallory, clientCA: dir + "/ca.pem")
        #expect(h.server.contains("certificate verify failed"), "\(h.server)")
        #expect(!h.server.contains("Peer certificate: "), "\(h.server)")
    }

    @Test("a client refuses an agent whose SANs do not hold the address it dialled")
    func wrongAddress() throws {
        let dir = PKITest.scratch("tls")
        defer { PKITest.cleanup(dir) }
        let ca = try PKITest.authority(in: dir)
        let agent = try ca.issue(try CertificateRequest(role: .agent, name: "db1", subjectAlternativeNames: ["10.0.0.11"])).write(to: dir, force: false)
        let alice = try ca.issue(try CertificateRequest(role: .operator, name: "alice")).write(to: dir, force: false)
        let h = try Self.handshake(dir: dir, server: agent, serverCA: dir + "/ca.pem", client: alice, clientCA: dir + "/ca.pem")
        #expect(h.client.status != 0)
        #expect(h.client.text.contains("IP address mismatch"), "\(h.client.text)")
    }
}
