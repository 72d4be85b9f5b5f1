import ArgumentParser
import ChaosCore
import ChaosFaults
import ChaosLinux
import Foundation

struct CapabilitiesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capabilities",
        abstract: "What this host can do (root, nftables, iptables, tc and its qdiscs, NFQUEUE, cgroups, systemd) and the mechanism each network fault uses here.",
        discussion: """
        Kernel features are tried for real in a throwaway network namespace, so nothing on the host \
        changes. Every fault checks what it needs the same way and names what is missing.

        Examples:
          chaos capabilities
          chaos capabilities --output json
        """
    )
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.") var output: OutputFormat = .table

    func run() async throws {
        let caps = await CapabilityProbe.probe()
        let mechanisms = NetworkMechanisms.table(caps)
        if output == .json {
            Console.json(Report(capabilities: caps, mechanisms: Dictionary(uniqueKeysWithValues: mechanisms.map { ($0.kind, $0) })))
            return
        }
        func yes(_ b: Bool) -> String { b ? "yes" : "no" }
        let need: [(String, String, String)] = [
            ("root", yes(caps.root), caps.root ? "" : "most faults need root"),
            ("nftables", caps.nft ?? "no", caps.nft == nil ? "network faults need it: apt-get install nftables" : ""),
            ("nft NAT redirect", yes(caps.nftRedirect), caps.nftRedirect ? "" : "network.delay without netem needs it (CONFIG_NF_NAT)"),
            ("iptables", caps.iptables ?? "no", ""),
            ("tc", yes(caps.tc), caps.tc ? "" : "bandwidth and netem faults need it: apt-get install iproute2"),
            ("qdisc tbf", yes(caps.qdiscs["tbf"] == true), caps.qdiscs["tbf"] == true ? "" : "network.bandwidth needs it"),
            ("qdisc htb", yes(caps.qdiscs["htb"] == true), ""),
            ("qdisc netem", yes(caps.netem), caps.netem ? "" : "packet faults use the packet engine (NFQUEUE) instead"),
            ("qdisc prio", yes(caps.qdiscs["prio"] == true), caps.qdiscs["prio"] == true ? "" : "scoped netem needs it (classful root)"),
            ("packet queue (NFQUEUE)", caps.packetQueue ?? "no", caps.packetQueue != nil ? "" : "the packet engine needs it: apt-get install iptables (xt_NFQUEUE), or an nft with 'queue'"),
            ("cgroups", caps.cgroups, ""),
            ("systemd (system manager)", yes(caps.systemdSystem), caps.systemdSystem ? "" : "systemd faults work with --user only"),
            ("network namespaces", yes(caps.networkNamespaces), ""),
        ]
        Console.out(Console.table(["CAPABILITY", "HERE", "NOTE"], need.map { [$0.0, $0.1, $0.2] }))
        Console.out("")
        Console.out(Console.table(["NETWORK FAULT", "EGRESS", "INGRESS / BOTH"],
                                  mechanisms.map { [$0.kind, $0.egress, $0.ingress == $0.both ? $0.ingress : "\($0.ingress) / \($0.both)"] }))
    }


    /// The JSON form: every capability at the top level (as before), plus the mechanism per network fault.
    struct Report: Encodable {
        var capabilities: HostCapabilities
        var mechanisms: [String: NetworkMechanisms.Row]
        func encode(to encoder: any Encoder) throws {
            try capabilities.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(mechanisms, forKey: Key(stringValue: "mechanisms"))
        }
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
    }
}
