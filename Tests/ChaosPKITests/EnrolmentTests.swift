@testable import ChaosPKI
import ChaosCore
import Crypto
import Foundation
import Glibc
import Testing
import X509

@Suite("Enrolment: a host's own key and CSR, join tokens, revocation lists")
struct EnrolmentTests {
    @Test("a host's key is made once (0600) and kept; its CSR proves that key and asks for a name")
    func keyAndCSR() throws {
        let dir = PKITest.scratch("csr")
        defer { PKITest.cleanup(dir) }
        let path = dir + "/pki/agent-key.pem"
        let (key, created) = try SigningRequest.ensureKey(at: path)
        #expect(created)
        #expect(PKIFiles.mode(of: path) == 0o600)
        let (again, createdAgain) = try SigningRequest.ensureKey(at: path)
        #expect(!createdAgain && again.publicKey == key.publicKey)
        let csr = try SigningRequest.make(name: "db1", key: key)
        let verified = try SigningRequest.verify(pem: csr, source: "agent.csr")
        #expect(verified.publicKey == key.publicKey)
        #expect(verified.requestedName == "db1")
        #expect(verified.keyFingerprint.count == 64)
        // openssl agrees that it is a valid, self-signed request.
        let file = try PKITest.save(csr, dir, "agent.csr")
        let out = try PKITest.openssl(["req", "-in", file, "-noout", "-verify"])
        #expect(out.status == 0, "\(out.text)")
    }

    @Test("a CSR that was altered, is not PEM, is huge, or asks for a forged name is refused or ignored")
    func hostileCSR() throws {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let csr = try SigningRequest.make(name: "db1", key: key)
        // Flip one bit inside the signed part (the subject): the signature no longer verifies.
        let body = csr.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        var der = [UInt8](try #require(Data(base64Encoded: body)))
        der[40] ^= 0x01
        let altered = "-----BEGIN CERTIFICATE REQUEST-----\n" + Data(der).base64EncodedString(options: .lineLength64Characters) + "\n-----END CERTIFICATE REQUEST-----\n"
        let e1 = #expect(throws: ChaosError.self) { try SigningRequest.verify(pem: altered, source: "x.csr") }
        #expect(e1?.code == "pki.invalid")
        for junk in ["", "hello", String(repeating: "A", count: 70_000), "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"] {
            #expect(throws: ChaosError.self) { try SigningRequest.verify(pem: junk, source: "x.csr") }
        }
        // A CN with a newline or a reserved name is not offered as a name (the signer must give one).
        for forged in ["db1\nOU=controller", "ca", "x-key", "../etc"] {
            let text = try SigningRequest.make(name: forged, key: key)
            #expect(try SigningRequest.verify(pem: text, source: "x.csr").requestedName == nil)
        }
    }

    @Test("a join token is single-use, short-lived, stored hashed, and burned after five wrong secrets")
    func tokens() throws {
        let dir = PKITest.scratch("tokens")
        defer { PKITest.cleanup(dir) }
        let store = JoinTokenStore(directory: dir)
        let now = Date()
        let (token, entry) = try store.mint(host: "db1", sans: ["10.0.0.11"], ttlSeconds: 3600, days: 30, caPin: String(repeating: "a", count: 64), now: now)
        #expect(entry.host == "db1" && entry.sans == ["10.0.0.11"] && entry.days == 30)
        let stored = try String(contentsOfFile: store.path, encoding: .utf8)
        #expect(!stored.contains(token.secret), "the store must keep only the secret's hash")
        #expect(stored.contains(JoinToken.hash(secret: token.secret)))
        #expect(PKIFiles.mode(of: store.path) == 0o600)
        #expect(try JoinToken(parsing: " " + token.text + " ") == token)

        #expect(try store.redeem(token, now: now).host == "db1")
        let again = #expect(throws: TokenRefusal.self) { try store.redeem(token, now: now) }
        #expect(again?.detail.contains("already used") == true)

        let (late, _) = try store.mint(host: "db2", sans: ["10.0.0.12"], ttlSeconds: 60, days: 90, caPin: token.caPin, now: now)
        #expect(throws: TokenRefusal.self) { try store.redeem(late, now: now.addingTimeInterval(61)) }

        let (guessed, _) = try store.mint(host: "db3", sans: ["10.0.0.13"], ttlSeconds: 3600, days: 90, caPin: token.caPin, now: now)
        for _ in 0..<JoinTokenStore.maxFailures {
            #expect(throws: TokenRefusal.self) { try store.redeem(JoinToken(id: guessed.id, secret: String(repeating: "0", count: 64), caPin: token.caPin), now: now) }
        }
        let burned = #expect(throws: TokenRefusal.self) { try store.redeem(guessed, now: now) }
        #expect(burned?.detail.contains("burned") == true)
        #expect(throws: TokenRefusal.self) { try store.redeem(JoinToken.make(caPin: token.caPin), now: now) }
    }

    @Test("malformed tokens are refused without echoing them", arguments: [
        "", "chaos1", "chaos1.abc.def.ghi", "chaos2.0123456789abcdef." + String(repeating: "a", count: 64) + "." + String(repeating: "b", count: 64),
        "chaos1.0123456789ABCDEF." + String(repeating: "a", count: 64) + "." + String(repeating: "b", count: 64),
        "chaos1.0123456789abcdef." + String(repeating: "a", count: 63) + "." + String(repeating: "b", count: 64),
        "chaos1.0123456789abcdef." + String(repeating: "a", count: 64) + "." + String(repeating: "b", count: 64) + ".x",
    ])
    func malformed(text: String) {
        let error = #expect(throws: ChaosError.self) { try JoinToken(parsing: text) }
        #expect(error?.exit == .usage)
        if text.count > 20 { #expect(error?.message.contains(String(text.dropFirst(24).prefix(20))) == false) }
    }

    @Test("a bad host name or SAN, or a TTL out of range, is refused when the token is made, not at enrolment")
    func mintChecks() throws {
        let dir = PKITest.scratch("mint")
        defer { PKITest.cleanup(dir) }
        let store = JoinTokenStore(directory: dir)
        let pin = String(repeating: "a", count: 64)
        #expect(throws: ChaosError.self) { try store.mint(host: "../db1", sans: ["10.0.0.1"], ttlSeconds: 3600, days: 90, caPin: pin) }
        #expect(throws: ChaosError.self) { try store.mint(host: "db_1", sans: [], ttlSeconds: 3600, days: 90, caPin: pin) }
        #expect(throws: ChaosError.self) { try store.mint(host: "db1", sans: ["not a name"], ttlSeconds: 3600, days: 90, caPin: pin) }
        #expect(throws: ChaosError.self) { try store.mint(host: "db1", sans: [], ttlSeconds: 30, days: 90, caPin: pin) }
        #expect(throws: ChaosError.self) { try store.mint(host: "db1", sans: [], ttlSeconds: 8 * 86_400, days: 90, caPin: pin) }
        #expect(try store.list().isEmpty)
    }

    @Test("eight enrolments racing for one token: exactly one wins")
    func race() async throws {
        let dir = PKITest.scratch("race")
        defer { PKITest.cleanup(dir) }
        let store = JoinTokenStore(directory: dir)
        let (token, _) = try store.mint(host: "db1", sans: ["10.0.0.11"], ttlSeconds: 3600, days: 90, caPin: String(repeating: "a", count: 64))
        let wins = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 { group.addTask { (try? store.redeem(token)) != nil } }
            var n = 0
            for await won in group where won { n += 1 }
            return n
        }
        #expect(wins == 1)
    }

    @Test("the server signs what the token says, for the CSR's key; a broken CSR does not spend the token; the host checks the answer")
    func exchange() async throws {
        let dir = PKITest.scratch("exchange")
        defer { PKITest.cleanup(dir) }
        let ca = try PKITest.authority(in: dir)
        let store = JoinTokenStore(directory: dir)
        let (token, _) = try store.mint(host: "db1", sans: ["10.0.0.11"], ttlSeconds: 3600, days: 30, caPin: ca.pin)
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        // The CSR asks to be the controller: it gets what the token says, an agent named db1.
        let greedy = try SigningRequest.make(name: "controller", role: .controller, key: key)

        guard case .failure(let bad) = Enrolment.answer(Enrolment.Request(token: token, csr: "junk"), ca: ca, tokens: store) else { Issue.record("junk CSR accepted"); return }
        #expect(bad.status == 400)
        guard case .success(let (response, entry)) = Enrolment.answer(Enrolment.Request(token: token, csr: greedy), ca: ca, tokens: store) else {
            Issue.record("enrolment refused"); return
        }
        #expect(entry.host == "db1")
        let (trustedCA, leaf) = try await Enrolment.check(response, pin: ca.pin, key: key)
        #expect(trustedCA == ca.certificate)
        #expect(try CertificateIdentity(certificate: leaf) == CertificateIdentity(role: .agent, name: "db1"))
        #expect(CertificateSummary(leaf).subjectAlternativeNames.contains("IP:10.0.0.11"))
        #expect(abs(leaf.notValidAfter.timeIntervalSinceNow - 30 * 86_400) < 10)

        guard case .failure(let reused) = Enrolment.answer(Enrolment.Request(token: token, csr: greedy), ca: ca, tokens: store) else { Issue.record("token reused"); return }
        #expect(reused.status == 403 && reused.message == TokenRefusal.publicMessage)

        // The host refuses an answer from another CA, or a certificate for another key.
        let other = try CertificateAuthority.create(name: "impostor")
        let e1 = await #expect(throws: ChaosError.self) { try await Enrolment.check(response, pin: other.pin, key: key) }
        #expect(e1?.message.contains("not the one in the token") == true)
        let stranger = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let e2 = await #expect(throws: ChaosError.self) { try await Enrolment.check(response, pin: ca.pin, key: stranger) }
        #expect(e2?.message.contains("not for this host's key") == true)
    }

    @Test("a revocation list: hex serials with or without colons and leading zeros, comments; a bad line names its number")
    func revocationList() throws {
        let dir = PKITest.scratch("crl")
        defer { PKITest.cleanup(dir) }
        let ca = try PKITest.authority(in: dir)
        let alice = try ca.issue(try CertificateRequest(role: .operator, name: "alice")).certificate
        let bob = try ca.issue(try CertificateRequest(role: .operator, name: "bob")).certificate
        let serial = CertificateSummary(alice).serial  // AB:CD:... as 'chaos certs show' prints it
        let list = try RevocationList(text: "# revoked\n\n00:\(serial)  # 2026-12-07 alice: left\n", source: "revoked.txt")
        #expect(list.isRevoked(alice))
        #expect(!list.isRevoked(bob))
        #expect(!RevocationList().isRevoked(alice))
        let e = #expect(throws: ChaosError.self) { try RevocationList(text: "# ok\nab:cd\nnot-hex\n", source: "revoked.txt") }
        #expect(e?.message.contains("line 3") == true)
        #expect(RevocationList.normalized("0x12") == nil)
        #expect(RevocationList.normalized("00:0A:bC") == "0abc")
        #expect(RevocationList.normalized(String(repeating: "a", count: 65)) == nil)
    }
}
