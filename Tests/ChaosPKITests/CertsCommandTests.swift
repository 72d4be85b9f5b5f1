@testable import ChaosPKI
import ChaosCore
import Foundation
import Testing
import X509

/// `chaos certs` end to end through the real binary (built beside the test bundle by `swift build --build-tests`).
@Suite("chaos certs: init, issue, show, verify through the binary", .enabled(if: PKITest.hasChaos, "needs the chaos binary beside the tests"))
struct CertsCommandTests {
    func chaos(_ args: [String], pki: String? = nil) throws -> PKITest.Output {
        try PKITest.run(try #require(PKITest.chaos), args, environment: pki.map { ["CHAOS_PKI_DIR": $0] } ?? [:])
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    @Test("init writes the CA (key 0600) and refuses to overwrite it without --force (exit 1, pki.exists)")
    func initCA() throws {
        let dir = PKITest.scratch("cli")
        defer { PKITest.cleanup(dir) }
        let first = try chaos(["certs", "init", "--dir", dir + "/pki", "--days", "365"])
        #expect(first.status == 0, "\(first.text)")
        #expect(first.text.contains("Created CA 'chaos CA "))
        #expect(PKIFiles.mode(of: dir + "/pki/ca-key.pem") == 0o600)
        let before = try PKIFiles.readText(dir + "/pki/ca-key.pem")

        let again = try chaos(["certs", "init", "--dir", dir + "/pki", "--output", "json"])
        #expect(again.status == 1)
        let error = try #require(try json(again.text)["error"] as? [String: Any])
        #expect(error["code"] as? String == "pki.exists")
        #expect(try PKIFiles.readText(dir + "/pki/ca-key.pem") == before)

        let forced = try chaos(["certs", "init", "--dir", dir + "/pki", "--force", "--name", "second"])
        #expect(forced.status == 0)
        #expect(try PKIFiles.readText(dir + "/pki/ca-key.pem") != before)
    }

    @Test("issue --inventory makes a pair per host; approve signs a CSR for its key; token --list hides secrets; revoke appends once; --observer is client-only")
    func fleetCommands() throws {
        let dir = PKITest.scratch("cli")
        defer { PKITest.cleanup(dir) }
        let pki = dir + "/pki"
        #expect(try chaos(["certs", "init", "--pki-dir", pki]).status == 0)
        try """
        apiVersion: chaos/v1
        kind: Inventory
        hosts:
          - {name: db1, address: 10.0.0.11}
          - {name: db2, address: db2.staging}
        """.write(toFile: dir + "/inv.yaml", atomically: true, encoding: .utf8)
        let issued = try chaos(["certs", "issue", "--inventory", dir + "/inv.yaml", "--pki-dir", pki, "--out", dir + "/issued", "-o", "json"])
        #expect(issued.status == 0, "\(issued.text)")
        #expect(PKIFiles.mode(of: dir + "/issued/db1/db1-key.pem") == 0o600)
        let db2 = try PKIFiles.readCertificates(dir + "/issued/db2/db2.pem")[0]
        #expect(CertificateSummary(db2).subjectAlternativeNames.contains("DNS:db2.staging"))
        // A bad host name stops the command before anything is written.
        try "apiVersion: chaos/v1\nkind: Inventory\nhosts:\n  - {name: db9, address: 10.0.0.19}\n  - {name: ca, address: 10.0.0.20}\n"
            .write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        #expect(try chaos(["certs", "issue", "--inventory", dir + "/bad.yaml", "--pki-dir", pki, "--out", dir + "/bad"]).status != 0)
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad/db9/db9.pem"))

        let key = try SigningRequest.ensureKey(at: dir + "/host/agent-key.pem").key
        try SigningRequest.make(name: "db3", key: key).write(toFile: dir + "/host/agent.csr", atomically: true, encoding: .utf8)
        let approved = try chaos(["certs", "approve", dir + "/host/agent.csr", "--san", "10.0.0.13", "--pki-dir", pki, "--out", dir + "/host", "-o", "json"])
        #expect(approved.status == 0, "\(approved.text)")
        let leaf = try PKIFiles.readCertificates(dir + "/host/db3.pem")[0]
        #expect(leaf.publicKey == key.publicKey)
        #expect(try CertificateIdentity(certificate: leaf) == CertificateIdentity(role: .agent, name: "db3"))
        #expect(try chaos(["certs", "approve", dir + "/host/agent.csr", "--san", "10.0.0.13", "--pki-dir", pki, "--out", dir + "/host"]).status == 1, "no overwrite without --force")
        #expect(try chaos(["certs", "approve", dir + "/inv.yaml", "--pki-dir", pki]).status == 1, "not a CSR")

        let token = try json(try chaos(["certs", "token", "--host", "db4", "--san", "10.0.0.14", "--pki-dir", pki, "-o", "json"]).text)["token"] as? String
        let listed = try chaos(["certs", "token", "--list", "--pki-dir", pki])
        #expect(listed.text.contains("db4") && listed.text.contains("open"))
        #expect(!listed.text.contains(String((token ?? "x.x.secret").split(separator: ".")[2])))
        #expect(try chaos(["certs", "token", "--host", "db5", "--ttl", "30s", "--pki-dir", pki]).status != 0)

        let revoked = try chaos(["certs", "revoke", dir + "/issued/db1/db1.pem", "--pki-dir", pki, "--reason", "lost"])
        #expect(revoked.status == 0, "\(revoked.text)")
        let again = try json(try chaos(["certs", "revoke", dir + "/issued/db1/db1.pem", "--pki-dir", pki, "-o", "json"]).text)
        #expect(again["alreadyListed"] as? Bool == true)
        let list = try RevocationList.load(pki + "/revoked.txt")
        #expect(list.isRevoked(try PKIFiles.readCertificates(dir + "/issued/db1/db1.pem")[0]))
        #expect(list.serials.count == 1)
        #expect(try chaos(["certs", "revoke", "--serial", "zz", "--pki-dir", pki]).status == 64)

        let observer = try chaos(["certs", "issue", "--observer", "prometheus", "--pki-dir", pki])
        #expect(observer.status == 0, "\(observer.text)")
        let o = try PKIFiles.readCertificates(pki + "/prometheus.pem")[0]
        #expect(try CertificateIdentity(certificate: o).role == .observer)
        #expect(try chaos(["certs", "issue", "--observer", "p2", "--san", "10.0.0.1", "--pki-dir", pki]).status == 64)
    }

    @Test("issue writes each role's files from CHAOS_PKI_DIR, openssl verifies them, show reads them back")
    func issueAndShow() throws {
        let dir = PKITest.scratch("cli")
        defer { PKITest.cleanup(dir) }
        let pki = dir + "/pki"
        #expect(try chaos(["certs", "init"], pki: pki).status == 0)

        let agent = try chaos(["certs", "issue", "--agent", "db1", "--san", "10.0.0.11,db1.staging", "--san", "fd00::11"], pki: pki)
        #expect(agent.status == 0, "\(agent.text)")
        #expect(agent.text.contains("SANs: DNS:db1, DNS:db1.staging, IP:10.0.0.11, IP:fd00::11"))
        #expect(try chaos(["certs", "issue", "--controller"], pki: pki).status == 0)
        let op = try chaos(["certs", "issue", "--operator", "alice", "--out", dir + "/alice", "--days", "30", "--output", "json"], pki: pki)
        #expect(op.status == 0, "\(op.text)")
        let opJSON = try json(op.text)
        #expect((opJSON["files"] as? [String: String])?["privateKey"] == dir + "/alice/alice-key.pem")
        #expect((opJSON["certificate"] as? [String: Any])?["daysLeft"] as? Int == 29 || (opJSON["certificate"] as? [String: Any])?["daysLeft"] as? Int == 30)

        for (cert, key) in [(pki + "/db1.pem", pki + "/db1-key.pem"), (pki + "/controller.pem", pki + "/controller-key.pem"),
                            (dir + "/alice/alice.pem", dir + "/alice/alice-key.pem")] {
            #expect(PKIFiles.mode(of: key) == 0o600)
            if PKITest.hasOpenSSL { #expect(try PKITest.openssl(["verify", "-CAfile", pki + "/ca.pem", cert]).status == 0) }
        }

        let show = try chaos(["certs", "show", pki + "/db1.pem", "--output", "json"])
        #expect(show.status == 0)
        let certs = try #require(try json(show.text)["certificates"] as? [[String: Any]])
        let db1 = try #require(certs.first)
        #expect(db1["role"] as? String == "agent")
        #expect(db1["name"] as? String == "db1")
        #expect(db1["status"] as? String == "valid")
        #expect(db1["subjectAlternativeNames"] as? [String] == ["DNS:db1", "DNS:db1.staging", "IP:10.0.0.11", "IP:fd00::11"])
        #expect(db1["extendedKeyUsage"] as? [String] == ["serverAuth", "clientAuth"])
        if PKITest.hasOpenSSL {
            let fp = try PKITest.openssl(["x509", "-in", pki + "/db1.pem", "-noout", "-fingerprint", "-sha256"]).text
            #expect(fp.uppercased().contains("FINGERPRINT=\(db1["sha256Fingerprint"] as? String ?? "?")"), "\(fp)")
        }
        let table = try chaos(["certs", "show", pki + "/ca.pem"])
        #expect(table.text.contains("role        CA"))
        #expect(table.text.contains("key usage   keyCertSign, cRLSign"))

        // Renewing needs --force; the old files stay until then.
        let again = try chaos(["certs", "issue", "--agent", "db1", "--san", "10.0.0.11"], pki: pki)
        #expect(again.status == 1)
        #expect(again.text.contains("already exists. Pass --force"))
        #expect(try chaos(["certs", "issue", "--agent", "db1", "--san", "10.0.0.11", "--force"], pki: pki).status == 0)
    }

    @Test("usage errors exit 64; a missing CA exits 1 and says to run init")
    func errors() throws {
        let dir = PKITest.scratch("cli")
        defer { PKITest.cleanup(dir) }
        #expect(try chaos(["certs", "issue", "--agent", "db1", "--operator", "bob", "--dir", dir]).status == 64)
        #expect(try chaos(["certs", "issue", "--dir", dir]).status == 64)
        #expect(try chaos(["certs", "issue", "--operator", "bob", "--san", "10.0.0.1", "--dir", dir]).status == 64)
        #expect(try chaos(["certs", "init", "--days", "0", "--dir", dir]).status == 64)
        let missing = try chaos(["certs", "issue", "--controller", "--dir", dir + "/none"])
        #expect(missing.status == 1)
        #expect(missing.text.contains("chaos certs init --pki-dir \(dir)/none"))
        #expect(try chaos(["certs", "init", "--dir", dir]).status == 0)
        let badSAN = try chaos(["certs", "issue", "--agent", "db1", "--san", "10.0.0", "--dir", dir, "--output", "json"])
        #expect(badSAN.status == 64)
        #expect(badSAN.text.contains("\"pki.usage\""))
        #expect(try chaos(["certs", "issue", "--agent", "ca", "--san", "10.0.0.1", "--dir", dir]).status == 64)
        #expect(try chaos(["certs", "show", dir + "/ca-key.pem"]).status == 1)
    }

    @Test("verify trusts leaves of the CA, refuses another CA's and the wrong purpose (exit 1)")
    func verify() throws {
        let dir = PKITest.scratch("cli")
        defer { PKITest.cleanup(dir) }
        let a = dir + "/a", b = dir + "/b"
        #expect(try chaos(["certs", "init", "--dir", a]).status == 0)
        #expect(try chaos(["certs", "init", "--dir", b, "--name", "other"]).status == 0)
        #expect(try chaos(["certs", "issue", "--operator", "alice", "--dir", a]).status == 0)
        let ok = try chaos(["certs", "verify", a + "/alice.pem", "--dir", a, "--usage", "client"])
        #expect(ok.status == 0, "\(ok.text)")
        #expect(ok.text.contains("identity operator:alice"))
        #expect(try chaos(["certs", "verify", a + "/alice.pem", "--dir", a, "--usage", "server"]).status == 1)
        let foreign = try chaos(["certs", "verify", a + "/alice.pem", "--ca", b + "/ca.pem", "--output", "json"])
        #expect(foreign.status == 1)
        #expect(try json(foreign.text)["trusted"] as? Bool == false)
        #expect(try chaos(["certs", "verify", a + "/alice.pem", "--ca", b + "/ca.pem", "--ca", a + "/ca.pem"]).status == 0)
    }
}
