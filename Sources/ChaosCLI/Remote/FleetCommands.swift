import ArgumentParser
import ChaosCore
import ChaosEngine
import ChaosRun
import Foundation

/// Which agents a fleet command talks to.
struct FleetOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Inventory file: act on the agents of its hosts instead of this host's ledger.", valueName: "file")) var inventory: String?
    @Option(parsing: .singleValue, help: ArgumentHelp("With --inventory: only this host (repeat for several).", valueName: "name")) var host: [String] = []
    init() {}
    func validate() throws {
        if !host.isEmpty && inventory == nil { throw ValidationError("--host needs --inventory FILE.") }
    }
}

/// Runs `body` against the agents of `options`' hosts and closes the connections after.
func withFleet<T: Sendable>(_ options: FleetOptions, _ global: GlobalOptions,
                            _ body: @escaping @Sendable (any AgentClient) async throws(ChaosError) -> T) async throws(ChaosError) -> [(Inventory.Host, Result<T, ChaosError>)] {
    let inventory = try Context(global: global).loadInventory(options.inventory) ?? Inventory()
    let fleet = try AgentFleet.open(inventory, global: global)
    let hosts: [Inventory.Host]
    do { hosts = try fleet.hosts(options.host) } catch {
        await fleet.close()
        throw error
    }
    let results = await fleet.each(hosts, body)
    await fleet.close()
    return results
}

/// One line per host for results that are not a list of faults.
struct HostOutcome: Encodable {
    var host: String
    var ok: Bool
    var detail: String
    var error: ChaosError?
}

/// Prints per-host outcomes; the exit status is 1 when any host failed.
func reportHosts(_ outcomes: [HostOutcome], format: OutputFormat) -> Int32 {
    if format == .json { Console.json(["hosts": outcomes]) } else {
        Console.out(Console.table(["HOST", "RESULT", "DETAIL"], outcomes.map { [$0.host, $0.ok ? "ok" : "FAILED", $0.error?.message ?? $0.detail] }))
    }
    return outcomes.allSatisfy(\.ok) ? 0 : 1
}

/// `chaos status --inventory F`: the open faults of every agent.
enum FleetStatus {
    struct HostFaults: Encodable {
        var host: String; var halted: Bool?; var faults: [AgentFault]; var error: ChaosError?
        /// When its certificate expires (ms since the epoch), and a warning when that is within 14 days.
        var certificateNotAfter: Int64? = nil
        var warning: String? = nil
    }

    static func run(_ options: FleetOptions, all: Bool, global: GlobalOptions) async throws(ChaosError) -> Int32 {
        struct Answer: Sendable { var health: AgentHealth; var faults: [AgentFault] }
        let results = try await withFleet(options, global) { (agent) throws(ChaosError) -> Answer in
            Answer(health: try await agent.health(), faults: try await agent.faults(all: all))
        }
        let hosts = results.map { host, r -> HostFaults in
            switch r {
            case .success(let a):
                return HostFaults(host: host.name, halted: a.health.halted, faults: a.faults, error: nil, certificateNotAfter: a.health.certificateNotAfter,
                                  warning: a.health.certificateWarning(now: SystemWallClock().now()))
            case .failure(let e): return HostFaults(host: host.name, halted: nil, faults: [], error: e)
            }
        }
        if global.output == .json { Console.json(["hosts": hosts]) } else {
            let now = SystemWallClock().now()
            var rows: [[String]] = []
            for h in hosts {
                if let e = h.error { rows.append([h.host, "-", "-", "UNREACHABLE", "-", e.message]); continue }
                if h.faults.isEmpty { rows.append([h.host, "-", "-", h.halted == true ? "halted, no faults" : "no faults", "-", "-"]) }
                for f in h.faults {
                    let left = f.deadline.map { d in d > now ? "\((d - now + 999) / 1000)s left" : "due" } ?? "-"
                    rows.append([h.host, f.id, f.kind.rawValue, f.failure.map { "\(f.state) (failed: \($0))" } ?? f.state, f.isFinished ? "-" : left, f.target])
                }
            }
            Console.out(Console.table(["HOST", "ID", "KIND", "STATE", "DEADLINE", "TARGET"], rows))
            for h in hosts { if let w = h.warning { Console.err("warning: \(h.host): \(w)") } }
        }
        return hosts.contains { $0.error != nil } ? 1 : 0
    }
}

/// `chaos revert --inventory F`: the given faults (wherever they are) or every open fault, on every agent.
enum FleetRevert {
    struct Outcome: Encodable, Sendable { var host: String; var id: String; var kind: String?; var state: String; var error: String? }

    static func run(_ options: FleetOptions, ids: [String], global: GlobalOptions) async throws(ChaosError) -> Int32 {
        let results = try await withFleet(options, global) { (agent) throws(ChaosError) -> [Outcome] in
            let open = try await agent.faults(all: false)
            let targets = ids.isEmpty ? open.map(\.id) : ids.filter { id in open.contains { $0.id == id } }
            var out: [Outcome] = []
            for id in targets {
                do {
                    let f = try await agent.revert(id)
                    out.append(Outcome(host: agent.hostName, id: id, kind: f.kind.rawValue, state: f.state, error: nil))
                } catch {
                    out.append(Outcome(host: agent.hostName, id: id, kind: nil, state: "failed", error: (error as? ChaosError)?.message ?? "\(error)"))
                }
            }
            return out
        }
        var outcomes: [Outcome] = []
        for (host, r) in results {
            switch r {
            case .success(let list): outcomes += list
            case .failure(let e): outcomes.append(Outcome(host: host.name, id: "-", kind: nil, state: "unreachable", error: e.message))
            }
        }
        let missing = ids.filter { id in !outcomes.contains { $0.id == id } }
        for id in missing { outcomes.append(Outcome(host: "-", id: id, kind: nil, state: "unknown", error: "no open fault '\(id)' on any agent asked")) }
        if global.output == .json { Console.json(["reverted": outcomes]) }
        else if outcomes.isEmpty { Console.out("Nothing to revert on \(results.count) agent\(results.count == 1 ? "" : "s").") }
        else { Console.out(Console.table(["HOST", "ID", "KIND", "STATE", "ERROR"], outcomes.map { [$0.host, $0.id, $0.kind ?? "-", $0.state, $0.error ?? ""] })) }
        return outcomes.contains { $0.error != nil } ? 1 : 0
    }
}

struct HaltCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "halt",
        abstract: "Stop all chaos: every agent reverts every fault and refuses new ones until 'chaos resume'.",
        discussion: """
        Asks every agent of the inventory at once, and reports per host. A host that cannot be reached \
        is reported as failed (exit status 1): its faults still end at their lease or deadline.

        With --controller, asks the controller instead: it stops the experiments it is running \
        (stored as aborted), halts every agent of its inventory, refuses to start any until \
        'chaos resume --controller', and records who and why in its audit log. You are known by \
        your certificate (--identity, --pki-dir) or an API token (--token, CHAOS_TOKEN).

        Examples:
          chaos halt --controller https://chaos.staging:7434 --reason "incident 4711"
          chaos halt --inventory deploy/inventory.yaml --reason "incident 4711"
          chaos halt --inventory deploy/inventory.yaml --host db1 --output json
        """
    )
    @Option(help: "Why, for the agents' logs and the audit trail.") var reason: String = "halted from the command line"
    @OptionGroup var fleet: FleetOptions
    @OptionGroup var controller: ControllerOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if fleet.inventory == nil && controller.controller == nil {
            throw ValidationError("chaos halt acts on a controller (--controller URL) or on the agents of an inventory (--inventory FILE).")
        }
    }

    func run() async throws {
        let reason = self.reason
        let status: Int32
        if controller.controller != nil {
            do { status = try await controller.call("/api/v1/halt", body: ["reason": reason], global: global) } catch { status = Console.report(error, format: global.output) }
            try finish(status)
            return
        }
        do {
            let results = try await withFleet(fleet, global) { (agent) throws(ChaosError) -> AgentHaltResult in try await agent.halt(reason: reason) }
            status = reportHosts(results.map { host, r in
                switch r {
                case .success(let h):
                    let detail = "halted; reverted \(h.reverted.count) fault\(h.reverted.count == 1 ? "" : "s")" + (h.failed.isEmpty ? "" : "; could not revert: \(h.failed.joined(separator: ", "))")
                    return HostOutcome(host: host.name, ok: h.failed.isEmpty, detail: detail, error: nil)
                case .failure(let e): return HostOutcome(host: host.name, ok: false, detail: "", error: e)
                }
            }, format: global.output)
        } catch { status = Console.report(error, format: global.output) }
        try finish(status)
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Let the agents accept faults again after 'chaos halt'.",
        discussion: """
        Examples:
          chaos resume --controller https://chaos.staging:7434
          chaos resume --inventory deploy/inventory.yaml
          chaos resume --inventory deploy/inventory.yaml --host db1
        """
    )
    @OptionGroup var fleet: FleetOptions
    @OptionGroup var controller: ControllerOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if fleet.inventory == nil && controller.controller == nil {
            throw ValidationError("chaos resume acts on a controller (--controller URL) or on the agents of an inventory (--inventory FILE).")
        }
    }

    func run() async throws {
        let status: Int32
        if controller.controller != nil {
            do { status = try await controller.call("/api/v1/resume", body: [:], global: global) } catch { status = Console.report(error, format: global.output) }
            try finish(status)
            return
        }
        do {
            let results = try await withFleet(fleet, global) { (agent) throws(ChaosError) -> Bool in try await agent.resume(); return true }
            status = reportHosts(results.map { host, r in
                switch r {
                case .success: return HostOutcome(host: host.name, ok: true, detail: "accepting faults", error: nil)
                case .failure(let e): return HostOutcome(host: host.name, ok: false, detail: "", error: e)
                }
            }, format: global.output)
        } catch { status = Console.report(error, format: global.output) }
        try finish(status)
    }
}

/// `--controller URL` and `--token`: halt and resume through the controller's API.
struct ControllerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The controller's API, e.g. https://chaos.staging:7434: act through it instead of on agents.", valueName: "url")) var controller: String?
    @Option(help: ArgumentHelp("An API token of the controller (else CHAOS_TOKEN; without one, your certificate).", valueName: "token")) var token: String?
    init() {}

    /// POSTs to the controller and reports its answer (a ``HaltOutcome``) per agent.
    func call(_ path: String, body: [String: String], global: GlobalOptions) async throws(ChaosError) -> Int32 {
        guard let url = controller else { return 64 }
        guard let connector = try RemoteServices.agents() as? any ControllerConnector else {
            throw .internalError("controller.client", "This build has no controller client.")
        }
        let token = self.token ?? Environment.value("CHAOS_TOKEN")
        let credentials = token == nil ? try AgentFleet.credentials(global) : (try? AgentFleet.credentials(global))
        let ca = credentials?.ca ?? (global.pkiDir ?? Environment.value("CHAOS_PKI_DIR") ?? "/etc/chaos/pki") + "/ca.pem"
        let data = try await connector.call(base: url, method: "POST", path: path, json: try? JSONEncoder().encode(body), credentials: credentials, ca: ca, token: token)
        guard let outcome = try? JSONDecoder().decode(HaltOutcome.self, from: data) else {
            throw ChaosError("controller.protocol", "The controller's answer cannot be read; are it and this chaos the same version?")
        }
        if global.output == .json { Console.json(outcome); return outcome.agents.allSatisfy(\.ok) ? 0 : 1 }
        let h = outcome.halt
        Console.out(h.halted ? "HALTED by \(h.by ?? "?"): \(h.reason ?? "")\(outcome.abortedRuns.isEmpty ? "" : "; stopped runs " + outcome.abortedRuns.joined(separator: ", ")) (\(outcome.elapsedMs) ms)"
                             : "Resumed: scheduled experiments run again at their next fire (\(outcome.elapsedMs) ms).")
        return reportHosts(outcome.agents.map { a in
            HostOutcome(host: a.host, ok: a.ok, detail: a.ok ? (h.halted ? "halted; reverted \(a.reverted) fault\(a.reverted == 1 ? "" : "s")" : "accepting faults") : "",
                        error: a.error.map { ChaosError("agent.unreachable", $0) })
        }, format: global.output)
    }
}
