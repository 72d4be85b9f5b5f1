public import ChaosCore

/// The last resort of `network.delay`, where the kernel has neither netem nor a packet queue: a TCP
/// relay the fault owns. It delays **new TCP connections only**: connections open before the fault
/// and UDP are not delayed, which the receipt, `--dry-run` and `chaos capabilities` say.
///
/// - Starts `chaos _relay --fault-id ID --listen-port P --delay-ms D --jitter-ms J --mark M --until
///   DEADLINE`, waits until it listens, then loads an nft NAT table `inet chaos_<faultid>` that
///   redirects matching **new** TCP connections to it (`ct state new`, SYN without ACK: a connection that was open
///   before the fault is left alone, where redirecting its next packet to the relay would reset it;
///   connections the relay makes carry mark M and are not redirected). The relay holds each chunk
///   sent by the client for D ± J before forwarding it, so round trips grow by D.
/// - Incoming connections are relayed transparently: the relay connects to the local server from
///   the client's own address, so the server sees the real caller (a proxy's address would mislead
///   anything that trusts peer addresses: Redis reported its replicas at its own address, the
///   sentinels then made the primary a replica of itself). Replies to those connections are routed
///   back to the relay by a policy rule the fault adds (`ip rule add fwmark R lookup T`, `local`
///   routes in table T; R and T derive from the fault id).
/// - Revert: flush the redirect chains (new connections go direct again; the chains stay, because
///   the kernel NATs a connection's packets only while a NAT chain is on its hook), then SIGTERM the
///   relay (it drains the connections it holds for up to 750 ms, then resets the rest; SIGKILL after
///   a second), then delete the table and the policy rule. The relay also exits by itself
///   `relayGraceMs` after the deadline, should nobody revert the fault: not at the deadline itself,
///   where it would race the revert and refuse the connections redirected in between.
public enum RelayMechanism {
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

    /// Relay ports to try, derived from the fault id (so plan stays pure), in 41000–48999.
    static func candidatePorts(_ id: String) -> [Int] {
        let h = NetworkIDs.hash(id)
        return (0..<8).map { 41000 + Int((h &+ UInt32($0) &* 977) % 8000) }
    }

    /// The reply mark and routing table of a fault's transparent relay, derived from its id.
    public static func replyRoute(_ id: String) -> ReplyRoute {
        let h = NetworkIDs.hash(id)
        return ReplyRoute(mark: 0x4352_0000 | (h & 0xffff), table: 20000 + Int(h % 10000), priority: 90)
    }

    struct Plan {
        var table: String
        var program: String
        var arguments: [String]
        var port: Int
        var route: ReplyRoute?
    }

    static func plan(_ request: FaultRequest, scope: NetworkScope, busyPorts: Set<Int>, deadline: Int64) throws(ChaosError) -> Plan {
        let p = request.spec.with
        var scope = scope
        scope.proto = "tcp"
        guard let port = candidatePorts(request.faultID).first(where: { !busyPorts.contains($0) }) else {
            throw ChaosError("fault.resourceBusy", "No free local port for the delay relay (tried \(candidatePorts(request.faultID).map(String.init).joined(separator: ", "))). Retry; the ports depend on the fault id.")
        }
        let table = NftProgram.table(for: request.faultID)
        let route = scope.direction == .egress ? nil : replyRoute(request.faultID)
        let program = NftProgram.redirect(table: table, scope: scope, relayPort: port, mark: relayMark, replyMark: replyRoute(request.faultID).mark)
        let args = ["_relay", "--fault-id", request.faultID, "--listen-port", String(port), "--delay-ms", String(p.delay?.milliseconds ?? 0),
                    "--jitter-ms", String(p.jitter?.milliseconds ?? 0), "--mark", String(relayMark), "--until", String(deadline + relayGraceMs)]
        return Plan(table: table, program: program, arguments: args, port: port, route: route)
    }

    static func inject(_ receipt: PacketFault.Receipt, on host: some HostSystem) async throws(ChaosError) {
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

    static func verify(_ receipt: PacketFault.Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState {
        let table = try await Nft.exists(receipt.table ?? "", on: host)
        let relay = try await Helpers.find("_relay", receipt.faultID, on: host).isEmpty == false
        switch (table, relay) {
        case (true, true): return .active
        case (false, false): return .absent
        case (true, false): return .drifted(reason: "the redirect is in place but the relay is not running")
        case (false, true): return .drifted(reason: "the relay runs but nothing is redirected to it")
        }
    }

    static func revert(_ receipt: PacketFault.Receipt, on host: some HostSystem) async throws(ChaosError) {
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
        // SIGTERM first: the relay drains, then resets the connections it holds, so no client mistakes
        // a cut stream for a complete one; SIGKILL whatever is left after a second.
        for p in try await Helpers.find("_relay", receipt.faultID, on: host) {
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
