import ArgumentParser
import ChaosCore
import ChaosRun
import Crypto
import Foundation

struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Run experiments on their schedules, through the agents, and keep every verdict.",
        subcommands: [ControllerServeCommand.self, ControllerStatusCommand.self, ControllerTokenCommand.self],
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
        return try await Controller(settings: try c.settingsWithSecrets(), environment: .command(g, services: services)).run()
    }
}

/// `chaos controller status`: which controller leads the store, since when, and the others' health,
/// read from the store itself (so it answers while every controller is down).
struct ControllerStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show which controller leads, since when, and the other controllers' health.",
        discussion: """
        Reads the store of the configuration: with a shared PostgreSQL store ('store: {postgres: ...}'), \
        the lease row (the leader, its epoch, since when, until when) and every controller's last \
        heartbeat; with the embedded SQLite store, whether a controller holds it. The times are the \
        store's own clock.

        Exit status: 0 when a controller leads (or holds the SQLite store); 1 when none does (the \
        schedule is not running) or the store does not answer; 64 for a bad configuration.

        Examples:
          chaos controller status --config /etc/chaos/controller.yaml
          chaos controller status --config /etc/chaos/controller.yaml --output json
        """
    )
    @Option(help: ArgumentHelp("The configuration file.", valueName: "file")) var config: String = "/etc/chaos/controller.yaml"
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let code: Int32
        do { code = try await status() } catch { code = Console.report(error, format: global.output) }
        try finish(code)
    }

    /// `42 s`, `3 min`, `2 h 5 min`, `4 d`.
    static func age(_ ms: Int64) -> String {
        let s = max(0, ms) / 1000
        if s < 120 { return "\(s) s" }
        if s < 7200 { return "\(s / 60) min" }
        if s < 172_800 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        return "\(s / 86400) d"
    }

    private func status() async throws(ChaosError) -> Int32 {
        guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
            throw .usage("controller.noConfig", "Cannot read the configuration '\(config)'. Pass --config FILE.")
        }
        let (loaded, problems) = ControllerConfiguration.load(text, file: config)
        guard let c = loaded else {
            throw .usage("controller.badConfig", "The configuration is not valid:\n" + problems.map(\.description).joined(separator: "\n"))
        }
        let settings = try c.settingsWithSecrets()
        guard let shared = settings.shared else {
            let pid = ControllerLock.holder(settings.storeDir)
            if global.output == .json {
                Console.json(ControllerLeadership(role: "single", holder: pid.map { "pid \($0)" } ?? "", store: "sqlite:\(settings.storeDir)",
                                                  note: pid == nil ? "no controller holds this store" : nil))
            } else {
                Console.out(pid.map { "single controller (pid \($0)) on the SQLite store \(settings.storeDir)" }
                            ?? "no controller runs on the SQLite store \(settings.storeDir)")
            }
            return pid == nil ? 1 : 0
        }
        guard let open = try RunServices.required().sharedStore else {
            throw .internalError("controller.store", "This build of chaos cannot use a shared (PostgreSQL) store.")
        }
        let store = try await open(shared, settings.storeDir)
        let leader: LeaderRecord?
        let peers: [ControllerPeer]
        do {
            leader = try await store.leader()
            peers = try await store.peers(withinMs: 3_600_000)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        let live = leader.map { !$0.isExpired } ?? false
        let view = ControllerLeadership(role: "status", holder: "", store: PostgresURL.redacted(shared.url), leader: leader, epoch: leader?.epoch, peers: peers,
                                        note: live ? nil : "no controller leads: nothing is scheduled until one takes the lead")
        if global.output == .json {
            Console.json(view)
        } else {
            var lines: [String] = ["store: \(view.store)"]
            if let l = leader {
                lines.append(live ? "leader: \(l.holder), epoch \(l.epoch), since \(Console.dateTime(l.sinceMs)) (\(ControllerStatusCommand.age(l.nowMs - l.sinceMs))), lease for \(ControllerStatusCommand.age(l.expiresMs - l.nowMs)) more"
                                  : "leader: none (the last, \(l.holder) at epoch \(l.epoch), let its lease lapse \(ControllerStatusCommand.age(l.nowMs - l.expiresMs)) ago)")
            } else {
                lines.append("leader: none has ever led this store")
            }
            if !peers.isEmpty {
                lines.append("")
                lines.append(Console.table(["CONTROLLER", "ROLE", "LAST SEEN", "API", "VERSION"], peers.map { p in
                    [p.holder, p.holder == leader?.holder && live ? "leader" : (p.ageMs > 60_000 ? "gone" : p.role), ControllerStatusCommand.age(p.ageMs) + " ago", p.api ?? "-", p.version]
                }))
            }
            Console.out(lines.joined(separator: "\n"))
        }
        return live ? 0 : 1
    }
}
