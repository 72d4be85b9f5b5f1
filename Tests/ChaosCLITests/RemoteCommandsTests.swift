import ArgumentParser
@testable import ChaosCLI
import Testing

@Suite("RemoteCommands: which command lines chaos hands to chaos-remote")
struct RemoteCommandsTests {
    /// The rule `chaos ARGS` matches, or `nil` when it runs in `chaos` itself.
    func rule(_ arguments: [String]) throws -> RemoteCommands.Rule? {
        RemoteCommands.rule(for: try ChaosCommand.parseAsRoot(arguments))
    }

    @Test("run, gameday, verdicts, report, spof verify, controller, halt and resume always run there",
          arguments: [
              ["run", "x.yaml"], ["gameday", "experiments"], ["verdicts"], ["report", "--last", "2"],
              ["spof", "verify", "--inventory", "inv.yaml"], ["controller"], ["controller", "serve", "--config", "c.yaml"],
              ["halt", "--inventory", "inv.yaml"], ["halt", "--controller", "https://c:7434"], ["resume", "--inventory", "inv.yaml"],
              ["map", "discover", "--inventory", "inv.yaml"], ["map", "diff", "--inventory", "inv.yaml", "--watch", "1m"],
          ])
    func always(_ arguments: [String]) throws {
        #expect(try rule(arguments) != nil)
    }

    @Test("a fault on another inventory host goes through its agent, whatever the command",
          arguments: [
              ["kill", "--target", "db-primary", "--inventory", "inv.yaml"],
              ["pause", "--target", "db-primary", "--inventory", "inv.yaml", "--for", "30s"],
              ["stop", "--unit", "redis.service", "--host", "db1", "--inventory", "inv.yaml", "--for", "1m"],
              ["disk", "fill", "--path", "/srv", "--percent", "90", "--host", "db1", "--inventory", "inv.yaml", "--for", "1m"],
              ["stress", "cpu", "--host", "db1", "--inventory", "inv.yaml", "--for", "1m"],
              ["net", "delay", "--delay", "100ms", "--target", "db-primary", "--inventory", "inv.yaml", "--for", "1m"],
              ["net", "blackhole", "--host", "db1", "--inventory=inv.yaml", "--for", "1m"],
              ["inject", "process.signal", "--set", "signal=HUP", "--target", "db-primary", "--inventory", "inv.yaml"],
          ])
    func throughAgents(_ arguments: [String]) throws {
        let r = try rule(arguments)
        #expect(r?.why.contains("agent") == true)
    }

    @Test("status and revert with --inventory, and any fault with --observe (not a dry run)",
          arguments: [
              ["status", "--inventory", "inv.yaml"], ["revert", "--all", "--inventory", "inv.yaml"],
              ["kill", "--pid", "42", "--observe", "http://127.0.0.1:8080/healthz"],
              ["pause", "--name", "web", "--for", "10s", "--observe", "http://127.0.0.1:8080/"],
          ])
    func conditional(_ arguments: [String]) throws {
        #expect(try rule(arguments) != nil)
    }

    @Test("everything else runs in chaos itself",
          arguments: [
              ["kill", "--pid", "42"], ["kill", "--pid", "42", "--dry-run"],
              ["kill", "--pid", "42", "--observe", "http://127.0.0.1:8080/", "--dry-run"],
              ["pause", "--port", "6379", "--for", "30s"], ["stop", "--unit", "nginx.service", "--for", "1m"],
              ["stress", "cpu", "--for", "1m"], ["net", "delay", "--delay", "100ms", "--for", "1m"],
              ["net", "blackhole", "--to", "db1", "--inventory", "inv.yaml", "--for", "1m"],  // an inventory to resolve --to only
              ["status"], ["revert", "--all"], ["validate", "x.yaml"], ["capabilities"],
              ["spof", "analyze", "--inventory", "inv.yaml"], ["controller", "token", "--name", "grafana"],
              ["spof", "whatif", "--inventory", "inv.yaml", "--fail", "zone:a"], ["map", "diff", "--inventory", "inv.yaml", "--from", "d.json"],
              ["certs", "show", "ca.pem"], ["inject", "process.signal", "--set", "signal=HUP", "--name", "nginx"],
              ["_guardian", "--state-dir", "/tmp/x", "--fault", "f-1"],
          ])
    func local(_ arguments: [String]) throws {
        #expect(try rule(arguments) == nil)
    }

    @Test("every rule says when and why, for the README and the error when chaos-remote is missing")
    func described() {
        for r in RemoteCommands.table {
            #expect(!r.when.isEmpty && !r.why.isEmpty)
        }
    }

    @Test("the output format of the command is found for reporting a failed exec")
    func output() throws {
        #expect(RemoteCommands.output(of: try ChaosCommand.parseAsRoot(["status", "--inventory", "i.yaml", "--output", "json"])) == .json)
        #expect(RemoteCommands.output(of: try ChaosCommand.parseAsRoot(["halt", "--inventory", "i.yaml"])) == .table)
    }
}
