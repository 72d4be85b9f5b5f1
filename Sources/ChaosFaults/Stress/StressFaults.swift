public import ChaosCore

/// `stress.cpu` and `stress.memory`: a helper process the fault owns burns CPU or holds memory.
///
/// - Commands: this executable, started detached in its own session, as
///   `chaos _stress cpu --fault-id ID --until EPOCH_MS --workers N --load P` or
///   `chaos _stress memory --fault-id ID --until EPOCH_MS --bytes B`.
///   The helper exits by itself at `--until`, so even if every other part of chaos dies, the stress
///   does not outlive its duration.
/// - Receipt: the fault id (which names the helper on its command line), the parameters and the deadline.
/// - Revert: SIGKILL every process whose command line is `chaos _stress ... --fault-id ID`.
/// - Verify: such a process is alive.
public struct StressFault: Fault {
    public let kind: FaultKind

    /// - Parameter kind: `.stressCPU` or `.stressMemory`.
    public init(_ kind: FaultKind) { self.kind = kind }

    public struct Receipt: FaultReceipt {
        public var faultID: String
        public var arguments: [String]
        public var summary: String
        public var actions: [String] { ["start helper: chaos \(arguments.joined(separator: " ")) (\(summary))", "on revert SIGKILL the helper"] }
        public var claims: [ResourceClaim] { [] }
    }

    public func gather(_ request: FaultRequest, on host: some HostSystem) async throws(ChaosError) -> HostFacts { host.facts }

    public func plan(_ request: FaultRequest, facts: HostFacts) throws(ChaosError) -> Receipt {
        guard let deadline = request.deadline else {
            throw .usage("fault.noDuration", "\(kind) needs a duration. Give one with '--for 30s'.")
        }
        var args = ["_stress", kind == .stressCPU ? "cpu" : "memory", "--fault-id", request.faultID, "--until", String(deadline)]
        let summary: String
        if kind == .stressCPU {
            let workers = request.spec.with.workers ?? facts.cpuCount
            let load = request.spec.with.load ?? 100
            args += ["--workers", String(workers), "--load", String(Int(load.rounded()))]
            summary = "\(workers) worker\(workers == 1 ? "" : "s") at \(Int(load.rounded()))% CPU"
        } else {
            guard let size = request.spec.with.size else {
                throw .usage("fault.badParameters", "stress.memory needs '--size', e.g. '--size 1GiB'.")
            }
            guard size.bytes <= facts.memoryAvailable * 9 / 10 else {
                throw ChaosError("fault.tooLarge", "Holding \(size) would leave the host almost no memory: only \(ByteSize(bytes: facts.memoryAvailable)) is available, and stress.memory takes at most 90 % of it so the OOM killer does not pick real services. Ask for less.")
            }
            args += ["--bytes", String(size.bytes)]
            summary = "hold \(size) of memory"
        }
        return Receipt(faultID: request.faultID, arguments: args, summary: summary)
    }

    public func inject(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        _ = try await host.spawnHelper(receipt.arguments)
    }

    public func verify(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState {
        try await Self.helpers(receipt.faultID, on: host).isEmpty ? .absent : .active
    }

    public func revert(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        for p in try await Self.helpers(receipt.faultID, on: host) {
            do { try await host.send(.kill, to: p.pid) } catch where error.code == "host.noSuchProcess" {}
        }
    }

    /// Live helper processes of fault `id`: `… _stress … --fault-id ID …`.
    static func helpers(_ id: String, on host: some HostSystem) async throws(ChaosError) -> [ProcessEntry] {
        try await Helpers.find("_stress", id, on: host)
    }
}
