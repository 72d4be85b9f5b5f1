@testable import ChaosPKI
import ChaosCore
import Foundation
import SwiftASN1
import Testing
import X509

@Suite("Certificate authority: creation, issuing, and what openssl makes of the results")
struct CertificateAuthorityTests {
    // MARK: The CA itself

    @Test("a new CA is self-signed, CA:true pathlen 0, keyCertSign+cRLSign, with a subject key identifier")
    func caExtensions() throws {
        let now = Date()
        let ca = try CertificateAuthority.create(name: "test CA", days: 30, now: now)
        let cert = ca.certificate
        #expect(cert.subject == cert.issuer)
        #expect(cert.subject.description == "CN=test CA,O=chaos")
        #expect(try cert.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
        #expect(cert.extensions[oid: .X509ExtensionID.basicConstraints]?.critical == true)
        let usage = try #require(try cert.extensions.keyUsage)
        #expect(usage.keyCertSign && usage.cRLSign && !usage.digitalSignature)
        #expect(cert.extensions[oid: .X509ExtensionID.keyUsage]?.critical == true)
        #expect(try cert.extensions.subjectKeyIdentifier?.keyIdentifier.count == 20)
        #expect(cert.publicKey.isValidSignature(cert.signature, for: cert))
        #expect(abs(cert.notValidAfter.timeIntervalSince(now) - 30 * 86_400) < 2)
        #expect(cert.notValidBefore < now)
    }

    @Test("the default CA is valid for ten years and named after its day of creation")
    func caDefaults() throws {
        let now = Date()
        let ca = try CertificateAuthority.create(now: now)
        #expect(abs(ca.certificate.notValidAfter.timeIntervalSince(now) - 3650 * 86_400) < 2)
        #expect(CertificateIdentity.values(of: .RDNAttributeType.commonName, in: ca.certificate.subject) == ["chaos CA \(PKIFormat.day(now))"])
    }

    @Test("a CA written to disk loads back with the same certificate and key")
    func caRoundTrip() throws {
        let dir = PKITest.scratch()
        defer { PKITest.cleanup(dir) }
        let ca = try PKITest.authority(in: dir)
        let loaded = try CertificateAuthority.load(directory: dir)
        #expect(loaded.certificate == ca.certificate)
        #expect(loaded.privateKey.publicKey == ca.privateKey.publicKey)
        // The loaded CA signs what the original's certificate verifies.
        let leaf = try loaded.issue(try CertificateRequest(role: .operator, name: "bob"))
        #expect(ca.certificate.publicKey.isValidSignature(leaf.certificate.signature, for: leaf.certificate))
    }

    @Test("loading refuses a key that belongs to another CA, a missing directory, and a leaf posing as CA")
    func caLoadErrors() throws {
        let a = PKITest.scratch(), b = PKITest.scratch()
        defer { PKITest.cleanup(a); PKITest.cleanup(b) }
        let caA = try PKITest.authority(in: a)
        try PKITest.authority(in: b)
        let mixed = try CertificateAuthority.load(directory: b).certificatePEM()
        let keyA = try PKIFiles.readText(a + "/ca-key.pem")
        let mismatch = #expect(throws: ChaosError.self) { try CertificateAuthority(certificatePEM: mixed, privateKeyPEM: keyA) }
        #expect(mismatch?.code == "pki.invalid")
        #expect(mismatch?.message.contains("is not the private key") == true)

        let missing = #expect(throws: ChaosError.self) { try CertificateAuthority.load(directory: a + "/nope") }
        #expect(missing?.code == "pki.io")
        #expect(missing?.message.contains("chaos certs init --pki-dir") == true)

        let leaf = try caA.issue(try CertificateRequest(role: .operator, name: "eve"))
        let notCA = #expect(throws: ChaosError.self) { try CertificateAuthority(certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM) }
        #expect(notCA?.message.contains("is not a CA certificate") == true)

        let garbage = #expect(throws: ChaosError.self) { try CertificateAuthority(certificatePEM: "hello", privateKeyPEM: keyA) }
        #expect(garbage?.code == "pki.invalid")
    }

    // MARK: Leaves

    @Test("each role gets its subject, SANs, key usage, EKU, AKI = CA's SKI, and a 20-byte serial", arguments: [CertificateRole.agent, .controller, .operator])
    func leafContents(role: CertificateRole) throws {
        let ca = try CertificateAuthority.create()
        let request = try #require(try PKITest.requests().first { $0.role == role })
        let now = Date()
        let leaf = try ca.issue(request, now: now).certificate
        #expect(leaf.issuer == ca.certificate.subject)
        #expect(try CertificateIdentity(certificate: leaf) == CertificateIdentity(role: role, name: request.name))
        #expect(CertificateIdentity.values(of: .RDNAttributeType.organizationName, in: leaf.subject) == ["chaos"])
        #expect(try leaf.extensions.basicConstraints == .notCertificateAuthority)
        let usage = try #require(try leaf.extensions.keyUsage)
        #expect(usage.digitalSignature && !usage.keyCertSign)
        let eku = try #require(try leaf.extensions.extendedKeyUsage)
        #expect(Array(eku) == role.extendedKeyUsages)
        #expect(leaf.extensions[oid: .X509ExtensionID.extendedKeyUsage]?.critical == false)
        #expect(try leaf.extensions.authorityKeyIdentifier?.keyIdentifier == ca.certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
        #expect(try leaf.extensions.subjectKeyIdentifier?.keyIdentifier == SubjectKeyIdentifier(hash: leaf.publicKey).keyIdentifier)
        #expect(leaf.serialNumber.bytes.count == 20)
        #expect(abs(leaf.notValidAfter.timeIntervalSince(now) - 90 * 86_400) < 2)
        let sans = (try leaf.extensions.subjectAlternativeNames).map { Array($0) } ?? []
        switch role {
        case .agent:
            #expect(sans.map(PKIFormat.generalName) == ["DNS:db1", "DNS:db1.staging", "IP:10.0.0.11", "IP:fd00::11"])
        case .controller:
            #expect(sans.map(PKIFormat.generalName) == ["DNS:controller.staging"])
        case .operator, .observer:
            #expect(sans.isEmpty)
        }
        #expect(ca.certificate.publicKey.isValidSignature(leaf.signature, for: leaf))
    }

    @Test("serial numbers are random and always exactly 20 bytes in DER, never 21")
    func serials() throws {
        var seen = Set<Certificate.SerialNumber>()
        for _ in 0..<200 {
            let serial = PKIRandom.serialNumber()
            #expect(serial.bytes.count == 20)
            #expect(serial.bytes.first.map { $0 & 0x80 == 0 && $0 & 0x40 != 0 } == true)
            seen.insert(serial)
        }
        #expect(seen.count == 200)
    }

    @Test("--days sets the leaf validity; a leaf may not outlive its CA")
    func leafDays() throws {
        // Certificates hold whole seconds (swift-certificates rounds), so use a whole second here.
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let ca = try CertificateAuthority.create(days: 100, now: now)
        let request = try CertificateRequest(role: .operator, name: "alice")
        let leaf = try ca.issue(request, days: 7, now: now)
        #expect(abs(leaf.certificate.notValidAfter.timeIntervalSince(now) - 7 * 86_400) < 2)
        let tooLong = #expect(throws: ChaosError.self) { try ca.issue(request, days: 101, now: now) }
        #expect(tooLong?.exit == .usage)
        #expect(tooLong?.message.contains("--days 100 or fewer") == true, "\(tooLong?.message ?? "")")
        #expect(try ca.issue(request, days: 100, now: now).certificate.notValidAfter == ca.certificate.notValidAfter)
        #expect(throws: ChaosError.self) { try ca.issue(request, days: 0, now: now) }
    }

    // MARK: openssl

    @Test("openssl verify accepts every role's leaf and reads the intended purposes",
          .enabled(if: PKITest.hasOpenSSL, "needs openssl (apt-get install openssl)"))
    func opensslVerify() throws {
        let dir = PKITest.scratch()
        defer { PKITest.cleanup(dir) }
        let ca = try PKITest.authority(in: dir)
        for request in try PKITest.requests() {
            let files = try ca.issue(request).write(to: dir, force: false)
            let ok = try PKITest.openssl(["verify", "-CAfile", dir + "/ca.pem", files.certificate])
            #expect(ok.status == 0, "\(request.role): \(ok.text)")
            #expect(ok.text.contains(": OK"))
            let client = try PKITest.openssl(["verify", "-purpose", "sslclient", "-CAfile", dir + "/ca.pem", files.certificate])
            #expect(client.status == 0, "\(request.role) as client: \(client.text)")
            let server = try PKITest.openssl(["verify", "-purpose", "sslserver", "-CAfile", dir + "/ca.pem", files.certificate])
            #expect((server.status == 0) == (request.role != .operator && request.role != .observer), "\(request.role) as server: \(server.text)")
            // The key on disk is the key of the certificate.
            let certKey = try PKITest.openssl(["x509", "-in", files.certificate, "-noout", "-pubkey"])
            let fileKey = try PKITest.openssl(["pkey", "-in", files.privateKey, "-pubout"])
            #expect(certKey.status == 0 && certKey.text == fileKey.text)
        }
    }

    @Test("openssl x509 -text shows the subject, SANs, EKU, key usage, basic constraints and key identifiers",
          .enabled(if: PKITest.hasOpenSSL, "needs openssl (apt-get install openssl)"))
    func opensslText() throws {
        let dir = PKITest.scratch()
        defer { PKITest.cleanup(dir) }
        let ca = try PKITest.authority(in: dir, name: "text CA")
        let caText = try PKITest.openssl(["x509", "-in", dir + "/ca.pem", "-noout", "-text"]).text
        #expect(caText.contains("Subject: O = chaos, CN = text CA"))
        #expect(caText.contains("X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0"))
        #expect(caText.contains("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"))
        #expect(caText.contains("X509v3 Subject Key Identifier"))
        #expect(caText.contains("ecdsa-with-SHA256"))
        #expect(caText.contains("NIST CURVE: P-256"))

        let requests = try PKITest.requests()
        var texts: [CertificateRole: String] = [:]
        for request in requests {
            let files = try ca.issue(request).write(to: dir, force: false)
            texts[request.role] = try PKITest.openssl(["x509", "-in", files.certificate, "-noout", "-text"]).text
        }
        let agent = try #require(texts[.agent])
        #expect(agent.contains("Subject: O = chaos, OU = agent, CN = db1"))
        #expect(agent.contains("Issuer: O = chaos, CN = text CA"))
        #expect(agent.contains("X509v3 Subject Alternative Name: \n                DNS:db1, DNS:db1.staging, IP Address:10.0.0.11, IP Address:FD00:0:0:0:0:0:0:11"))
        #expect(agent.contains("X509v3 Extended Key Usage: \n                TLS Web Server Authentication, TLS Web Client Authentication"))
        #expect(agent.contains("X509v3 Key Usage: critical\n                Digital Signature"))
        #expect(agent.contains("X509v3 Basic Constraints: critical\n                CA:FALSE"))
        #expect(agent.contains("X509v3 Authority Key Identifier"))

        let controller = try #require(texts[.controller])
        #expect(controller.contains("Subject: O = chaos, OU = controller, CN = controller"))
        #expect(controller.contains("TLS Web Server Authentication, TLS Web Client Authentication"))
        #expect(controller.contains("DNS:controller.staging"))

        let op = try #require(texts[.operator])
        #expect(op.contains("Subject: O = chaos, OU = operator, CN = alice"))
        #expect(op.contains("X509v3 Extended Key Usage: \n                TLS Web Client Authentication\n"))
        #expect(!op.contains("Subject Alternative Name"))
        #expect(!op.contains("Server Authentication"))

        // The AKI of a leaf is the SKI of the CA, as openssl prints them.
        func hexLine(after marker: String, in text: String) -> String? {
            guard let r = text.range(of: marker) else { return nil }
            return text[r.upperBound...].split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let ski = try #require(hexLine(after: "X509v3 Subject Key Identifier: \n", in: caText))
        let aki = try #require(hexLine(after: "X509v3 Authority Key Identifier: \n", in: agent))
        #expect(aki.hasSuffix(ski))

        // A 20-byte serial: 40 hex digits.
        let serial = try PKITest.openssl(["x509", "-in", dir + "/db1.pem", "-noout", "-serial"]).text
        #expect(serial.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("serial=".count).count == 40)
    }

    @Test("a leaf signed by another CA fails openssl verify and the Verifier",
          .enabled(if: PKITest.hasOpenSSL, "needs openssl (apt-get install openssl)"))
    func otherCA() async throws {
        let dir = PKITest.scratch(), other = PKITest.scratch()
        defer { PKITest.cleanup(dir); PKITest.cleanup(other) }
        let ca = try PKITest.authority(in: dir)
        let rogue = try PKITest.authority(in: other, name: "rogue CA")
        // Same subject as a genuine certificate, so only the signature tells them apart.
        let forged = try rogue.issue(try CertificateRequest(role: .controller, name: "controller"))
        let path = try PKITest.save(forged.certificatePEM, dir, "forged.pem")
        let out = try PKITest.openssl(["verify", "-CAfile", dir + "/ca.pem", path])
        #expect(out.status != 0)
        #expect(out.text.contains("unable to get local issuer certificate"), "\(out.text)")

        let verdict = await TrustedRoots([ca.certificate]).verify(forged.certificate, usage: .clientAuth)
        guard case .untrusted(let reason) = verdict else { Issue.record("a forged certificate was trusted"); return }
        #expect(reason.contains("not issued by a trusted CA"))

        // A rogue CA with the very same name as the real one is refused too.
        let twin = try CertificateAuthority.create(name: CertificateIdentity.values(of: .RDNAttributeType.commonName, in: ca.certificate.subject)[0])
        let twinLeaf = try twin.issue(try CertificateRequest(role: .operator, name: "mallory"))
        #expect(twinLeaf.certificate.issuer == ca.certificate.subject)
        #expect(await !TrustedRoots([ca.certificate]).verify(twinLeaf.certificate).isTrusted)
        let twinPath = try PKITest.save(twinLeaf.certificatePEM, dir, "twin.pem")
        #expect(try PKITest.openssl(["verify", "-CAfile", dir + "/ca.pem", twinPath]).status != 0)
    }

    @Test("an expired leaf is reported expired by openssl verify, by the validity check and by the Verifier",
          .enabled(if: PKITest.hasOpenSSL, "needs openssl (apt-get install openssl)"))
    func expired() async throws {
        let dir = PKITest.scratch()
        defer { PKITest.cleanup(dir) }
        let ca = try PKITest.authority(in: dir)
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let old = try ca.issue(try CertificateRequest(role: .agent, name: "db9", subjectAlternativeNames: ["10.0.0.19"]),
                               notValidBefore: now.addingTimeInterval(-10 * 86_400), notValidAfter: now.addingTimeInterval(-86_400))
        let files = try old.write(to: dir, force: false)
        let out = try PKITest.openssl(["verify", "-CAfile", dir + "/ca.pem", files.certificate])
        #expect(out.status != 0)
        #expect(out.text.contains("certificate has expired"), "\(out.text)")

        let validity = CertificateValidity.of(old.certificate, at: now)
        #expect(validity.status == "expired")
        guard case .expired(let since) = validity else { Issue.record("not expired: \(validity)"); return }
        #expect(abs(since - 86_400) < 2)
        #expect(validity.summary == "EXPIRED 1 day ago")
        let error = #expect(throws: ChaosError.self) { try CertificateValidity.require(old.certificate, source: files.certificate, at: now) }
        #expect(error?.code == "pki.notValid")
        #expect(error?.message.contains("expired on") == true)

        let verdict = await TrustedRoots([ca.certificate]).verify(old.certificate, usage: .serverAuth)
        guard case .untrusted(let reason) = verdict else { Issue.record("an expired certificate was trusted"); return }
        #expect(reason.lowercased().contains("expired"), "\(reason)")
    }

    @Test("a leaf that is not valid yet is reported so by openssl and the validity check",
          .enabled(if: PKITest.hasOpenSSL, "needs openssl (apt-get install openssl)"))
    func notYetValid() throws {
        let dir = PKITest.scratch()
        defer { PKITest.cleanup(dir) }
        let ca = try PKITest.authority(in: dir)
        let now = Date()
        let future = try ca.issue(try CertificateRequest(role: .operator, name: "later"),
                                  notValidBefore: now.addingTimeInterval(86_400), notValidAfter: now.addingTimeInterval(2 * 86_400))
        let files = try future.write(to: dir, force: false)
        let out = try PKITest.openssl(["verify", "-CAfile", dir + "/ca.pem", files.certificate])
        #expect(out.status != 0)
        #expect(out.text.contains("certificate is not yet valid"), "\(out.text)")
        #expect(CertificateValidity.of(future.certificate, at: now).status == "notYetValid")
        #expect(throws: ChaosError.self) { try CertificateValidity.require(future.certificate, at: now) }
        #expect(CertificateValidity.of(future.certificate, at: now.addingTimeInterval(1.5 * 86_400)).isValid)
    }

    // MARK: swift-certificates' Verifier

    @Test("the Verifier (RFC5280Policy, CertificateStore of the CA) validates every role's chain", arguments: [CertificateRole.agent, .controller, .operator])
    func verifier(role: CertificateRole) async throws {
        let ca = try CertificateAuthority.create()
        let request = try #require(try PKITest.requests().first { $0.role == role })
        let leaf = try ca.issue(request).certificate

        // Plainly as the agent will: swift-certificates' own API.
        var verifier = Verifier(rootCertificates: CertificateStore([ca.certificate])) { RFC5280Policy() }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore())
        guard case .validCertificate(let chain) = result else { Issue.record("\(role): \(result)"); return }
        #expect(Array(chain) == [leaf, ca.certificate])

        // Through TrustedRoots, with the purpose checked.
        let roots = TrustedRoots([ca.certificate])
        #expect(await roots.verify(leaf, usage: .clientAuth).isTrusted)
        let asServer = await roots.verify(leaf, usage: .serverAuth)
        #expect(asServer.isTrusted == (role != .operator))
        if case .untrusted(let reason) = asServer { #expect(reason.contains("not for serverAuth"), "\(reason)") }
        // The CA itself is in the store, but it is no client or server certificate.
        #expect(await !roots.verify(ca.certificate, usage: .clientAuth).isTrusted)
        #expect(await roots.verify(ca.certificate).isTrusted)
    }

    @Test("during a CA rotation a bundle of both CAs trusts leaves of either, for openssl and the Verifier",
          .enabled(if: PKITest.hasOpenSSL, "needs openssl (apt-get install openssl)"))
    func rotationBundle() async throws {
        let old = PKITest.scratch(), new = PKITest.scratch()
        defer { PKITest.cleanup(old); PKITest.cleanup(new) }
        let oldCA = try PKITest.authority(in: old, name: "chaos CA 2024")
        let newCA = try PKITest.authority(in: new, name: "chaos CA 2025")
        let bundle = try PKITest.save(try PKIFiles.readText(old + "/ca.pem") + PKIFiles.readText(new + "/ca.pem"), old, "ca-bundle.pem")
        let roots = try TrustedRoots(pemFiles: [bundle])
        #expect(roots.certificates.count == 2)
        let listed = try TrustedRoots(pemFiles: [old + "/ca.pem", new + "/ca.pem"])
        #expect(listed.certificates == roots.certificates)
        for ca in [oldCA, newCA] {
            let leaf = try ca.issue(try CertificateRequest(role: .agent, name: "db1", subjectAlternativeNames: ["10.0.0.11"]))
            let files = try leaf.write(to: old, force: true)
            #expect(try PKITest.openssl(["verify", "-CAfile", bundle, files.certificate]).status == 0)
            #expect(await roots.verify(leaf.certificate, usage: .serverAuth).isTrusted)
        }
        // After the overlap, the old CA's leaves are refused by a party that trusts only the new CA.
        let stale = try oldCA.issue(try CertificateRequest(role: .operator, name: "alice"))
        #expect(await !TrustedRoots([newCA.certificate]).verify(stale.certificate).isTrusted)
    }
}
