public import ChaosCore
import Foundation

/// `network.bandwidth`: limits what leaves an interface with a token bucket (tc tbf) the fault owns.
///
/// - Commands: `tc qdisc add dev IFACE root handle c4a1: tbf rate RATE burst BURST latency 400ms`;
///   revert `tc qdisc del dev IFACE root` only while the root is still ours (handle `c4a1:`);
///   verify `tc -j qdisc show dev IFACE root`.
/// - Refuses an interface whose root qdisc something else installed (anything but the kernel's
///   defaults: noqueue, pfifo_fast, fq_codel, fq, mq with handle 0:), and says which.
/// - Receipt: interface, handle, rate, burst. Deleting our root restores the kernel default.
public struct NetworkBandwidthFault: Fault {
    public let kind = FaultKind.networkBandwidth
    public init() {}

    public struct Receipt: FaultReceipt {
        public var interface: String
        public var handle: String
        public var add: [String]
        public var actions: [String] { [add.joined(separator: " "), "on revert: tc qdisc del dev \(interface) root (only while the root is \(handle))"] }
        public var claims: [ResourceClaim] { [.path("qdisc:\(interface)/root")] }
    }

    public struct Facts: Sendable { var capabilities: HostCapabilities; var root: TC.RootQdisc? }

    public func gather(_ request: FaultRequest, on host: some HostSystem) async throws(ChaosError) -> Facts {
        let caps = await host.capabilities()
        guard let iface = request.spec.with.interface else { return Facts(capabilities: caps, root: nil) }
        return Facts(capabilities: caps, root: try await TC.root(iface, on: host))
    }

    public func plan(_ request: FaultRequest, facts: Facts) throws(ChaosError) -> Receipt {
        try TC.refuseWithProtectedPorts(request, kind)
        try NetworkNeeds.tc(facts.capabilities, kind, qdisc: "tbf")
        let p = request.spec.with
        guard let iface = p.interface, InterfaceName.isValid(iface) else {
            throw .usage("fault.badParameters", "network.bandwidth needs '--interface', e.g. '--interface eth0'.")
        }
        if p.direction == "ingress" || p.direction == "both" {
            throw .usage("fault.badParameters", "network.bandwidth limits what leaves an interface (egress). To slow traffic arriving here, limit it on the sending host.")
        }
        guard let rateText = p.rate, let rate = BandwidthRate(rateText) else {
            throw .usage("fault.badParameters", "network.bandwidth needs '--rate', e.g. '--rate 1mbit'.")
        }
        try TC.checkForeignRoot(facts.root, iface)
        let bytesPerSecond = max(1, rate.bitsPerSecond / 8)
        let burst = max(4096, bytesPerSecond / 50)
        let handle = TC.handle(for: kind)
        return Receipt(interface: iface, handle: handle,
                       add: ["tc", "qdisc", "add", "dev", iface, "root", "handle", handle, "tbf", "rate", "\(rate.bitsPerSecond)bit", "burst", "\(burst)", "latency", "400ms"])
    }

    public func inject(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        try await TC.add(receipt.add, on: host)
    }

    public func verify(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState {
        try await TC.root(receipt.interface, on: host)?.handle == receipt.handle ? .active : .absent
    }

    public func revert(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        try await TC.deleteRoot(receipt.interface, ifHandle: receipt.handle, on: host)
    }
}

/// tc commands shared by the traffic-control faults.
public enum TC {
    /// A root qdisc acts on every packet of its interface and cannot spare a port, so on a host that
    /// protects ports (`policy.protectedPorts`) the whole-interface faults are refused: the host's
    /// protection is never the caller's to lift.
    static func refuseWithProtectedPorts(_ request: FaultRequest, _ kind: FaultKind) throws(ChaosError) {
        guard !request.network.protectedPorts.isEmpty else { return }
        let ports = request.network.protectedPorts.map(String.init).joined(separator: ", ")
        throw ChaosError("policy.denied", "Refused by this host's policy: \(kind) acts on every packet of the interface and cannot spare the ports this host protects (\(ports)). Use a scoped fault (network.loss, network.delay with '--port' or '--to'), or run it on a host without 'policy.protectedPorts'.")
    }

    /// The root qdisc of an interface, as `tc -j qdisc show dev IFACE root` reports it.
    public struct RootQdisc: Hashable, Sendable {
        public var kind: String
        public var handle: String
        public init(kind: String, handle: String) { self.kind = kind; self.handle = handle }
    }

    /// The kernel's own root qdiscs, which a fault may replace (deleting ours brings them back).
    static let defaults: Set<String> = ["noqueue", "pfifo_fast", "fq_codel", "fq", "mq", "noop"]

    /// Each kind's own handle, so revert deletes only a root that is still ours.
    static func handle(for kind: FaultKind) -> String {
        switch kind {
        case .networkBandwidth: return "c4a1:"
        case .networkDelay: return "c4a2:"
        case .networkLoss: return "c4a3:"
        case .networkCorrupt: return "c4a4:"
        case .networkDuplicate: return "c4a5:"
        default: return "c4a6:"
        }
    }

    static func root(_ iface: String, on host: some HostSystem) async throws(ChaosError) -> RootQdisc? {
        let r = try await host.run(["tc", "-j", "qdisc", "show", "dev", iface, "root"], input: nil, timeout: .seconds(10))
        guard r.succeeded else {
            throw ChaosError("host.noSuchInterface", "Cannot read the queueing disciplines of '\(iface)': \(r.stderrTail.trimmingWhitespace()). Check the name with 'ip link'.")
        }
        return parseRoot(r.stdout)
    }

    /// Parses `tc -j qdisc show ... root` output.
    public static func parseRoot(_ json: String) -> RootQdisc? {
        guard let data = json.data(using: .utf8),
              let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
              let first = list.first(where: { ($0["root"] as? Bool) == true }) ?? list.first,
              let kind = first["kind"] as? String, let handle = first["handle"] as? String else { return nil }
        return RootQdisc(kind: kind, handle: handle)
    }

    static func checkForeignRoot(_ root: RootQdisc?, _ iface: String) throws(ChaosError) {
        guard let root, !(defaults.contains(root.kind) && root.handle == "0:") else { return }
        if root.handle.hasPrefix("c4a") {
            throw ChaosError("fault.resourceBusy", "Interface '\(iface)' already carries another chaos fault's root qdisc '\(root.kind)' (handle \(root.handle)). Revert that fault first ('chaos status' lists it), then retry.")
        }
        throw ChaosError("fault.resourceBusy", "Interface '\(iface)' already has root qdisc '\(root.kind)' (handle \(root.handle)) that chaos did not install. Refusing to replace it; remove it first if it is a leftover ('tc qdisc del dev \(iface) root'), or pick another interface.")
    }

    static func add(_ argv: [String], on host: some HostSystem) async throws(ChaosError) {
        let r = try await host.run(argv, input: nil, timeout: .seconds(10))
        guard r.succeeded else {
            throw ChaosError("host.tcFailed", "'\(argv.joined(separator: " "))' failed: \(r.stderrTail.trimmingWhitespace()).")
        }
    }

    /// Deletes the root qdisc only while it is ours; gone or replaced by someone else counts as reverted.
    static func deleteRoot(_ iface: String, ifHandle handle: String, on host: some HostSystem) async throws(ChaosError) {
        let current: RootQdisc?
        do { current = try await root(iface, on: host) } catch where error.code == "host.noSuchInterface" { return }
        guard current?.handle == handle else { return }
        let r = try await host.run(["tc", "qdisc", "del", "dev", iface, "root"], input: nil, timeout: .seconds(10))
        guard r.succeeded else {
            throw ChaosError("host.tcFailed", "Could not remove the qdisc on '\(iface)': \(r.stderrTail.trimmingWhitespace()). Remove it by hand with 'tc qdisc del dev \(iface) root'.")
        }
    }
}
