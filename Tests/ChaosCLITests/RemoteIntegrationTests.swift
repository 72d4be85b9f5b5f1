import ChaosCore
import ChaosLinux
import ChaosTesting
import Foundation
import Glibc
import Testing

/// Remote one-offs for real: an agent on host `db1` (a network namespace), the `chaos` command on
/// host `ops`, mutual TLS with certificates made by `chaos certs`, an inventory naming both.
@Suite("Remote one-offs and fleet commands through agents", .serialized, Requirements.integration("/usr/sbin/ip", "/usr/sbin/nft"))
struct RemoteIntegrationTests {
    final class Fleet {
        let lab = NetworkLab("remote")
        let pki = Harness.stateDir()
        let state = Harness.stateDir()
        let client = Harness.stateDir()
        let inventory: String
        let victimName = "rvictim\(UInt16.random(in: 0...9999))"
        var agent: Process?

        init() throws {
            try lab.pair("db1", "10.77.1.1/24", "ops", "10.77.1.2/24")
            for args in [["certs", "init", "--dir", pki], ["certs", "issue", "--agent", "db1", "--san", "10.77.1.1", "--dir", pki],
                         ["certs", "issue", "--operator", "alice", "--dir", pki], ["certs", "issue", "--operator", "bob", "--dir", pki]] {
                let out = try Harness.run(args, state: state)
                try #require(out.status == 0, "chaos \(args.joined(separator: " ")): \(out.stderr)")
            }
            try """
            apiVersion: chaos/v1
            kind: AgentConfig
            name: db1
            listen: {address: 10.77.1.1, port: 7433}
            tls: {certificate: \(pki)/db1.pem, key: \(pki)/db1-key.pem, ca: \(pki)/ca.pem}
            stateDir: \(state)
            policy:
              permissions:
                - {role: operator, names: [alice], actions: [read, inject, revert, renew, halt, resume, preview]}
                - {role: operator, names: [bob], actions: [read]}
            """.write(toFile: state + "/agent.yaml", atomically: true, encoding: .utf8)
            // db2 is in the inventory with an agent URL, but no such host answers.
            inventory = client + "/inventory.yaml"
            try """
            apiVersion: chaos/v1
            kind: Inventory
            hosts:
              - {name: db1, address: 10.77.1.1, agent: "https://10.77.1.1:7433"}
              - {name: db2, address: 10.77.1.3, agent: "https://10.77.1.3:7433"}
              - {name: ops, address: 10.77.1.2}
            targets:
              - {name: victim, host: db1, process: {name: \(victimName)}}
            """.write(toFile: inventory, atomically: true, encoding: .utf8)
            agent = try lab.start("db1", [Harness.chaos, "agent", "--config", state + "/agent.yaml"])
            let up = Harness.waitUntil(timeout: 20) { (try? self.chaos(["status", "--host", "db1"]).status) == 0 }
            try #require(up, "the agent did not come up")
        }

        /// The chaos command on host `ops`, as alice unless `identity` says otherwise.
        func chaos(_ args: [String], identity: String = "alice", on host: String = "ops", timeout: TimeInterval = 60) throws -> NetworkLab.Result {
            try lab.run(host, [Harness.chaos] + args + ["--inventory", inventory], env: env(identity), timeout: timeout)
        }

        /// The same in the background.
        func start(_ args: [String], identity: String = "alice") throws -> Process {
            try lab.start("ops", [Harness.chaos] + args + ["--inventory", inventory], env: env(identity))
        }

        func env(_ identity: String) -> [String: String] {
            ["CHAOS_IDENTITY": identity, "CHAOS_PKI_DIR": pki, "CHAOS_STATE_DIR": client]
        }

        /// The open faults of db1, from `chaos status --inventory ... --output json` (run on `host`).
        func faults(on host: String = "ops") throws -> [[String: Any]] {
            let out = try chaos(["status", "--host", "db1", "--output", "json"], on: host)
            let json = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
            let hosts = json?["hosts"] as? [[String: Any]] ?? []
            return hosts.first?["faults"] as? [[String: Any]] ?? []
        }

        /// nft tables inside db1.
        func tables() throws -> String { try lab.run("db1", ["/usr/sbin/nft", "list", "tables"]).stdout }

        deinit {
            if let agent { kill(agent.processIdentifier, SIGTERM); agent.waitUntilExit() }
            lab.destroy()
        }
    }

    @Test("dry run, pause, network fault and kill on another host, through its agent")
    func remoteFaults() throws {
        let fleet = try Fleet()
        let victim = try Harness.victim(named: fleet.victimName)
        defer { Harness.cleanup(victim) }
        let pid = victim.processIdentifier

        let dry = try fleet.chaos(["kill", "--target", "victim", "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("\(pid)") && dry.stdout.contains("db1"), "\(dry.stdout)")
        #expect(!Harness.isDead(pid))

        let pause = try fleet.start(["pause", "--target", "victim", "--for", "3s"])
        #expect(Harness.waitUntil(timeout: 10) { Harness.state(pid) == "T" }, "paused through the agent")
        let open = try fleet.faults()
        #expect(open.count == 1 && open.first?["kind"] as? String == "process.pause", "\(open)")
        #expect((open.first?["requestedBy"] as? String)?.contains("alice") == true, "the agent records who asked: \(open)")
        pause.waitUntilExit()
        #expect(pause.terminationStatus == 0)
        #expect(Harness.state(pid) == "S", "resumed at the end")
        #expect(try fleet.faults().isEmpty)

        // Ctrl-C ends a held fault at once (well before its lease would).
        let interrupted = try fleet.start(["pause", "--target", "victim", "--for", "60s"])
        #expect(Harness.waitUntil(timeout: 10) { Harness.state(pid) == "T" })
        kill(interrupted.processIdentifier, SIGINT)
        interrupted.waitUntilExit()
        #expect(interrupted.terminationStatus == 130)
        #expect(Harness.state(pid) == "S", "reverted before the command returned")

        let net = try fleet.start(["net", "blackhole", "--host", "db1", "--port", "9", "--for", "3s"])
        #expect(Harness.waitUntil(timeout: 10) { (try? fleet.tables())?.contains("chaos_") == true }, "the nft table is in db1")
        net.waitUntilExit()
        #expect(net.terminationStatus == 0)
        #expect(try fleet.tables().contains("chaos_") == false, "and gone after")

        // Host-wide faults whose helpers are `chaos` subcommands, started by the agent.
        let stress = try fleet.chaos(["stress", "cpu", "--host", "db1", "--workers", "1", "--load", "10", "--for", "1s"])
        #expect(stress.status == 0, "\(stress.stdout)\(stress.stderr)")
        #expect(stress.stdout.contains("confirmed by its agent"), "\(stress.stdout)")

        let kill = try fleet.chaos(["kill", "--target", "victim"])
        #expect(kill.status == 0, "\(kill.stderr)")
        #expect(kill.stdout.contains("confirmed gone"), "\(kill.stdout)")
        #expect(Harness.waitUntil(timeout: 5) { Harness.isDead(pid) })
    }

    @Test("status, revert --all, halt and resume act on every agent and report per host")
    func fleetCommands() throws {
        let fleet = try Fleet()
        let victim = try Harness.victim(named: fleet.victimName)
        defer { Harness.cleanup(victim) }
        let pid = victim.processIdentifier

        // A detached fault: nobody renews, so its lease is its duration; revert --all ends it.
        let detached = try fleet.chaos(["pause", "--target", "victim", "--for", "60s", "--detach"])
        #expect(detached.status == 0, "\(detached.stderr)")
        #expect(Harness.state(pid) == "T")
        // db2 does not answer: reported per host, exit status 1, db1 still listed.
        let status = try fleet.chaos(["status"])
        #expect(status.status == 1)
        #expect(status.stdout.contains("process.pause") && status.stdout.contains("UNREACHABLE"), "\(status.stdout)")
        let reverted = try fleet.chaos(["revert", "--all", "--host", "db1"])
        #expect(reverted.status == 0, "\(reverted.stderr)")
        #expect(Harness.state(pid) == "S")

        // Halt while a fault is held: it is reverted, its holder says so, and new faults are refused.
        let held = try fleet.start(["pause", "--target", "victim", "--for", "60s"])
        #expect(Harness.waitUntil(timeout: 10) { Harness.state(pid) == "T" })
        let halt = try fleet.chaos(["halt", "--host", "db1", "--reason", "test", "--output", "json"])
        #expect(halt.status == 0, "\(halt.stdout) \(halt.stderr)")
        #expect(Harness.state(pid) == "S")
        held.waitUntilExit()
        #expect(held.terminationStatus == 1, "the holder reports that the fault ended early")
        let refused = try fleet.chaos(["pause", "--target", "victim", "--for", "5s"])
        #expect(refused.status == 1 && refused.stderr.contains("halted"), "\(refused.stderr)")
        #expect(Harness.state(pid) == "S")
        #expect(try fleet.chaos(["resume", "--host", "db1"]).status == 0)
        let again = try fleet.chaos(["pause", "--target", "victim", "--for", "1s"])
        #expect(again.status == 0, "\(again.stderr)")

        // A subject the agent's policy allows only to read; an identity without files.
        let bob = try fleet.chaos(["pause", "--target", "victim", "--for", "5s"], identity: "bob")
        #expect(bob.status == 1 && bob.stderr.contains("Refused"), "\(bob.stderr)")
        #expect(try fleet.chaos(["status", "--host", "db1"], identity: "bob").status == 0)
        let nobody = try fleet.chaos(["status", "--host", "db1"], identity: "nobody")
        #expect(nobody.status == 64 && nobody.stderr.contains("chaos certs issue --operator nobody"), "\(nobody.stderr)")
        #expect(Harness.state(pid) == "S")
    }

    @Test("chaos run with an inventory target runs the fault through the target's agent, and judges it")
    func runThroughAgent() throws {
        let fleet = try Fleet()
        let victim = try Harness.victim(named: fleet.victimName)
        defer { Harness.cleanup(victim) }
        let file = fleet.client + "/pause.yaml"
        try """
        apiVersion: chaos/v1
        kind: Experiment
        name: pause-victim
        target: victim
        fault: {type: process.pause, duration: 2s}
        probes:
          - {name: alive, type: command, command: [/bin/true], interval: 250ms, timeout: 250ms}
        expect: {recoverWithin: 5s}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try fleet.start(["run", file, "--gate", "1s"])
        #expect(Harness.waitUntil(timeout: 15) { Harness.state(victim.processIdentifier) == "T" }, "paused through the agent")
        run.waitUntilExit()
        #expect(run.terminationStatus == 0, "passed")
        #expect(Harness.state(victim.processIdentifier) == "S")
        let list = try fleet.lab.run("ops", [Harness.chaos, "verdicts", "--output", "json"], env: fleet.env("alice"))
        #expect(list.stdout.contains("\"host\" : \"db1\"") && list.stdout.contains("passed"), "\(list.stdout)")
    }

    /// Waits for the held fault, ends the client with `cut`, and checks that the agent reverts within
    /// one second of the lease running out.
    func leaseOutlivesItsHolder(_ cut: (Fleet, Process) throws -> Void) throws {
        let fleet = try Fleet()
        let victim = try Harness.victim(named: fleet.victimName)
        defer { Harness.cleanup(victim) }
        let pid = victim.processIdentifier
        let held = try fleet.start(["pause", "--target", "victim", "--for", "5m"])
        defer { Harness.cleanup(held) }
        #expect(Harness.waitUntil(timeout: 10) { Harness.state(pid) == "T" })
        // Let a renewal or two happen first.
        Thread.sleep(forTimeInterval: 4)
        try cut(fleet, held)
        // The lease as the agent has it now (asked from db1 itself: the client may be cut off).
        let expiry = try #require(try fleet.faults(on: "db1").first?["leaseExpiresAt"] as? Int64)
        #expect(Harness.state(pid) == "T", "still held until the lease runs out")
        #expect(Harness.waitUntil(timeout: 15) { Harness.state(pid) == "S" })
        let at = Harness.nowMs()
        #expect(at >= expiry - 50 && at <= expiry + 1000, "reverted \(at - expiry) ms after the lease ran out")
    }

    @Test("SIGKILL the client during a leased fault: the agent reverts when the lease runs out")
    func clientKilled() throws {
        try leaseOutlivesItsHolder { _, client in
            kill(client.processIdentifier, SIGKILL)
            client.waitUntilExit()
        }
    }

    @Test("cut the client off the network during a leased fault: the agent reverts when the lease runs out")
    func clientPartitioned() throws {
        try leaseOutlivesItsHolder { fleet, _ in
            try fleet.lab.run("ops", ["/usr/sbin/ip", "link", "set", "eth0", "down"])
        }
    }
}
