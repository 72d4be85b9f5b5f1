import ChaosCore
import ChaosFaults
import ChaosTesting
import Foundation
import Testing

/// The packet faults (delay, corrupt, duplicate, reorder): the mechanism each host gets, the exact
/// programs of each mechanism (golden files in Tests/Fixtures/golden; `CHAOS_UPDATE_GOLDEN=1`
/// rewrites them), and the fault contract on a simulated host for each mechanism.
@Suite("Packet faults: mechanism, golden programs, contract")
struct PacketFaultTests {
    static let deadline: Int64 = 4_000_000_000_000

    func request(_ kind: FaultKind, _ build: (inout FaultParameters) -> Void, remotes: [String] = [], protected: [Int] = []) -> FaultRequest {
        var p = FaultParameters()
        build(&p)
        return FaultRequest(faultID: "f-pkt00001", spec: FaultSpec(type: kind, duration: .seconds(30), with: p), deadline: Self.deadline,
                            network: FaultRequest.Network(remotes: remotes, controlPorts: [7433], protectedPorts: protected))
    }

    /// Compares `text` with the golden file `name`, or writes it under CHAOS_UPDATE_GOLDEN=1.
    func golden(_ name: String, _ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/golden")
        let path = dir.appendingPathComponent(name).path
        if ProcessInfo.processInfo.environment["CHAOS_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == expected, "differs from \(name); run with CHAOS_UPDATE_GOLDEN=1 to rewrite it after checking the diff", sourceLocation: sourceLocation)
    }

    // MARK: mechanism

    @Test("netem for egress where netem and prio exist; the packet engine otherwise; the relay only for a TCP delay with neither")
    func mechanismChoice() throws {
        var caps = HostCapabilities(root: true, nft: "v1", nftRedirect: true, tc: true, qdiscs: ["netem": true, "prio": true])
        #expect(try PacketMechanism.choose(.networkDelay, direction: .egress, proto: "all", caps) == .netem)
        caps.packetQueue = "iptables-legacy"
        #expect(try PacketMechanism.choose(.networkDelay, direction: .egress, proto: "all", caps) == .netem)
        #expect(try PacketMechanism.choose(.networkDelay, direction: .both, proto: "all", caps) == .nfqueue(.iptablesLegacy), "netem is egress only")
        caps.qdiscs["prio"] = false
        #expect(try PacketMechanism.choose(.networkCorrupt, direction: .egress, proto: "udp", caps) == .nfqueue(.iptablesLegacy))
        caps.packetQueue = "nft"
        #expect(try PacketMechanism.choose(.networkDuplicate, direction: .ingress, proto: "all", caps) == .nfqueue(.nft))
        caps.packetQueue = nil
        #expect(try PacketMechanism.choose(.networkDelay, direction: .egress, proto: "tcp", caps) == .relay)
        #expect(throws: ChaosError.self) { try PacketMechanism.choose(.networkDelay, direction: .egress, proto: "udp", caps) }
        #expect(throws: ChaosError.self) { try PacketMechanism.choose(.networkCorrupt, direction: .egress, proto: "all", caps) }
        caps.root = false
        caps.packetQueue = "nft"
        #expect(throws: ChaosError.self) { try PacketMechanism.choose(.networkDelay, direction: .egress, proto: "all", caps) }
    }

    // MARK: golden programs

    @Test("iptables-legacy queue rules: own chains per family and hook, engine copies and exempt ports first, either port end, bypass")
    func queueRulesGolden() throws {
        var p = FaultParameters()
        p.ports = ["6379", "8000-8100"]
        p.direction = "both"
        let scope = try NetworkScope.from(p, remotes: ["10.0.0.21", "10.0.1.0/24"], controlPorts: [7433], protectedPorts: [22])
        let rules = QueueProgram.rules(.iptablesLegacy, faultID: "f-pkt00001", scope: scope, queue: 17001, mark: PacketFault.engineMark)
        #expect(rules.chains.map(\.name) == ["chaos-f_pkt00001-o", "chaos-f_pkt00001-i"], "IPv4 only: no IPv6 address is named")
        try golden("queue-iptables-legacy.txt", rules.chains.map { "# \($0.loadCommand.joined(separator: " "))\n\($0.restore)" }.joined(separator: "\n"))
        #expect(rules.chains[0].unhookCommand == ["iptables-legacy", "-w", "5", "-t", "mangle", "-D", "OUTPUT", "!", "-o", "lo", "-j", "chaos-f_pkt00001-o"])

        // No address and no port: every packet, both families, egress only.
        let all = QueueProgram.rules(.iptablesLegacy, faultID: "f-pkt00001",
                                     scope: try NetworkScope.from(FaultParameters(), remotes: [], controlPorts: [7433], defaultDirection: .egress), queue: 17002, mark: 1)
        #expect(all.chains.map { "\($0.family)/\($0.hook)" } == ["4/OUTPUT", "6/OUTPUT"])
        try golden("queue-iptables-legacy-all.txt", all.chains.map(\.restore).joined(separator: "\n"))
    }

    @Test("more than 15 ports split into several multiport rules")
    func manyPorts() throws {
        var p = FaultParameters()
        p.ports = (1...20).map { String(1000 + $0) }
        let scope = try NetworkScope.from(p, remotes: ["10.0.0.1"], controlPorts: [], defaultDirection: .egress)
        let restore = QueueProgram.rules(.iptablesLegacy, faultID: "f-x", scope: scope, queue: 1, mark: 1).chains[0].restore
        #expect(restore.components(separatedBy: "NFQUEUE").count - 1 == 2, "15 + 5 ports (TCP, the default with ports): \(restore)")
    }

    @Test("nft queue program (hosts whose nft has queue): one table, mark and exempt ports first, bypass")
    func queueNftGolden() throws {
        var p = FaultParameters()
        p.ports = ["5432"]
        p.protocol = "tcp"
        let scope = try NetworkScope.from(p, remotes: ["10.0.0.21", "fd00::21"], controlPorts: [7433], defaultDirection: .egress)
        let rules = QueueProgram.rules(.nft, faultID: "f-pkt00001", scope: scope, queue: 17003, mark: PacketFault.engineMark)
        #expect(rules.chains.isEmpty)
        try golden("queue-nft.txt", rules.nftProgram ?? "")
    }

    @Test("classful netem: prio root, netem on band 4, exempt ports to band 2 first, filters by address, protocol and port blocks")
    func netemGolden() throws {
        var p = FaultParameters()
        p.ports = ["6379", "8000-8100"]
        p.delay = .milliseconds(200)
        p.jitter = .milliseconds(20)
        let scope = try NetworkScope.from(p, remotes: ["10.0.0.21", "fd00::/64"], controlPorts: [7433], protectedPorts: [22], defaultDirection: .egress)
        let program = try NetemProgram.program(interface: "eth0", scope: scope, netem: NetemProgram.netemArguments(.networkDelay, p))
        try golden("netem-delay-scoped.txt", program.commands.map { $0.joined(separator: " ") }.joined(separator: "\n") + "\n")

        var q = FaultParameters()
        q.corruptPercent = 2.5
        let whole = try NetemProgram.program(interface: "ens3", scope: try NetworkScope.from(q, remotes: [], controlPorts: [7433], defaultDirection: .egress),
                                             netem: NetemProgram.netemArguments(.networkCorrupt, q))
        try golden("netem-corrupt-all.txt", whole.commands.map { $0.joined(separator: " ") }.joined(separator: "\n") + "\n")
        for kind in [FaultKind.networkDuplicate, .networkReorder] {
            var r = FaultParameters()
            r.duplicatePercent = 10; r.reorderPercent = 25; r.delay = .milliseconds(10)
            let args = NetemProgram.netemArguments(kind, r)
            #expect(args == (kind == .networkDuplicate ? ["delay", "10ms", "duplicate", "10.0%"] : ["delay", "10ms", "reorder", "25.0%"]))
        }
    }

    @Test("a scope needing more than 512 filters is refused with what to do")
    func netemTooManyFilters() throws {
        var p = FaultParameters()
        p.ports = (1...40).map { String(2000 + $0 * 3) }
        let scope = try NetworkScope.from(p, remotes: (1...10).map { "10.0.0.\($0)" }, controlPorts: [], defaultDirection: .egress)
        #expect(throws: ChaosError.self) { try NetemProgram.program(interface: "eth0", scope: scope, netem: ["delay", "1ms"]) }
    }

    // MARK: contract on a simulated host

    @Test("nfqueue on a simulated host: engine first (bound), then rules; verify sees both; revert removes rules then stops the engine",
          arguments: [FaultKind.networkDelay, .networkCorrupt, .networkDuplicate, .networkReorder])
    func queueContract(_ kind: FaultKind) async throws {
        let host = FakeHost()
        host.with { $0.capabilities.packetQueue = "iptables-legacy" }
        let req = request(kind, { p in
            p.delay = .milliseconds(100); p.corruptPercent = 5; p.duplicatePercent = 5; p.reorderPercent = 20; p.ports = ["6379"]
        }, remotes: ["10.0.0.21"])
        let planned = try await FaultContract.check(try FaultCatalog.fault(kind), req, on: host) {
            host.with { s in s.xtablesChains.keys.map { "chain \($0) left" }
                + s.processes.values.filter { $0.cmdline.contains("_netqueue") && !$0.isDead }.map { "engine \($0.pid) alive" } }
        }
        #expect(planned.actions[0].hasPrefix("mechanism: nfqueue"))
        #expect(planned.actions.contains { $0.hasPrefix("effect: ") })
        let trace = host.trace
        let spawn = try #require(trace.firstIndex { $0.hasPrefix("spawn chaos _netqueue --fault-id f-pkt00001") })
        let load = try #require(trace.firstIndex { $0.hasPrefix("iptables-legacy-restore") })
        let unhook = try #require(trace.firstIndex { $0.contains(" -D OUTPUT ") })
        let term = try #require(trace.firstIndex { $0.hasPrefix("signal TERM") })
        #expect(spawn < load && load < unhook && unhook < term)
        let engine = trace[spawn]
        switch kind {
        case .networkDelay: #expect(engine.contains("--delay-ms 100") && !engine.contains("--corrupt"))
        case .networkCorrupt: #expect(engine.contains("--corrupt 5.0") && !engine.contains("--delay-ms"))
        case .networkDuplicate: #expect(engine.contains("--duplicate 5.0"))
        default: #expect(engine.contains("--reorder 20.0") && engine.contains("--delay-ms 100"))
        }
    }

    @Test("nfqueue: a dead engine is drift (packets bypass), and revert still removes the rules")
    func queueEngineDeath() async throws {
        let host = FakeHost()
        host.with { $0.capabilities.packetQueue = "iptables-legacy" }
        let fault = try FaultCatalog.fault(.networkDelay)
        let planned = try await fault.plan(request(.networkDelay, { $0.delay = .milliseconds(50) }, remotes: ["10.0.0.21"]), on: host)
        try await fault.inject(planned.receipt, on: host)
        #expect(try await fault.verify(planned.receipt, on: host) == .active)
        let engine = try #require(host.with { s in s.processes.values.first { $0.cmdline.contains("_netqueue") } })
        try await host.send(.kill, to: engine.pid)
        guard case .drifted(let reason) = try await fault.verify(planned.receipt, on: host) else { Issue.record("must be drift"); return }
        #expect(reason.contains("bypass"))
        try await fault.revert(planned.receipt, on: host)
        #expect(host.with { $0.xtablesChains.isEmpty })
        #expect(try await fault.verify(planned.receipt, on: host) == .absent)
    }

    @Test("netem on a simulated host: the interface the address routes through gets the classful root; revert deletes only our root")
    func netemContract() async throws {
        let host = FakeHost()
        host.with { $0.capabilities.qdiscs["netem"] = true; $0.capabilities.qdiscs["prio"] = true; $0.capabilities.packetQueue = "iptables-legacy" }
        let req = request(.networkDelay, { $0.delay = .milliseconds(200); $0.ports = ["6379"] }, remotes: ["10.0.0.21"], protected: [22])
        let planned = try await FaultContract.check(try FaultCatalog.fault(.networkDelay), req, on: host) {
            host.with { s in s.rootQdiscs.keys.map { "root qdisc on \($0) left" } }
        }
        #expect(planned.actions[0].hasPrefix("mechanism: tc netem (classful"))
        #expect(host.trace.contains("ip -j route get 10.0.0.21"))
        #expect(host.trace.contains { $0.hasPrefix("tc qdisc add dev eth0 root handle c4a7: prio bands 4") })
        #expect(host.trace.contains { $0.contains("match ip dport 22 0xffff flowid c4a7:2") }, "the host's protected port is exempt")
        // Ingress cannot use netem: the engine takes it.
        let ingress = try await FaultCatalog.fault(.networkDelay).plan(request(.networkDelay, { $0.delay = .milliseconds(5); $0.direction = "ingress" }), on: host)
        #expect(ingress.actions[0].hasPrefix("mechanism: nfqueue"))
    }

    @Test("without netem or a packet queue: corrupt, duplicate and reorder name what is missing; delay falls back to the relay and says 'new TCP connections only'")
    func fallbacks() async throws {
        let host = FakeHost()
        for kind in [FaultKind.networkCorrupt, .networkDuplicate] {
            await #expect(throws: ChaosError.self) {
                _ = try await FaultCatalog.fault(kind).plan(request(kind, { $0.corruptPercent = 1; $0.duplicatePercent = 1 }), on: host)
            }
        }
        let relay = try await FaultCatalog.fault(.networkDelay).plan(request(.networkDelay, { $0.delay = .milliseconds(5); $0.ports = ["80"] }), on: host)
        #expect(relay.actions[0].contains("new TCP connections only"))
        #expect(relay.actions.contains { $0.hasPrefix("effect: ") && $0.contains("new TCP connections only") })
        let program = try #require(relay.actions.first { $0.hasPrefix("nft -f -") })
        #expect(program.contains("ct state new tcp flags & (syn | ack) == syn redirect to :"), "only the SYN of a new connection is redirected: an established one would be reset")
    }

    @Test("the receipt states the round-trip effect for each direction")
    func effects() async throws {
        let host = FakeHost()
        host.with { $0.capabilities.packetQueue = "iptables-legacy" }
        func effect(_ kind: FaultKind, _ build: (inout FaultParameters) -> Void) async throws -> String {
            let planned = try await FaultCatalog.fault(kind).plan(request(kind, build), on: host)
            return planned.actions.first { $0.hasPrefix("effect: ") } ?? ""
        }
        #expect(try await effect(.networkDelay) { $0.delay = .milliseconds(200) }.contains("packets this host sends wait 200 ms; every round trip through the scope grows by about 200 ms"))
        #expect(try await effect(.networkDelay) { $0.delay = .milliseconds(200); $0.direction = "both" }.contains("grows by about 400 ms"))
        #expect(try await effect(.networkCorrupt) { $0.corruptPercent = 30; $0.direction = "both" }.contains("about 51% of round trips"))
    }

    @Test("receipts written before this version still revert: a corrupt's bare netem root, a delay's relay")
    func oldReceipts() throws {
        let corrupt = #"{"interface":"eth0","handle":"c4a4:","add":["tc","qdisc","add","dev","eth0","root","handle","c4a4:","netem","corrupt","5.0%"]}"#
        let r = try JSONDecoder().decode(PacketFault.Receipt.self, from: Data(corrupt.utf8))
        #expect(r.mechanism == "netem" && r.netem?.handle == "c4a4:")
        #expect(r.claims == [.path("qdisc:eth0/root")])
        let delay = #"{"mechanism":"relay","faultID":"f-1","table":"chaos_f_1","program":"p","relayArguments":["_relay"],"relayPort":41000}"#
        let d = try JSONDecoder().decode(PacketFault.Receipt.self, from: Data(delay.utf8))
        #expect(d.relayPort == 41000 && d.table == "chaos_f_1")
        let again = try JSONDecoder().decode(PacketFault.Receipt.self, from: JSONEncoder().encode(d))
        #expect(again == d)
    }

    @Test("hostile parameters are refused before anything runs: a delay over an hour, an interface name with shell or iptables syntax, a non-address")
    func hostile() async throws {
        let host = FakeHost()
        host.with { $0.capabilities.packetQueue = "iptables-legacy" }
        let fault = try FaultCatalog.fault(.networkDelay)
        for (build, remotes) in [({ (p: inout FaultParameters) in p.delay = .milliseconds(3_600_001) }, [String]()),
                                 ({ (p: inout FaultParameters) in p.delay = .milliseconds(5); p.interface = "eth0 -j ACCEPT" }, []),
                                 ({ (p: inout FaultParameters) in p.delay = .milliseconds(5); p.interface = "$(reboot)" }, []),
                                 ({ (p: inout FaultParameters) in p.delay = .milliseconds(5) }, ["10.0.0.1; rm -rf /"]),
                                 ({ (p: inout FaultParameters) in p.delay = .milliseconds(5); p.ports = ["1-2-3"] }, [])] {
            await #expect(throws: ChaosError.self) { _ = try await fault.plan(request(.networkDelay, build, remotes: remotes), on: host) }
        }
        #expect(!host.trace.contains { $0.hasPrefix("spawn") || $0.hasPrefix("iptables") }, "nothing ran: \(host.trace)")
    }

    // MARK: dns

    @Test("dns with a local stub resolver (127.0.0.53): the stub is cut on lo and its upstream servers on the other interfaces")
    func dnsStub() async throws {
        let host = FakeHost()
        host.with {
            $0.fileContents["/etc/resolv.conf"] = "nameserver 127.0.0.53\noptions edns0 trust-ad\n"
            $0.fileContents["/run/systemd/resolve/resolv.conf"] = "nameserver 10.0.0.2\nnameserver fd00::2\n"
        }
        let planned = try await FaultCatalog.fault(.networkDNS).plan(request(.networkDNS, { $0.probeName = "db1.internal" }), on: host)
        let program = try #require(planned.actions.first { $0.hasPrefix("nft -f -") })
        try golden("dns-stub.txt", program)
        #expect(planned.actions.contains("verify: 'getent hosts db1.internal' must fail"))
        #expect(!planned.actions.contains { $0.hasPrefix("nscd") }, "no nscd here: nothing to invalidate")
        // With nscd running, its cached answers are invalidated once the rules are in.
        _ = host.spawn(name: "nscd")
        let withNscd = try await FaultCatalog.fault(.networkDNS).plan(request(.networkDNS, { _ in }), on: host)
        try await FaultCatalog.fault(.networkDNS).inject(withNscd.receipt, on: host)
        let trace = host.trace
        let load = try #require(trace.lastIndex(of: "nft -f -")), flush = try #require(trace.lastIndex(of: "nscd --invalidate hosts"))
        #expect(load < flush)
        try await FaultCatalog.fault(.networkDNS).revert(withNscd.receipt, on: host)
        await #expect(throws: ChaosError.self) {
            _ = try await FaultCatalog.fault(.networkDNS).plan(request(.networkDNS, { $0.probeName = "x; rm -rf /" }), on: host)
        }
    }
}
