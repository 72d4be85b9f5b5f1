import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosLinux
import Foundation

/// What a host-acting command needs: the host, the ledger and engine, and the inventory.
struct Context {
    let global: GlobalOptions
    let host: LinuxHost
    let clock = SystemWallClock()

    init(global: GlobalOptions) {
        self.global = global
        self.host = LinuxHost()
    }

    /// The engine over the ledger; created on first use.
    func engine(create: Bool = true) throws(ChaosError) -> FaultEngine? {
        let dir = global.resolvedStateDir + "/ledger"
        if !create && !FileManager.default.fileExists(atPath: dir) { return nil }
        return FaultEngine(ledger: try FaultLedger(directory: dir, create: create), host: host, clock: clock)
    }

    /// Write-ahead and crash safety for a reversible fault held by this process: records the plan in
    /// the ledger owned by this process, then starts the detached guardian (which reverts at the
    /// deadline if this process dies) and adds it as an owner. Nothing is injected yet.
    func recordGuarded(_ plan: FaultEngine.Plan, engine: FaultEngine) async throws(ChaosError) -> ProcessIdentity {
        let me = ProcFS.process(getpid())?.identity ?? ProcessIdentity(pid: getpid(), startTime: 0)
        _ = try await engine.record(plan, owners: [me])
        let guardian = try await host.spawnHelper(["_guardian", "--state-dir", global.resolvedStateDir, "--fault", plan.request.faultID])
        try await engine.addOwner(plan.request.faultID, guardian)
        return guardian
    }

    /// Stops a guardian this process started, if it is still that process (pid and start time).
    static func stopGuardian(_ g: ProcessIdentity) {
        if let p = ProcFS.process(g.pid), p.startTime == g.startTime { kill(g.pid, SIGTERM) }
    }

    /// Reverts leftovers (past deadline, owner gone) before doing anything else, and says so on stderr.
    @discardableResult
    func recoverLeftovers() async -> [FaultEngine.Recovery] {
        guard let engine = try? engine(create: false) else { return [] }
        let done = await engine.recover()
        for r in done {
            if let e = r.error { Console.err("warning: could not revert leftover fault \(r.id) (\(r.kind), \(r.reason)): \(e)") }
            else { Console.err("Reverted leftover fault \(r.id) (\(r.kind)): \(r.reason).") }
        }
        return done
    }

    /// Loads and validates an inventory file.
    func loadInventory(_ path: String?) throws(ChaosError) -> Inventory? {
        guard let path else { return nil }
        guard case .inventory(let inv) = try Self.loadDocument(path, kind: "Inventory") else {
            throw .internalError("inventory.kind", "'\(path)' was read as an inventory but is not one.")
        }
        return inv
    }

    /// Reads and validates a chaos file of `kind` (`Inventory`, `Experiment`), reporting every problem.
    static func loadDocument(_ path: String, kind: String) throws(ChaosError) -> ChaosDocument {
        let what = kind.lowercased()
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .usage("\(what).unreadable", "Cannot read the \(what) '\(path)'. Check the path (YAML or JSON).")
        }
        let loaded = ChaosDocument.load(text, file: path, expecting: kind)
        guard loaded.isValid, let document = loaded.document else {
            throw .usage("\(what).invalid", "The \(what) is not valid:\n" + loaded.diagnostics.map(\.description).joined(separator: "\n") + "\nFix it, then check with 'chaos validate \(path)'.")
        }
        return document
    }

    /// A resolver for targets on this host.
    func resolver(inventory: Inventory?) -> TargetResolver {
        let hostname = host.facts.hostname
        return TargetResolver(host: host, inventory: inventory, localNames: { LocalIdentity.names(hostname: hostname) }) { (argv, timeout) throws(ChaosError) -> String in
            let r = try await CommandRunner.run(argv, timeout: timeout.duration)
            guard let status = r.status else {
                throw ChaosError("target.resolverTimeout", "The resolver '\(argv.joined(separator: " "))' did not answer within \(timeout). Check that what it asks is reachable, or raise 'resolve.timeout'.")
            }
            guard status == 0 else {
                throw ChaosError("target.resolverFailed", "The resolver '\(argv.joined(separator: " "))' exited with status \(status): \(r.stderrTail.trimmingWhitespace()). Run it by hand to see why.")
            }
            return r.stdout
        }
    }
}
