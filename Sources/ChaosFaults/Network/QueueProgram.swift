public import ChaosCore

/// Writes the firewall rules that send a fault's packets to its packet engine (nfnetlink queue N).
/// Pure: the same scope gives the same text, which unit tests compare with golden files.
///
/// Two backends, whichever the host has (``HostCapabilities/packetQueue``):
/// - **iptables-legacy** (the xtables `NFQUEUE` target; works on kernels whose nft lacks `queue`, like
///   the development machines): one chain per hook the fault owns in the `mangle` table
///   (`chaos-<id>-o` on OUTPUT, `chaos-<id>-i` on INPUT), loaded atomically with
///   `iptables-legacy-restore --noflush`; revert deletes the jump, flushes and deletes the chain.
/// - **nft** (`queue num N bypass`): one table `inet chaos_<id>`, like the filter faults.
///
/// In both, the rules first let through the engine's own copies (they carry `mark`) and the exempt
/// ports (the agent's control port, the host's protected ports, TCP, either end), then queue matching
/// packets with **bypass**: when no engine listens on the queue (it died), packets pass untouched.
/// Chains sit at the mangle priority (-150), before NAT and filter, so a packet is delayed once, on
/// the way out or in; loopback is never queued unless an interface is named.
public enum QueueProgram {
    public enum Backend: String, Sendable, Hashable, Codable {
        case iptablesLegacy = "iptables-legacy"
        case nft
    }

    /// One chain of the iptables-legacy backend.
    public struct Chain: Sendable, Hashable, Codable {
        /// 4 or 6.
        public var family: Int
        public var name: String
        /// `OUTPUT` or `INPUT`.
        public var hook: String
        /// The jump rule in the hook's chain, as `iptables -A HOOK` arguments.
        public var jump: [String]
        /// The input of `iptables-legacy-restore --noflush`.
        public var restore: String

        public var tool: String { family == 6 ? "ip6tables-legacy" : "iptables-legacy" }
        public var loadCommand: [String] { [family == 6 ? "ip6tables-legacy-restore" : "iptables-legacy-restore", "-w", "5", "--noflush"] }
        public var unhookCommand: [String] { [tool, "-w", "5", "-t", "mangle", "-D", hook] + jump }
        public var flushCommand: [String] { [tool, "-w", "5", "-t", "mangle", "-F", name] }
        public var deleteCommand: [String] { [tool, "-w", "5", "-t", "mangle", "-X", name] }
        public var listCommand: [String] { [tool, "-w", "5", "-t", "mangle", "-S", name] }
    }

    /// Where packets go and how the rules look.
    public struct Rules: Sendable, Hashable, Codable {
        public var backend: Backend
        public var queue: Int
        public var chains: [Chain]
        public var nftTable: String?
        public var nftProgram: String?
    }

    /// The chain name for a fault id and hook (`chaos-f_3k9x2m7a-o`), at most 28 characters.
    public static func chainName(_ faultID: String, outgoing: Bool) -> String {
        var id = String(faultID.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        if id.count > 19 { id = String(id.prefix(12)) + "_" + String(NetworkIDs.hash(faultID), radix: 36).prefix(6) }
        return "chaos-\(id)-\(outgoing ? "o" : "i")"
    }

    public static func rules(_ backend: Backend, faultID: String, scope: NetworkScope, queue: Int, mark: UInt32) -> Rules {
        switch backend {
        case .iptablesLegacy:
            var chains: [Chain] = []
            let families = scope.remotes4.isEmpty && scope.remotes6.isEmpty ? [4, 6] : (scope.remotes4.isEmpty ? [] : [4]) + (scope.remotes6.isEmpty ? [] : [6])
            for family in families {
                for outgoing in [true, false] where outgoing ? scope.direction != .ingress : scope.direction != .egress {
                    chains.append(xtablesChain(family: family, faultID: faultID, scope: scope, queue: queue, mark: mark, outgoing: outgoing))
                }
            }
            return Rules(backend: backend, queue: queue, chains: chains)
        case .nft:
            let table = NftProgram.table(for: faultID)
            return Rules(backend: backend, queue: queue, chains: [], nftTable: table, nftProgram: nftProgram(table: table, scope: scope, queue: queue, mark: mark))
        }
    }

    static func xtablesChain(family: Int, faultID: String, scope: NetworkScope, queue: Int, mark: UInt32, outgoing: Bool) -> Chain {
        let name = chainName(faultID, outgoing: outgoing)
        let hook = outgoing ? "OUTPUT" : "INPUT"
        let jump = scope.interface.map { [outgoing ? "-o" : "-i", $0] } ?? ["!", outgoing ? "-o" : "-i", "lo"]
        var lines = ["*mangle", ":\(name) - [0:0]", "-A \(name) -m mark --mark \(hex(mark)) -j RETURN"]
        for group in portGroups(scope.exemptPorts.map { PortRange(lower: $0, upper: $0) }) {
            lines.append("-A \(name) -p tcp -m multiport --ports \(group) -j RETURN")
        }
        let remotes = family == 4 ? scope.remotes4 : scope.remotes6
        let addresses: [String?] = remotes.isEmpty ? [nil] : remotes
        let protos: [String?]
        switch scope.proto {
        case "tcp": protos = ["tcp"]
        case "udp": protos = ["udp"]
        case "icmp": protos = [family == 6 ? "ipv6-icmp" : "icmp"]
        default: protos = scope.ports.isEmpty ? [nil] : ["tcp", "udp"]
        }
        let ports: [String?] = scope.ports.isEmpty ? [nil] : portGroups(scope.ports)
        let target = "-j NFQUEUE --queue-num \(queue) --queue-bypass"
        for address in addresses {
            for proto in protos {
                for group in ports {
                    var rule = ["-A", name]
                    if let address { rule += [outgoing ? "-d" : "-s", address] }
                    if let proto { rule += ["-p", proto] }
                    if let group { rule += ["-m", "multiport", "--ports", group] }
                    lines.append((rule + [target]).joined(separator: " "))
                }
            }
        }
        lines.append((["-I", hook, "1"] + jump + ["-j", name]).joined(separator: " "))
        lines.append("COMMIT")
        return Chain(family: family, name: name, hook: hook, jump: jump + ["-j", name], restore: lines.joined(separator: "\n") + "\n")
    }

    /// `multiport --ports` lists of at most 15 ports (a range counts two), as `a,b,c:d`.
    static func portGroups(_ ranges: [PortRange]) -> [String] {
        var groups: [String] = []
        var current: [String] = []
        var weight = 0
        for r in ranges {
            let w = r.lower == r.upper ? 1 : 2
            if weight + w > 15 { groups.append(current.joined(separator: ",")); current = []; weight = 0 }
            current.append(r.lower == r.upper ? "\(r.lower)" : "\(r.lower):\(r.upper)")
            weight += w
        }
        if !current.isEmpty { groups.append(current.joined(separator: ",")) }
        return groups
    }

    static func nftProgram(table: String, scope: NetworkScope, queue: Int, mark: UInt32) -> String {
        var chains: [String] = []
        for (name, hook, outgoing) in [("egress", "output", true), ("ingress", "input", false)]
        where outgoing ? scope.direction != .ingress : scope.direction != .egress {
            var lines = ["  chain \(name) {", "    type filter hook \(hook) priority -150; policy accept;", "    meta mark \(hex(mark)) return"]
            lines += NftProgram.exemptions(scope, verdict: "return")
            lines += NftProgram.matches(scope, outgoing: outgoing).map { "    \($0)queue num \(queue) bypass" }
            lines.append("  }")
            chains.append(lines.joined(separator: "\n") + "\n")
        }
        return "table inet \(table) {\n" + chains.joined(separator: "\n") + "}\n"
    }

    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
}

/// Numbers derived from a fault id, so planning stays pure and two faults rarely collide.
enum NetworkIDs {
    static func hash(_ id: String) -> UInt32 { id.unicodeScalars.reduce(UInt32(2166136261)) { ($0 ^ $1.value) &* 16777619 } }

    /// Queue numbers to try for a fault's packet engine, in 17000–24999.
    static func candidateQueues(_ id: String) -> [Int] {
        let h = hash(id)
        return (0..<8).map { 17000 + Int((h &+ UInt32($0) &* 977) % 8000) }
    }

    /// The queues bound now, from `/proc/net/netfilter/nfnetlink_queue` (first column).
    static func boundQueues(_ text: String?) -> Set<Int> {
        Set((text ?? "").split(separator: "\n").compactMap { line in line.split(separator: " ").first.flatMap { Int($0) } })
    }
}
