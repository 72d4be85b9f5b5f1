extension FaultKind {
    public static let networkBlackhole = FaultKind(declaring: "network.blackhole")
    public static let networkReject = FaultKind(declaring: "network.reject")
    public static let networkLoss = FaultKind(declaring: "network.loss")
    public static let networkDelay = FaultKind(declaring: "network.delay")
    public static let networkCorrupt = FaultKind(declaring: "network.corrupt")
    public static let networkDuplicate = FaultKind(declaring: "network.duplicate")
    public static let networkReorder = FaultKind(declaring: "network.reorder")
    public static let networkBandwidth = FaultKind(declaring: "network.bandwidth")
    public static let networkPartition = FaultKind(declaring: "network.partition")
    public static let networkDNS = FaultKind(declaring: "network.dns")
}

extension ParameterKeys {
    public var direction: ParameterKey<String> { .init("direction") }
    public var to: ParameterKey<[String]> { .init("to") }
    public var ports: ParameterKey<[String]> { .init("ports") }
    public var `protocol`: ParameterKey<String> { .init("protocol") }
    public var interface: ParameterKey<String> { .init("interface") }
    public var includeControlPort: ParameterKey<Bool> { .init("includeControlPort") }
    public var lossPercent: ParameterKey<Double> { .init("lossPercent") }
    public var corruptPercent: ParameterKey<Double> { .init("corruptPercent") }
    public var duplicatePercent: ParameterKey<Double> { .init("duplicatePercent") }
    public var reorderPercent: ParameterKey<Double> { .init("reorderPercent") }
    public var delay: ParameterKey<ChaosDuration> { .init("delay") }
    public var jitter: ParameterKey<ChaosDuration> { .init("jitter") }
    public var rate: ParameterKey<String> { .init("rate") }
    public var and: ParameterKey<[String]> { .init("and") }
    public var mode: ParameterKey<String> { .init("mode") }
    public var probeName: ParameterKey<String> { .init("probeName") }
}

/// Parameters the network kinds share.
enum NetworkParameters {
    /// Which packets an nft-based fault takes: the filter of blackhole, reject, loss, delay and dns.
    static func scope(to toHelp: String = "Remote hosts (inventory names), addresses or CIDRs. Absent: every remote.", direction: String = "both") -> [FaultParameter] {
        [
            FaultParameter("direction", .word(["egress", "ingress", "both"]), default: direction,
                           help: direction == "egress"
                               ? "Which traffic: `egress` (what this host sends, netem's convention), `ingress` (what it receives) or `both` (a round trip suffers twice)."
                               : "Which traffic: `egress` (leaving the host), `ingress` (arriving) or `both`.",
                           example: direction == "egress" ? "both" : "egress"),
            FaultParameter("to", .hosts, help: toHelp, example: "[10.0.0.21]"),
            ports, proto,
            FaultParameter("interface", .text, help: "Only this interface. Absent: every interface but lo.", example: "eth0"),
            controlPort,
        ]
    }
    static let ports = FaultParameter("ports", .ports, help: "Ports or ranges, the service port on either end. Absent: every port.", example: "[6379, '8000-8100']")
    static let proto = FaultParameter("protocol", .word(["tcp", "udp", "icmp", "all"]), default: "all (tcp when `ports` is given)",
                                      help: "The protocol to affect.", example: "tcp")
    static let controlPort = FaultParameter("includeControlPort", .bool, default: "false",
                                            help: "Let the fault cut the agent's own control port too.", example: "true")

    /// tc acts on what leaves one interface: `direction` may only be `egress`, with the reason.
    static func egressOnly(_ shaper: String) -> FaultParameter {
        FaultParameter("direction", .word(["egress"], impossible: ["ingress", "both"], because: "\(shaper) shapes only what leaves an interface",
                                          hint: "write 'direction: egress' (the default) or leave it out; to disturb what this host receives, run the fault on the host that sends"),
                       default: "egress", help: "Only `egress`: \(shaper) shapes what leaves the interface.", example: "egress")
    }
    static func share(_ name: String, _ help: String, example: String) -> FaultParameter {
        FaultParameter(name, .percent(0.1...100), required: true, help: help, example: example)
    }
}

extension FaultDescriptor {
    public static let networkBlackhole = FaultDescriptor(
        .networkBlackhole, summary: "silently drop matching traffic", subject: .host, reversible: true, needs: [.nftables],
        parameters: NetworkParameters.scope(), example: "{type: network.blackhole, duration: 30s, with: {to: [db1], ports: [6379]}}")

    public static let networkReject = FaultDescriptor(
        .networkReject, summary: "reject matching traffic (TCP reset, ICMP unreachable)", subject: .host, reversible: true, needs: [.nftables],
        parameters: NetworkParameters.scope(), example: "{type: network.reject, duration: 30s, with: {ports: [5432]}}")

    public static let networkLoss = FaultDescriptor(
        .networkLoss, summary: "drop a share of matching packets", subject: .host, reversible: true, needs: [.nftables],
        parameters: NetworkParameters.scope(direction: "egress") + [NetworkParameters.share("lossPercent", "Share of matching packets dropped, at random (each way, with `both`).", example: "30")],
        example: "{type: network.loss, duration: 1m, with: {lossPercent: 30, ports: [8080]}}")

    public static let networkDelay = FaultDescriptor(
        .networkDelay, summary: "add latency to every matching packet, established connections and UDP included", subject: .host, reversible: true,
        needs: [.packets, .helper],
        parameters: NetworkParameters.scope(direction: "egress") + [
            FaultParameter("delay", .duration(atLeast: .milliseconds(1)), required: true, help: "Added latency.", example: "200ms"),
            FaultParameter("jitter", .duration(atLeast: nil), default: "none",
                           help: "Uniform random variation of `delay`, at most `delay`. Each flow keeps its order, so in a flow whose packets come closer together than the jitter's range the delays bunch toward the top (50ms ± 10ms at 1k packets/s: mean 56 ms).",
                           example: "20ms"),
        ],
        rules: [.notAbove("jitter", "delay")],
        example: "{type: network.delay, duration: 5m, with: {delay: 80ms, jitter: 20ms, ports: [6379]}}")

    public static let networkCorrupt = FaultDescriptor(
        .networkCorrupt, summary: "flip one bit in a share of matching packets (the receiver's checksum discards them)", subject: .host,
        reversible: true, needs: [.packets, .helper],
        parameters: NetworkParameters.scope(direction: "egress") + [NetworkParameters.share("corruptPercent", "Share of matching packets with one bit flipped.", example: "5")],
        example: "{type: network.corrupt, duration: 5m, with: {corruptPercent: 2, to: [db1]}}")

    public static let networkDuplicate = FaultDescriptor(
        .networkDuplicate, summary: "send a share of matching packets twice", subject: .host,
        reversible: true, needs: [.packets, .helper],
        parameters: NetworkParameters.scope(direction: "egress") + [NetworkParameters.share("duplicatePercent", "Share of matching packets sent twice.", example: "10")],
        example: "{type: network.duplicate, duration: 5m, with: {duplicatePercent: 10, ports: [5432]}}")

    public static let networkReorder = FaultDescriptor(
        .networkReorder, summary: "send a share of matching packets at once, ahead of the others, which wait `delay`",
        subject: .host, reversible: true, needs: [.packets, .helper],
        parameters: NetworkParameters.scope(direction: "egress") + [
            NetworkParameters.share("reorderPercent", "Share of matching packets sent at once, ahead of the delayed rest.", example: "25"),
            FaultParameter("delay", .duration(atLeast: .milliseconds(1)), required: true, because: "the wait of the packets that are not sent at once",
                           help: "How long the packets not sent at once wait.", example: "10ms"),
            FaultParameter("jitter", .duration(atLeast: nil), default: "none", help: "Random variation of `delay`, at most `delay`.", example: "2ms"),
        ],
        rules: [.notAbove("jitter", "delay")],
        example: "{type: network.reorder, duration: 5m, with: {reorderPercent: 25, delay: 10ms, ports: [6379]}}")

    public static let networkBandwidth = FaultDescriptor(
        .networkBandwidth, summary: "limit an interface's bandwidth", subject: .host, reversible: true, needs: [.tc],
        parameters: [
            FaultParameter("interface", .text, help: "The interface whose outgoing traffic is limited.", example: "eth0"),
            FaultParameter("rate", .rate, required: true, help: "The limit: a number with kbit, mbit, gbit, kbps or mbps.", example: "1mbit"),
            NetworkParameters.egressOnly("tc tbf"),
        ],
        example: "{type: network.bandwidth, duration: 1m, with: {rate: 1mbit, interface: eth0}}")

    public static let networkPartition = FaultDescriptor(
        .networkPartition, summary: "cut traffic between two sets of hosts", subject: .host, reversible: true, needs: [.nftables],
        parameters: [
            FaultParameter("to", .hosts, required: true, because: "one side of the partition",
                           help: "One side: host names, addresses or CIDRs.", example: "[db1]"),
            FaultParameter("and", .hosts, required: true, because: "the other side of the partition",
                           help: "The other side.", example: "[db2, db3]"),
            FaultParameter("mode", .word(["both", "oneway"]), default: "both",
                           help: "Cut both directions, or only packets from `to` to `and`.", example: "oneway"),
            NetworkParameters.ports, NetworkParameters.proto, NetworkParameters.controlPort,
        ],
        example: "{type: network.partition, duration: 3m, with: {to: [db1], and: [db2, db3]}}")

    public static let networkDNS = FaultDescriptor(
        .networkDNS, summary: "break DNS resolution", subject: .host, reversible: true, needs: [.nftables],
        parameters: NetworkParameters.scope(to: "Resolvers to cut. Absent: the nameservers of /etc/resolv.conf (on `lo` for a local stub such as systemd-resolved's 127.0.0.53, with the stub's upstream servers).") + [
            FaultParameter("probeName", .text, help: "A name this host resolves through DNS: while the fault is active `getent hosts NAME` must fail, or the fault is not confirmed (and a one-off reverts it). Absent: resolution is not checked.",
                           example: "db1.internal"),
        ],
        example: "{type: network.dns, duration: 30s}")
}
