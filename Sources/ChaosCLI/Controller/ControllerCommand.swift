import ArgumentParser
import ChaosCore
import ChaosRun
import Crypto
import Foundation

struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Run experiments on their schedules, through the agents, and keep every verdict.",
        subcommands: [ControllerServeCommand.self, ControllerTokenCommand.self],
        defaultSubcommand: ControllerServeCommand.self
    )
}

/// `chaos controller token --name NAME [--role ROLE] [--expires 30d]`: a new API token and the line
/// for controller.yaml.
struct ControllerTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Make an API token for the controller's API and dashboard.",
        discussion: """
        Prints a new random token (give it to its holder; the controller never stores it) and the \
        line to add under 'api.tokens' in controller.yaml (its SHA-256, role and expiry). The name \
        is who the audit log records for halts and resumes made with it. The role is what the token \
        may do: viewer (read: dashboards, Prometheus), operator (also halt and resume) or admin; \
        a token without one is a viewer.

        Examples:
          chaos controller token --name grafana --expires 365d
          chaos controller token --name alice --role operator --expires 30d
          chaos controller token --name ci --role operator --expires 2027-01-31 --output json
        """
    )
    @Option(help: "Who holds the token (for the audit log).") var name: String
    @Option(help: ArgumentHelp("What it may do: viewer, operator or admin.", valueName: "role")) var role: String = "viewer"
    @Option(help: ArgumentHelp("When it stops working: a duration from now (30d, 12h) or a date (2027-01-31, 2027-01-31T00:00:00Z). Default: never.",
                               valueName: "when")) var expires: String?
    @OptionGroup var local: LocalOptions
    var global: GlobalOptions { local.global }

    func validate() throws {
        guard ControllerRole(rawValue: role) != nil else {
            throw ValidationError("--role '\(role)' is not a role. Use one of: \(ControllerConfiguration.roles.joined(separator: ", ")).")
        }
        if let expires { _ = try Self.expiry(expires, now: Date()) }
    }

    /// `--expires` as the ISO 8601 instant written into controller.yaml.
    static func expiry(_ text: String, now: Date) throws(ValidationError) -> String {
        let ms: Int64
        if let d = try? ChaosDuration.parse(text) {
            guard d.milliseconds > 0 else { throw ValidationError("--expires '\(text)' is no time at all. Give e.g. '30d'.") }
            ms = Int64(now.timeIntervalSince1970 * 1000) + d.milliseconds
        } else if let at = ControllerConfiguration.expiry(text) {
            guard Double(at) > now.timeIntervalSince1970 * 1000 else { throw ValidationError("--expires '\(text)' is in the past. Give a later date or a duration such as '30d'.") }
            ms = at
        } else {
            throw ValidationError("--expires '\(text)' is neither a duration nor a date. Give e.g. '30d', '12h', '2027-01-31' or '2027-01-31T00:00:00Z'.")
        }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: Double(ms / 1000)))
    }

    func run() throws {
        var bytes = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        let token = "chaos_" + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let hash = SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
        let until = try expires.map { try Self.expiry($0, now: Date()) }
        if global.output == .json {
            var out = ["name": name, "token": token, "sha256": hash, "role": role]
            if let until { out["expires"] = until }
            Console.json(out)
        } else {
            let line = "  - {name: \(name), sha256: \(hash), role: \(role)" + (until.map { ", expires: \"\($0)\"" } ?? "") + "}"
            Console.out("token:  \(token)\nadd to controller.yaml under api.tokens:\n\(line)")
        }
    }
}

struct ControllerServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run experiments on their schedules, through the agents, and keep every verdict.",
        discussion: """
        Loads the experiments of the configured directory (and reloads them when a file changes: an \
        invalid file is reported with its errors and skipped whole), looks at the clock every tick, \
        and starts what its schedule makes due (see 'chaos schedule preview'): each run as with \
        'chaos run --inventory', its fault through the target's agent on a renewed lease, its verdict \
        stored with the fire that started it.

        Restart-safe: every fire is recorded before its run starts. After a crash, a run that was in \
        progress is stored as interrupted (its agent reverted the fault when the lease ran out), is \
        not started again, and the schedule carries on; fires missed by more than the grace are \
        recorded as missed, not run late. SIGTERM reverts the faults in progress and stops.

        With an 'api' section it serves its JSON API and dashboard (upcoming fires, running \
        experiments with live probes, verdict history, run pages, the halt button) over TLS to \
        operators' certificates and API tokens ('chaos controller token'), each with a role from \
        controller.yaml (viewer unless granted operator or admin), /metrics for Prometheus, \
        and posts webhooks ('notify') on run start, verdict, halt and resume.

        Examples:
          chaos controller --config /etc/chaos/controller.yaml
          chaos schedule preview /etc/chaos/experiments --inventory /etc/chaos/inventory.yaml --days 7
        """
    )
    @Option(help: ArgumentHelp("The configuration file.", valueName: "file")) var config: String = "/etc/chaos/controller.yaml"
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let code: Int32
        do { code = try await serve() } catch { code = Console.report(error, format: global.output) }
        try finish(code)
    }

    private func serve() async throws(ChaosError) -> Int32 {
        let services = try RunServices.required()
        guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
            throw .usage("controller.noConfig", "Cannot read the configuration '\(config)'. Write one (docs/operations.md, deploy/controller.example.yaml) or pass --config FILE.")
        }
        let (loaded, problems) = ControllerConfiguration.load(text, file: config)
        guard let c = loaded else {
            throw .usage("controller.badConfig", "The configuration is not valid:\n" + problems.map(\.description).joined(separator: "\n"))
        }
        var g = global
        g.identity = g.identity ?? c.identity
        g.pkiDir = g.pkiDir ?? c.pkiDir
        return try await Controller(settings: c.settings, environment: .command(g, services: services)).run()
    }
}
