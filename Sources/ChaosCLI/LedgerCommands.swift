import ArgumentParser
import ChaosCore
import ChaosEngine
import ChaosLinux

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List the faults in place on this host (the open records of the ledger), or on every agent.",
        discussion: """
        Leftovers (past their deadline, or whose owner and guardian are gone) are reverted first. With         --inventory, asks every agent of the inventory at once and lists their faults by host.

        Examples:
          chaos status
          chaos status --all --output json
          chaos status --inventory deploy/inventory.yaml
          chaos status --inventory deploy/inventory.yaml --host db1 --host db2
        """
    )
    @Flag(help: "Also list recently reverted faults.") var all = false
    @OptionGroup var fleet: FleetOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let status: Int32
        if fleet.inventory != nil {
            do { status = try await FleetStatus.run(fleet, all: all, global: global) } catch { status = Console.report(error, format: global.output) }
            try finish(status)
            return
        }
        do { try await list(); status = 0 } catch { status = Console.report(error, format: global.output) }
        try finish(status)
    }

    private func list() async throws(ChaosError) {
        let ctx = Context(global: global)
        await ctx.recoverLeftovers()
        guard let engine = try ctx.engine(create: false) else {
            if global.output == .json { Console.json(["faults": [LedgerRecord]()]) } else { Console.out("No faults in place (no ledger at \(global.resolvedStateDir)/ledger).") }
            return
        }
        var records = try engine.ledger.openRecords()
        if all { records += try engine.ledger.history() }
        if global.output == .json { Console.json(["faults": records]); return }
        if records.isEmpty { Console.out("No faults in place."); return }
        let now = ctx.clock.now()
        let rows = records.map { r -> [String] in
            let left = r.deadline.map { d in d > now ? "\((d - now + 999) / 1000)s left" : "due" } ?? "-"
            let state = r.failure.map { "\(r.state.rawValue) (failed: \($0))" } ?? r.state.rawValue
            return [r.id, r.kind.rawValue, state, r.state == .reverted ? "-" : left, r.target]
        }
        Console.out(Console.table(["ID", "KIND", "STATE", "DEADLINE", "TARGET"], rows))
    }
}

struct RevertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revert",
        abstract: "Undo faults now: the given ids, or every open fault with --all; here or on every agent.",
        discussion: """
        Revert is idempotent: reverting a reverted fault does nothing and succeeds. With --inventory,         asks every agent of the inventory (or those of --host) and reports by host.

        Examples:
          chaos revert f-3k9x2m7a
          chaos revert --all
          chaos revert --all --inventory deploy/inventory.yaml
          chaos revert f-3k9x2m7a --inventory deploy/inventory.yaml --host db1
        """
    )
    @Argument(help: "Fault ids (see 'chaos status').") var ids: [String] = []
    @Flag(help: "Revert every open fault.") var all = false
    @OptionGroup var fleet: FleetOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if all == !ids.isEmpty { throw ValidationError("Give fault ids or --all (not both).") }
    }

    struct Outcome: Encodable { var id: String; var kind: String?; var state: String; var error: String? }

    func run() async throws {
        if fleet.inventory != nil {
            let status: Int32
            do { status = try await FleetRevert.run(fleet, ids: all ? [] : ids, global: global) } catch { status = Console.report(error, format: global.output) }
            try finish(status)
            return
        }
        var outcomes: [Outcome] = []
        do { outcomes = try await revertAll() } catch { try finish(Console.report(error, format: global.output)); return }
        if global.output == .json { Console.json(["reverted": outcomes]) }
        else if outcomes.isEmpty { Console.out("Nothing to revert.") }
        else { Console.out(Console.table(["ID", "KIND", "STATE", "ERROR"], outcomes.map { [$0.id, $0.kind ?? "-", $0.state, $0.error ?? ""] })) }
        if outcomes.contains(where: { $0.error != nil }) { throw ExitCode(1) }
    }

    private func revertAll() async throws(ChaosError) -> [Outcome] {
        let ctx = Context(global: global)
        guard let engine = try ctx.engine(create: false) else {
            if let first = ids.first { throw ChaosError("ledger.unknownFault", "No ledger at \(global.resolvedStateDir)/ledger, so no fault '\(first)'. Check --state-dir.") }
            return []
        }
        let targets = all ? try engine.ledger.openRecords().map(\.id) : ids
        var outcomes: [Outcome] = []
        for id in targets {
            do {
                let r = try await engine.revert(id, reason: "chaos revert")
                outcomes.append(Outcome(id: id, kind: r.kind.rawValue, state: r.state.rawValue, error: nil))
            } catch {
                outcomes.append(Outcome(id: id, kind: nil, state: "failed", error: error.message))
            }
        }
        return outcomes
    }
}

/// The detached guardian of one fault (started by one-off commands; not for people).
struct GuardianCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_guardian", abstract: "Revert one fault at its deadline.", shouldDisplay: false)
    @Option var stateDir: String
    @Option var fault: String

    func run() async throws {
        let engine = FaultEngine(ledger: try FaultLedger(directory: stateDir + "/ledger", create: false), host: LinuxHost())
        let failures = await Guardian(engine: engine).watch(fault)
        if failures > 0 { throw ExitCode(1) }
    }
}

/// The helper process of stress faults (not for people).
struct StressWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_stress", abstract: "Burn CPU or hold memory until a deadline.", shouldDisplay: false)
    @Argument var resource: String
    @Option var faultID: String
    @Option var until: Int64
    @Option var workers: Int = 1
    @Option var load: Int = 100
    @Option var bytes: Int64 = 0

    func run() throws {
        switch resource {
        case "cpu": StressWorker.burnCPU(workers: workers, load: load, until: until)
        case "memory": if !StressWorker.holdMemory(bytes: bytes, until: until) { throw ExitCode(1) }
        default: throw ValidationError("resource must be cpu or memory")
        }
    }
}
