import ChaosCore
import ChaosFaults
import ChaosTesting
import Testing

@Suite("Network faults plan exact programs and pass the contract on a simulated host")
struct NetworkFaultTests {
    static let deadline: Int64 = 4_000_000_000_000

    func request(_ kind: FaultKind, _ p: FaultParameters, remotes: [String] = [], network: FaultRequest.Network? = nil) -> FaultRequest {
        var n = network ?? FaultRequest.Network(controlPorts: [7433])
        if network == nil { n.remotes = remotes }
        return FaultRequest(faultID: "f-net00001", spec: FaultSpec(type: kind, duration: .seconds(30), with: p), deadline: Self.deadline, network: n)
    }

    func params(_ build: (inout FaultParameters) -> Void) -> FaultParameters {
        var p = FaultParameters()
        build(&p)
        return p
    }

    @Test("a blackhole of one host and port: both directions, both port ends, control port first")
    func blackholeGolden() throws {
        let p = params { $0.ports = ["6379"] }
        let scope = try NetworkScope.from(p, remotes: ["10.0.0.21"], controlPorts: [7433])
        let program = NftProgram.filter(table: "chaos_f_x", scope: scope, action: .drop)
        #expect(program == """
        table inet chaos_f_x {
          chain egress {
            type filter hook output priority -10; policy accept;
            tcp dport 7433 accept
            tcp sport 7433 accept
            oifname != "lo" ip daddr { 10.0.0.21 } meta l4proto tcp th dport { 6379 } drop
            oifname != "lo" ip daddr { 10.0.0.21 } meta l4proto tcp th sport { 6379 } drop
          }

          chain ingress {
            type filter hook input priority -10; policy accept;
            tcp dport 7433 accept
            tcp sport 7433 accept
            iifname != "lo" ip saddr { 10.0.0.21 } meta l4proto tcp th dport { 6379 } drop
            iifname != "lo" ip saddr { 10.0.0.21 } meta l4proto tcp th sport { 6379 } drop
          }
        }

        """)
    }

    @Test("reject of everything on one interface, egress only, control port included on request")
    func rejectAll() throws {
        let p = params { $0.direction = "egress"; $0.interface = "eth0"; $0.includeControlPort = true }
        let scope = try NetworkScope.from(p, remotes: ["10.0.1.0/24", "fd00::/64"], controlPorts: [7433])
        let program = NftProgram.filter(table: "t", scope: scope, action: .reject)
        #expect(program == """
        table inet t {
          chain egress {
            type filter hook output priority -10; policy accept;
            meta l4proto tcp tcp flags & rst == rst accept
            icmp type destination-unreachable accept
            icmpv6 type destination-unreachable accept
            oifname "eth0" ip daddr { 10.0.1.0/24 } meta l4proto tcp reject with tcp reset
            oifname "eth0" ip6 daddr { fd00::/64 } meta l4proto tcp reject with tcp reset
            oifname "eth0" ip daddr { 10.0.1.0/24 } reject with icmpx type port-unreachable
            oifname "eth0" ip6 daddr { fd00::/64 } reject with icmpx type port-unreachable
          }
        }

        """)
    }

    @Test("includeControlPort gives up the caller's port only: the host's protected ports stay exempt")
    func protectedPortsStay() throws {
        let p = params { $0.ports = ["9"]; $0.includeControlPort = true }
        let scope = try NetworkScope.from(p, remotes: [], controlPorts: [7433], protectedPorts: [22, 7433])
        #expect(scope.exemptPorts == [22, 7433])
        let without = try NetworkScope.from(params { $0.ports = ["9"] }, remotes: [], controlPorts: [7433], protectedPorts: [22])
        #expect(without.exemptPorts == [7433, 22])
        let program = NftProgram.filter(table: "t", scope: scope, action: .drop)
        #expect(program.contains("tcp dport 22 accept") && program.contains("tcp sport 22 accept"))
    }

    @Test("a whole-interface qdisc cannot spare a port, so it is refused on a host that protects ports", arguments: [FaultKind.networkBandwidth])
    func qdiscRefusedWithProtectedPorts(kind: FaultKind) async throws {
        let host = FakeHost()
        var network = FaultRequest.Network(controlPorts: [7433], protectedPorts: [22])
        network.remotes = []
        let p = params { $0.interface = "eth0"; $0.rate = "1mbit"; $0.corruptPercent = 5 }
        do {
            _ = try await FaultCatalog.fault(kind).plan(request(kind, p, network: network), on: host)
            Issue.record("\(kind) must be refused")
        } catch {
            #expect(error.code == "policy.denied" || error.code == "fault.unsupported", "\(error)")
            if error.code == "policy.denied" { #expect(error.message.contains("22")) }
        }
    }

    @Test("loss of 30 % draws a random number per packet", arguments: [(30.0, 300), (0.5, 5), (100.0, 1000)])
    func loss(percent: Double, perMille: Int) async throws {
        let host = FakeHost()
        let fault = try FaultCatalog.fault(.networkLoss)
        let planned = try await fault.plan(request(.networkLoss, params { $0.lossPercent = percent; $0.ports = ["8080"] }), on: host)
        #expect(planned.actions[0].contains("numgen random mod 1000 < \(perMille) drop"))
    }

    @Test("user text never reaches nft unchecked", arguments: ["10.0.0.1; flush ruleset", "db1", "10.0.0.1/33", "::1/129", ""])
    func badAddresses(text: String) {
        #expect(throws: ChaosError.self) { try NetworkScope.from(FaultParameters(), remotes: [text], controlPorts: []) }
    }

    @Test("interface names are checked", arguments: ["eth0\" accept", "a-very-long-interface-name", ""])
    func badInterfaces(name: String) {
        var p = FaultParameters()
        p.interface = name
        #expect(throws: ChaosError.self) { try NetworkScope.from(p, remotes: [], controlPorts: []) }
    }

    @Test("every nft fault passes the contract and leaves no table", arguments: [FaultKind.networkBlackhole, .networkReject, .networkLoss, .networkDNS])
    func nftContract(kind: FaultKind) async throws {
        let host = FakeHost()
        host.with { $0.fileContents["/etc/resolv.conf"] = "# generated\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nsearch lab\n" }
        let req = request(kind, params { $0.lossPercent = 10; $0.ports = kind == .networkDNS ? nil : ["6379"] }, remotes: kind == .networkDNS ? [] : ["10.0.0.21"])
        let planned = try await FaultContract.check(try FaultCatalog.fault(kind), req, on: host) {
            host.with { $0.nftTables.keys.map { "table \($0) left" } }
        }
        #expect(host.trace.first == "nft -f -")
        #expect(host.trace.contains("nft delete table inet chaos_f_net00001"))
        if kind == .networkDNS {
            #expect(planned.actions[0].contains("ip daddr { 10.0.0.2 }"))
            #expect(planned.actions[0].contains("ip6 daddr { fe80::1 }"))
            #expect(planned.actions[0].contains("th dport { 53 }"))
        }
    }

    @Test("partition sides may be CIDRs: this host is on the side whose prefix contains one of its addresses")
    func partitionCIDR() async throws {
        #expect(AddressText.contains(["10.0.0.0/24"], "10.0.0.22"))
        #expect(!AddressText.contains(["10.0.1.0/24"], "10.0.0.22"))
        #expect(AddressText.contains(["fd00::/64"], "fd00::5"))
        #expect(!AddressText.contains(["10.0.0.0/8"], "fd00::5"))
        #expect(AddressText.contains(["10.0.0.22"], "10.0.0.22"))
        let n = FaultRequest.Network(sideA: ["10.0.0.0/30"], sideB: ["10.0.0.64/26"], localAddresses: ["10.0.0.70"], controlPorts: [])
        let planned = try await FaultCatalog.fault(.networkPartition).plan(request(.networkPartition, FaultParameters(), network: n), on: FakeHost())
        #expect(planned.actions[0].contains("ip daddr { 10.0.0.0/30 }"))
    }

    @Test("a partition drops traffic with the other side only, on whichever side this host is")
    func partition() async throws {
        let host = FakeHost()
        var n = FaultRequest.Network(sideA: ["10.0.0.21"], sideB: ["10.0.0.22", "10.0.0.23"], localAddresses: ["127.0.0.1", "10.0.0.22"], controlPorts: [7433])
        let fault = try FaultCatalog.fault(.networkPartition)
        let planned = try await fault.plan(request(.networkPartition, FaultParameters(), network: n), on: host)
        #expect(planned.actions[0].contains("ip daddr { 10.0.0.21 }"))
        #expect(planned.actions[0].contains("ip saddr { 10.0.0.21 }"))
        #expect(!planned.actions[0].contains("10.0.0.23"))
        n.oneWay = true
        let oneway = try await fault.plan(request(.networkPartition, FaultParameters(), network: n), on: host)
        #expect(!oneway.actions[0].contains("chain egress"), "on the receiving side, one-way cuts only what arrives from the first side")
        #expect(oneway.actions[0].contains("chain ingress"))
        n.localAddresses = ["10.0.0.99"]
        await #expect(throws: ChaosError.self) { try await fault.plan(request(.networkPartition, FaultParameters(), network: n), on: host) }
    }

    @Test("bandwidth installs its own tbf root and removes only that")
    func bandwidth() async throws {
        let host = FakeHost()
        let req = request(.networkBandwidth, params { $0.rate = "1mbit"; $0.interface = "eth0" })
        let planned = try await FaultContract.check(try FaultCatalog.fault(.networkBandwidth), req, on: host) {
            host.with { $0.rootQdiscs.map { "qdisc \($0.value.kind) on \($0.key) left" } }
        }
        #expect(planned.actions[0] == "tc qdisc add dev eth0 root handle c4a1: tbf rate 1000000bit burst 4096 latency 400ms")
    }

    @Test("a root qdisc someone else installed is refused, naming it")
    func foreignQdisc() async throws {
        let host = FakeHost()
        host.with { $0.rootQdiscs["eth0"] = (kind: "htb", handle: "1:") }
        let req = request(.networkBandwidth, params { $0.rate = "1mbit"; $0.interface = "eth0" })
        do {
            _ = try await FaultCatalog.fault(.networkBandwidth).plan(req, on: host)
            Issue.record("a foreign root qdisc must be refused")
        } catch {
            #expect(error.code == "fault.resourceBusy")
            #expect(error.message.contains("root qdisc 'htb' (handle 1:)"))
        }
        // And revert never deletes a root that is not ours.
        try await FaultCatalog.fault(.networkBandwidth).revert(.object(["interface": .string("eth0"), "handle": .string("c4a1:"), "add": .array([])]), on: host)
        #expect(host.with { $0.rootQdiscs["eth0"]?.kind } == "htb")
    }

    @Test("delay uses the relay where netem is missing: relay first, then the redirect; revert removes both")
    func delayRelay() async throws {
        let host = FakeHost()
        let req = request(.networkDelay, params { $0.delay = .milliseconds(200); $0.jitter = .milliseconds(20); $0.ports = ["6379"]; $0.direction = "both" }, remotes: ["10.0.0.21"])
        let planned = try await FaultContract.check(try FaultCatalog.fault(.networkDelay), req, on: host) {
            host.with { s in s.nftTables.keys.map { "table \($0) left" } + s.processes.values.filter { $0.cmdline.contains("_relay") && !$0.isDead }.map { "relay \($0.pid) alive" }
                + s.ipRouting.map { "routing '\($0)' left" } }
        }
        #expect(planned.actions[0].hasPrefix("mechanism: relay: userspace TCP relay, new TCP connections only"))
        let trace = host.trace
        let spawn = try #require(trace.firstIndex { $0.hasPrefix("spawn chaos _relay --fault-id f-net00001") })
        let load = try #require(trace.firstIndex(of: "nft -f -"))
        #expect(spawn < load, "the redirect must go in only after the relay listens")
        let program = try #require(planned.actions.first { $0.hasPrefix("nft -f -") })
        #expect(program.contains("meta mark \(RelayMechanism.relayMark) return"))
        #expect(program.contains("redirect to :"))
        // Incoming connections are relayed transparently: their replies are marked and routed home.
        let route = RelayMechanism.replyRoute("f-net00001")
        #expect(program.contains("ct direction reply ct mark \(route.mark) meta mark set \(route.mark)"))
        let rule = try #require(trace.firstIndex(of: "ip -4 rule add fwmark \(route.mark) lookup \(route.table) priority 90"))
        #expect(spawn < rule && rule < load, "the replies' route is in place before anything is redirected")
        #expect(trace.contains("ip -4 route del local 0.0.0.0/0 dev lo table \(route.table)"))
        // Revert: stop redirecting, stop (drain) the relay, then drop the reply marks and the rule.
        let unredirect = try #require(trace.firstIndex { $0.hasPrefix("nft flush chain inet") && $0.hasSuffix(" ingress") })
        let dropTable = try #require(trace.firstIndex { $0.hasPrefix("nft delete table inet") })
        let dropRule = try #require(trace.firstIndex { $0.hasPrefix("ip -4 rule del") })
        #expect(unredirect < dropTable && dropTable < dropRule)
    }

    @Test("delay of outgoing traffic only needs no policy routing")
    func delayEgressOnly() async throws {
        let host = FakeHost()
        let req = request(.networkDelay, params { $0.delay = .milliseconds(50); $0.direction = "egress"; $0.ports = ["5432"] })
        let planned = try await FaultContract.check(try FaultCatalog.fault(.networkDelay), req, on: host)
        #expect(!planned.actions.contains { $0.contains("policy routing") || $0.contains("relayreplies") })
        #expect(!host.trace.contains { $0.hasPrefix("ip ") })
    }

    @Test("netem kinds name the missing kernel feature and what to do", arguments: [FaultKind.networkCorrupt, .networkDuplicate, .networkReorder])
    func netemMissing(kind: FaultKind) async throws {
        let host = FakeHost()
        do {
            _ = try await FaultCatalog.fault(kind).plan(request(kind, params { $0.interface = "eth0"; $0.corruptPercent = 1; $0.duplicatePercent = 1; $0.reorderPercent = 1; $0.delay = .milliseconds(5) }), on: host)
            Issue.record("\(kind) must be refused without netem")
        } catch {
            #expect(error.code == "host.missingQdisc")
            #expect(error.message.contains("'netem'") && error.message.contains("NFQUEUE"))
            #expect(error.message.contains("modprobe sch_netem"))
        }
        #expect(host.with { $0.rootQdiscs.isEmpty && $0.nftTables.isEmpty })
    }

    @Test("without nft or root, network faults say what to install")
    func needs() async throws {
        let host = FakeHost()
        host.with { $0.capabilities.nft = nil }
        do {
            _ = try await FaultCatalog.fault(.networkBlackhole).plan(request(.networkBlackhole, FaultParameters()), on: host)
            Issue.record("a missing nft must be refused")
        } catch {
            #expect(error.code == "host.missingNft")
            #expect(error.message.contains("apt-get install nftables"))
        }
    }

    @Test("tc's JSON root qdisc is parsed")
    func parseRoot() {
        #expect(TC.parseRoot(#"[{"kind":"noqueue","handle":"0:","root":true,"refcnt":2,"options":{}}]"#) == TC.RootQdisc(kind: "noqueue", handle: "0:"))
        #expect(TC.parseRoot(#"[{"kind":"tbf","handle":"c4a1:","root":true}]"#)?.handle == "c4a1:")
        #expect(TC.parseRoot("garbage") == nil)
    }
}
