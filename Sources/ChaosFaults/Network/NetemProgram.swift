public import ChaosCore

/// Writes the tc program of a scoped netem fault, the way Datadog's chaos-controller and Chaos Mesh
/// do it: a classful root that leaves every packet where the kernel would put it, and a netem qdisc on
/// one extra band that only the fault's filters feed. Pure: tested against golden files.
///
/// ```
/// tc qdisc add dev IF root handle c4a7: prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1
/// tc qdisc add dev IF parent c4a7:4 handle c4a8: netem delay 200ms 20ms
/// tc filter add dev IF parent c4a7: protocol ip prio 1 u32 match ip protocol 6 0xff match ip dport 7433 0xffff flowid c4a7:2
/// tc filter add dev IF parent c4a7: protocol ip prio 2 u32 match ip dst 10.0.0.2/32 match ip protocol 6 0xff match ip dport 6379 0xffff flowid c4a7:4
/// ```
///
/// - Bands 1–3 with pfifo_fast's priomap: unmatched traffic is queued as without the fault.
/// - Exempt ports (the agent's control port, the host's protected ports; TCP, either end) are
///   classified first (prio 1) into the ordinary band 2, so they never reach the netem band.
/// - Matching packets (prio 2): destination address or prefix, protocol, and the service port on
///   either end (u32 `dport` or `sport`; a port range becomes mask-aligned blocks); nothing named means
///   every IPv4/IPv6 packet. u32 reads ports at the fixed offset after a 20-byte IPv4 (40-byte IPv6)
///   header, as these tools do: packets with IP options or IPv6 extension headers are not matched.
/// - netem acts on what leaves the interface (egress); ingress and both use the packet engine.
/// - Revert: `tc qdisc del dev IF root` while the root is still `c4a7:` (children and filters go with it).
public enum NetemProgram {
    public static let rootHandle = "c4a7:"
    public static let netemHandle = "c4a8:"
    /// Past this many filters per interface, the fault is refused (u32 walks them one by one).
    public static let maxFilters = 512

    /// The commands for one interface.
    public struct Interface: Sendable, Hashable, Codable {
        public var name: String
        public var commands: [[String]]
    }

    /// netem's own arguments for a kind's parameters.
    public static func netemArguments(_ kind: FaultKind, _ p: FaultParameters) -> [String] {
        func pct(_ v: Double?) -> String { "\(((v ?? 0) * 100).rounded() / 100)%" }
        var args: [String] = []
        if let d = p.delay { args += ["delay", "\(d.milliseconds)ms"] + (p.jitter.map { $0.milliseconds > 0 ? ["\($0.milliseconds)ms"] : [] } ?? []) }
        switch kind {
        case .networkLoss: args += ["loss", pct(p.lossPercent)]
        case .networkCorrupt: args += ["corrupt", pct(p.corruptPercent)]
        case .networkDuplicate: args += ["duplicate", pct(p.duplicatePercent)]
        case .networkReorder: args += ["reorder", pct(p.reorderPercent)]
        default: break
        }
        return args
    }

    /// The program for interface `name`.
    /// - Throws: `fault.badParameters` when the scope needs more than ``maxFilters`` filters.
    public static func program(interface name: String, scope: NetworkScope, netem: [String]) throws(ChaosError) -> Interface {
        let dev = ["tc", "filter", "add", "dev", name, "parent", rootHandle]
        var commands: [[String]] = [
            ["tc", "qdisc", "add", "dev", name, "root", "handle", rootHandle, "prio", "bands", "4", "priomap"] + "1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1".split(separator: " ").map(String.init),
            ["tc", "qdisc", "add", "dev", name, "parent", band(4), "handle", netemHandle, "netem"] + netem,
        ]
        let families: [Int] = scope.remotes4.isEmpty && scope.remotes6.isEmpty ? [4, 6] : (scope.remotes4.isEmpty ? [] : [4]) + (scope.remotes6.isEmpty ? [] : [6])
        var filters: [[String]] = []
        for family in families {
            let (proto, ip) = family == 4 ? ("ip", "ip") : ("ipv6", "ip6")
            for port in scope.exemptPorts {
                for side in ["dport", "sport"] {
                    filters.append(dev + ["protocol", proto, "prio", "1", "u32", "match", ip, "protocol", "6", "0xff", "match", ip, side, String(port), "0xffff", "flowid", band(2)])
                }
            }
            let named = family == 4 ? scope.remotes4 : scope.remotes6
            let remotes: [String?] = named.isEmpty ? [nil] : named.map { Optional($0) }
            let protos: [Int?]
            switch scope.proto {
            case "tcp": protos = [6]
            case "udp": protos = [17]
            case "icmp": protos = [family == 4 ? 1 : 58]
            default: protos = scope.ports.isEmpty ? [nil] : [6, 17]
            }
            let blocks: [(Int, Int)?] = scope.ports.isEmpty ? [nil] : scope.ports.flatMap(maskBlocks)
            for remote in remotes {
                for p in protos {
                    for block in blocks {
                        for side in block == nil ? ["any"] : ["dport", "sport"] {
                            var m: [String] = []
                            if let remote { m += ["match", ip, "dst", remote.contains("/") ? remote : remote + (family == 4 ? "/32" : "/128")] }
                            if let p { m += ["match", ip, "protocol", String(p), "0xff"] }
                            if let (value, mask) = block { m += ["match", ip, side, String(value), "0x" + String(mask, radix: 16)] }
                            if m.isEmpty { m = ["match", "u32", "0", "0"] }
                            filters.append(dev + ["protocol", proto, "prio", "2", "u32"] + m + ["flowid", band(4)])
                        }
                    }
                }
            }
        }
        guard filters.count <= maxFilters else {
            throw .usage("fault.badParameters", "This scope needs \(filters.count) tc filters on \(name) (addresses × ports × protocols), more than \(maxFilters). Name fewer addresses or ports, or use CIDRs and ranges.")
        }
        commands += filters
        return Interface(name: name, commands: commands)
    }

    static func band(_ n: Int) -> String { rootHandle + String(n) }

    /// A port range as u32 (value, mask) blocks: 8000-8100 → 8000/0xffe0, 8032/0xffe0, 8064/0xffe0, 8096/0xfffc, 8100/0xffff.
    static func maskBlocks(_ r: PortRange) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        var start = r.lower
        while start <= r.upper {
            var size = 1
            while start % (size * 2) == 0 && start + size * 2 - 1 <= r.upper && size * 2 <= 65536 { size *= 2 }
            out.append((start, 0xffff & ~(size - 1)))
            start += size
        }
        return out
    }
}
