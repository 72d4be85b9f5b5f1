@testable import ChaosPKI
import ChaosCore
import Testing

@Suite("CertificateRequest: names and subject alternative names")
struct CertificateRequestTests {
    @Test("IP addresses and DNS names are told apart and normalised", arguments: [
        ("10.0.0.11", SubjectAlternativeName.ip("10.0.0.11")),
        ("fd00:0:0::11", .ip("fd00::11")),
        ("::1", .ip("::1")),
        ("DB1.Staging", .dns("db1.staging")),
        ("db1", .dns("db1")),
        ("a-b.c-d.example", .dns("a-b.c-d.example")),
    ])
    func classify(text: String, expected: SubjectAlternativeName) throws {
        #expect(try SubjectAlternativeName.parse(text) == expected)
    }

    @Test("text that is neither an address nor a DNS name is refused with an example", arguments: [
        "10.0.0", "10.0.0.256", "db_1", "-db1", "db1-", "a..b", "db1.", "*.staging", "http://db1", "db 1", String(repeating: "a", count: 64),
    ])
    func badSAN(text: String) {
        let error = #expect(throws: ChaosError.self) { try SubjectAlternativeName.parse(text) }
        #expect(error?.exit == .usage)
        #expect(error?.message.contains("--san 10.0.0.11,db1.staging") == true)
    }

    @Test("an agent gets its own name as a DNS SAN first, then the given ones, without duplicates")
    func agentSANs() throws {
        let r = try CertificateRequest(role: .agent, name: "db1", subjectAlternativeNames: [" 10.0.0.11 ", "db1.staging", "DB1", "10.0.0.11", ""])
        #expect(r.dnsNames == ["db1", "db1.staging"])
        #expect(r.ipAddresses == ["10.0.0.11"])
    }

    @Test("an agent whose name is no DNS name needs a --san")
    func agentNeedsSAN() throws {
        let error = #expect(throws: ChaosError.self) { try CertificateRequest(role: .agent, name: "db_1") }
        #expect(error?.message.contains("needs at least one SAN") == true)
        let r = try CertificateRequest(role: .agent, name: "db_1", subjectAlternativeNames: ["10.0.0.11"])
        #expect(r.dnsNames.isEmpty && r.ipAddresses == ["10.0.0.11"])
    }

    @Test("the controller is always named 'controller'; an operator takes no SANs")
    func controllerAndOperator() throws {
        #expect(try CertificateRequest(role: .controller, name: "whatever").name == "controller")
        #expect(try CertificateRequest(role: .controller, name: "").dnsNames.isEmpty)
        let error = #expect(throws: ChaosError.self) { try CertificateRequest(role: .operator, name: "alice", subjectAlternativeNames: ["10.0.0.1"]) }
        #expect(error?.message.contains("drop --san") == true)
    }

    @Test("names that would make odd subjects or file names are refused", arguments: [
        "", "../etc/passwd", "a/b", ".hidden", "-x", "a..b", "ca", "db1-key", "名前", "a b", String(repeating: "x", count: 65),
    ])
    func badNames(name: String) {
        let error = #expect(throws: ChaosError.self) { try CertificateRequest(role: .operator, name: name) }
        #expect(error?.exit == .usage)
    }

    @Test("IPv4 and IPv6 text forms survive bytes and back")
    func ipBytes() {
        for text in ["10.0.0.11", "255.255.255.255", "fd00::11", "2001:db8::1:0:0:1"] {
            let bytes = SubjectAlternativeName.ipBytes(text)
            #expect(bytes?.count == (text.contains(":") ? 16 : 4))
            #expect(bytes.flatMap(SubjectAlternativeName.ipText) == text)
        }
        #expect(SubjectAlternativeName.ipText([1, 2, 3]) == nil)
    }
}
