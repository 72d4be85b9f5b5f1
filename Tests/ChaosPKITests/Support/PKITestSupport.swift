@testable import ChaosPKI
import Foundation
import Glibc
import Testing
import X509

/// Runs programs (openssl, the chaos binary) and makes scratch directories for the PKI tests.
enum PKITest {
    struct Output {
        var status: Int32
        /// stdout and stderr, interleaved.
        var text: String
    }

    /// Runs `executable` with `arguments` to completion; stdout and stderr are captured together.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, text: String(decoding: data, as: UTF8.self))
    }

    /// Debian's openssl, when installed (`apt-get install openssl`).
    static let openssl: String? = ["/usr/bin/openssl", "/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var hasOpenSSL: Bool { openssl != nil }

    /// Runs `openssl arguments...`.
    static func openssl(_ arguments: [String]) throws -> Output {
        try run(try #require(openssl, "openssl is not installed: apt-get install openssl"), arguments)
    }

    /// The `chaos` executable built beside the test bundle, when it exists.
    static let chaos: String? = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let path = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("chaos").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()
    static var hasChaos: Bool { chaos != nil }

    /// A fresh empty directory, removed by the caller with `cleanup`.
    static func scratch(_ label: String = "pki") -> String {
        let dir = NSTemporaryDirectory() + "chaos-\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func cleanup(_ dir: String) { try? FileManager.default.removeItem(atPath: dir) }

    /// Writes `text` to `dir/name` and returns the path.
    @discardableResult
    static func save(_ text: String, _ dir: String, _ name: String) throws -> String {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A new CA, written to `dir`.
    @discardableResult
    static func authority(in dir: String, name: String? = nil) throws -> CertificateAuthority {
        let ca = try CertificateAuthority.create(name: name)
        try ca.write(to: dir, force: false)
        return ca
    }

    /// The leaf requests of the three roles.
    static func requests() throws -> [CertificateRequest] {
        [
            try CertificateRequest(role: .agent, name: "db1", subjectAlternativeNames: ["10.0.0.11", "db1.staging", "fd00::11"]),
            try CertificateRequest(role: .controller, name: "ignored", subjectAlternativeNames: ["controller.staging"]),
            try CertificateRequest(role: .operator, name: "alice"),
            try CertificateRequest(role: .observer, name: "prometheus"),
        ]
    }
}
