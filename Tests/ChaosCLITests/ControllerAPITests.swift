@testable import ChaosCLI
import ChaosCore
import Foundation
import Glibc
import Testing

/// `chaos controller` with its API over TLS on loopback (certificates made by `chaos certs`), driven
/// by `chaos halt|resume --controller`: an operator's certificate and an operator token are both let
/// in, a viewer's certificate is refused, the halt survives a restart, the audit log names who, a wrong
/// token is refused clearly.
@Suite("chaos halt and resume through the controller's API (TLS, certificates and tokens)", .serialized)
struct ControllerAPITests {
    @Test("halt with an operator certificate, kept across a restart; resume with a token; a wrong token is refused")
    func haltResume() throws {
        let state = Harness.stateDir()
        let dir = state + "/ctl"
        let pki = dir + "/pki"
        try FileManager.default.createDirectory(atPath: dir + "/exp", withIntermediateDirectories: true)
        #expect(try Harness.run(["certs", "init", "--dir", pki], state: state).status == 0)
        #expect(try Harness.run(["certs", "issue", "--controller", "--san", "127.0.0.1", "--dir", pki], state: state).status == 0)
        #expect(try Harness.run(["certs", "issue", "--operator", "alice", "--dir", pki], state: state).status == 0)
        #expect(try Harness.run(["certs", "issue", "--operator", "grafana", "--dir", pki], state: state).status == 0)
        let tok = try Harness.run(["controller", "token", "--name", "ci-bot", "--role", "operator", "--expires", "30d", "--output", "json"], state: state)
        let t = try #require((try? JSONSerialization.jsonObject(with: Data(tok.stdout.utf8))) as? [String: String])
        let token = try #require(t["token"]), sha = try #require(t["sha256"])
        #expect(token.hasPrefix("chaos_") && sha.count == 64)
        try "apiVersion: chaos/v1\nkind: Inventory\nhosts:\n  - {name: h1, address: 127.0.0.1}\n".write(toFile: dir + "/inv.yaml", atomically: true, encoding: .utf8)
        let port = Int.random(in: 21_000...29_000)
        try """
        apiVersion: chaos/v1
        kind: ControllerConfig
        experiments: \(dir)/exp
        inventory: \(dir)/inv.yaml
        stateDir: \(dir)/state
        identity: {name: controller, pkiDir: \(pki)}
        schedule: {tick: 1s}
        api:
          listen: 127.0.0.1:\(port)
          access: [{certificate: alice, role: operator}]
          tokens: [{name: ci-bot, sha256: \(sha), role: operator, expires: "\(t["expires"] ?? "")"}]

        """.write(toFile: dir + "/controller.yaml", atomically: true, encoding: .utf8)
        #expect(try Harness.run(["validate", dir + "/controller.yaml"], state: state).status == 0)
        let url = "https://127.0.0.1:\(port)"
        func startController() throws -> Harness.Running {
            let c = try Harness.start(["controller", "--config", dir + "/controller.yaml"], state: state)
            #expect(Harness.waitUntil(timeout: 20) { (try? Self.healthy(url, pki)) == true }, "the controller's API answers")
            return c
        }
        var controller = try startController()
        defer { if controller.process.isRunning { kill(controller.process.processIdentifier, SIGKILL) } }

        // grafana's certificate is not in api.access: a viewer, refused with what to ask for.
        let viewer = try Harness.run(["halt", "--controller", url, "--reason", "x", "--identity", "grafana", "--pki-dir", pki], state: state)
        #expect(viewer.status != 0 && viewer.stderr.contains("The controller refused: 'grafana' (viewer) may not halt; ask for the operator role in controller.yaml 'api.access'."),
                "\(viewer.stdout) \(viewer.stderr)")
        let halt = try Harness.run(["halt", "--controller", url, "--reason", "incident 4711", "--identity", "alice", "--pki-dir", pki], state: state)
        #expect(halt.status == 0, "\(halt.stdout) \(halt.stderr)")
        #expect(halt.stdout.contains("HALTED by alice: incident 4711"), "\(halt.stdout)")

        // Restarted, it is still halted.
        kill(controller.process.processIdentifier, SIGTERM)
        controller.process.waitUntilExit()
        #expect(controller.process.terminationStatus == 0)
        controller = try startController()
        let json = try Harness.run(["halt", "--controller", url, "--reason", "again", "--token", token, "--pki-dir", pki, "--output", "json"], state: state)
        let outcome = try JSONDecoder().decode(HaltOutcome.self, from: Data(json.stdout.utf8))
        #expect(outcome.halt.halted && outcome.halt.by == "ci-bot")

        let wrong = try Harness.run(["resume", "--controller", url, "--token", "chaos_wrong", "--pki-dir", pki], state: state)
        #expect(wrong.status == 1 && wrong.stderr.contains("The controller refused: That token is not known to this controller."), "\(wrong.stdout) \(wrong.stderr)")
        let resume = try Harness.run(["resume", "--controller", url, "--token", token, "--pki-dir", pki], state: state, env: ["CHAOS_IDENTITY": "nobody"])
        #expect(resume.status == 0 && resume.stdout.contains("Resumed"), "\(resume.stdout) \(resume.stderr)")
        // The audit log (in the store, across the restart) names each caller with role and credential.
        let audit = try Self.get(url + "/api/v1/audit", pki, token: token)
        #expect(audit.contains("\"who\":\"alice (operator, certificate)\"") && audit.contains("\"who\":\"ci-bot (operator, token)\""), "\(audit)")
        kill(controller.process.processIdentifier, SIGTERM)
        controller.process.waitUntilExit()
        let log = String(decoding: controller.err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("HALTED since") && log.contains("by alice: incident 4711; nothing starts until 'chaos resume'"), "\(log)")
        #expect(log.contains("HALT by ci-bot (operator, token): again"), "the log names the caller with role and credential: \(log)")
        #expect(log.contains("RESUME by ci-bot (operator, token)"), "\(log)")
    }

    /// The body of a GET over TLS with a Bearer token.
    static func get(_ url: String, _ pki: String, token: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "--max-time", "5", "--cacert", pki + "/ca.pem", "-H", "Authorization: Bearer \(token)", url]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let body = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return body
    }

    /// GET /healthz over TLS, trusting the chaos CA.
    static func healthy(_ url: String, _ pki: String) throws -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-sf", "--max-time", "2", "--cacert", pki + "/ca.pem", url + "/healthz"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}
