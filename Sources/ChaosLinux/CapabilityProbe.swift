import ChaosCore
import Foundation
import CLinuxShims
import Glibc

/// Finds out what this host can do for network and other faults, by trying for real in a throwaway
/// network namespace (`unshare --net`), so nothing on the host is touched: a qdisc kind is available
/// when `tc qdisc add` of it succeeds there, NAT redirect when an nft program using it loads there.
public enum CapabilityProbe {
    public static func probe() async -> HostCapabilities {
        var caps = HostCapabilities()
        caps.root = geteuid() == 0
        // Independent probes run at once: a network fault command waits for the slowest, not the sum.
        async let nft = version(["nft", "--version"])
        async let iptables = version(["iptables", "--version"])
        async let tc = version(["tc", "-V"])
        async let canUnshare = succeeds(["unshare", "--net", "--", "true"])
        caps.nft = await nft
        caps.iptables = await iptables
        caps.tc = await tc != nil
        let unshareWorks = await canUnshare
        caps.networkNamespaces = caps.root && unshareWorks
        // The namespace probes run at once too: qdisc kinds, NAT redirect, the packet queue.
        let hasNft = caps.nft != nil, namespaces = caps.networkNamespaces, hasTc = caps.tc
        async let redirect: Bool = {
            guard hasNft && namespaces else { return false }
            let program = "table inet chaos_probe {\n  chain o {\n    type nat hook output priority -100; policy accept;\n    tcp dport 9 redirect to :9\n  }\n}\n"
            return (try? await CommandRunner.run(["unshare", "--net", "--", "nft", "-f", "-"], input: program, timeout: .seconds(5)))?.succeeded ?? false
        }()
        // CHAOS_NO_PACKET_QUEUE=1: never queue packets to userspace on this host (then delay falls back
        // to the relay, and corrupt/duplicate/reorder need netem).
        let queueAllowed = getenv("CHAOS_NO_PACKET_QUEUE").map { String(cString: $0) } != "1"
        async let queue: String? = namespaces && queueAllowed ? packetQueue(nft: hasNft) : nil
        if hasTc && namespaces {
            let kinds: [(String, [String])] = [
                ("tbf", ["tbf", "rate", "1mbit", "burst", "32kbit", "latency", "400ms"]),
                ("htb", ["htb", "default", "1"]),
                ("prio", ["prio"]),
                ("netem", ["netem", "delay", "1ms"]),
            ]
            caps.qdiscs = await withTaskGroup(of: (String, Bool).self) { group in
                for (name, args) in kinds {
                    group.addTask { (name, await succeeds(["unshare", "--net", "--", "tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:"] + args)) }
                }
                group.addTask { ("clsact", await succeeds(["unshare", "--net", "--", "tc", "qdisc", "add", "dev", "lo", "clsact"])) }
                var out: [String: Bool] = [:]
                for await (name, ok) in group { out[name] = ok }
                return out
            }
        }
        caps.nftRedirect = await redirect
        caps.packetQueue = await queue
        caps.cgroups = cgroupMode()
        caps.systemdSystem = access("/run/systemd/system", F_OK) == 0
        return caps
    }

    /// nft's `queue` statement where the kernel has it (NFT_QUEUE), else the xtables NFQUEUE target
    /// through iptables-legacy (whose nf_tables twin, iptables-nft, translates it into the same nft
    /// `queue` and fails where that is missing).
    static func packetQueue(nft: Bool) async -> String? {
        if nft {
            let program = "table inet chaos_probe {\n  chain o {\n    type filter hook output priority 0; policy accept;\n    udp dport 9 queue num 9 bypass\n  }\n}\n"
            if (try? await CommandRunner.run(["unshare", "--net", "--", "nft", "-f", "-"], input: program, timeout: .seconds(5)))?.succeeded == true { return "nft" }
        }
        if await succeeds(["unshare", "--net", "--", "iptables-legacy", "-w", "5", "-t", "mangle", "-A", "OUTPUT", "-p", "udp", "--dport", "9", "-j", "NFQUEUE", "--queue-num", "9", "--queue-bypass"]) {
            return "iptables-legacy"
        }
        return nil
    }

    static func version(_ argv: [String]) async -> String? {
        guard let r = try? await CommandRunner.run(argv, timeout: .seconds(5)), r.succeeded else { return nil }
        return (r.stdout.isEmpty ? r.stderrTail : r.stdout).split(separator: "\n").first.map { String($0).trimmingWhitespace() }
    }

    static func succeeds(_ argv: [String]) async -> Bool {
        (try? await CommandRunner.run(argv, timeout: .seconds(5)))?.succeeded ?? false
    }

    static func cgroupMode() -> String {
        var st = statfs()
        if chaos_statfs("/sys/fs/cgroup", &st) == 0, st.f_type == 0x6367_7270 { return "v2" }
        if chaos_statfs("/sys/fs/cgroup/unified", &st) == 0, st.f_type == 0x6367_7270 { return "hybrid" }
        if access("/sys/fs/cgroup/systemd", F_OK) == 0 || access("/sys/fs/cgroup/cpu", F_OK) == 0 { return "v1" }
        return "none"
    }
}
