public import ChaosCore

/// `network.blackhole`, `network.reject`, `network.loss`, `network.dns` and `network.partition`:
/// an nftables table of the fault's own that drops, rejects or randomly drops matching packets.
///
/// - Commands: `nft -f -` with the program of ``NftProgram`` on standard input (applied atomically);
///   revert `nft delete table inet chaos_<faultid>`; verify `nft list table inet chaos_<faultid>`.
/// - Receipt: the table name and the exact program (so `--dry-run` and `chaos status` show it).
/// - Revert: deleting the table; "No such file or directory" (already gone) counts as reverted.
/// - Needs: root and nftables (`nft`). The agent's control port is exempt unless `includeControlPort`.
/// - `network.dns` drops DNS (TCP and UDP port 53) to the resolvers in /etc/resolv.conf, on every
///   interface: a resolver on a loopback address (systemd-resolved's stub 127.0.0.53, a local
///   dnsmasq or unbound) is cut on `lo`, and behind resolved's stub its upstream servers (from
///   /run/systemd/resolve/resolv.conf) are cut too, so lookups through nss-resolve fail as well.
///   With `probeName`, verify resolves that name with `getent hosts` (the host's own resolver path,
///   nscd included): a name that still resolves makes the fault not confirmed.
/// - `network.partition` cuts this host off from the other side: if this host is in `to`, from the
///   hosts in `and`, and the other way round; `mode: oneway` cuts only traffic from `to` to `and`.
public struct NetworkFilterFault: Fault {
    public let kind: FaultKind
    public init(_ kind: FaultKind) { self.kind = kind }

    public struct Receipt: FaultReceipt {
        public var table: String
        public var program: String
        public var summary: String
        /// network.dns: a name `getent hosts` must fail to resolve while the fault is active.
        public var probeName: String?
        /// network.dns on a host running nscd: its hosts cache is invalidated after the rules are in,
        /// so cached answers do not outlive the fault's start.
        public var invalidateNscd: Bool?
        public var actions: [String] {
            ["nft -f - (\(summary)):\n" + program]
                + (invalidateNscd == true ? ["nscd --invalidate hosts (nscd runs here: its cached answers would keep resolving)"] : [])
                + (probeName.map { ["verify: 'getent hosts \($0)' must fail"] } ?? [])
                + ["on revert: nft delete table inet \(table)"]
        }
        public var claims: [ResourceClaim] { [.path("nft:inet/\(table)")] }
    }

    public struct Facts: Sendable {
        var capabilities: HostCapabilities
        var resolvConf: String?
        /// systemd-resolved's view of the real upstream servers, behind its stub.
        var resolvedUpstream: String?
        var nscd = false
    }

    public func gather(_ request: FaultRequest, on host: some HostSystem) async throws(ChaosError) -> Facts {
        guard kind == .networkDNS else { return Facts(capabilities: await host.capabilities()) }
        let nscd = try await host.processTable().processes.contains { $0.name == "nscd" && !$0.isDead }
        return Facts(capabilities: await host.capabilities(), resolvConf: await host.readFile("/etc/resolv.conf"),
                     resolvedUpstream: await host.readFile(ResolvConf.resolvedUpstream), nscd: nscd)
    }

    public func plan(_ request: FaultRequest, facts: Facts) throws(ChaosError) -> Receipt {
        try NetworkNeeds.nft(facts.capabilities, kind)
        let p = request.spec.with
        var remotes = request.network.remotes
        var params = p
        let action: NftProgram.Action
        switch kind {
        case .networkBlackhole: action = .drop
        case .networkReject: action = .reject
        case .networkLoss:
            guard let percent = p.lossPercent else { throw .usage("fault.badParameters", "network.loss needs '--percent', e.g. '--percent 30'.") }
            action = .loss(perMille: Int((percent * 10).rounded()))
        case .networkDNS:
            let servers = ResolvConf.nameservers(facts.resolvConf ?? "")
            guard !servers.isEmpty || !remotes.isEmpty else {
                throw ChaosError("fault.nothingToDo", "No DNS resolver is configured in /etc/resolv.conf, so there is nothing to cut. Give resolvers with '--to'.")
            }
            if remotes.isEmpty {
                remotes = servers
                // Behind a local stub (systemd-resolved), its upstream servers too.
                if servers.contains(where: ResolvConf.isLoopback) {
                    for upstream in ResolvConf.nameservers(facts.resolvedUpstream ?? "") where !remotes.contains(upstream) { remotes.append(upstream) }
                }
            }
            if let name = p.probeName, !ResolvConf.isHostName(name) {
                throw .usage("fault.badParameters", "'\(name)' is not a host name; give probeName a name such as 'db1.internal'.")
            }
            params.ports = ["53"]
            params.protocol = "all"
            params.direction = "egress"
            let scope = try NetworkScope.from(params, remotes: remotes, controlPorts: request.network.controlPorts, protectedPorts: request.network.protectedPorts)
            let table = NftProgram.table(for: request.faultID)
            return Receipt(table: table, program: NftProgram.dns(table: table, scope: scope), summary: "drop DNS \(scope.summary)", probeName: p.probeName,
                           invalidateNscd: facts.nscd ? true : nil)
        case .networkPartition:
            let (others, direction) = try Partition.side(request.network)
            remotes = others
            params.direction = direction.rawValue
            action = .drop
        default:
            throw .internalError("fault.unsupported", "NetworkFilterFault cannot plan \(kind).")
        }
        let scope = try NetworkScope.from(params, remotes: remotes, controlPorts: request.network.controlPorts, protectedPorts: request.network.protectedPorts,
                                          defaultDirection: kind == .networkLoss ? .egress : .both)
        let table = NftProgram.table(for: request.faultID)
        let program = NftProgram.filter(table: table, scope: scope, action: action)
        let what: String
        switch action {
        case .drop: what = "drop"
        case .reject: what = "reject"
        case .loss(let pm):
            let share = Double(pm) / 10
            let either = ((1 - (1 - share / 100) * (1 - share / 100)) * 1000).rounded() / 10
            what = "drop \(share)% of packets"
                + (scope.direction == .both ? " each way (about \(either)% of round trips lose the request or the reply)" : " (one way: a round trip loses \(share)%)")
        }
        return Receipt(table: table, program: program, summary: "\(what) \(scope.summary)")
    }

    public func inject(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        try await Nft.load(receipt.program, table: receipt.table, on: host)
        if receipt.invalidateNscd == true {
            // Best effort: without it the fault still cuts every name nscd has not cached, and verify
            // (with probeName) tells whether resolution really broke.
            _ = try? await host.run(["nscd", "--invalidate", "hosts"], input: nil, timeout: .seconds(5))
        }
    }

    public func verify(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState {
        guard try await Nft.exists(receipt.table, on: host) else { return .absent }
        if let name = receipt.probeName {
            // The host's own resolver path (nsswitch, nscd, the stub): it must not answer now. A lookup
            // still hanging after 3 s counts as broken.
            let r = try await host.run(["getent", "hosts", name], input: nil, timeout: .seconds(3))
            if r.succeeded {
                let answer = r.stdout.split(separator: "\n").first.map(String.init)?.trimmingWhitespace() ?? ""
                return .drifted(reason: "'\(name)' still resolves (\(answer)) with the rules in place: this host resolves through something the fault does not cut (nscd's cache, /etc/hosts, another resolver)")
            }
        }
        return .active
    }

    public func revert(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        try await Nft.delete(receipt.table, on: host)
    }
}

/// The nft commands network faults run.
enum Nft {
    static func load(_ program: String, table: String, on host: some HostSystem) async throws(ChaosError) {
        let r = try await host.run(["nft", "-f", "-"], input: program, timeout: .seconds(10))
        guard r.succeeded else {
            throw ChaosError("host.nftFailed", "nft refused the rules of table '\(table)': \(r.stderrTail.trimmingWhitespace()). Nothing was applied (nft applies a program whole or not at all). See the program with '--dry-run'.")
        }
    }

    static func exists(_ table: String, on host: some HostSystem) async throws(ChaosError) -> Bool {
        try await host.run(["nft", "list", "table", "inet", table], input: nil, timeout: .seconds(10)).succeeded
    }

    /// Deletes the table; a table that is already gone is success.
    static func delete(_ table: String, on host: some HostSystem) async throws(ChaosError) {
        let r = try await host.run(["nft", "delete", "table", "inet", table], input: nil, timeout: .seconds(10))
        if r.succeeded || r.stderrTail.contains("No such file or directory") { return }
        throw ChaosError("host.nftFailed", "nft could not delete table '\(table)': \(r.stderrTail.trimmingWhitespace()). Delete it by hand with 'nft delete table inet \(table)'.")
    }
}

/// Checks that a host can do what a network fault needs, with what to install if not.
enum NetworkNeeds {
    static func nft(_ caps: HostCapabilities, _ kind: FaultKind) throws(ChaosError) {
        guard caps.root else { throw ChaosError("host.notRoot", "\(kind) changes the firewall and needs root. Run chaos as root.") }
        guard caps.nft != nil else {
            throw ChaosError("host.missingNft", "\(kind) needs nftables, and 'nft' is not installed. Install it with 'apt-get install nftables' (Debian/Ubuntu) or 'dnf install nftables'.")
        }
    }

    static func tc(_ caps: HostCapabilities, _ kind: FaultKind, qdisc: String) throws(ChaosError) {
        guard caps.root else { throw ChaosError("host.notRoot", "\(kind) changes traffic control and needs root. Run chaos as root.") }
        guard caps.tc else { throw ChaosError("host.missingTc", "\(kind) needs 'tc', which is not installed. Install it with 'apt-get install iproute2'.") }
        guard caps.qdiscs[qdisc] == true else {
            throw ChaosError("host.missingQdisc", "\(kind) needs the kernel's '\(qdisc)' queueing discipline, which this kernel does not have ('tc qdisc add ... \(qdisc)' fails: Specified qdisc kind is unknown). Load it with 'modprobe sch_\(qdisc)' or use a kernel built with CONFIG_NET_SCH_\(qdisc.uppercased()). 'chaos capabilities' lists what this host has.")
        }
    }
}

/// `nameserver` lines of resolv.conf.
enum ResolvConf {
    /// Where systemd-resolved writes the upstream servers its stub forwards to.
    static let resolvedUpstream = "/run/systemd/resolve/resolv.conf"

    static func isLoopback(_ address: String) -> Bool {
        AddressText.contains(["127.0.0.0/8", "::1/128"], address)
    }

    /// Letters, digits, '-', '_' and dots; 1-253 characters.
    static func isHostName(_ name: String) -> Bool {
        (1...253).contains(name.utf8.count) && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)
        } && !name.hasPrefix("-")
    }

    static func nameservers(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 2, f[0] == "nameserver" else { return nil }
            let addr = String(f[1].split(separator: "%").first ?? f[1])
            return AddressText.family(of: addr) == 0 ? nil : addr
        }
    }
}

/// Which side of a partition this host is on.
enum Partition {
    static func side(_ n: FaultRequest.Network) throws(ChaosError) -> ([String], NetworkScope.Direction) {
        let inA = n.localAddresses.contains { AddressText.contains(n.sideA, $0) }
        let inB = n.localAddresses.contains { AddressText.contains(n.sideB, $0) }
        switch (inA, inB) {
        case (true, true):
            throw .usage("fault.badParameters", "This host is on both sides of the partition. Give disjoint sets in '--between' and '--and'.")
        case (false, false):
            throw ChaosError("fault.notOnEitherSide", "This host (\(n.localAddresses.prefix(4).joined(separator: ", "))) is on neither side of the partition (\(n.sideA.joined(separator: ", ")) | \(n.sideB.joined(separator: ", "))). Run it on a host of either side, or through the agents.")
        case (true, false):
            return (n.sideB, n.oneWay ? .egress : .both)
        case (false, true):
            return (n.sideA, n.oneWay ? .ingress : .both)
        }
    }
}
