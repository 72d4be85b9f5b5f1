import ArgumentParser
import ChaosLinux

/// The helper process of `network.delay` where the kernel has no netem (not for people): a TCP relay
/// that adds latency to connections an nftables rule redirects to it. chaos finds it (to stop it) by
/// its command line: `chaos _relay --fault-id ID ...`.
struct RelayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_relay",
        abstract: "Relay redirected TCP connections with added latency until a deadline.",
        shouldDisplay: false
    )
    @Option(help: "The fault this relay serves (names the process; not otherwise used).") var faultID: String
    @Option(help: "Port to listen on (0.0.0.0 and [::]).") var listenPort: Int
    @Option(help: "Added latency in milliseconds.") var delayMs: Int
    @Option(help: "Uniform jitter in milliseconds (delay ± jitter).") var jitterMs: Int = 0
    @Option(help: "fwmark (decimal) of the relay's own outgoing connections, excluded by the redirect rule.") var mark: UInt32
    @Option(help: "Epoch milliseconds at which the relay exits by itself.") var until: Int64
    @Option(help: "Which bytes to delay: upstream (client to server), downstream or both.") var direction: String = DelayRelay.Direction.upstream.rawValue

    func validate() throws {
        guard (1...65535).contains(listenPort) else { throw ValidationError("--listen-port must be in 1...65535") }
        guard delayMs >= 0, jitterMs >= 0 else { throw ValidationError("--delay-ms and --jitter-ms must not be negative") }
        guard DelayRelay.Direction(rawValue: direction) != nil else { throw ValidationError("--direction must be upstream, downstream or both") }
    }

    func run() throws {
        let config = DelayRelay.Config(
            listenPort: listenPort, delayMs: delayMs, jitterMs: jitterMs, mark: mark, until: until,
            direction: DelayRelay.Direction(rawValue: direction) ?? .upstream
        )
        try finish(DelayRelay.run(config))
    }
}

/// The packet engine of the network faults where the kernel has no netem (not for people): it binds
/// nfnetlink queue `--queue` and delays, drops, copies or corrupts the packets the fault's rules send
/// there. chaos finds it (to stop it) by its command line: `chaos _netqueue --fault-id ID ...`.
struct NetQueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_netqueue",
        abstract: "Delay, drop, duplicate or corrupt queued packets until a deadline.",
        shouldDisplay: false
    )
    @Option(help: "The fault this engine serves (names the process; not otherwise used).") var faultID: String
    @Option(help: "The nfnetlink queue number to bind (0-65535).") var queue: Int
    @Option(help: "Added latency in milliseconds.") var delayMs: Int = 0
    @Option(help: "Uniform jitter in milliseconds (delay ± jitter).") var jitterMs: Int = 0
    @Option(help: "Percent of packets dropped.") var loss: Double = 0
    @Option(help: "Percent of packets sent twice.") var duplicate: Double = 0
    @Option(help: "Percent of packets with one bit flipped.") var corrupt: Double = 0
    @Option(help: "Percent of packets sent at once, ahead of the delayed rest.") var reorder: Double = 0
    @Option(help: "fwmark (decimal) of the copies the engine sends itself, skipped by the fault's rules.") var mark: UInt32
    @Option(help: "Epoch milliseconds at which the engine exits by itself.") var until: Int64
    @Option(help: "Seed of the random decisions (default: from the clock).") var seed: UInt64?
    @Option(help: "Write counters as JSON to this file when the engine ends.") var stats: String?

    func validate() throws {
        guard (0...65535).contains(queue) else { throw ValidationError("--queue must be in 0...65535") }
        guard (0...3_600_000).contains(delayMs), (0...3_600_000).contains(jitterMs) else { throw ValidationError("--delay-ms and --jitter-ms must be in 0...3600000") }
        for (name, v) in [("loss", loss), ("duplicate", duplicate), ("corrupt", corrupt), ("reorder", reorder)] where !(0...100).contains(v) {
            throw ValidationError("--\(name) must be a percentage from 0 to 100")
        }
    }

    func run() throws {
        func perMille(_ v: Double) -> Int { Int((v * 10).rounded()) }
        let scheduler = PacketScheduler.Config(delayNs: Int64(delayMs) * 1_000_000, jitterNs: Int64(jitterMs) * 1_000_000,
                                               lossPerMille: perMille(loss), duplicatePerMille: perMille(duplicate),
                                               corruptPerMille: perMille(corrupt), reorderPerMille: perMille(reorder))
        let config = PacketEngine.Config(queue: UInt16(queue), scheduler: scheduler, mark: mark, until: until,
                                         seed: seed ?? UInt64.random(in: .min ... .max), statsPath: stats)
        try finish(PacketEngine.run(config))
    }
}
