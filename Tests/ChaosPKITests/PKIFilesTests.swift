@testable import ChaosPKI
import ChaosCore
import Foundation
import Glibc
import Testing

@Suite("PKIFiles: modes, no overwriting without force, atomic writes, bundles")
struct PKIFilesTests {
    @Test("private keys are written 0600 and certificates 0644, whatever the umask")
    func modes() throws {
        let dir = PKITest.scratch()
        defer { PKITest.cleanup(dir) }
        let old = umask(0)
        defer { umask(old) }
        let ca = try PKITest.authority(in: dir + "/new/sub")
        #expect(PKIFiles.mode(of: dir + "/new/sub/ca-key.pem") == 0o600)
        #expect(PKIFiles.mode(of: dir + "/new/sub/ca.pem") == 0o644)
        #expect(PKIFiles.mode(of: dir + "/new/sub") == 0o755)
        umask(0o077)
        let files = try ca.issue(try CertificateRequest(role: .operator, name: "alice")).write(to: dir + "/out", force: false)
        #expect(PKIFiles.mode(of: files.privateKey) == 0o600)
        #expect(PKIFiles.mode(of: files.certificate) == 0o644)
        #expect(try PKIFiles.readText(files.privateKey).hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(try PKIFiles.readText(files.privateKey).hasSuffix("-----END PRIVATE KEY-----\n"))
        #expect(try PKIFiles.readText(files.certificate).hasSuffix("-----END CERTIFICATE-----\n"))
    }

    @Test("existing files are not overwritten without force, and neither file of the pair is touched")
    func noOverwrite() throws {
        let dir = PKITest.scratch()
        defer { PKITest.cleanup(dir) }
        let first = try PKITest.authority(in: dir)
        let before = try PKIFiles.readText(dir + "/ca-key.pem")
        let second = try CertificateAuthority.create()
        let error = #expect(throws: ChaosError.self) { try second.write(to: dir, force: false) }
        #expect(error?.code == "pki.exists")
        #expect(error?.message.contains("--force") == true)
        #expect(try PKIFiles.readText(dir + "/ca-key.pem") == before)
        #expect(try CertificateAuthority.load(directory: dir).certificate == first.certificate)

        // Only the key exists: the certificate is not written either.
        let leaf = try first.issue(try CertificateRequest(role: .operator, name: "bob"))
        try PKITest.save("not mine", dir, "bob-key.pem")
        #expect(throws: ChaosError.self) { try leaf.write(to: dir, force: false) }
        #expect(!PKIFiles.exists(dir + "/bob.pem"))
        #expect(try PKIFiles.readText(dir + "/bob-key.pem") == "not mine")

        // With force, both are replaced, and the key gets mode 0600 even though the old file was 0644.
        chmod(dir + "/bob-key.pem", 0o644)
        try leaf.write(to: dir, force: true)
        #expect(try PKIFiles.readText(dir + "/bob-key.pem") == leaf.privateKeyPEM)
        #expect(PKIFiles.mode(of: dir + "/bob-key.pem") == 0o600)
        try second.write(to: dir, force: true)
        #expect(try CertificateAuthority.load(directory: dir).certificate == second.certificate)
    }

    @Test("a write leaves no temporary files behind, also when it is refused")
    func noLeftovers() throws {
        let dir = PKITest.scratch()
        defer { PKITest.cleanup(dir) }
        try PKIFiles.write("one\n", to: dir + "/f.pem", mode: 0o600, force: false)
        #expect(throws: ChaosError.self) { try PKIFiles.write("two\n", to: dir + "/f.pem", mode: 0o600, force: false) }
        try PKIFiles.write("three\n", to: dir + "/f.pem", mode: 0o600, force: true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["f.pem"])
        #expect(try PKIFiles.readText(dir + "/f.pem") == "three\n")
    }

    @Test("a dangling symbolic link counts as an existing file and is not followed")
    func symlink() throws {
        let dir = PKITest.scratch()
        defer { PKITest.cleanup(dir) }
        Glibc.symlink(dir + "/elsewhere", dir + "/k.pem")
        #expect(throws: ChaosError.self) { try PKIFiles.write("secret\n", to: dir + "/k.pem", mode: 0o600, force: false) }
        #expect(!PKIFiles.exists(dir + "/elsewhere"))
        try PKIFiles.write("secret\n", to: dir + "/k.pem", mode: 0o600, force: true)
        #expect(!PKIFiles.exists(dir + "/elsewhere"))
        let type = try FileManager.default.attributesOfItem(atPath: dir + "/k.pem")[.type] as? FileAttributeType
        #expect(type == .typeRegular)
    }

    @Test("writing into a directory that cannot be created says what to do")
    func unwritable() throws {
        let dir = PKITest.scratch()
        defer { PKITest.cleanup(dir) }
        try PKITest.save("a file", dir, "plain")
        let error = #expect(throws: ChaosError.self) { try PKIFiles.write("x", to: dir + "/plain/sub/k.pem", mode: 0o600, force: false) }
        #expect(error?.code == "pki.io")
    }

    @Test("a bundle yields every certificate; keys in between are skipped; no certificate is an error")
    func bundles() throws {
        let a = try CertificateAuthority.create(name: "A"), b = try CertificateAuthority.create(name: "B")
        let leaf = try a.issue(try CertificateRequest(role: .operator, name: "alice"))
        let text = try a.certificatePEM() + leaf.privateKeyPEM + b.certificatePEM()
        let certs = try PKIFiles.certificates(inPEM: text, source: "bundle.pem")
        #expect(certs == [a.certificate, b.certificate])
        let none = #expect(throws: ChaosError.self) { try PKIFiles.certificates(inPEM: leaf.privateKeyPEM, source: "key.pem") }
        #expect(none?.message.contains("holds no certificate") == true)
        #expect(throws: ChaosError.self) { try PKIFiles.certificates(inPEM: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", source: "x") }
        let missing = #expect(throws: ChaosError.self) { try PKIFiles.readCertificates("/nonexistent/ca.pem") }
        #expect(missing?.message.contains("No such file or directory") == true)
    }
}
