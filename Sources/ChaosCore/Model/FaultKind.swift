/// Every kind of fault chaos knows, named `area.action`.
public enum FaultKind: String, CaseIterable, Hashable, Sendable, Codable, CustomStringConvertible {
    case processKill = "process.kill"
    case processPause = "process.pause"
    case systemdStop = "systemd.stop"
    case systemdKill = "systemd.kill"
    case diskFill = "disk.fill"
    case stressCPU = "stress.cpu"
    case stressMemory = "stress.memory"
    case networkBlackhole = "network.blackhole"
    case networkReject = "network.reject"
    case networkLoss = "network.loss"
    case networkDelay = "network.delay"
    case networkCorrupt = "network.corrupt"
    case networkDuplicate = "network.duplicate"
    case networkReorder = "network.reorder"
    case networkBandwidth = "network.bandwidth"
    case networkPartition = "network.partition"
    case networkDNS = "network.dns"

    public var description: String { rawValue }

    /// Whether the fault is undone by revert. A kill cannot be undone: recovery is the system's job.
    public var isReversible: Bool {
        switch self {
        case .processKill, .systemdKill: return false
        default: return true
        }
    }

    /// Whether the fault needs the kernel's tc netem qdisc (`HostCapabilities.netem`). These kinds act on
    /// one interface's egress only: netem shapes what leaves an interface.
    public var needsNetem: Bool {
        switch self {
        case .networkCorrupt, .networkDuplicate, .networkReorder: return true
        default: return false
        }
    }

    /// What the fault acts on, which decides the target fields it needs.
    public enum Subject: Sendable { case processes, unit, host }
    /// What the fault acts on.
    public var subject: Subject {
        switch self {
        case .processKill, .processPause: return .processes
        case .systemdStop, .systemdKill: return .unit
        default: return .host
        }
    }
}
