import ArgumentParser
import ChaosCore
import ChaosFaults
import ChaosLinux
import ChaosRun

/// Which packets: shared by the network fault commands.
struct NetworkOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Remote hosts (inventory names), addresses or CIDRs, comma-separated. Default: any.", valueName: "hosts"))
    var to: String?
    @Option(help: ArgumentHelp("Ports or ranges, comma-separated (e.g. 6379,8000-8100): the service port, on either end.", valueName: "ports"))
    var ports: String?
    /// `--port` was the name before `--port` meant only "the process listening on this port".
    @Option(name: .customLong("port"), help: .hidden) var legacyPorts: String?
    @Option(name: .customLong("protocol"), help: "tcp, udp, icmp or all (default: tcp with --ports, else all).")
    var proto: String?
    @Option(help: ArgumentHelp("Only this interface (default: every interface but lo).", valueName: "name"))
    var interface: String?
    @Flag(help: "Only traffic leaving this host (the default of loss, delay, corrupt, duplicate, reorder).") var egress = false
    @Flag(help: "Only traffic arriving at this host.") var ingress = false
    @Flag(help: "Traffic both ways (the default of blackhole and reject); a round trip suffers twice.") var both = false
    @Option(help: ArgumentHelp("Inventory file, to resolve host names in --to (and for --host).", valueName: "file")) var inventory: String?
    @Option(help: ArgumentHelp("An inventory host: run there, through its agent (this host: locally).", valueName: "name")) var host: String?
    @Option(help: ArgumentHelp("An inventory target (e.g. db-primary): run on the host it is on now, through its agent.", valueName: "name")) var target: String?
    @Option(help: ArgumentHelp("The agent's control port, exempt from every network fault (env CHAOS_CONTROL_PORT; default 7433).", valueName: "port"))
    var controlPort: Int?
    @Flag(help: "Let the fault cut the control port too.") var includeControlPort = false

    func validate() throws {
        if [egress, ingress, both].filter({ $0 }).count > 1 { throw ValidationError("Give one of --egress, --ingress and --both (none means the fault's default).") }
        if host != nil && inventory == nil { throw ValidationError("--host needs --inventory FILE.") }
        if target != nil && inventory == nil { throw ValidationError("--target needs --inventory FILE.") }
        if target != nil && host != nil { throw ValidationError("Give --host or --target, not both.") }
        if ports != nil && legacyPorts != nil { throw ValidationError("Give --ports (--port is its old name), not both.") }
    }

    /// A comma-separated option as its items (`a, b,,c` → a, b, c).
    static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
    }
    func list(_ text: String?) -> [String] { Self.list(text) }

    /// The packet filter as `kind`'s parameters, checked by its descriptor (a kind that does not take a
    /// filter option gets it refused as unknown, naming the option).
    func arguments(_ kind: FaultKind) -> FaultArguments {
        var a = FaultArguments(kind)
        if egress || ingress || both { a.set("direction", egress ? "egress" : ingress ? "ingress" : "both") }
        a.set("to", list: list(to))
        a.set("ports", list: list(ports ?? legacyPorts))
        a.set("protocol", proto)
        a.set("interface", interface)
        if includeControlPort { a.set("includeControlPort", flag: true) }
        return a
    }

    /// No packet filter, run where `at` says.
    static func at(_ at: HostOptions) throws -> NetworkOptions {
        var o = try NetworkOptions.parse([])
        o.host = at.host
        o.target = at.target
        o.inventory = at.inventory
        return o
    }

    /// Where to run: an inventory target's host, an inventory host, or here.
    var placement: TargetSpec { target.map { TargetSpec(ref: $0) } ?? TargetSpec(host: host) }

    var controlPorts: [Int] {
        [controlPort ?? Environment.value("CHAOS_CONTROL_PORT").flatMap(Int.init) ?? 7433]
    }
}

struct NetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net",
        abstract: "Network faults: drop, reject, lose, delay, limit, partition, break DNS.",
        discussion: """
        Each fault owns one nftables table (inet chaos_<id>) or one root qdisc (handle c4aN:), so revert \
        is one atomic delete of exactly what it added. The agent's control port (7433) is never cut \
        unless --include-control-port. --dry-run prints the exact nft program or tc command.
        Loss, delay, corrupt, duplicate and reorder act on egress by default (netem's convention); \
        --ingress or --both change that, and the output states what a round trip suffers.

        Examples:
          chaos net blackhole --to 10.0.0.21 --ports 6379 --for 30s
          chaos net reject --port 5432 --egress --for 1m
          chaos net loss --packets 30 --ports 8080 --for 1m
          chaos net delay --delay 200ms --jitter 20ms --to 10.0.0.21 --ports 6379 --for 1m
          chaos net bandwidth --rate 1mbit --interface eth0 --for 1m
          chaos net partition --between 10.0.0.21 --and 10.0.0.22,10.0.0.23 --for 1m
          chaos net dns --probe-name db1.internal --for 30s
          chaos net corrupt --packets 5 --to 10.0.0.21 --for 1m
        """,
        subcommands: [NetFilterCommand<Blackhole>.self, NetFilterCommand<Reject>.self, NetLossCommand.self, NetDelayCommand.self,
                      NetBandwidthCommand.self, NetPartitionCommand.self, NetDNSCommand.self,
                      NetemCommand<Corrupt>.self, NetemCommand<Duplicate>.self, NetemCommand<Reorder>.self]
    )
}

/// Runs one network fault through the one-off flow.
struct NetworkOneOff {
    static func run(_ arguments: FaultArguments, options: NetworkOptions, hold: HoldOptions,
                    safety: SafetyOptions, global: GlobalOptions) async -> Int32 {
        do {
            let kind = arguments.kind
            let params = try arguments.parameters()
            let sides = kind == .networkPartition ? (params.to ?? [], params.and ?? [], params.mode == "oneway") : nil
            let ctx = Context(global: global)
            let inventory = try ctx.loadInventory(options.inventory)
            var network = FaultRequest.Network(controlPorts: options.controlPorts)
            network.remotes = try AddressResolver.resolve(params.to ?? [], inventory: inventory)
            if let (a, b, oneWay) = sides {
                network.sideA = try AddressResolver.resolve(a, inventory: inventory)
                network.sideB = try AddressResolver.resolve(b, inventory: inventory)
                network.oneWay = oneWay
                network.localAddresses = Array(LocalIdentity.names(hostname: ctx.host.facts.hostname).filter { AddressText.family(of: $0) != 0 })
            }
            var one = OneOff(global: global, safety: safety, target: options.placement, inventoryPath: options.inventory,
                             spec: FaultSpec(type: kind, duration: hold.duration, with: params))
            one.detach = hold.detach
            one.network = network
            return await one.run()
        } catch let error as ChaosError {
            return Console.report(error, format: global.output)
        } catch {
            return Console.report(.usage("usage.invalid", "\(error)"), format: global.output)
        }
    }
}

protocol FilterKind { static var kind: FaultKind { get }; static var name: String { get }; static var abstract: String { get } }
enum Blackhole: FilterKind { static let kind = FaultKind.networkBlackhole; static let name = "blackhole"; static let abstract = "Silently drop matching traffic (network.blackhole): connections hang until they time out." }
enum Reject: FilterKind { static let kind = FaultKind.networkReject; static let name = "reject"; static let abstract = "Reject matching traffic (network.reject): TCP reset, ICMP unreachable otherwise; clients fail at once." }

struct NetFilterCommand<K: FilterKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: K.name, abstract: K.abstract,
                             discussion: "Example:\n  chaos net \(K.name) --to 10.0.0.21 --ports 6379 --for 30s")
    }
    @OptionGroup var network: NetworkOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try finish(await NetworkOneOff.run(network.arguments(K.kind), options: network, hold: hold, safety: safety, global: global))
    }
}

struct NetLossCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "loss", abstract: "Drop a share of matching packets at random (network.loss).",
                                                    discussion: "Example:\n  chaos net loss --packets 30 --ports 8080 --for 1m")
    @Option(help: ArgumentHelp(FaultArguments.help(.networkLoss, "lossPercent"), valueName: "percent")) var packets: String?
    @Option(help: .hidden) var percent: String?
    @OptionGroup var network: NetworkOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    var arguments: FaultArguments {
        var a = network.arguments(.networkLoss)
        a.set("lossPercent", packets ?? percent, option: "--packets")
        return a
    }
    func validate() throws {
        if packets != nil && percent != nil { throw ValidationError("Give --packets (--percent is its old name), not both.") }
        _ = try arguments.parameters()
    }

    func run() async throws {
        try finish(await NetworkOneOff.run(arguments, options: network, hold: hold, safety: safety, global: global))
    }
}

struct NetDelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delay", abstract: "Add latency to every matching packet, established connections and UDP included (network.delay).",
        discussion: """
        Egress by default (what this host sends, as netem does): every round trip through the scope \
        grows by the delay; --both delays both ways (twice per round trip), --ingress what arrives. \
        The mechanism is the best this host has ('chaos capabilities' lists it): tc netem (egress, \
        scoped by filters), else chaos's packet engine through NFQUEUE (every flow), else a TCP \
        relay that delays new TCP connections only. The output and --dry-run name it.

        Examples:
          chaos net delay --delay 200ms --jitter 20ms --to 10.0.0.21 --ports 6379 --for 1m
          chaos net delay --delay 100ms --ports 5432 --both --for 5m --dry-run
        """)
    @Option(help: ArgumentHelp(FaultArguments.help(.networkDelay, "delay") + " E.g. 200ms.", valueName: "duration")) var delay: String
    @Option(help: ArgumentHelp(FaultArguments.help(.networkDelay, "jitter"), valueName: "duration")) var jitter: String?
    @OptionGroup var network: NetworkOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    var arguments: FaultArguments {
        var a = network.arguments(.networkDelay)
        a.set("delay", delay); a.set("jitter", jitter)
        return a
    }
    func validate() throws { _ = try arguments.parameters() }

    func run() async throws {
        try finish(await NetworkOneOff.run(arguments, options: network, hold: hold, safety: safety, global: global))
    }
}

struct NetBandwidthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bandwidth", abstract: "Limit what leaves an interface (network.bandwidth, tc tbf).",
                                                    discussion: "Example:\n  chaos net bandwidth --rate 1mbit --interface eth0 --for 1m")
    @Option(help: ArgumentHelp(FaultArguments.help(.networkBandwidth, "rate"), valueName: "rate")) var rate: String
    @Option(help: ArgumentHelp(FaultArguments.help(.networkBandwidth, "interface"), valueName: "name")) var interface: String
    @OptionGroup var at: HostOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    var arguments: FaultArguments {
        var a = FaultArguments(.networkBandwidth)
        a.set("rate", rate); a.set("interface", interface)
        return a
    }
    func validate() throws { _ = try arguments.parameters() }

    func run() async throws {
        try finish(await NetworkOneOff.run(arguments, options: try NetworkOptions.at(at), hold: hold, safety: safety, global: global))
    }
}

struct NetPartitionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition", abstract: "Cut traffic between two sets of hosts (network.partition); everything else flows.",
        discussion: """
        Run on a host of either side: it drops traffic with the other side (both ways, or with \
        --oneway only from --between to --and).

        Example:
          chaos net partition --between db1 --and db2,db3 --inventory deploy/inventory.yaml --for 1m
        """)
    @Option(help: ArgumentHelp("One side: hosts, addresses or CIDRs, comma-separated.", valueName: "hosts")) var between: String
    @Option(help: ArgumentHelp("The other side.", valueName: "hosts")) var and: String
    @Flag(help: "Drop only packets going from --between to --and (stateless: packets the other way pass, so TCP fails both ways, UDP one way).") var oneway = false
    @Option(help: ArgumentHelp("Inventory file, to resolve host names (and for --host).", valueName: "file")) var inventory: String?
    @Option(help: ArgumentHelp("An inventory host of either side: run there, through its agent (this host: locally).", valueName: "name")) var host: String?
    @Option(help: ArgumentHelp("The agent's control port, never cut (default 7433).", valueName: "port")) var controlPort: Int?
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    var arguments: FaultArguments {
        var a = FaultArguments(.networkPartition, options: ["to": "--between", "and": "--and"])
        a.set("to", list: NetworkOptions.list(between))
        a.set("and", list: NetworkOptions.list(and))
        a.set("mode", oneway ? "oneway" : "both")
        return a
    }
    func validate() throws { _ = try arguments.parameters() }

    func run() async throws {
        var options = try NetworkOptions.parse([])
        options.inventory = inventory
        options.host = host
        options.controlPort = controlPort
        try finish(await NetworkOneOff.run(arguments, options: options, hold: hold, safety: safety, global: global))
    }
}

struct NetDNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dns", abstract: "Break DNS: drop port 53 to the configured resolvers (network.dns).",
                                                    discussion: "Example:\n  chaos net dns --for 30s")
    @Option(help: ArgumentHelp("Resolvers to cut (default: the nameservers of /etc/resolv.conf; a local stub such as 127.0.0.53 is cut on lo, with its upstream servers).", valueName: "hosts")) var to: String?
    @Option(help: ArgumentHelp(FaultArguments.help(.networkDNS, "probeName"), valueName: "name")) var probeName: String?
    @OptionGroup var at: HostOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        var options = try NetworkOptions.at(at)
        options.to = to
        var arguments = options.arguments(.networkDNS)
        arguments.set("probeName", probeName, option: "--probe-name")
        try finish(await NetworkOneOff.run(arguments, options: options, hold: hold, safety: safety, global: global))
    }
}

protocol NetemKind { static var kind: FaultKind { get }; static var share: String { get }; static var name: String { get }; static var verb: String { get } }
enum Corrupt: NetemKind { static let kind = FaultKind.networkCorrupt; static let share = "corruptPercent"; static let name = "corrupt"; static let verb = "Corrupt" }
enum Duplicate: NetemKind { static let kind = FaultKind.networkDuplicate; static let share = "duplicatePercent"; static let name = "duplicate"; static let verb = "Duplicate" }
enum Reorder: NetemKind { static let kind = FaultKind.networkReorder; static let share = "reorderPercent"; static let name = "reorder"; static let verb = "Reorder" }

struct NetemCommand<K: NetemKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: K.name, abstract: "\(K.verb) a share of matching packets (\(K.kind)).",
                             discussion: """
                             Egress by default, like netem; --ingress or --both for the other way. Through tc netem \
                             where the kernel has it, else chaos's packet engine (NFQUEUE); 'chaos capabilities' \
                             says which.

                             Examples:
                               chaos net \(K.name) --packets 5 --to 10.0.0.21 --for 1m
                               chaos net \(K.name) --packets 5 --interface eth0 --both --for 1m\(K.kind == .networkReorder ? " --delay 20ms" : "")
                             """)
    }
    @Option(help: ArgumentHelp(FaultArguments.help(K.kind, K.share), valueName: "percent")) var packets: String?
    @Option(help: .hidden) var percent: String?
    @Option(help: ArgumentHelp("With reorder: the delay of the packets not sent at once (default 10ms).", valueName: "duration")) var delay: String?
    @Option(help: ArgumentHelp("With reorder: random variation of --delay.", valueName: "duration")) var jitter: String?
    @OptionGroup var network: NetworkOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    var arguments: FaultArguments {
        var a = network.arguments(K.kind)
        a.set(K.share, packets ?? percent, option: "--packets")
        a.set("delay", delay ?? (K.kind == .networkReorder ? "10ms" : nil))
        a.set("jitter", jitter)
        return a
    }
    func validate() throws {
        if packets != nil && percent != nil { throw ValidationError("Give --packets (--percent is its old name), not both.") }
        if K.kind != .networkReorder && (delay != nil || jitter != nil) { throw ValidationError("--delay and --jitter belong to 'chaos net reorder'; use 'chaos net delay' for latency.") }
        _ = try arguments.parameters()
    }

    func run() async throws {
        try finish(await NetworkOneOff.run(arguments, options: network, hold: hold, safety: safety, global: global))
    }
}
