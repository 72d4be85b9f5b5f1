import ChaosCore
import ChaosEngine
import ChaosFaults
import ChaosLinux
import Foundation

/// What acts on this host: the host, the ledger and its engine, target resolution. A run's local
/// fault driver and the victim picker use it; the command line's `Context` wraps it for one-offs.
public struct HostContext: Sendable {
    /// Where the fault ledger lives (STATE_DIR).
    public let stateDir: String
    public let host: LinuxHost
    public let clock: any ChaosClock

    public init(stateDir: String, clock: any ChaosClock = SystemWallClock()) {
        self.stateDir = stateDir
        self.host = LinuxHost()
        self.clock = clock
    }

    /// The engine over the ledger; created on first use.
    public func engine(create: Bool = true) throws(ChaosError) -> FaultEngine? {
        let dir = stateDir + "/ledger"
        if !create && !FileManager.default.fileExists(atPath: dir) { return nil }
        return FaultEngine(ledger: try FaultLedger(directory: dir, create: create), host: host, clock: clock)
    }

    /// How this process starts a fault it holds itself (``FaultStart``): it owns the record, and a
    /// detached guardian, started once the record is durable, reverts at the deadline if this
    /// process dies.
    public func faultStart() -> FaultStart {
        let me = ProcFS.process(ThisProcess.id)?.identity ?? ProcessIdentity(pid: ThisProcess.id, startTime: 0)
        var start = FaultStart(owners: [me])
        let host = self.host, stateDir = self.stateDir
        start.guardian = { plan throws(ChaosError) in
            try await host.spawnHelper(["_guardian", "--state-dir", stateDir, "--fault", plan.request.faultID])
        }
        return start
    }

    /// Stops a guardian this process started, if it is still that process (pid and start time).
    public static func stopGuardian(_ g: ProcessIdentity) {
        if let p = ProcFS.process(g.pid), p.startTime == g.startTime { kill(g.pid, SIGTERM) }
    }

    /// Reverts leftovers (past deadline, owner gone) before doing anything else, and says so on stderr.
    @discardableResult
    public func recoverLeftovers() async -> [FaultEngine.Recovery] {
        guard let engine = try? engine(create: false) else { return [] }
        let done = await engine.recover()
        for r in done {
            if let e = r.error { Terminal.err("warning: could not revert leftover fault \(r.id) (\(r.kind), \(r.reason)): \(e)") }
            else { Terminal.err("Reverted leftover fault \(r.id) (\(r.kind)): \(r.reason).") }
        }
        return done
    }

    /// A resolver for targets on this host.
    public func resolver(inventory: Inventory?) -> TargetResolver {
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

/// Reading the files users write: each validated as `chaos validate` does, every problem reported.
public enum DocumentFiles {
    /// Reads and validates a chaos file of `kind` (`Inventory`, `Experiment`), reporting every problem.
    public static func load(_ path: String, kind: String) throws(ChaosError) -> ChaosDocument {
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

    /// Loads and validates an inventory file; nil without a path.
    public static func inventory(_ path: String?) throws(ChaosError) -> Inventory? {
        guard let path else { return nil }
        guard case .inventory(let inv) = try load(path, kind: "Inventory") else {
            throw .internalError("inventory.kind", "'\(path)' was read as an inventory but is not one.")
        }
        return inv
    }

    /// Reads and validates an experiment file.
    public static func experiment(_ path: String) throws(ChaosError) -> Experiment {
        guard case .experiment(let e) = try load(path, kind: "Experiment") else {
            throw .internalError("experiment.kind", "'\(path)' was read as an experiment but is not one.")
        }
        return e
    }
}
