public import ChaosCore

/// `network.delay`, `network.corrupt`, `network.duplicate` and `network.reorder`: faults that act on
/// each matching packet of every flow, established connections and UDP included, through the best
/// mechanism the host has (``PacketMechanism/choose(_:direction:proto:_:)``):
///
/// 1. **netem** (``NetemProgram``), where the kernel has netem and prio and the fault is egress only:
///    a classful root on each interface the scope leaves through, netem on one band, filters sending
///    only matching packets there.
/// 2. **nfqueue**: the packet engine (`chaos _netqueue`, ``QueueProgram``), where the kernel can queue
///    packets to userspace (the xtables NFQUEUE target through iptables-legacy, or nft `queue`).
///    Start the engine, wait until it has bound its queue, then load the rules; revert removes the
///    rules, then stops the engine (SIGTERM: it releases what it holds at once; SIGKILL after 1 s).
///    `--queue-bypass` lets packets through untouched if the engine dies; the engine also ends
///    itself ``engineGraceMs`` after the deadline should nobody revert the fault.
/// 3. **relay** (`network.delay` of TCP only, where neither works): the userspace TCP relay, which
///    delays **new connections only** (see ``RelayMechanism``); the receipt and `--dry-run` say so.
///
/// The direction defaults to egress (netem's convention); the receipt's `effect` states what a round
/// trip through the scope suffers.
public struct PacketFault: Fault {
    public let kind: FaultKind
    public init(_ kind: FaultKind) { self.kind = kind }

    /// The mark of the copies the packet engine sends itself (duplicates), which its rules let through.
    public static let engineMark: UInt32 = 0x4348_4e51
    /// How long after the fault's deadline an unreverted packet engine ends itself.
    public static let engineGraceMs: Int64 = 5000

    public struct Receipt: FaultReceipt {
        /// `netem`, `nfqueue` or `relay`.
        public var mechanism: String
        public var faultID: String
        /// What a round trip through the scope suffers, in words.
        public var effect: String?
        /// The scope, in words.
        public var scope: String?
        /// A whole-interface netem root (receipts written before scoped netem).
        public var netem: NetworkBandwidthFault.Receipt?
        /// Scoped netem: the tc program per interface.
        public var interfaces: [NetemProgram.Interface]?
        /// The packet engine: its rules and its arguments.
        public var queue: QueueProgram.Rules?
        public var engineArguments: [String]?
        /// The relay (network.delay only).
        public var table: String?
        public var program: String?
        public var relayArguments: [String]?
        public var relayPort: Int?
        public var replyRoute: RelayMechanism.ReplyRoute?

        init(mechanism: String, faultID: String, effect: String?, scope: String?) {
            self.mechanism = mechanism; self.faultID = faultID; self.effect = effect; self.scope = scope
        }

        private enum CodingKeys: String, CodingKey {
            case mechanism, faultID, effect, scope, netem, interfaces, queue, engineArguments, table, program, relayArguments, relayPort, replyRoute
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let mechanism = try c.decodeIfPresent(String.self, forKey: .mechanism) else {
                // Corrupt, duplicate and reorder used to keep a bare netem root receipt.
                let old = try NetworkBandwidthFault.Receipt(from: decoder)
                self.init(mechanism: "netem", faultID: "", effect: nil, scope: nil)
                netem = old
                return
            }
            self.init(mechanism: mechanism, faultID: try c.decode(String.self, forKey: .faultID),
                      effect: try c.decodeIfPresent(String.self, forKey: .effect), scope: try c.decodeIfPresent(String.self, forKey: .scope))
            netem = try c.decodeIfPresent(NetworkBandwidthFault.Receipt.self, forKey: .netem)
            interfaces = try c.decodeIfPresent([NetemProgram.Interface].self, forKey: .interfaces)
            queue = try c.decodeIfPresent(QueueProgram.Rules.self, forKey: .queue)
            engineArguments = try c.decodeIfPresent([String].self, forKey: .engineArguments)
            table = try c.decodeIfPresent(String.self, forKey: .table)
            program = try c.decodeIfPresent(String.self, forKey: .program)
            relayArguments = try c.decodeIfPresent([String].self, forKey: .relayArguments)
            relayPort = try c.decodeIfPresent(Int.self, forKey: .relayPort)
            replyRoute = try c.decodeIfPresent(RelayMechanism.ReplyRoute.self, forKey: .replyRoute)
        }

        public var actions: [String] {
            var out: [String] = []
            let head = [scope.map { "scope: \($0)" }, effect.map { "effect: \($0)" }].compactMap { $0 }
            if let netem {
                return ["mechanism: tc netem (whole interface)"] + head + netem.actions
            }
            if let interfaces {
                out.append("mechanism: tc netem (classful: prio root \(NetemProgram.rootHandle), netem \(NetemProgram.netemHandle) on band 4, u32 filters)")
                out += head
                for i in interfaces { out += i.commands.map { $0.joined(separator: " ") } }
                out.append("on revert: " + interfaces.map { "tc qdisc del dev \($0.name) root (only while the root is \(NetemProgram.rootHandle))" }.joined(separator: "; "))
                return out
            }
            if let queue {
                out.append("mechanism: nfqueue: chaos's packet engine on queue \(queue.queue), through \(queue.backend == .nft ? "nft queue" : "iptables-legacy NFQUEUE") (every flow, established connections and UDP included; packets pass untouched if the engine dies)")
                out += head
                out.append("start helper: chaos \((engineArguments ?? []).joined(separator: " "))")
                for chain in queue.chains { out.append(chain.loadCommand.joined(separator: " ") + " <<EOF\n" + chain.restore + "EOF") }
                if let program = queue.nftProgram { out.append("nft -f -:\n" + program) }
                let removal = queue.chains.map { "\($0.tool) -t mangle -D \($0.hook) ...; -F \($0.name); -X \($0.name)" } + (queue.nftTable.map { ["nft delete table inet \($0)"] } ?? [])
                out.append("on revert: " + removal.joined(separator: "; ") + "; then SIGTERM the engine (it releases what it holds; SIGKILL after 1 s)")
                return out
            }
            let route = replyRoute.map { r in ["policy routing for the relay's replies: " + (r.add(v6: false) + r.add(v6: true)).map { $0.joined(separator: " ") }.joined(separator: "; ")] } ?? []
            return ["mechanism: relay: userspace TCP relay, new TCP connections only (neither netem nor NFQUEUE here; connections open before the fault and UDP are not delayed)"]
                + head
                + ["start helper: chaos \((relayArguments ?? []).joined(separator: " "))"]
                + route
                + ["nft -f -:\n" + (program ?? ""),
                   "on revert: nft flush the redirect chains of inet \(table ?? ""), SIGTERM the relay (it drains up to 750 ms; SIGKILL after 1 s), nft delete table inet \(table ?? "")"
                   + (replyRoute == nil ? "" : ", then delete the policy rule and routes")]
        }

        public var claims: [ResourceClaim] {
            if let netem { return netem.claims }
            if let interfaces { return interfaces.map { .path("qdisc:\($0.name)/root") } }
            if let queue { return [.path("nfqueue:\(queue.queue)")] + queue.chains.map { .path("iptables:mangle/\($0.family)/\($0.name)") } + (queue.nftTable.map { [.path("nft:inet/\($0)")] } ?? []) }
            return [.path("nft:inet/\(table ?? "")")]
        }
    }

    public struct Facts: Sendable {
        var capabilities: HostCapabilities
        /// netem: the interfaces the scope leaves through, with their root qdiscs.
        var interfaces: [(String, TC.RootQdisc?)] = []
        /// nfqueue: queues bound now.
        var boundQueues: Set<Int> = []
        /// relay: candidate ports something listens on.
        var busyPorts: Set<Int> = []
    }

    func scope(_ request: FaultRequest) throws(ChaosError) -> NetworkScope {
        try NetworkScope.from(request.spec.with, remotes: request.network.remotes, controlPorts: request.network.controlPorts,
                              protectedPorts: request.network.protectedPorts, defaultDirection: .egress)
    }

    public func gather(_ request: FaultRequest, on host: some HostSystem) async throws(ChaosError) -> Facts {
        let caps = await host.capabilities()
        var facts = Facts(capabilities: caps)
        guard let scope = try? scope(request),
              let mechanism = try? PacketMechanism.choose(kind, direction: scope.direction, proto: scope.proto, caps) else { return facts }
        switch mechanism {
        case .netem:
            for name in try await Routes.interfaces(for: scope, on: host) { facts.interfaces.append((name, try await TC.root(name, on: host))) }
        case .nfqueue:
            facts.boundQueues = NetworkIDs.boundQueues(await host.readFile(PacketEngineProcess.queueTable))
        case .relay:
            for port in RelayMechanism.candidatePorts(request.faultID) where !(try await host.listeners(onTCPPort: port)).isEmpty { facts.busyPorts.insert(port) }
        }
        return facts
    }

    public func plan(_ request: FaultRequest, facts: Facts) throws(ChaosError) -> Receipt {
        let p = request.spec.with
        try PacketFault.checkParameters(kind, p)
        guard let deadline = request.deadline else { throw .usage("fault.noDuration", "\(kind) needs a duration ('--for 30s').") }
        let scope = try scope(request)
        let mechanism = try PacketMechanism.choose(kind, direction: scope.direction, proto: scope.proto, facts.capabilities)
        var receipt = Receipt(mechanism: mechanism.name, faultID: request.faultID,
                              effect: PacketFault.effect(kind, p, scope.direction, mechanism: mechanism), scope: scope.summary)
        switch mechanism {
        case .netem:
            guard !facts.interfaces.isEmpty else {
                throw ChaosError("fault.nothingToDo", "No interface carries this scope (\(scope.summary)): the addresses route through loopback or nowhere. Name an interface with '--interface', or check the addresses.")
            }
            let args = NetemProgram.netemArguments(kind, p)
            var programs: [NetemProgram.Interface] = []
            for (name, root) in facts.interfaces {
                try TC.checkForeignRoot(root, name)
                programs.append(try NetemProgram.program(interface: name, scope: scope, netem: args))
            }
            receipt.interfaces = programs
        case .nfqueue(let backend):
            guard let queue = NetworkIDs.candidateQueues(request.faultID).first(where: { !facts.boundQueues.contains($0) }) else {
                throw ChaosError("fault.resourceBusy", "No free nfnetlink queue for the packet engine (tried \(NetworkIDs.candidateQueues(request.faultID).map(String.init).joined(separator: ", "))). Retry; the numbers depend on the fault id.")
            }
            receipt.queue = QueueProgram.rules(backend, faultID: request.faultID, scope: scope, queue: queue, mark: Self.engineMark)
            receipt.engineArguments = PacketFault.engineArguments(kind, p, faultID: request.faultID, queue: queue, until: deadline + Self.engineGraceMs)
        case .relay:
            let relay = try RelayMechanism.plan(request, scope: scope, busyPorts: facts.busyPorts, deadline: deadline)
            receipt.table = relay.table
            receipt.program = relay.program
            receipt.relayArguments = relay.arguments
            receipt.relayPort = relay.port
            receipt.replyRoute = relay.route
        }
        return receipt
    }

    /// The longest delay a packet fault holds packets for (the packet engine's limit too).
    public static let maxDelay = ChaosDuration.milliseconds(3_600_000)

    static func checkParameters(_ kind: FaultKind, _ p: FaultParameters) throws(ChaosError) {
        if let j = p.jitter, let d = p.delay, j > d { throw .usage("fault.badParameters", "Jitter \(j) is larger than the delay \(d); keep it at most the delay.") }
        if let d = p.delay, d > maxDelay {
            throw .usage("fault.badParameters", "A delay of \(d) is more than an hour: every connection would time out long before. Use network.blackhole to cut traffic, or a delay of at most 1h.")
        }
        switch kind {
        case .networkDelay:
            guard p.delay != nil else { throw .usage("fault.badParameters", "network.delay needs '--delay', e.g. '--delay 200ms'.") }
        case .networkReorder:
            guard p.reorderPercent != nil else { throw .usage("fault.badParameters", "network.reorder needs '--packets', e.g. '--packets 25'.") }
            guard p.delay != nil else { throw .usage("fault.badParameters", "network.reorder needs '--delay' (how long the packets not sent at once wait), e.g. '--delay 10ms'.") }
        case .networkCorrupt:
            guard p.corruptPercent != nil else { throw .usage("fault.badParameters", "network.corrupt needs '--packets', e.g. '--packets 5'.") }
        case .networkDuplicate:
            guard p.duplicatePercent != nil else { throw .usage("fault.badParameters", "network.duplicate needs '--packets', e.g. '--packets 10'.") }
        default:
            throw .internalError("fault.unsupported", "PacketFault cannot plan \(kind).")
        }
    }

    /// The packet engine's command line.
    static func engineArguments(_ kind: FaultKind, _ p: FaultParameters, faultID: String, queue: Int, until: Int64) -> [String] {
        var args = ["_netqueue", "--fault-id", faultID, "--queue", String(queue)]
        if kind == .networkDelay || kind == .networkReorder {
            if let d = p.delay { args += ["--delay-ms", String(d.milliseconds)] }
            if let j = p.jitter, j.milliseconds > 0 { args += ["--jitter-ms", String(j.milliseconds)] }
        }
        func share(_ name: String, _ v: Double?) { if let v { args += ["--\(name)", String(v)] } }
        switch kind {
        case .networkCorrupt: share("corrupt", p.corruptPercent)
        case .networkDuplicate: share("duplicate", p.duplicatePercent)
        case .networkReorder: share("reorder", p.reorderPercent)
        default: break
        }
        return args + ["--mark", String(engineMark), "--until", String(until)]
    }

    /// What a round trip through the scope suffers, in words.
    static func effect(_ kind: FaultKind, _ p: FaultParameters, _ direction: NetworkScope.Direction, mechanism: PacketMechanism) -> String {
        let which: String
        switch direction {
        case .egress: which = "packets this host sends"
        case .ingress: which = "packets this host receives"
        case .both: which = "packets this host sends and receives"
        }
        let ways = direction == .both ? 2 : 1
        func pct(_ v: Double) -> String { v.rounded() == v ? String(Int(v)) : String(v) }
        func roundTrip(_ share: Double) -> String {
            let either = (1 - (1 - share / 100) * (1 - share / 100)) * 100
            return ways == 1 ? "" : "; about \(pct((either * 10).rounded() / 10))% of round trips (request or reply) are hit"
        }
        switch kind {
        case .networkDelay:
            let d = p.delay?.milliseconds ?? 0
            let j = p.jitter.map { " ± \($0.milliseconds) ms" } ?? ""
            let base = "\(which) wait \(d) ms\(j); every round trip through the scope grows by about \(d * Int64(ways)) ms"
            return mechanism == .relay ? base + " (new TCP connections only: connections open before the fault and UDP are not delayed)" : base
        case .networkCorrupt:
            let v = p.corruptPercent ?? 0
            return "\(pct(v))% of \(which) get one bit flipped; the receiver's checksum discards them, so TCP sends them again and UDP loses them" + roundTrip(v)
        case .networkDuplicate:
            let v = p.duplicatePercent ?? 0
            return "\(pct(v))% of \(which) arrive twice" + roundTrip(v)
        case .networkReorder:
            let v = p.reorderPercent ?? 0
            return "\(pct(v))% of \(which) go at once, ahead of the rest, which wait \(p.delay?.milliseconds ?? 0) ms"
        default:
            return ""
        }
    }

    // MARK: inject, verify, revert

    public func inject(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        if let netem = receipt.netem { try await TC.add(netem.add, on: host); return }
        if let interfaces = receipt.interfaces {
            for i in interfaces { for command in i.commands { try await TC.add(command, on: host) } }
            return
        }
        if let queue = receipt.queue, let args = receipt.engineArguments {
            try await PacketEngineProcess.start(args, queue: queue.queue, on: host)
            try await QueueRulesRunner.load(queue, on: host)
            return
        }
        try await RelayMechanism.inject(receipt, on: host)
    }

    public func verify(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState {
        if let netem = receipt.netem { return try await TC.root(netem.interface, on: host)?.handle == netem.handle ? .active : .absent }
        if let interfaces = receipt.interfaces {
            var ours = 0
            for i in interfaces where try await TC.root(i.name, on: host)?.handle == NetemProgram.rootHandle { ours += 1 }
            if ours == interfaces.count { return .active }
            return ours == 0 ? .absent : .drifted(reason: "the netem root is on \(ours) of \(interfaces.count) interfaces")
        }
        if let queue = receipt.queue {
            let rules = try await QueueRulesRunner.present(queue, on: host)
            let engine = try await !PacketEngineProcess.find(receipt.faultID, on: host).isEmpty
            let bound = NetworkIDs.boundQueues(await host.readFile(PacketEngineProcess.queueTable)).contains(queue.queue)
            switch (rules, engine && bound) {
            case (true, true): return .active
            case (false, false): return engine ? .drifted(reason: "the packet engine runs but no rule sends it packets") : .absent
            case (true, false):
                return .drifted(reason: engine ? "the packet engine has not bound queue \(queue.queue): matching packets pass untouched" : "the packet engine is not running: matching packets pass untouched (bypass)")
            case (false, true): return .drifted(reason: "the packet engine runs but no rule sends it packets")
            }
        }
        return try await RelayMechanism.verify(receipt, on: host)
    }

    public func revert(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        if let netem = receipt.netem { try await TC.deleteRoot(netem.interface, ifHandle: netem.handle, on: host); return }
        if let interfaces = receipt.interfaces {
            for i in interfaces { try await TC.deleteRoot(i.name, ifHandle: NetemProgram.rootHandle, on: host) }
            return
        }
        if let queue = receipt.queue {
            // Rules first (new packets pass again), then the engine, which releases what it holds.
            try await QueueRulesRunner.remove(queue, on: host)
            try await PacketEngineProcess.stop(receipt.faultID, on: host)
            return
        }
        try await RelayMechanism.revert(receipt, on: host)
    }
}

/// Which mechanism a packet fault uses on a host.
public enum PacketMechanism: Hashable, Sendable {
    case netem
    case nfqueue(QueueProgram.Backend)
    case relay

    public var name: String {
        switch self {
        case .netem: return "netem"
        case .nfqueue: return "nfqueue"
        case .relay: return "relay"
        }
    }

    /// In words, for `chaos capabilities` and messages.
    public var words: String {
        switch self {
        case .netem: return "tc netem (classful, scoped by filters)"
        case .nfqueue(let b): return "packet engine through NFQUEUE (\(b == .nft ? "nft queue" : "iptables-legacy")): every flow"
        case .relay: return "TCP relay: new TCP connections only"
        }
    }

    /// The best mechanism for `kind` on a host: netem for egress where the kernel has netem and prio;
    /// otherwise the packet engine where packets can be queued; otherwise, for a TCP delay, the relay.
    /// - Throws: naming what the host lacks and how to get it.
    public static func choose(_ kind: FaultKind, direction: NetworkScope.Direction, proto: String, _ caps: HostCapabilities) throws(ChaosError) -> PacketMechanism {
        guard caps.root else { throw ChaosError("host.notRoot", "\(kind) changes how the kernel forwards packets and needs root. Run chaos as root.") }
        if direction == .egress && caps.tc && caps.netem && caps.qdiscs["prio"] == true { return .netem }
        if let queue = caps.packetQueue, let backend = QueueProgram.Backend(rawValue: queue) { return .nfqueue(backend) }
        if kind == .networkDelay && caps.nft != nil && caps.nftRedirect && (proto == "tcp" || proto == "all") { return .relay }
        let netemHint = direction == .egress ? "tc netem and prio ('modprobe sch_netem sch_prio')" : "tc netem covers egress only, so \(direction.rawValue) needs"
        throw ChaosError("host.missingQdisc", "\(kind) needs \(netemHint)\(direction == .egress ? ", or" : "") the kernel's packet queue (NFQUEUE: install 'iptables' for iptables-legacy with the xt_NFQUEUE module, or an nft with 'queue' support) for chaos's packet engine; this host has neither ('netem' is missing: modprobe sch_netem). 'chaos capabilities' lists what this host has.")
    }
}

/// Finding, starting and stopping a fault's packet engine.
enum PacketEngineProcess {
    /// The queues bound in this network namespace.
    static let queueTable = "/proc/net/netfilter/nfnetlink_queue"

    static func find(_ id: String, on host: some HostSystem) async throws(ChaosError) -> [ProcessEntry] {
        try await Helpers.find("_netqueue", id, on: host)
    }

    /// Starts the engine and waits until it has bound its queue (rules go in only then, so no packet
    /// waits for an engine that is not there yet).
    static func start(_ args: [String], queue: Int, on host: some HostSystem) async throws(ChaosError) {
        let engine = try await host.spawnHelper(args)
        let clock = ContinuousClock()
        let end = clock.now + .seconds(5)
        while !NetworkIDs.boundQueues(await host.readFile(queueTable)).contains(queue) {
            guard clock.now < end else {
                throw ChaosError("fault.engineFailed", "The packet engine did not bind nfnetlink queue \(queue) within 5 s. Nothing was queued.")
            }
            // By pid, not by command line: right after exec the new process's command line can read
            // empty for a moment (the kernel sets it up after releasing the parent), which once made a
            // healthy engine look gone (bench/net.sh, 1 run in ~40).
            if await host.process(engine.pid).map({ $0.isDead || $0.startTime != engine.startTime && engine.startTime != 0 }) ?? true {
                throw ChaosError("fault.engineFailed", "The packet engine ended before binding nfnetlink queue \(queue) (is nfnetlink_queue available? 'modprobe nfnetlink_queue'). Nothing was queued.")
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// SIGTERM (the engine releases what it holds and exits), SIGKILL whatever is left after a second.
    static func stop(_ id: String, on host: some HostSystem) async throws(ChaosError) {
        for p in try await find(id, on: host) {
            do { try await host.send(.term, to: p.pid) } catch where error.code == "host.noSuchProcess" {}
        }
        let clock = ContinuousClock()
        let end = clock.now + .seconds(1)
        while clock.now < end, try await !find(id, on: host).isEmpty { try? await Task.sleep(for: .milliseconds(10)) }
        for p in try await find(id, on: host) {
            do { try await host.send(.kill, to: p.pid) } catch where error.code == "host.noSuchProcess" {}
        }
    }
}

/// Loading, checking and removing a fault's queue rules.
enum QueueRulesRunner {
    static func load(_ rules: QueueProgram.Rules, on host: some HostSystem) async throws(ChaosError) {
        if let program = rules.nftProgram, let table = rules.nftTable { try await Nft.load(program, table: table, on: host) }
        for chain in rules.chains {
            let r = try await host.run(chain.loadCommand, input: chain.restore, timeout: .seconds(15))
            guard r.succeeded else {
                throw ChaosError("host.iptablesFailed", "\(chain.loadCommand[0]) refused the rules of chain '\(chain.name)': \(r.stderrTail.trimmingWhitespace()). See them with '--dry-run'.")
            }
        }
    }

    static func present(_ rules: QueueProgram.Rules, on host: some HostSystem) async throws(ChaosError) -> Bool {
        if let table = rules.nftTable, try await !Nft.exists(table, on: host) { return false }
        for chain in rules.chains where try await !host.run(chain.listCommand, input: nil, timeout: .seconds(10)).succeeded { return false }
        return true
    }

    /// Removes the jump, then the chain; what is already gone counts as removed.
    static func remove(_ rules: QueueProgram.Rules, on host: some HostSystem) async throws(ChaosError) {
        for chain in rules.chains {
            for command in [chain.unhookCommand, chain.flushCommand, chain.deleteCommand] {
                let r = try await host.run(command, input: nil, timeout: .seconds(10))
                let gone = ["No chain/target/match", "does a matching rule exist", "does not exist", "Table does not exist", "No such file"].contains { r.stderrTail.contains($0) }
                if !r.succeeded && !gone {
                    throw ChaosError("host.iptablesFailed", "'\(command.joined(separator: " "))' failed: \(r.stderrTail.trimmingWhitespace()). Remove the chain by hand: \(chain.tool) -t mangle -D \(chain.hook) \(chain.jump.joined(separator: " ")); \(chain.tool) -t mangle -F \(chain.name); \(chain.tool) -t mangle -X \(chain.name)")
                }
            }
        }
        if let table = rules.nftTable { try await Nft.delete(table, on: host) }
    }
}

/// The interfaces a scope leaves through, for netem.
enum Routes {
    /// The named interface; else the interfaces that route to each remote (`ip -j route get`); else
    /// every interface but loopback (`ip -j link show`).
    static func interfaces(for scope: NetworkScope, on host: some HostSystem) async throws(ChaosError) -> [String] {
        if let i = scope.interface { return [i] }
        var out: [String] = []
        let remotes = scope.remotes4 + scope.remotes6
        if remotes.isEmpty {
            let r = try await host.run(["ip", "-j", "link", "show"], input: nil, timeout: .seconds(10))
            for name in jsonStrings(r.stdout, key: "ifname") where name != "lo" && !out.contains(name) { out.append(name) }
            return out
        }
        for remote in remotes {
            let address = String(remote.split(separator: "/").first ?? "")
            let r = try await host.run(["ip", "-j", "route", "get", address], input: nil, timeout: .seconds(10))
            for name in jsonStrings(r.stdout, key: "dev") where name != "lo" && !out.contains(name) { out.append(name) }
        }
        return out
    }

    /// Every string value of `"key":"..."` in `ip -j` output (names are checked before use).
    static func jsonStrings(_ json: String, key: String) -> [String] {
        var out: [String] = []
        var rest = Substring(json)
        let marker = "\"\(key)\":\""
        while let r = rest.firstRange(of: marker) {
            rest = rest[r.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { break }
            let value = String(rest[..<end])
            if InterfaceName.isValid(value) { out.append(value) }
            rest = rest[end...]
        }
        return out
    }
}

/// chaos's own helper processes (`chaos _stress ...`, `chaos _relay ...`, `chaos _netqueue ...`), found by fault id.
enum Helpers {
    static func find(_ command: String, _ id: String, on host: some HostSystem) async throws(ChaosError) -> [ProcessEntry] {
        try await host.processTable().processes.filter { p in
            guard !p.isDead, p.cmdline.count > 1, p.cmdline[1] == command, let i = p.cmdline.firstIndex(of: "--fault-id") else { return false }
            return i + 1 < p.cmdline.count && p.cmdline[i + 1] == id
        }
    }
}

/// Which mechanism each network fault uses on a host, for `chaos capabilities` and the agent's
/// `/v1/capabilities`.
public enum NetworkMechanisms {
    public struct Row: Sendable, Hashable, Codable {
        public var kind: String
        /// The mechanism for egress (the default of the packet kinds), ingress and both; or why none.
        public var egress: String
        public var ingress: String
        public var both: String
    }

    public static func table(_ caps: HostCapabilities) -> [Row] {
        func filter(_ kind: FaultKind) -> Row {
            let m = caps.root && caps.nft != nil ? "nftables (every flow)" : "none: needs root and nftables"
            return Row(kind: kind.rawValue, egress: m, ingress: m, both: m)
        }
        func packets(_ kind: FaultKind) -> Row {
            func one(_ d: NetworkScope.Direction) -> String {
                do { return try PacketMechanism.choose(kind, direction: d, proto: "all", caps).words } catch { return "none: " + error.message }
            }
            return Row(kind: kind.rawValue, egress: one(.egress), ingress: one(.ingress), both: one(.both))
        }
        let tbf = caps.root && caps.tc && caps.qdiscs["tbf"] == true ? "tc tbf (whole interface)" : "none: needs root, tc and tbf"
        return [filter(.networkBlackhole), filter(.networkReject), filter(.networkLoss), packets(.networkDelay), packets(.networkCorrupt),
                packets(.networkDuplicate), packets(.networkReorder), Row(kind: FaultKind.networkBandwidth.rawValue, egress: tbf, ingress: "none: egress only", both: "none: egress only"),
                filter(.networkPartition), filter(.networkDNS)]
    }
}
