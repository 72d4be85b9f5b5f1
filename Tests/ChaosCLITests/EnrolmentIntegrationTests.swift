import ChaosCore
import ChaosLinux
import ChaosPKI
import ChaosTesting
import Foundation
import Glibc
import Testing

/// Enrolment for real, in a network namespace: the agent makes its own key and CSR and waits (exit 78);
/// a join token from `chaos certs token` and `chaos certs serve` get it a certificate through
/// `chaos certs enrol` (the key never moves); the agent serves; its certificate is renewed with a fault
/// held (SIGHUP: the fault stays, the new certificate is served, `chaos status` warns it expires soon);
/// an operator is revoked and refused; an observer reads /metrics and nothing else.
@Suite("Enrolment and renewal without moving keys", .serialized, Requirements.integration("/usr/bin/curl", "/usr/sbin/ip", "/usr/bin/openssl"))
struct EnrolmentIntegrationTests {
    final class Lab {
        let lab = NetworkLab("enrol")
        let dir = Harness.stateDir()
        var pki: String { dir + "/ca" }
        var host: String { dir + "/host" }
        let address = "192.0.2.20"
        var processes: [Process] = []

        init() throws {
            try lab.addHost("db1")
            try lab.run("db1", ["/usr/sbin/ip", "addr", "add", "\(address)/32", "dev", "lo"])
            for args in [["certs", "init", "--pki-dir", pki], ["certs", "issue", "--operator", "alice", "--pki-dir", pki],
                         ["certs", "issue", "--operator", "mallory", "--pki-dir", pki], ["certs", "issue", "--observer", "prometheus", "--pki-dir", pki]] {
                let out = try Harness.run(args, state: dir)
                try #require(out.status == 0, "chaos \(args.joined(separator: " ")): \(out.stderr)")
            }
            try "".write(toFile: pki + "/revoked.txt", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
            try """
            apiVersion: chaos/v1
            kind: AgentConfig
            name: db1
            listen: {address: \(address), port: 7433}
            tls: {certificate: \(host)/pki/agent.pem, key: \(host)/pki/agent-key.pem, ca: \(host)/pki/ca.pem, revoked: \(pki)/revoked.txt}
            stateDir: \(host)/state
            policy:
              permissions:
                - {role: operator, names: [alice], actions: [read, inject, revert, renew, halt, resume, preview]}
                - {role: operator, actions: [read]}
                - {role: observer, actions: [read]}
            """.write(toFile: host + "/agent.yaml", atomically: true, encoding: .utf8)
        }

        func chaos(_ args: [String]) throws -> NetworkLab.Result { try lab.run("db1", [Harness.chaos] + args, timeout: 30) }

        func start(_ argv: [String], log: String, env: [String: String] = [:]) throws -> Process {
            let p = try lab.start("db1", argv, env: env, log: log)
            processes.append(p)
            return p
        }

        /// `who`'s request to the agent: the status and the body.
        func call(_ who: String, _ method: String, _ path: String, _ body: String? = nil) throws -> (status: Int, body: String) {
            var argv = ["/usr/bin/curl", "-sS", "--max-time", "10", "--cacert", pki + "/ca.pem", "--cert", "\(pki)/\(who).pem", "--key", "\(pki)/\(who)-key.pem", "-X", method]
            if let body { argv += ["-H", "content-type: application/json", "--data-binary", body] }
            let r = try lab.run("db1", argv + ["-w", "\n%{http_code}", "https://\(address):7433\(path)"])
            let lines = r.stdout.components(separatedBy: "\n")
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }

        func agentPID() -> Int32? {
            ProcFS.table().processes.first { ($0.cmdline.first?.hasSuffix("/chaos-agent") ?? false) && $0.cmdline.contains(host + "/agent.yaml") && !$0.isDead }?.pid
        }

        deinit {
            if let pid = agentPID() { kill(pid, SIGKILL) }
            for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
            lab.destroy()
        }
    }

    static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    @Test("first start makes a key and a CSR and waits; a join token enrols it; renewal on SIGHUP keeps the fault; revocation and the observer hold")
    func enrolRenewRevoke() throws {
        let lab = try Lab()
        let agentYAML = lab.host + "/agent.yaml"

        // 1. No certificate: the agent makes its key (0600) and a CSR, says what to do, and exits 78; again: the same key.
        let first = try lab.lab.run("db1", [Harness.chaos, "agent", "--config", agentYAML], timeout: 30)
        #expect(first.status == 78, "\(first.stderr)")
        #expect(first.stderr.contains("chaos certs enrol --token") && first.stderr.contains("chaos certs approve"))
        let keyPath = lab.host + "/pki/agent-key.pem"
        let key = Self.read(keyPath)
        #expect(key.contains("PRIVATE KEY"))
        #expect(PKIFiles.mode(of: keyPath) == 0o600)
        #expect(Self.read(lab.host + "/pki/agent.csr").contains("BEGIN CERTIFICATE REQUEST"))
        #expect(try lab.lab.run("db1", [Harness.chaos, "agent", "--config", agentYAML], timeout: 30).status == 78)
        #expect(Self.read(keyPath) == key)

        // 2. A join token, and the enrolment server on the CA side.
        let made = try Harness.run(["certs", "token", "--host", "db1", "--san", lab.address, "--pki-dir", lab.pki, "--ttl", "10m", "-o", "json"], state: lab.dir)
        try #require(made.status == 0, "\(made.stderr)")
        let token = try #require((try JSONSerialization.jsonObject(with: Data(made.stdout.utf8)) as? [String: Any])?["token"] as? String)
        #expect(!Self.read(lab.pki + "/join-tokens.json").contains(token.split(separator: ".")[2]), "the secret must not be stored")
        let serveLog = lab.dir + "/serve.log"
        _ = try lab.start([Harness.chaos, "certs", "serve", "--listen", "\(lab.address):7435", "--san", lab.address, "--pki-dir", lab.pki], log: serveLog)
        try #require(Harness.waitUntil(timeout: 20) { Self.read(serveLog).contains("Serving enrolment") }, "\(Self.read(serveLog))")

        // Hostile requests to the enrolment server: too big, not JSON, an unknown token, an unknown path.
        func post(_ body: String, path: String = "/v1/enrol") throws -> Int {
            let file = lab.dir + "/body.json"
            try body.write(toFile: file, atomically: true, encoding: .utf8)
            let r = try lab.lab.run("db1", ["/usr/bin/curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "-H", "content-type: application/json",
                                            "--data-binary", "@" + file, "https://\(lab.address):7435\(path)"])
            return Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        #expect(try post(String(repeating: "x", count: 100_000)) == 413)
        #expect(try post("{not json") == 400)
        #expect(try post(#"{"id":"0123456789abcdef","secret":"\#(String(repeating: "a", count: 64))","csr":"x"}"#) == 400, "a broken CSR is refused before the token is looked at")
        let bogusCSR = Self.read(lab.host + "/pki/agent.csr").replacingOccurrences(of: "\n", with: "\\n")
        #expect(try post(#"{"id":"0123456789abcdef","secret":"\#(String(repeating: "a", count: 64))","csr":"\#(bogusCSR)"}"#) == 403)
        #expect(try post("{}", path: "/v1/other") == 404)

        // A token whose CA pin is another CA's: nothing is sent, nothing written.
        var parts = token.split(separator: ".").map(String.init)
        parts[3] = String(repeating: "0", count: 64)
        let pinned = try lab.chaos(["certs", "enrol", "--token", parts.joined(separator: "."), "--server", "\(lab.address):7435", "--config", agentYAML])
        #expect(pinned.status == 1 && pinned.stderr.contains("not the one in the token"), "\(pinned.stderr)")
        #expect(!FileManager.default.fileExists(atPath: lab.host + "/pki/agent.pem"))

        let enrolled = try lab.chaos(["certs", "enrol", "--token", token, "--server", "\(lab.address):7435", "--config", agentYAML, "-o", "json"])
        try #require(enrolled.status == 0, "\(enrolled.stderr)")
        #expect(enrolled.stdout.contains("\"keyCreated\" : false"))
        #expect(Self.read(keyPath) == key, "the key was made on the host and stays the same")
        let reused = try lab.chaos(["certs", "enrol", "--token", token, "--server", "\(lab.address):7435", "--config", agentYAML])
        #expect(reused.status == 1 && reused.stderr.contains("403"), "\(reused.stderr)")
        #expect(Self.read(serveLog).contains("enrolled db1") && Self.read(serveLog).contains("already used"))

        // 3. The agent starts with its certificate (checked for reloads every 300 ms).
        let agentLog = lab.dir + "/agent.log"
        _ = try lab.start([Harness.chaos, "agent", "--config", agentYAML], log: agentLog, env: ["CHAOS_CREDENTIAL_CHECK_MS": "300"])
        try #require(Harness.waitUntil(timeout: 20) { (try? lab.call("alice", "GET", "/v1/health").status) == 200 }, "\(Self.read(agentLog))")
        let pid = try #require(lab.agentPID())

        // 4. A fault held, on a process this test started.
        let victim = Process()
        victim.executableURL = URL(fileURLWithPath: "/bin/sleep")
        victim.arguments = ["120"]
        try victim.run()
        defer { kill(victim.processIdentifier, SIGKILL) }
        let inject = try lab.call("alice", "POST", "/v1/faults", AgentIntegrationTests.pauseBody(victim.processIdentifier, key: "enrol-1", lease: "60s"))
        #expect(inject.status == 201, "\(inject.body)")
        #expect(ProcFS.process(victim.processIdentifier)?.state == "T")

        // 5. Renewal through the offline path (approve its CSR, 7 days) and SIGHUP: same process, fault kept, new certificate served.
        let approved = try Harness.run(["certs", "approve", lab.host + "/pki/agent.csr", "--name", "db1", "--san", lab.address, "--days", "7",
                                        "--pki-dir", lab.pki, "--out", lab.dir + "/renewed"], state: lab.dir)
        try #require(approved.status == 0, "\(approved.stderr)")
        try FileManager.default.copyItem(atPath: lab.dir + "/renewed/db1.pem", toPath: lab.host + "/pki/agent.pem.new")
        #expect(rename(lab.host + "/pki/agent.pem.new", lab.host + "/pki/agent.pem") == 0)
        kill(pid, SIGHUP)
        let sevenDays = Int64(Date().timeIntervalSince1970 * 1000) + 7 * 86_400_000
        let renewed = Harness.waitUntil(timeout: 10) {
            guard let body = try? lab.call("alice", "GET", "/v1/health").body,
                  let h = try? JSONDecoder().decode(AgentHealth.self, from: Data(body.utf8)), let end = h.certificateNotAfter else { return false }
            return abs(end - sevenDays) < 120_000
        }
        #expect(renewed, "the renewed certificate is not served: \(Self.read(agentLog))")
        #expect(lab.agentPID() == pid)
        #expect(ProcFS.process(victim.processIdentifier)?.state == "T", "the fault must survive the renewal")
        let faults = try lab.call("alice", "GET", "/v1/faults")
        #expect(faults.status == 200 && faults.body.contains("enrol-1"))
        #expect(Self.read(agentLog).contains("credentials reloaded"))
        // The certificate on the wire is the renewed one.
        let wire = try lab.lab.run("db1", ["/bin/sh", "-c", "echo | openssl s_client -connect \(lab.address):7433 -cert \(lab.pki)/alice.pem -key \(lab.pki)/alice-key.pem -CAfile \(lab.pki)/ca.pem 2>/dev/null | openssl x509 -noout -fingerprint -sha256"])
        let renewedPrint = try Harness.run(["certs", "show", lab.dir + "/renewed/db1.pem", "-o", "json"], state: lab.dir).stdout
        let fingerprint = wire.stdout.components(separatedBy: "=").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        #expect(renewedPrint.contains(fingerprint), "served \(fingerprint)")

        // 6. chaos status warns about the certificate that expires within 14 days.
        try """
        apiVersion: chaos/v1
        kind: Inventory
        hosts:
          - {name: db1, address: \(lab.address), agent: "https://\(lab.address):7433"}
        """.write(toFile: lab.dir + "/inventory.yaml", atomically: true, encoding: .utf8)
        let status = try lab.chaos(["status", "--inventory", lab.dir + "/inventory.yaml", "--identity", "alice", "--pki-dir", lab.pki])
        // 7 days less the seconds since it was signed (X.509 keeps whole seconds: 6 or, within a second, 7).
        #expect(status.status == 0 && (status.stderr.contains("warning: db1: its certificate expires in 6 days") || status.stderr.contains("warning: db1: its certificate expires in 7 days")),
                "\(status.stderr)")

        // 7. The observer reads /metrics (with the new expiry) and may do nothing else.
        let metrics = try lab.call("prometheus", "GET", "/metrics")
        #expect(metrics.status == 200)
        for line in ["chaos_agent_build_info{version=\"\(chaosVersion)\"} 1", "chaos_agent_halted 0", "chaos_agent_faults_active{kind=\"process.pause\"} 1",
                     "chaos_agent_credential_reloads_total{result=\"ok\"}", "chaos_agent_faults_injected_total{kind=\"process.pause\"} 1",
                     "chaos_agent_http_request_duration_seconds_bucket{"] {
            #expect(metrics.body.contains(line), "missing \(line)")
        }
        let expiry = metrics.body.components(separatedBy: "\n").first { $0.hasPrefix("chaos_agent_certificate_expiry_timestamp_seconds ") }
            .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        #expect(abs(expiry - Double(sevenDays) / 1000) < 120, "expiry \(expiry)")
        #expect(try lab.call("prometheus", "POST", "/v1/halt", "{}").status == 403)
        #expect(try lab.call("prometheus", "DELETE", "/v1/faults/x").status == 403)

        // 8. Revocation: mallory reads until her certificate is revoked; the agent notices the changed list by itself.
        #expect(try lab.call("mallory", "GET", "/v1/faults").status == 200)
        let revoke = try Harness.run(["certs", "revoke", lab.pki + "/mallory.pem", "--pki-dir", lab.pki, "--reason", "left"], state: lab.dir)
        #expect(revoke.status == 0, "\(revoke.stderr)")
        #expect(Harness.waitUntil(timeout: 10) { (try? lab.call("mallory", "GET", "/v1/faults").status) == 403 }, "a revoked certificate is still let in")
        #expect(try lab.call("alice", "GET", "/v1/faults").status == 200)
        // A broken list is not taken: the old one stays, and the agent says so.
        try "not a serial\n".write(toFile: lab.pki + "/revoked.txt", atomically: true, encoding: .utf8)
        #expect(Harness.waitUntil(timeout: 10) { Self.read(agentLog).contains("credentials not reloaded") })
        #expect(try lab.call("mallory", "GET", "/v1/faults").status == 403)

        // 9. SIGTERM reverts the fault.
        kill(pid, SIGTERM)
        #expect(Harness.waitUntil(timeout: 20) { lab.agentPID() == nil })
        #expect(Harness.waitUntil(timeout: 5) { ProcFS.process(victim.processIdentifier)?.state != "T" })
    }
}
