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
