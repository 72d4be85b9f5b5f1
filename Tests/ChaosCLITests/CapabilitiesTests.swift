import Foundation
import Testing

/// `chaos capabilities` reports what the host can do, and agrees with trying it by hand.
@Suite("chaos capabilities", Requirements.integration("/usr/sbin/nft"))
struct CapabilitiesTests {
    /// Whether `argv` succeeds (a direct probe, independent of chaos's own).
    func succeeds(_ argv: [String]) throws -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    @Test("the JSON report agrees with probes made by hand in a throwaway namespace")
    func agreesWithHandProbes() throws {
        let out = try Harness.run(["capabilities", "--output", "json"], state: Harness.stateDir())
        #expect(out.status == 0, "\(out.stderr)")
        let caps = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        #expect(caps["root"] as? Bool == true)
        #expect((caps["nft"] as? String != nil) == FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft"))
        let qdiscs = try #require(caps["qdiscs"] as? [String: Bool])
        let netem = try succeeds(["unshare", "--net", "--", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"])
        let tbf = try succeeds(["unshare", "--net", "--", "tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "1mbit", "burst", "32kbit", "latency", "400ms"])
        #expect(qdiscs["netem"] == netem)
        #expect(qdiscs["tbf"] == tbf)
        #expect(["v2", "hybrid", "v1", "none"].contains(caps["cgroups"] as? String ?? ""))
        // The packet queue: nft's own `queue` first, else the xtables NFQUEUE target through iptables-legacy.
        let nftQueue = try succeeds(["sh", "-c", "printf 'table inet q {\\n chain o {\\n type filter hook output priority 0;\\n udp dport 9 queue num 9 bypass\\n }\\n}\\n' | unshare --net -- nft -f -"])
        let legacy = try succeeds(["unshare", "--net", "--", "iptables-legacy", "-t", "mangle", "-A", "OUTPUT", "-j", "NFQUEUE", "--queue-num", "9", "--queue-bypass"])
        #expect(caps["packetQueue"] as? String == (nftQueue ? "nft" : legacy ? "iptables-legacy" : nil))
        // And the mechanism each network fault uses here follows from them.
        let mechanisms = try #require(caps["mechanisms"] as? [String: [String: String]])
        let delay = try #require(mechanisms["network.delay"])
        if netem && qdiscs["prio"] == true { #expect(delay["egress"]?.hasPrefix("tc netem") == true) }
        else if nftQueue || legacy { #expect(delay["egress"]?.contains("NFQUEUE") == true && delay["ingress"]?.contains("NFQUEUE") == true) }
        else { #expect(delay["egress"]?.contains("new TCP connections only") == true) }
        #expect(mechanisms["network.loss"]?["egress"]?.hasPrefix("nftables") == true)
    }

    @Test("CHAOS_NO_PACKET_QUEUE=1 hides the packet queue: delay falls back to the relay and says so")
    func noPacketQueue() throws {
        let out = try Harness.run(["capabilities", "--output", "json"], state: Harness.stateDir(), env: ["CHAOS_NO_PACKET_QUEUE": "1"])
        let caps = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        #expect(caps["packetQueue"] == nil)
        let mechanisms = try #require(caps["mechanisms"] as? [String: [String: String]])
        guard (caps["qdiscs"] as? [String: Bool])?["netem"] != true else { return }
        #expect(mechanisms["network.delay"]?["egress"]?.contains("new TCP connections only") == true, "\(mechanisms)")
        #expect(mechanisms["network.corrupt"]?["egress"]?.hasPrefix("none") == true)
    }

    @Test("the table names what is missing and what to do")
    func table() throws {
        let out = try Harness.run(["capabilities"], state: Harness.stateDir())
        #expect(out.status == 0)
        #expect(out.stdout.contains("qdisc netem"))
        #expect(out.stdout.contains("nftables"))
        #expect(out.stdout.contains("NETWORK FAULT") && out.stdout.contains("network.delay"), "the mechanism per fault: \(out.stdout)")
    }
}
