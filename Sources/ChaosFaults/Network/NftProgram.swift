public import ChaosCore

/// Writes the nftables program of a network fault. Pure: the same scope and action always give the
/// same text, which unit tests compare with goldens.
///
/// Each fault owns one table, `inet chaos_<faultid>`, with base chains at priority -10 (before the
/// usual filter chains). Revert is `nft delete table inet chaos_<faultid>`: one atomic delete of
/// exactly what the fault added; nothing else is flushed or edited.
public enum NftProgram {
    /// What matching packets suffer.
    public enum Action: Hashable, Sendable {
        case drop
        case reject
        /// Drop this share of packets, in thousandths (300 = 30 %).
        case loss(perMille: Int)
    }

    /// The table name for a fault id (`f-3k9x2m7a` → `chaos_f_3k9x2m7a`).
    public static func table(for faultID: String) -> String {
        "chaos_" + String(faultID.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// The whole program for a filter fault.
    public static func filter(table: String, scope: NetworkScope, action: Action) -> String {
        var chains: [String] = []
        if scope.direction != .ingress { chains.append(chain("egress", hook: "output", scope: scope, action: action, outgoing: true)) }
        if scope.direction != .egress { chains.append(chain("ingress", hook: "input", scope: scope, action: action, outgoing: false)) }
        return "table inet \(table) {\n" + chains.joined(separator: "\n") + "}\n"
    }

    /// A NAT program that redirects matching new outgoing (and incoming) TCP connections to a local
    /// relay port, except connections the relay itself makes (they carry `mark`). Only the opening SYN
    /// of a new connection (`ct state new` and SYN without ACK): a connection open before the table
    /// existed is not NAT-initialised, and one conntrack was not tracking is picked up mid-stream as
    /// NEW (`nf_conntrack_tcp_loose`); redirecting its next segment would send it to the relay,
    /// which knows nothing of it and resets it.
    ///
    /// With an ingress chain, the relay connects to the local server *from the client's address*
    /// (a transparent socket), so the server sees who really called, as it would without the fault
    /// (Redis, for one, tells its sentinels the address its replicas come from). The server's answers
    /// to that address must come back to the relay rather than leave for the real client: a
    /// `type route` chain gives the replies of the relay's connections `replyMark`, and a policy rule
    /// (`ip rule add fwmark REPLYMARK lookup TABLE`, `local` routes in TABLE) delivers them locally.
    public static func redirect(table: String, scope: NetworkScope, relayPort: Int, mark: UInt32, replyMark: UInt32) -> String {
        var chains: [String] = []
        let hooks: [(String, String, Bool)] = [("egress", "output", true), ("ingress", "prerouting", false)]
        for (name, hook, outgoing) in hooks where (outgoing ? scope.direction != .ingress : scope.direction != .egress) {
            var lines = ["  chain \(name) {", "    type nat hook \(hook) priority -100; policy accept;"]
            lines += exemptions(scope, verdict: "return")
            lines.append("    meta mark \(mark) return")
            for m in matches(scope, outgoing: outgoing, proto: "tcp", connectionsOnly: true) {
                lines.append("    \(m)ct state new tcp flags & (syn | ack) == syn redirect to :\(relayPort)")
            }
            lines.append("  }")
            chains.append(lines.joined(separator: "\n") + "\n")
        }
        if scope.direction != .egress {
            chains.append("""
              chain relayreplies {
                type route hook output priority -150; policy accept;
                meta mark \(mark) ct mark set \(replyMark)
                ct direction reply ct mark \(replyMark) meta mark set \(replyMark)
              }

            """)
        }
        return "table inet \(table) {\n" + chains.joined(separator: "\n") + "}\n"
    }

    /// `network.dns`: drop port 53 to the resolvers, leaving the host. Resolvers on loopback
    /// addresses (a local stub such as systemd-resolved's 127.0.0.53) are matched on `lo`, the others
    /// on every other interface (or the one named).
    public static func dns(table: String, scope: NetworkScope) -> String {
        var lines = ["  chain egress {", "    type filter hook output priority -10; policy accept;"]
        lines += exemptions(scope, verdict: "accept")
        var local = scope, remote = scope
        local.remotes4 = scope.remotes4.filter(ResolvConf.isLoopback)
        local.remotes6 = scope.remotes6.filter(ResolvConf.isLoopback)
        local.interface = "lo"
        remote.remotes4 = scope.remotes4.filter { !ResolvConf.isLoopback($0) }
        remote.remotes6 = scope.remotes6.filter { !ResolvConf.isLoopback($0) }
        if !(local.remotes4.isEmpty && local.remotes6.isEmpty) { lines += matches(local, outgoing: true).map { "    \($0)drop" } }
        if !(remote.remotes4.isEmpty && remote.remotes6.isEmpty) || (local.remotes4.isEmpty && local.remotes6.isEmpty) {
            lines += matches(remote, outgoing: true).map { "    \($0)drop" }
        }
        lines.append("  }")
        return "table inet \(table) {\n" + lines.joined(separator: "\n") + "\n}\n"
    }

    static func chain(_ name: String, hook: String, scope: NetworkScope, action: Action, outgoing: Bool) -> String {
        var lines = ["  chain \(name) {", "    type filter hook \(hook) priority -10; policy accept;"]
        lines += exemptions(scope, verdict: "accept")
        switch action {
        case .drop:
            lines += matches(scope, outgoing: outgoing).map { "    \($0)drop" }
        case .loss(let perMille):
            lines += matches(scope, outgoing: outgoing).map { "    \($0)numgen random mod 1000 < \(perMille) drop" }
        case .reject:
            // The resets and unreachables our own input chain sends leave through this output hook:
            // let them pass, or the egress rules would drop them and the peer would hang instead.
            if outgoing {
                lines.append("    meta l4proto tcp tcp flags & rst == rst accept")
                lines.append("    icmp type destination-unreachable accept")
                lines.append("    icmpv6 type destination-unreachable accept")
            }
            // TCP gets a reset (the peer fails at once); everything else an ICMP port unreachable.
            switch scope.proto {
            case "tcp":
                lines += matches(scope, outgoing: outgoing).map { "    \($0)reject with tcp reset" }
            case "all" where !scope.ports.isEmpty:
                lines += matches(scope, outgoing: outgoing, proto: "tcp").map { "    \($0)reject with tcp reset" }
                lines += matches(scope, outgoing: outgoing, proto: "udp").map { "    \($0)reject with icmpx type port-unreachable" }
            case "all":
                lines += matches(scope, outgoing: outgoing, proto: "tcp").map { "    \($0)reject with tcp reset" }
                lines += matches(scope, outgoing: outgoing).map { "    \($0)reject with icmpx type port-unreachable" }
            default:
                lines += matches(scope, outgoing: outgoing).map { "    \($0)reject with icmpx type port-unreachable" }
            }
        }
        lines.append("  }")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Accept (or return from) the control ports first, in both directions of the conversation.
    static func exemptions(_ scope: NetworkScope, verdict: String) -> [String] {
        scope.exemptPorts.flatMap { ["    tcp dport \($0) \(verdict)", "    tcp sport \($0) \(verdict)"] }
    }

    /// The match expressions (each ends with a space) covering the scope: one per address family
    /// in play, times one per port side (the service port may be ours or theirs).
    /// - Parameters:
    ///   - proto: overrides the scope's protocol.
    ///   - connectionsOnly: match only the service port as destination (redirects catch new connections).
    static func matches(_ scope: NetworkScope, outgoing: Bool, proto override: String? = nil, connectionsOnly: Bool = false) -> [String] {
        var iface = ""
        if let i = scope.interface { iface = "\(outgoing ? "oifname" : "iifname") \"\(i)\" " }
        else { iface = "\(outgoing ? "oifname" : "iifname") != \"lo\" " }
        let side = outgoing ? "daddr" : "saddr"
        var families: [String] = []
        if scope.remotes4.isEmpty && scope.remotes6.isEmpty { families = [""] }
        if !scope.remotes4.isEmpty { families.append("ip \(side) { \(scope.remotes4.joined(separator: ", ")) } ") }
        if !scope.remotes6.isEmpty { families.append("ip6 \(side) { \(scope.remotes6.joined(separator: ", ")) } ") }
        let proto: String
        switch override ?? scope.proto {
        case "tcp": proto = "meta l4proto tcp "
        case "udp": proto = "meta l4proto udp "
        case "icmp": proto = "meta l4proto { icmp, ipv6-icmp } "
        default: proto = scope.ports.isEmpty ? "" : "meta l4proto { tcp, udp } "
        }
        var portSides = [""]
        if !scope.ports.isEmpty {
            let set = "{ " + scope.ports.map { $0.lower == $0.upper ? "\($0.lower)" : "\($0.lower)-\($0.upper)" }.joined(separator: ", ") + " }"
            // Redirects only catch connections *to* the service port; filters catch both ends.
            portSides = connectionsOnly ? ["th dport \(set) "] : ["th dport \(set) ", "th sport \(set) "]
        }
        return families.flatMap { fam in portSides.map { iface + fam + proto + $0 } }
    }
}
