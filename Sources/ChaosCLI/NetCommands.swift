import ArgumentParser
import ChaosCore
import ChaosFaults
import ChaosLinux

/// Which packets: shared by the network fault commands.
struct NetworkOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Remote hosts (inventory names), addresses or CIDRs, comma-separated. Default: any.", valueName: "hosts"))
    var to: String?
    @Option(name: .customLong("port"), help: ArgumentHelp("Ports or ranges, comma-separated (e.g. 6379,8000-8100): the service port, on either end.", valueName: "ports"))
    var ports: String?
    @Option(name: .customLong("protocol"), help: "tcp, udp, icmp or all (default: tcp with --port, else all).")
    var proto: String?
    @Option(help: ArgumentHelp("Only this interface (default: every interface but lo).", valueName: "name"))
    var interface: String?
    @Flag(help: "Only traffic leaving this host.") var egress = false
    @Flag(help: "Only traffic arriving at this host.") var ingress = false
    @Option(help: ArgumentHelp("Inventory file, to resolve host names in --to (and for --host).", valueName: "file")) var inventory: String?
    @Option(help: ArgumentHelp("An inventory host: run there, through its agent (this host: locally).", valueName: "name")) var host: String?
    @Option(help: ArgumentHelp("An inventory target (e.g. db-primary): run on the host it is on now, through its agent.", valueName: "name")) var target: String?
    @Option(help: ArgumentHelp("The agent's control port, exempt from every network fault (env CHAOS_CONTROL_PORT; default 7433).", valueName: "port"))
    var controlPort: Int?
    @Flag(help: "Let the fault cut the control port too.") var includeControlPort = false

    func validate() throws {
        if egress && ingress { throw ValidationError("Give --egress or --ingress, not both (neither means both).") }
        if host != nil && inventory == nil { throw ValidationError("--host needs --inventory FILE.") }
        if target != nil && inventory == nil { throw ValidationError("--target needs --inventory FILE.") }
        if target != nil && host != nil { throw ValidationError("Give --host or --target, not both.") }
        if let proto, !["tcp", "udp", "icmp", "all"].contains(proto) { throw ValidationError("--protocol must be tcp, udp, icmp or all.") }
        for p in list(ports) where PortRange(p) == nil { throw ValidationError("'\(p)' is not a port or range (1-65535).") }
    }

    func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    /// The parameters for the fault's spec.
    func parameters() -> FaultParameters {
        var p = FaultParameters()
        p.direction = egress ? "egress" : ingress ? "ingress" : "both"
        p.to = list(to).isEmpty ? nil : list(to)
        p.ports = list(ports).isEmpty ? nil : list(ports)
        p.protocol = proto
        p.interface = interface
        p.includeControlPort = includeControlPort ? true : nil
        return p
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

/// Turns host names into addresses through the inventory; addresses and CIDRs pass as they are.
enum AddressResolver {
    static func resolve(_ names: [String], inventory: Inventory?) throws(ChaosError) -> [String] {
        try names.map { (name: String) throws(ChaosError) -> String in
            if AddressText.family(of: name) != 0 { return name }
            guard let inventory else {
                throw .usage("target.noInventory", "'\(name)' is not an address or CIDR. Give addresses, or pass '--inventory FILE' to use host names.")
            }
            guard let host = inventory.host(named: name) else {
                let names = inventory.hosts.map(\.name)
                let hint = Spelling.closest(to: name, in: names).map { " Did you mean '\($0)'?" } ?? ""
                throw .usage("target.unknownHost", "No host '\(name)' in the inventory.\(hint)")
            }
            guard AddressText.family(of: host.address) != 0 else {
                throw .usage("target.badAddress", "Host '\(name)' has address '\(host.address)', which is not an IP address; network faults need IP addresses in the inventory.")
            }
            return host.address
        }
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

        Examples:
          chaos net blackhole --to 10.0.0.21 --port 6379 --for 30s
          chaos net reject --port 5432 --egress --for 1m
          chaos net loss --percent 30 --port 8080 --for 1m
          chaos net delay --delay 200ms --jitter 20ms --to 10.0.0.21 --port 6379 --for 1m
          chaos net bandwidth --rate 1mbit --interface eth0 --for 1m
          chaos net partition --between 10.0.0.21 --and 10.0.0.22,10.0.0.23 --for 1m
          chaos net dns --for 30s
        """,
        subcommands: [NetFilterCommand<Blackhole>.self, NetFilterCommand<Reject>.self, NetLossCommand.self, NetDelayCommand.self,
                      NetBandwidthCommand.self, NetPartitionCommand.self, NetDNSCommand.self,
                      NetemCommand<Corrupt>.self, NetemCommand<Duplicate>.self, NetemCommand<Reorder>.self]
    )
}

/// Runs one network fault through the one-off flow.
struct NetworkOneOff {
    static func run(kind: FaultKind, params: FaultParameters, options: NetworkOptions, hold: HoldOptions,
                    safety: SafetyOptions, global: GlobalOptions, sides: ([String], [String], Bool)? = nil) async -> Int32 {
        do {
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
        } catch {
            return Console.report(error, format: global.output)
        }
    }
}

protocol FilterKind { static var kind: FaultKind { get }; static var name: String { get }; static var abstract: String { get } }
enum Blackhole: FilterKind { static let kind = FaultKind.networkBlackhole; static let name = "blackhole"; static let abstract = "Silently drop matching traffic (network.blackhole): connections hang until they time out." }
enum Reject: FilterKind { static let kind = FaultKind.networkReject; static let name = "reject"; static let abstract = "Reject matching traffic (network.reject): TCP reset, ICMP unreachable otherwise; clients fail at once." }

struct NetFilterCommand<K: FilterKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: K.name, abstract: K.abstract,
                             discussion: "Example:\n  chaos net \(K.name) --to 10.0.0.21 --port 6379 --for 30s")
    }
    @OptionGroup var network: NetworkOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try finish(await NetworkOneOff.run(kind: K.kind, params: network.parameters(), options: network, hold: hold,
                                           safety: safety, global: global))
    }
}

struct NetLossCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "loss", abstract: "Drop a share of matching packets at random (network.loss).",
                                                    discussion: "Example:\n  chaos net loss --percent 30 --port 8080 --for 1m")
    @Option(help: "Percent of packets to drop (0.1-100).") var percent: Double
    @OptionGroup var network: NetworkOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws { guard (0.1...100).contains(percent) else { throw ValidationError("--percent must be 0.1-100.") } }

    func run() async throws {
        var p = network.parameters()
        p.lossPercent = percent
        try finish(await NetworkOneOff.run(kind: .networkLoss, params: p, options: network, hold: hold, safety: safety, global: global))
    }
}

struct NetDelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delay", abstract: "Add latency (network.delay): tc netem where the kernel has it, else a TCP relay.",
        discussion: """
        With netem, a whole interface is delayed (--interface, no --to/--port). Otherwise chaos starts a \
        relay of its own and redirects matching TCP connections through it (nft NAT); the output names \
        the mechanism used.

        Example:
          chaos net delay --delay 200ms --jitter 20ms --to 10.0.0.21 --port 6379 --for 1m
        """)
    @Option(help: ArgumentHelp("Added latency, e.g. 200ms.", valueName: "duration")) var delay: ChaosDuration
    @Option(help: ArgumentHelp("Random variation, at most the delay.", valueName: "duration")) var jitter: ChaosDuration?
    @OptionGroup var network: NetworkOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        var p = network.parameters()
        p.delay = delay
        p.jitter = jitter
        try finish(await NetworkOneOff.run(kind: .networkDelay, params: p, options: network, hold: hold, safety: safety, global: global))
    }
}

struct NetBandwidthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bandwidth", abstract: "Limit what leaves an interface (network.bandwidth, tc tbf).",
                                                    discussion: "Example:\n  chaos net bandwidth --rate 1mbit --interface eth0 --for 1m")
    @Option(help: "Rate: kbit, mbit, gbit, kbps, mbps (e.g. 1mbit).") var rate: String
    @Option(help: ArgumentHelp("The interface.", valueName: "name")) var interface: String
    @OptionGroup var at: HostOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws { if BandwidthRate(rate) == nil { throw ValidationError("'\(rate)' is not a rate; use e.g. 1mbit or 500kbit.") } }

    func run() async throws {
        var p = FaultParameters()
        p.rate = rate
        p.interface = interface
        p.direction = "egress"
        try finish(await NetworkOneOff.run(kind: .networkBandwidth, params: p, options: try NetworkOptions.at(at), hold: hold, safety: safety, global: global))
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

    func run() async throws {
        var options = try NetworkOptions.parse([])
        options.inventory = inventory
        options.host = host
        options.controlPort = controlPort
        let a = options.list(between), b = options.list(and)
        var p = FaultParameters()
        p.to = a
        p.and = b
        p.mode = oneway ? "oneway" : "both"
        try finish(await NetworkOneOff.run(kind: .networkPartition, params: p, options: options, hold: hold,
                                           safety: safety, global: global, sides: (a, b, oneway)))
    }
}

struct NetDNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dns", abstract: "Break DNS: drop port 53 to the configured resolvers (network.dns).",
                                                    discussion: "Example:\n  chaos net dns --for 30s")
    @Option(help: ArgumentHelp("Resolvers to cut (default: the nameservers of /etc/resolv.conf).", valueName: "hosts")) var to: String?
    @OptionGroup var at: HostOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        var options = try NetworkOptions.at(at)
        options.to = to
        try finish(await NetworkOneOff.run(kind: .networkDNS, params: options.parameters(), options: options, hold: hold, safety: safety, global: global))
    }
}

protocol NetemKind { static var kindName: String { get }; static var name: String { get }; static var verb: String { get } }
enum Corrupt: NetemKind { static let kindName = "network.corrupt"; static let name = "corrupt"; static let verb = "Corrupt" }
enum Duplicate: NetemKind { static let kindName = "network.duplicate"; static let name = "duplicate"; static let verb = "Duplicate" }
enum Reorder: NetemKind { static let kindName = "network.reorder"; static let name = "reorder"; static let verb = "Reorder" }

struct NetemCommand<K: NetemKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: K.name, abstract: "\(K.verb) a share of the packets leaving an interface (\(K.kindName); needs tc netem).",
                             discussion: "Example:\n  chaos net \(K.name) --percent 5 --interface eth0 --for 1m")
    }
    @Option(help: "Percent of packets (0.1-100).") var percent: Double
    @Option(help: ArgumentHelp("The interface.", valueName: "name")) var interface: String
    @Option(help: ArgumentHelp("With reorder: the delay of the packets not sent at once.", valueName: "duration")) var delay: ChaosDuration?
    @OptionGroup var at: HostOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        guard let kind = FaultKind(rawValue: K.kindName) else {
            try finish(Console.report(ChaosError("fault.unsupported", "\(K.kindName) is not known to this build."), format: global.output))
            return
        }
        var p = FaultParameters()
        p.interface = interface
        p.direction = "egress"
        p.delay = delay ?? (K.name == "reorder" ? .milliseconds(10) : nil)
        NetemParameters.set(kind, percent, on: &p)
        try finish(await NetworkOneOff.run(kind: kind, params: p, options: try NetworkOptions.at(at), hold: hold, safety: safety, global: global))
    }
}
