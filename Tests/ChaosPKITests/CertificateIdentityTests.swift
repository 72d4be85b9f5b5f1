@testable import ChaosPKI
import ChaosCore
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@Suite("CertificateIdentity: role and name from a certificate's subject")
struct CertificateIdentityTests {
    @Test("identity round-trips through issue, PEM, DER and back", arguments: [
        CertificateIdentity(role: .agent, name: "db1"),
        CertificateIdentity(role: .controller, name: "controller"),
        CertificateIdentity(role: .operator, name: "alice@example.com"),
        CertificateIdentity(role: .agent, name: "web-02.eu_west"),
    ])
    func roundTrip(identity: CertificateIdentity) throws {
        let ca = try CertificateAuthority.create()
        let sans = identity.role == .operator ? [] : ["10.1.2.3"]
        let issued = try ca.issue(try CertificateRequest(role: identity.role, name: identity.name, subjectAlternativeNames: sans))
        #expect(try CertificateIdentity(certificate: issued.certificate) == identity)
        let reparsed = try Certificate(pemEncoded: issued.certificatePEM)
        #expect(try CertificateIdentity(certificate: reparsed) == identity)
        #expect(try CertificateIdentity(derEncoded: PKIFormat.der(issued.certificate)) == identity)
        #expect(identity.description == "\(identity.role):\(identity.name)")
        // Codable, as the agent's policy and API carry it.
        let json = try JSONEncoder().encode(identity)
        #expect(try JSONDecoder().decode(CertificateIdentity.self, from: json) == identity)
    }

    /// A certificate with an arbitrary subject, self-signed.
    static func certificate(subject: DistinguishedName) throws -> Certificate {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        return try Certificate(version: .v3, serialNumber: .init(), publicKey: key.publicKey, notValidBefore: Date(),
                               notValidAfter: Date().addingTimeInterval(3600), issuer: subject, subject: subject,
                               signatureAlgorithm: .ecdsaWithSHA256, extensions: Certificate.Extensions(), issuerPrivateKey: key)
    }

    @Test("a subject without OU, with an unknown OU, or with two CNs or OUs has no identity")
    func strict() throws {
        let cases: [(DistinguishedName, String)] = [
            (try DistinguishedName { OrganizationName("chaos"); CommonName("db1") }, "0 organizational units"),
            (try DistinguishedName { OrganizationName("chaos"); OrganizationalUnitName("admin"); CommonName("db1") }, "OU='admin'"),
            (try DistinguishedName { OrganizationalUnitName("agent"); CommonName("db1"); CommonName("db2") }, "2 common names"),
            (try DistinguishedName { OrganizationalUnitName("operator"); OrganizationalUnitName("agent"); CommonName("db1") }, "2 organizational units"),
            (try DistinguishedName { OrganizationName("chaos"); OrganizationalUnitName("agent") }, "0 common names"),
        ]
        for (subject, fragment) in cases {
            let cert = try Self.certificate(subject: subject)
            let error = #expect(throws: ChaosError.self) { try CertificateIdentity(certificate: cert) }
            #expect(error?.code == "pki.noIdentity")
            #expect(error?.message.contains(fragment) == true, "\(subject): \(error?.message ?? "")")
        }
    }

    @Test("the CA certificate is not an identity")
    func caHasNone() throws {
        let ca = try CertificateAuthority.create()
        #expect(throws: ChaosError.self) { try CertificateIdentity(certificate: ca.certificate) }
    }

    @Test("bytes that are not a certificate are refused")
    func notDER() {
        let error = #expect(throws: ChaosError.self) { try CertificateIdentity(derEncoded: [0x30, 0x03, 0x02, 0x01, 0x01]) }
        #expect(error?.code == "pki.invalid")
    }
}
