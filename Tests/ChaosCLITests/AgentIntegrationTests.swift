import ChaosCore
import ChaosLinux
@testable import ChaosPKI
import ChaosTesting
import Foundation
import Glibc
import Testing

/// The agent for real: its own network namespace as a host, mutual TLS with certificates made by
/// `chaos certs`, real faults, security refusals, the dead-man's switch and crash recovery.
@Suite("The agent over mutual TLS", .serialized, Requirements.integration("/usr/bin/curl", "/usr/bin/python3", "/usr/bin/ss", "/usr/sbin/ip", "/usr/sbin/iptables-legacy", "/usr/sbin/nft"))
struct AgentIntegrationTests {
    /// A lab host running one agent, and the certificates to talk to it.
    final class AgentHost {
        let lab = NetworkLab("agent")
        let pki = Harness.stateDir()
        var state = Harness.stateDir()
        let port = 7433
        var agent: Process?

        /// - Parameters:
        ///   - policy: more lines of the agent's `policy:` (indented two spaces).
        ///   - permissions: the `policy.permissions` list (each line `    - {...}`); `nil` for alice and
        ///     the controller allowed everything and bob only to read, "" for none (the default policy).
        ///   - stateDir: where the agent keeps its ledger (a tmpfs to fill, say).
        init(policy: String = "", permissions: String? = nil, stateDir: String? = nil) throws {
            if let stateDir { state = stateDir }
            try lab.addHost("db1")
            // The lab host's loopback carries the agent's address, inside its namespace only.
            try lab.run("db1", ["/usr/sbin/ip", "addr", "add", "192.0.2.10/32", "dev", "lo"])
            for args in [["certs", "init", "--dir", pki], ["certs", "issue", "--agent", "db1", "--san", "192.0.2.10", "--dir", pki],
                         ["certs", "issue", "--operator", "alice", "--dir", pki], ["certs", "issue", "--operator", "bob", "--dir", pki],
                         ["certs", "issue", "--controller", "--dir", pki]] {
                let out = try Harness.run(args, state: state)
                try #require(out.status == 0, "chaos \(args.joined(separator: " ")): \(out.stderr)")
            }
            // Another CA, and an operator it signed; and an expired operator from the right CA.
            let other = try CertificateAuthority.create(name: "impostor CA")
            try other.issue(try CertificateRequest(role: .operator, name: "alice")).write(to: pki + "/other", force: true)
            let ca = try CertificateAuthority.load(directory: pki)
            let now = Date()
            try ca.issue(try CertificateRequest(role: .operator, name: "old"), notValidBefore: now.addingTimeInterval(-864_000),
                         notValidAfter: now.addingTimeInterval(-86_400)).write(to: pki, force: true)
            let everyone = """
                - {role: controller, actions: [read, inject, revert, renew, halt, resume, preview]}
                - {role: operator, names: [alice], actions: [read, inject, revert, renew, halt, resume, preview]}
                - {role: operator, names: [bob], actions: [read]}
            """
            let list = permissions ?? everyone
            let permissionLines = list.isEmpty ? "" : "  permissions:\n" + list
            try """
            apiVersion: chaos/v1
            kind: AgentConfig
            name: db1
            listen: {address: 192.0.2.10, port: \(port)}
            tls: {certificate: \(pki)/db1.pem, key: \(pki)/db1-key.pem, ca: \(pki)/ca.pem}
            stateDir: \(state)
            policy:
            \(permissionLines)
            \(policy)
            """.write(toFile: state + "/agent.yaml", atomically: true, encoding: .utf8)
        }

        func start() throws {
            agent = try lab.start("db1", [Harness.chaos, "agent", "--config", state + "/agent.yaml"], log: state + "/agent.log")
            let up = Harness.waitUntil(timeout: 20) { (try? self.curl("alice", ["https://192.0.2.10:\(self.port)/v1/health"]).status) == 0 }
            try #require(up, "the agent did not come up")
        }

        /// The agent's pid inside the namespace (the child of `ip netns exec`).
        func agentPID() -> Int32? {
            // `chaos agent` execs `chaos-agent` in place: same pid, the agent's own command line.
            ProcFS.table().processes.first { ($0.cmdline.first?.hasSuffix("/chaos-agent") ?? false) && $0.cmdline.contains(state + "/agent.yaml") && !$0.isDead }?.pid
        }

        /// curl inside the lab host with `who`'s certificate (`nil`: none; "other/alice": another CA's).
        func curl(_ who: String?, _ args: [String], body: String? = nil, method: String? = nil) throws -> NetworkLab.Result {
            var argv = ["/usr/bin/curl", "-sS", "--max-time", "10", "--cacert", pki + "/ca.pem"]
            if let who { argv += ["--cert", "\(pki)/\(who).pem", "--key", "\(pki)/\(who)-key.pem"] }
            if let method { argv += ["-X", method] }
            if let body { argv += ["-H", "content-type: application/json", "--data-binary", body] }
            argv += ["-w", "\n%{http_code}"]
            return try lab.run("db1", argv + args)
        }

        /// The HTTP status (last line of curl's output) and the body before it.
        func call(_ who: String?, _ method: String, _ path: String, _ body: String? = nil) throws -> (status: Int, body: String) {
            let r = try curl(who, ["https://192.0.2.10:\(port)\(path)"], body: body, method: method)
            let lines = r.stdout.components(separatedBy: "\n")
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }

        deinit {
            if let pid = agentPID() { kill(pid, SIGKILL) }
            lab.destroy()
        }
    }

    /// A TLS client (alice) that sends the headers of an inject and 10 of its 200 body bytes, then
    /// waits up to 20 s for an answer, and writes the status line to a file.
    static let slowClient = """
    import socket, ssl, sys, time
    pki, addr, port, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    ctx = ssl.create_default_context(cafile=pki + "/ca.pem")
    ctx.load_cert_chain(pki + "/alice.pem", pki + "/alice-key.pem")
    s = ctx.wrap_socket(socket.create_connection((addr, port), timeout=20), server_hostname=addr)
    s.sendall(b"POST /v1/faults HTTP/1.1\\r\\nHost: agent\\r\\nContent-Type: application/json\\r\\nContent-Length: 200\\r\\n\\r\\n{\\"idempote")
    start = time.time()
    try:
        answer = s.recv(4096).decode(errors="replace")
    except Exception as e:
        answer = "error: %r" % e
    open(out, "w").write(answer.split("\\r\\n")[0] + "\\nafter %.1f s\\n" % (time.time() - start))
    """

    static func pauseBody(_ pid: Int32, key: String, lease: String = "30s") -> String {
        #"{"idempotencyKey":"\#(key)","lease":"\#(lease)","fault":{"type":"process.pause","duration":"60s"},"target":{"process":{"pid":\#(pid)}}}"#
    }

    @Test("only clients with a valid certificate from the chaos CA and an allowed subject get in; nothing is injected otherwise")
    func security() throws {
        let host = try AgentHost()
        try host.start()
        let victim = try Harness.victim()
        defer { Harness.cleanup(victim) }
        let body = Self.pauseBody(victim.processIdentifier, key: "sec")
        // No client certificate, another CA's, an expired one: the TLS handshake fails.
        for who in [nil, "other/alice", "old"] as [String?] {
            let r = try host.curl(who, ["-X", "POST", "-d", body, "https://192.0.2.10:\(host.port)/v1/faults"])
            #expect(r.status != 0, "\(who ?? "no certificate") must be refused: \(r.stdout)")
        }
        // A subject the policy does not allow to inject: 403.
        let bob = try host.call("bob", "POST", "/v1/faults", body)
        #expect(bob.status == 403, "\(bob.body)")
        #expect(Harness.state(victim.processIdentifier) != "T", "nothing may be injected when refused")
        // Bad requests get a 4xx and the agent serves the next request.
        #expect(try host.call("alice", "POST", "/v1/faults", "{not json").status == 400)
        #expect(try host.call("alice", "POST", "/v1/faults", #"{"idempotencyKey":"x","lease":"5s","fault":{"type":"process.pause","duration":"5s"},"target":{},"extra":1}"#).status == 400)
        let huge = host.state + "/huge.json"
        try String(repeating: "x", count: 200_000).write(toFile: huge, atomically: true, encoding: .utf8)
        #expect(try host.call("alice", "POST", "/v1/faults", "@" + huge).status == 413)
        #expect(try host.call("alice", "GET", "/v1/health").status == 200)
        // A slow client: it sends the headers and a little of the body, then stalls. Others are served
        // meanwhile; it gets 408 when the body timeout runs out, and nothing is injected.
        let slowOut = host.state + "/slow.out"
        let slow = try host.lab.start("db1", ["/usr/bin/python3", "-c", Self.slowClient, host.pki, "192.0.2.10", "\(host.port)", slowOut])
        defer { Harness.cleanup(slow) }
        Thread.sleep(forTimeInterval: 1)
        #expect(try host.call("alice", "GET", "/v1/health").status == 200, "served while a client stalls")
        slow.waitUntilExit()
        let slowAnswer = (try? String(contentsOfFile: slowOut, encoding: .utf8)) ?? ""
        #expect(slowAnswer.hasPrefix("HTTP/1.1 408"), "\(slowAnswer)")
        #expect(try host.call("alice", "GET", "/v1/health").status == 200)
        #expect(Harness.state(victim.processIdentifier) != "T")
        // And the allowed operator gets the fault.
        let ok = try host.call("alice", "POST", "/v1/faults", body)
        #expect(ok.status == 201, "\(ok.body)")
        #expect(Harness.state(victim.processIdentifier) == "T")
        #expect(try host.call("alice", "POST", "/v1/faults", body).status == 200, "the same idempotency key injects once")
        #expect(try host.call("alice", "POST", "/v1/halt", #"{"reason":"test over"}"#).status == 200)
        #expect(Harness.state(victim.processIdentifier) == "S")
    }

    @Test("a lease that is not renewed ends the fault within a second of running out")
    func deadMansSwitch() throws {
        let host = try AgentHost()
        try host.start()
        let victim = try Harness.victim()
        defer { Harness.cleanup(victim) }
        let r = try host.call("controller", "POST", "/v1/faults", Self.pauseBody(victim.processIdentifier, key: "lease", lease: "2s"))
        #expect(r.status == 201, "\(r.body)")
        let view = try #require(try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
        let expiry = try #require(view["leaseExpiresAt"] as? Int64)
        #expect(Harness.state(victim.processIdentifier) == "T")
        let resumed = Harness.waitUntil(timeout: 10) { Harness.state(victim.processIdentifier) != "T" }
        let at = Harness.nowMs()
        #expect(resumed)
        #expect(at >= expiry - 50 && at <= expiry + 1000, "reverted \(at - expiry) ms after the lease ran out")
    }

    @Test("SIGKILL the agent (and the packet engine) while it holds a pause, a network fault, a delay and a disk fill: the next agent reverts all of them before it answers")
    func crashRecovery() throws {
        let victim = try Harness.victim()
        defer { Harness.cleanup(victim) }
        // The tmpfs is mounted before the agent starts, so the agent's mount namespace (made by
        // `ip netns exec`) holds the same tmpfs. A fixed size keeps any mistake small.
        try Harness.withTmpfs(sizeMiB: 16) { disk in
            let host = try AgentHost()
            try host.start()
            #expect(try host.call("controller", "POST", "/v1/faults", Self.pauseBody(victim.processIdentifier, key: "p", lease: "5m")).status == 201)
            let fill = #"{"idempotencyKey":"d","lease":"5m","fault":{"type":"disk.fill","duration":"10m","with":{"path":"\#(disk)","size":"8MiB"}},"target":{}}"#
            let filled = try host.call("controller", "POST", "/v1/faults", fill)
            #expect(filled.status == 201, "\(filled.body)")
            let blackhole = #"{"idempotencyKey":"n","lease":"5m","fault":{"type":"network.blackhole","duration":"10m","with":{"ports":["9"]}},"target":{}}"#
            let cut = try host.call("controller", "POST", "/v1/faults", blackhole)
            #expect(cut.status == 201, "\(cut.body)")
            #expect(try host.lab.run("db1", ["/usr/sbin/nft", "list", "tables"]).stdout.contains("chaos_"))
            // A delay through the packet engine: its chain, and the engine, which is killed too.
            let delay = #"{"idempotencyKey":"q","lease":"5m","fault":{"type":"network.delay","duration":"10m","with":{"delay":"50ms","ports":["9"]}},"target":{}}"#
            let delayed = try host.call("controller", "POST", "/v1/faults", delay)
            #expect(delayed.status == 201, "\(delayed.body)")
            func chains() throws -> Bool { try host.lab.run("db1", ["/usr/sbin/iptables-legacy", "-w", "5", "-t", "mangle", "-S"]).stdout.contains("chaos-") }
            func engines() -> [Int32] {
                ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
                    let argv = (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()).split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                    return argv.count > 2 && argv[1] == "_netqueue" && !Harness.isDead(pid)
                }
            }
            #expect(try chains(), "the delay's chain is in place")
            let engine = try #require(engines().first, "the packet engine runs")
            #expect(Harness.state(victim.processIdentifier) == "T")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: disk))?.isEmpty == false)
            let pid = try #require(host.agentPID())
            kill(pid, SIGKILL)
            kill(engine, SIGKILL)
            #expect(Harness.waitUntil(timeout: 5) { Harness.isDead(pid) && Harness.isDead(engine) })
            #expect(Harness.state(victim.processIdentifier) == "T", "a dead agent reverts nothing by itself before its leases run out")
            #expect(try chains(), "the chain stays (packets bypass the dead engine) until the next agent starts")
            try host.start()
            // The first answer comes only after recovery: everything is back already.
            #expect(Harness.state(victim.processIdentifier) == "S")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: disk))?.isEmpty == true)
            #expect(try host.lab.run("db1", ["/usr/sbin/nft", "list", "tables"]).stdout.contains("chaos_") == false)
            #expect(try chains() == false, "the next agent removed the delay's chain")
            let list = try host.call("controller", "GET", "/v1/faults")
            #expect(list.body == "[]", "\(list.body)")
        }
    }

    @Test("discovery: a read-only operator sees the agent's own listener with its pid and process, a local service and a client's connection to it, both ends; no certificate, no answer; a watch catches a connection that lived one second")
    func discovery() throws {
        let host = try AgentHost()
        try host.start()
        // A service and a client holding one connection to it, inside the agent's host.
        let server = try host.lab.start("db1", ["/usr/bin/python3", "-c", """
        import socket, time
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("192.0.2.10", 6399)); s.listen(5)
        c, _ = s.accept(); time.sleep(60)
        """])
        defer { Harness.cleanup(server) }
        #expect(Harness.waitUntil(timeout: 10) { (try? host.lab.run("db1", ["/usr/bin/ss", "-Htln", "sport", "= :6399"]).stdout.isEmpty) == false })
        let client = try host.lab.start("db1", ["/usr/bin/python3", "-c", "import socket, time; s = socket.create_connection(('192.0.2.10', 6399)); time.sleep(60)"])
        defer { Harness.cleanup(client) }
        #expect(Harness.waitUntil(timeout: 10) { (try? host.lab.run("db1", ["/usr/bin/ss", "-Htn", "state", "established", "dport", "= :6399"]).stdout.isEmpty) == false })

        let r = try host.call("bob", "GET", "/v1/discovery")
        #expect(r.status == 200, "\(r.body)")
        let view = try JSONDecoder().decode(HostDiscovery.self, from: Data(r.body.utf8))
        let agent = try #require(host.agentPID())
        #expect(view.listeners.contains { $0.port == host.port && $0.owner.pid == agent && $0.owner.process == "chaos-agent" }, "the agent's own listener: \(view.listeners)")
        #expect(view.listeners.contains { $0.port == 6399 && $0.address == "192.0.2.10" && $0.owner.process == "python3" })
        #expect(view.connections.contains { $0.direction == .outgoing && $0.remotePort == 6399 && $0.remoteAddress == "192.0.2.10" && $0.owner.process == "python3" })
        #expect(view.connections.contains { $0.direction == .incoming && $0.localPort == 6399 })
        #expect(view.connections.contains { $0.direction == .incoming && $0.localPort == host.port && $0.owner.pid == agent }, "this very request")
        #expect(try host.call(nil, "GET", "/v1/discovery").status != 200, "no certificate, no view of the host")

        // A watch sees a connection that lives one second, between two requests for the view. The
        // long-lived client goes first, so only the watch can know of a client of 6399.
        Harness.cleanup(client)
        #expect(Harness.waitUntil(timeout: 10) { (try? host.lab.run("db1", ["/usr/bin/ss", "-Htn", "state", "established", "dport", "= :6399"]).stdout.isEmpty) == true })
        let watching = try host.call("bob", "POST", "/v1/discovery/watch", #"{"for": "3s", "every": "1s"}"#)
        #expect(watching.status == 200, "\(watching.body)")
        usleep(500_000)
        let brief = try host.lab.run("db1", ["/usr/bin/python3", "-c", "import socket, time; s = socket.create_connection(('192.0.2.10', 6399)); time.sleep(1.2)"], timeout: 10)
        #expect(brief.status == 0, "\(brief.stderr)")
        usleep(2_500_000)
        #expect((try host.lab.run("db1", ["/usr/bin/ss", "-Htn", "state", "established", "dport", "= :6399"]).stdout.isEmpty), "the brief connection is gone")
        let watched = try JSONDecoder().decode(HostDiscovery.self, from: Data(try host.call("bob", "GET", "/v1/discovery").body.utf8))
        #expect(watched.windowMs >= 2000, "the view covers the watch: \(watched.windowMs) ms")
        let outgoing = watched.connections.filter { $0.direction == .outgoing && $0.remotePort == 6399 }
        // While open it was python3's; once closed, its TIME_WAIT has no process any more.
        #expect(outgoing.contains { $0.owner.process == "python3" } && outgoing.allSatisfy { $0.owner.process == "python3" || $0.owner.pid == nil }, "\(outgoing)")
        let bad = try host.call("bob", "POST", "/v1/discovery/watch", #"{"for": "2h"}"#)
        #expect(bad.status == 400 && bad.body.contains("at most 1h"), "\(bad.body)")
    }

    @Test("fencing over mutual TLS: a controller epoch below the highest seen may not inject or renew (409 controller.fenced); a bad epoch header is a 400; reverting is never fenced")
    func fencing() throws {
        let host = try AgentHost()
        try host.start()
        let victim = try Harness.victim()
        defer { Harness.cleanup(victim) }
        func call(_ epoch: String?, _ method: String, _ path: String, _ body: String?) throws -> (status: Int, body: String) {
            let r = try host.curl("controller", (epoch.map { ["-H", "chaos-controller-epoch: \($0)"] } ?? []) + ["https://192.0.2.10:\(host.port)\(path)"], body: body, method: method)
            let lines = r.stdout.components(separatedBy: "\n")
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }
        let first = try call("7", "POST", "/v1/faults", Self.pauseBody(victim.processIdentifier, key: "e7", lease: "30s"))
        #expect(first.status == 201, "\(first.body)")
        let id = try #require((try? JSONSerialization.jsonObject(with: Data(first.body.utf8)) as? [String: Any])?["id"] as? String)
        let stale = try call("6", "POST", "/v1/faults", Self.pauseBody(victim.processIdentifier, key: "e6"))
        #expect(stale.status == 409 && stale.body.contains("controller.fenced") && stale.body.contains("epoch 7"), "\(stale.body)")
        let renew = try call("6", "POST", "/v1/faults/\(id)/renew", #"{"lease": "30s"}"#)
        #expect(renew.status == 409 && renew.body.contains("controller.fenced"), "\(renew.body)")
        #expect(try call("7", "POST", "/v1/faults/\(id)/renew", #"{"lease": "30s"}"#).status == 200)
        #expect(try call("x7", "POST", "/v1/faults/\(id)/renew", #"{"lease": "30s"}"#).status == 400)
        #expect(try call("6", "DELETE", "/v1/faults/\(id)", nil).status == 200, "reverting is never fenced")
        #expect(Harness.waitUntil(timeout: 5) { Harness.state(victim.processIdentifier) != "T" })
        let kept = try String(contentsOfFile: host.state + "/controller-epoch", encoding: .utf8)
        #expect(kept.trimmingCharacters(in: .whitespacesAndNewlines) == "7", "kept for a restart: \(kept)")
        // POST /v1/fence: the header is required, a lower epoch is fenced, a higher one is kept.
        #expect(try call(nil, "POST", "/v1/fence", "{}").status == 400)
        #expect(try call("99999999999999999999999", "POST", "/v1/fence", "{}").status == 400, "more than 20 digits")
        let lower = try call("5", "POST", "/v1/fence", "{}")
        #expect(lower.status == 409 && lower.body.contains("controller.fenced"), "\(lower.body)")
        let higher = try call("8", "POST", "/v1/fence", "{}")
        #expect(higher.status == 200 && higher.body.contains("\"epoch\":8"), "\(higher.body)")
        #expect(try call("7", "POST", "/v1/faults/\(id)/renew", #"{"lease": "30s"}"#).status == 409, "epoch 7 is fenced once 8 was shown")
    }

    @Test("SIGTERM reverts everything, then the agent exits")
    func gracefulStop() throws {
        let host = try AgentHost()
        try host.start()
        let victim = try Harness.victim()
        defer { Harness.cleanup(victim) }
        #expect(try host.call("controller", "POST", "/v1/faults", Self.pauseBody(victim.processIdentifier, key: "t", lease: "5m")).status == 201)
        let pid = try #require(host.agentPID())
        kill(pid, SIGTERM)
        #expect(Harness.waitUntil(timeout: 15) { Harness.isDead(pid) })
        #expect(Harness.state(victim.processIdentifier) == "S")
    }
}
