public import ChaosCore

/// `network.delay`: adds latency, with tc netem where the kernel has it, and otherwise with a TCP
/// relay the fault owns (this development kernel has no netem).
///
/// - netem (whole interface, no `to`/`ports`): `tc qdisc add dev IFACE root handle c4a2: netem delay D J`.
/// - relay (everything else, TCP only): starts `chaos _relay --fault-id ID --listen-port P --delay-ms D
///   --jitter-ms J --mark M --until DEADLINE`, waits until it listens, then loads an nft NAT table
///   `inet chaos_<faultid>` that redirects matching TCP connections to it (connections the relay makes
///   carry mark M and are not redirected). The relay holds each chunk sent by the client for D ± J
///   before forwarding it, so round trips grow by D. New connections are delayed; connections open
///   before the fault are not; UDP and ICMP are not delayed by the relay.
///   Incoming connections are relayed transparently: the relay connects to the local server from
///   the client's own address, so the server sees the real caller (a proxy's address would mislead
///   anything that trusts peer addresses: Redis reported its replicas at its own address, the
///   sentinels then made the primary a replica of itself). Replies to those connections are routed
///   back to the relay by a policy rule the fault adds (`ip rule add fwmark R lookup T`, `local`
///   routes in table T; R and T derive from the fault id).
/// - Revert: flush the redirect chains (new connections go direct again; the chains stay, because
///   the kernel NATs a connection's packets only while a NAT chain is on its hook), then SIGTERM the
///   relay (it drains the connections it holds for up to 750 ms, then resets the rest; SIGKILL after
///   a second), then delete the table and the policy rule. The relay
///   also exits by itself `relayGraceMs` after the deadline, should nobody revert the fault: not at
///   the deadline itself, where it would race the revert and refuse the connections redirected in
///   between (a blip the fault did not ask for, seen as a 1 s outage on the sandbox).
/// - Receipt: the mechanism, and its table/program/relay arguments or its tc command.
public struct NetworkDelayFault: Fault {
    public let kind = FaultKind.networkDelay
    public init() {}

    /// The relay's connections carry this mark, so the redirect rule lets them through.
    public static let relayMark: UInt32 = 0x0043_4841
    /// How long after the fault's deadline an unreverted relay ends itself.
    public static let relayGraceMs: Int64 = 5000

    /// The policy routing that brings a transparent relay's replies home (ingress only).
    public struct ReplyRoute: Sendable, Hashable, Codable {
        public var mark: UInt32
        public var table: Int
        public var priority: Int

        /// The commands that add it: IPv4 (must succeed), then IPv6 (where the host has IPv6).
        func add(v6: Bool) -> [[String]] { commands("add", v6: v6) }
        func delete(v6: Bool) -> [[String]] { commands("del", v6: v6) }
        private func commands(_ verb: String, v6: Bool) -> [[String]] {
            let family = v6 ? "-6" : "-4"
            return [["ip", family, "rule", verb, "fwmark", String(mark), "lookup", String(table), "priority", String(priority)],
                    ["ip", family, "route", verb, "local", v6 ? "::/0" : "0.0.0.0/0", "dev", "lo", "table", String(table)]]
        }
    }

    public struct Receipt: FaultReceipt {
        public var mechanism: String
        public var netem: NetworkBandwidthFault.Receipt?
        public var table: String?
        public var program: String?
        public var relayArguments: [String]?
        public var relayPort: Int?
        public var replyRoute: ReplyRoute?
        public var faultID: String
        public var actions: [String] {
            if let netem { return ["mechanism: tc netem"] + netem.actions }
            let route = replyRoute.map { r in ["policy routing for the relay's replies: " + (r.add(v6: false) + r.add(v6: true)).map { $0.joined(separator: " ") }.joined(separator: "; ")] } ?? []
            return ["mechanism: userspace TCP relay (no netem here)",
                    "start helper: chaos \((relayArguments ?? []).joined(separator: " "))"]
                + route
                + ["nft -f -:\n" + (program ?? ""),
                   "on revert: nft flush the redirect chains of inet \(table ?? ""), SIGTERM the relay (it drains up to 750 ms; SIGKILL after 1 s), nft delete table inet \(table ?? "")"
                   + (replyRoute == nil ? "" : ", then delete the policy rule and routes")]
        }
        public var claims: [ResourceClaim] { netem?.claims ?? [.path("nft:inet/\(table ?? "")")] }
    }

    public struct Facts: Sendable {
        var capabilities: HostCapabilities
        var root: TC.RootQdisc?
        var busyPorts: Set<Int>
    }

    static func usesNetem(_ request: FaultRequest, _ caps: HostCapabilities) -> Bool {
        caps.netem && request.spec.with.interface != nil && request.network.remotes.isEmpty && (request.spec.with.ports ?? []).isEmpty
    }

    public func gather(_ request: FaultRequest, on host: some HostSystem) async throws(ChaosError) -> Facts {
        let caps = await host.capabilities()
        if Self.usesNetem(request, caps), let iface = request.spec.with.interface {
            return Facts(capabilities: caps, root: try await TC.root(iface, on: host), busyPorts: [])
        }
        var busy = Set<Int>()
        for port in Self.candidatePorts(request.faultID) where !(try await host.listeners(onTCPPort: port)).isEmpty { busy.insert(port) }
        return Facts(capabilities: caps, root: nil, busyPorts: busy)
    }

    /// Relay ports to try, derived from the fault id (so plan stays pure), in 41000–48999.
    static func candidatePorts(_ id: String) -> [Int] {
        let h = hash(id)
        return (0..<8).map { 41000 + Int((h &+ UInt32($0) &* 977) % 8000) }
    }

    static func hash(_ id: String) -> UInt32 { id.unicodeScalars.reduce(UInt32(2166136261)) { ($0 ^ $1.value) &* 16777619 } }

    /// The reply mark and routing table of a fault's transparent relay, derived from its id.
    public static func replyRoute(_ id: String) -> ReplyRoute {
        let h = hash(id)
        return ReplyRoute(mark: 0x4352_0000 | (h & 0xffff), table: 20000 + Int(h % 10000), priority: 90)
    }

    public func plan(_ request: FaultRequest, facts: Facts) throws(ChaosError) -> Receipt {
        let p = request.spec.with
        guard let delay = p.delay else { throw .usage("fault.badParameters", "network.delay needs '--delay', e.g. '--delay 200ms'.") }
        if let j = p.jitter, j > delay { throw .usage("fault.badParameters", "Jitter \(j) is larger than the delay \(delay); keep it at most the delay.") }
        guard let deadline = request.deadline else { throw .usage("fault.noDuration", "network.delay needs a duration ('--for 30s').") }
        if Self.usesNetem(request, facts.capabilities), let iface = p.interface {
            try NetworkNeeds.tc(facts.capabilities, kind, qdisc: "netem")
            try TC.checkForeignRoot(facts.root, iface)
            let handle = TC.handle(for: kind)
            let add = ["tc", "qdisc", "add", "dev", iface, "root", "handle", handle, "netem"] + NetemFault.netemArguments(kind, p)
            return Receipt(mechanism: "netem", netem: .init(interface: iface, handle: handle, add: add), faultID: request.faultID)
        }
        try NetworkNeeds.nft(facts.capabilities, kind)
        guard facts.capabilities.nftRedirect else {
            throw ChaosError("host.missingNat", "network.delay without netem needs nftables NAT redirect (CONFIG_NF_NAT, nft 'redirect'), which this kernel lacks; it needs netem otherwise ('modprobe sch_netem'). 'chaos capabilities' lists what this host has.")
        }
        if let proto = p.protocol, proto != "tcp" && proto != "all" {
            throw .usage("fault.badParameters", "Without netem, network.delay delays TCP only (through a relay); '\(proto)' cannot be delayed on this host. Use '--protocol tcp'.")
        }
        var params = p
        params.protocol = "tcp"
        let scope = try NetworkScope.from(params, remotes: request.network.remotes, controlPorts: request.network.controlPorts, protectedPorts: request.network.protectedPorts)
        guard let port = Self.candidatePorts(request.faultID).first(where: { !facts.busyPorts.contains($0) }) else {
            throw ChaosError("fault.resourceBusy", "No free local port for the delay relay (tried \(Self.candidatePorts(request.faultID).map(String.init).joined(separator: ", "))). Retry; the ports depend on the fault id.")
        }
        let table = NftProgram.table(for: request.faultID)
        let route = scope.direction == .egress ? nil : Self.replyRoute(request.faultID)
        let program = NftProgram.redirect(table: table, scope: scope, relayPort: port, mark: Self.relayMark,
                                          replyMark: Self.replyRoute(request.faultID).mark)
        let args = ["_relay", "--fault-id", request.faultID, "--listen-port", String(port), "--delay-ms", String(delay.milliseconds),
                    "--jitter-ms", String(p.jitter?.milliseconds ?? 0), "--mark", String(Self.relayMark), "--until", String(deadline + Self.relayGraceMs)]
        return Receipt(mechanism: "relay", netem: nil, table: table, program: program, relayArguments: args, relayPort: port,
                       replyRoute: route, faultID: request.faultID)
    }

    public func inject(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        if let netem = receipt.netem { try await TC.add(netem.add, on: host); return }
        guard let args = receipt.relayArguments, let port = receipt.relayPort, let program = receipt.program, let table = receipt.table else { return }
        _ = try await host.spawnHelper(args)
        // The redirect goes in only once the relay listens, or connections would be refused.
        let clock = ContinuousClock()
        let end = clock.now + .seconds(5)
        while (try await host.listeners(onTCPPort: port)).isEmpty {
            guard clock.now < end else {
                throw ChaosError("fault.relayFailed", "The delay relay did not start listening on port \(port) within 5 s. Nothing was redirected.")
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        if let route = receipt.replyRoute {
            for v6 in [false, true] {
                for command in route.add(v6: v6) {
                    let r = try await host.run(command, input: nil, timeout: .seconds(10))
                    // IPv6 only where the host has it; an identical rule left by an earlier attempt is ours.
                    if r.status != 0 && !r.stderrTail.contains("File exists") && !v6 {
                        throw ChaosError("fault.commandFailed", "'\(command.joined(separator: " "))' failed: \(r.stderrTail.trimmingWhitespace()). Nothing was redirected.")
                    }
                }
            }
        }
        try await Nft.load(program, table: table, on: host)
    }

    public func verify(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState {
        if let netem = receipt.netem { return try await TC.root(netem.interface, on: host)?.handle == netem.handle ? .active : .absent }
        let table = try await Nft.exists(receipt.table ?? "", on: host)
        let relay = try await Helpers.find("_relay", receipt.faultID, on: host).isEmpty == false
        switch (table, relay) {
        case (true, true): return .active
        case (false, false): return .absent
        case (true, false): return .drifted(reason: "the redirect is in place but the relay is not running")
        case (false, true): return .drifted(reason: "the relay runs but nothing is redirected to it")
        }
    }

    public func revert(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        if let netem = receipt.netem { try await TC.deleteRoot(netem.interface, ifHandle: netem.handle, on: host); return }
        if let table = receipt.table {
            // Stop redirecting new connections, but keep the NAT chains registered: the kernel
            // translates a connection's packets only while a NAT chain sits on its hook, so deleting
            // them (or the table) now would cut the connections the relay still holds.
            for chain in ["egress", "ingress"] {
                let r = try await host.run(["nft", "flush", "chain", "inet", table, chain], input: nil, timeout: .seconds(10))
                if !r.succeeded && !r.stderrTail.contains("No such file or directory") {
                    throw ChaosError("host.nftFailed", "nft could not flush chain '\(chain)' of table '\(table)': \(r.stderrTail.trimmingWhitespace()).")
                }
            }
        }
        // SIGTERM first: the relay resets the connections it holds, so no client mistakes a cut stream
        // for a complete one; SIGKILL whatever is left after a second.
        let relays = try await Helpers.find("_relay", receipt.faultID, on: host)
        for p in relays {
            do { try await host.send(.term, to: p.pid) } catch where error.code == "host.noSuchProcess" {}
        }
        let clock = ContinuousClock()
        let end = clock.now + .seconds(1)
        while clock.now < end, try await !Helpers.find("_relay", receipt.faultID, on: host).isEmpty {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for p in try await Helpers.find("_relay", receipt.faultID, on: host) {
            do { try await host.send(.kill, to: p.pid) } catch where error.code == "host.noSuchProcess" {}
        }
        // Then the table (with the marks that bring transparent replies home), and the policy routing;
        // already gone counts as removed.
        if let table = receipt.table { try await Nft.delete(table, on: host) }
        if let route = receipt.replyRoute {
            for v6 in [false, true] {
                for command in route.delete(v6: v6) {
                    let r = try await host.run(command, input: nil, timeout: .seconds(10))
                    let gone = r.stderrTail.contains("No such file") || r.stderrTail.contains("No such process")
                    if r.status != 0 && !gone && !v6 {
                        throw ChaosError("fault.revertFailed", "'\(command.joined(separator: " "))' failed: \(r.stderrTail.trimmingWhitespace())")
                    }
                }
            }
        }
    }
}

/// chaos's own helper processes (`chaos _stress ...`, `chaos _relay ...`), found by fault id.
enum Helpers {
    static func find(_ command: String, _ id: String, on host: some HostSystem) async throws(ChaosError) -> [ProcessEntry] {
        try await host.processTable().processes.filter { p in
            guard !p.isDead, p.cmdline.count > 1, p.cmdline[1] == command, let i = p.cmdline.firstIndex(of: "--fault-id") else { return false }
            return i + 1 < p.cmdline.count && p.cmdline[i + 1] == id
        }
    }
}
