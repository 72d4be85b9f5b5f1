import ArgumentParser
import ChaosCore
import ChaosLinux

struct CapabilitiesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capabilities",
        abstract: "What this host can do: root, nftables, iptables, tc and its qdiscs (netem), cgroups, systemd.",
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
        if output == .json { Console.json(caps); return }
        func yes(_ b: Bool) -> String { b ? "yes" : "no" }
        let need: [(String, String, String)] = [
            ("root", yes(caps.root), caps.root ? "" : "most faults need root"),
            ("nftables", caps.nft ?? "no", caps.nft == nil ? "network faults need it: apt-get install nftables" : ""),
            ("nft NAT redirect", yes(caps.nftRedirect), caps.nftRedirect ? "" : "network.delay without netem needs it (CONFIG_NF_NAT)"),
            ("iptables", caps.iptables ?? "no", ""),
            ("tc", yes(caps.tc), caps.tc ? "" : "bandwidth and netem faults need it: apt-get install iproute2"),
            ("qdisc tbf", yes(caps.qdiscs["tbf"] == true), caps.qdiscs["tbf"] == true ? "" : "network.bandwidth needs it"),
            ("qdisc htb", yes(caps.qdiscs["htb"] == true), ""),
            ("qdisc netem", yes(caps.netem), caps.netem ? "" : "network.corrupt/duplicate/reorder need it; network.delay uses a TCP relay instead"),
            ("cgroups", caps.cgroups, ""),
            ("systemd (system manager)", yes(caps.systemdSystem), caps.systemdSystem ? "" : "systemd faults work with --user only"),
            ("network namespaces", yes(caps.networkNamespaces), ""),
        ]
        Console.out(Console.table(["CAPABILITY", "HERE", "NOTE"], need.map { [$0.0, $0.1, $0.2] }))
    }
}
