import ArgumentParser
@testable import ChaosCLI
import ChaosCore
import Foundation
import Testing

/// The command line as a whole, through the real binary: what a mistake gets back, one `-o/--output`,
/// one name per meaning, and the man page.
@Suite("The command line")
struct CommandLineTests {
    static func run(_ args: [String]) throws -> Harness.Output { try Harness.run(args, state: Harness.stateDir()) }

    @Test("a mistyped command gets the closest one, at any depth, exit 64")
    func didYouMean() throws {
        let top = try Self.run(["kil", "--pid", "1"])
        #expect(top.status == 64)
        #expect(top.stderr.contains("Unknown command 'kil' for 'chaos'. Did you mean 'kill'?"), "\(top.stderr)")
        let nested = try Self.run(["net", "los", "--packets", "3"])
        #expect(nested.stderr.contains("Unknown command 'los' for 'chaos net'. Did you mean 'loss'?"), "\(nested.stderr)")
        let far = try Self.run(["zzzzzz"])
        #expect(far.status == 64 && far.stderr.contains("Unknown command 'zzzzzz'") && !far.stderr.contains("Did you mean"))
    }

    @Test("a duration without a unit gets the fix; an unknown unit the units")
    func durationHints() throws {
        let bare = try Self.run(["pause", "--pid", "1", "--for", "30"])
        #expect(bare.status == 64)
        #expect(bare.stderr.contains("it has no unit; did you mean '30s'?"), "\(bare.stderr)")
        let unit = try Self.run(["pause", "--pid", "1", "--for", "5min"])
        #expect(unit.stderr.contains("has unknown unit 'min'"), "\(unit.stderr)")
    }

    @Test("with -o json, usage and validation errors are JSON on stdout, with the exit code")
    func jsonErrors() throws {
        for args in [["pause", "--pid", "1", "--for", "30", "-o", "json"], ["kil", "--output", "json"], ["net", "loss", "--packets", "150", "--for", "1s", "--output=json"]] {
            let out = try Self.run(args)
            #expect(out.status == 64)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "\(args): \(out.stdout)")
            let error = try #require(json["error"] as? [String: Any])
            #expect(error["code"] as? String == "usage")
            #expect(error["exit"] as? Int == 64)
            #expect((error["message"] as? String)?.isEmpty == false)
        }
    }

    @Test("-o is the output format on every command that has one; the report writes to --file")
    func outputEverywhere() throws {
        for args in [["kill", "--pid", "1", "--dry-run", "-o", "json"], ["capabilities", "-o", "json"], ["validate", Harness.root + "/experiments/examples/process-kill.yaml", "-o", "json"]] {
            do { _ = try ChaosCommand.parseAsRoot(args) } catch { Issue.record("\(args): \(ChaosCommand.message(for: error))") }
        }
        #expect(throws: (any Error).self) { _ = try ChaosCommand.parseAsRoot(["report", "--last", "1", "-o", "kill-db.html"]) }
        _ = try ChaosCommand.parseAsRoot(["report", "--last", "1", "-o", "html", "--file", "kill-db.html"])
        // The old names still parse, hidden: scripts written before keep working.
        _ = try ChaosCommand.parseAsRoot(["report", "--last", "1", "--format", "html", "--out", "kill-db.html"])
        _ = try ChaosCommand.parseAsRoot(["net", "loss", "--percent", "30", "--port", "80", "--for", "1s"])
        _ = try ChaosCommand.parseAsRoot(["disk", "fill", "--path", "/srv", "--percent", "90", "--for", "1s"])
        _ = try ChaosCommand.parseAsRoot(["certs", "init", "--dir", "/tmp/x"])
        _ = try ChaosCommand.parseAsRoot(["spof", "plan", "--inventory", "i.yaml", "--out", "/tmp/p", "--hold", "20s"])
        _ = try ChaosCommand.parseAsRoot(["spof", "plan", "--inventory", "i.yaml", "--out", "/tmp/p", "--for", "20s"])
        #expect(throws: (any Error).self) { _ = try ChaosCommand.parseAsRoot(["net", "loss", "--percent", "30", "--packets", "30", "--for", "1s"]) }
    }

    @Test("--port means one thing: the process listening; traffic filters say --ports")
    func names() throws {
        let loss = ChaosCommand.helpMessage(for: NetLossCommand.self)
        #expect(loss.contains("--ports <ports>") && !loss.contains("--port <") && loss.contains("--packets <percent>") && !loss.contains("--percent"))
        let kill = ChaosCommand.helpMessage(for: KillCommand.self)
        #expect(kill.contains("--port <port>") && kill.contains("The process listening on this TCP port."))
        let fill = ChaosCommand.helpMessage(for: DiskFillCommand.self)
        #expect(fill.contains("--used <percent>") && !fill.contains("--percent"))
        #expect(ChaosCommand.helpMessage(for: CertsInitCommand.self).contains("--pki-dir <dir>"))
        // Options that would do nothing are not offered: commands that never reach an agent have no identity.
        for local in [VerdictsCommand.self, SchedulePreviewCommand.self, SPOFAnalyzeCommand.self, SPOFPlanCommand.self] as [any ParsableCommand.Type] {
            let help = ChaosCommand.helpMessage(for: local)
            #expect(!help.contains("--identity") && !help.contains("--pki-dir") && help.contains("-o, --output"), "\(local)")
        }
        #expect(ChaosCommand.helpMessage(for: RunCommand.self).contains("--identity"))
    }

    @Test("the man page holds every visible command's help and the exit codes; hidden helpers stay out")
    func manual() throws {
        // Through the binary, into a file (the page is larger than a pipe's buffer).
        let file = Harness.stateDir() + "/chaos.1"
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        sh.arguments = ["-c", "\"$0\" manual > \"$1\"", Harness.chaos, file]
        try sh.run()
        sh.waitUntilExit()
        #expect(sh.terminationStatus == 0)
        let page = try String(contentsOfFile: file, encoding: .utf8)
        #expect(page == ManualCommand.page() + "\n")
        let out = (status: sh.terminationStatus, stdout: page)
        #expect(out.stdout.hasPrefix(".TH CHAOS 1"))
        for section in [".SS chaos kill", ".SS chaos net loss", ".SS chaos inject", ".SS chaos schema experiment", ".SH EXIT STATUS"] {
            #expect(out.stdout.contains(section), "\(section) missing")
        }
        #expect(!out.stdout.contains("_guardian") && !out.stdout.contains("_stress"))
        #expect(out.stdout.contains("130 interrupted") && out.stdout.contains("2 inconclusive"))
    }

    @Test("chaos inject: every kind by its descriptor; wrong kinds, names, values and durations are refused before anything runs")
    func inject() throws {
        for bad in [["inject", "process.signl", "--name", "x"], ["inject", "process.signal", "--name", "x"],
                    ["inject", "process.signal", "--set", "signal=HUP", "--name", "x", "--for", "1s"],
                    ["inject", "network.loss", "--set", "lossPercent=30"],
                    ["inject", "network.loss", "--set", "lossPercent=30", "--for", "30"],
                    ["inject", "network.blackhole", "--set", "includeControlPort=maybe", "--for", "1s"],
                    ["inject", "network.blackhole", "--set", "ports=0", "--for", "1s"],
                    ["inject", "network.blackhole", "--set", "nope", "--for", "1s"],
                    ["inject", "disk.fill", "--set", "path=/srv", "--set", "size=1GiB", "--name", "x", "--for", "1s"],
                    ["inject", "systemd.stop", "--for", "1s"],
                    ["net", "partition", "--between", ",, ,", "--and", "10.0.0.1", "--for", "1s"],
                    ["net", "loss", "--packets", "1e400", "--for", "1s"]] {
            #expect(throws: (any Error).self, "\(bad)") { _ = try ChaosCommand.parseAsRoot(bad) }
        }
        for good in [["inject", "process.signal", "--set", "signal=HUP", "--name", "x"],
                     ["inject", "network.blackhole", "--set", "includeControlPort=true", "--set", "ports=80,8000-8100", "--for", "1s"],
                     ["inject", "systemd.stop", "--unit", "a.service", "--for", "1m"]] {
            do { _ = try ChaosCommand.parseAsRoot(good) } catch { Issue.record("\(good): \(ChaosCommand.message(for: error))") }
        }
    }

    @Test("--help groups the commands")
    func groups() {
        let help = ChaosCommand.helpMessage()
        for group in ["FAULT SUBCOMMANDS:", "EXPERIMENT SUBCOMMANDS:", "OPERATION SUBCOMMANDS:", "SETUP SUBCOMMANDS:"] {
            #expect(help.contains(group), "\(group) missing")
        }
    }
}
