import Foundation
import Testing

/// `chaos capabilities` reports what the host can do, and agrees with trying it by hand.
@Suite("chaos capabilities", .enabled(if: Harness.integration, "needs root and CHAOS_INTEGRATION=1"))
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
    }

    @Test("the table names what is missing and what to do")
    func table() throws {
        let out = try Harness.run(["capabilities"], state: Harness.stateDir())
        #expect(out.status == 0)
        #expect(out.stdout.contains("qdisc netem"))
        #expect(out.stdout.contains("nftables"))
    }
}
