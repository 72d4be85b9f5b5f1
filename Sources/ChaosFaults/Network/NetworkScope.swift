public import ChaosCore
import Glibc

/// Which packets a network fault acts on, resolved and checked so it can be written into an nft
/// program safely: addresses are parsed as IPv4/IPv6 (with prefix), interface names match the
/// kernel's rules, ports are numbers. Nothing a user wrote reaches nft unchecked.
public struct NetworkScope: Hashable, Sendable, Codable {
    public enum Direction: String, Hashable, Sendable, Codable { case egress, ingress, both }

    public var direction: Direction
    /// IPv4 addresses or CIDRs.
    public var remotes4: [String]
    /// IPv6 addresses or CIDRs.
    public var remotes6: [String]
    public var ports: [PortRange]
    /// `tcp`, `udp`, `icmp` or `all`.
    public var proto: String
    /// One interface, or `nil` for every interface but loopback.
    public var interface: String?
    /// Ports that are never touched (the agent's control port), unless the fault says otherwise.
    public var exemptPorts: [Int]

    public init(direction: Direction = .both, remotes4: [String] = [], remotes6: [String] = [], ports: [PortRange] = [],
                proto: String = "all", interface: String? = nil, exemptPorts: [Int] = []) {
        self.direction = direction; self.remotes4 = remotes4; self.remotes6 = remotes6; self.ports = ports
        self.proto = proto; self.interface = interface; self.exemptPorts = exemptPorts
    }

    /// Builds a scope from a fault's parameters. `remotes` must already be addresses or CIDRs
    /// (inventory names are resolved by the caller).
    /// - Throws: `fault.badParameters` naming the value that is not an address, port or interface.
    /// - Parameter defaultDirection: the kind's direction when the fault names none (egress for the
    ///   netem-like kinds, as netem acts on egress; both for blackhole and reject).
    public static func from(_ p: FaultParameters, remotes: [String], controlPorts: [Int], protectedPorts: [Int] = [],
                            defaultDirection: Direction = .both) throws(ChaosError) -> NetworkScope {
        var scope = NetworkScope()
        scope.direction = p.direction.flatMap(Direction.init(rawValue:)) ?? defaultDirection
        for r in remotes {
            switch AddressText.family(of: r) {
            case 4: scope.remotes4.append(r)
            case 6: scope.remotes6.append(r)
            default:
                throw .usage("fault.badParameters", "'\(r)' is not an IP address or CIDR. Give addresses such as '10.0.0.5' or '10.0.1.0/24', or host names with '--inventory FILE'.")
            }
        }
        for text in p.ports ?? [] {
            guard let range = PortRange(text) else {
                throw .usage("fault.badParameters", "'\(text)' is not a port or port range. Use e.g. '6379' or '8000-8100'.")
            }
            scope.ports.append(range)
        }
        scope.proto = p.protocol ?? (scope.ports.isEmpty ? "all" : "tcp")
        if scope.proto == "icmp" && !scope.ports.isEmpty {
            throw .usage("fault.badParameters", "ICMP has no ports. Drop '--port' or use '--protocol tcp' or 'udp'.")
        }
        if let i = p.interface {
            guard InterfaceName.isValid(i) else {
                throw .usage("fault.badParameters", "'\(i)' is not a valid interface name (1-15 letters, digits, '.', '_', '-', ':').")
            }
            scope.interface = i
        }
        // `includeControlPort` gives up the caller's own channel; the host's protected ports stay exempt whatever it says.
        var exempt = p.includeControlPort == true ? [] : controlPorts
        for port in protectedPorts where !exempt.contains(port) { exempt.append(port) }
        scope.exemptPorts = exempt
        return scope
    }

    /// Words for people: `egress to 10.0.0.5 tcp port 6379 on eth0`.
    public var summary: String {
        var parts: [String] = [direction.rawValue]
        let remotes = remotes4 + remotes6
        parts.append(remotes.isEmpty ? "to/from any host" : (direction == .ingress ? "from " : "to ") + remotes.joined(separator: ", "))
        if proto != "all" { parts.append(proto) }
        if !ports.isEmpty { parts.append("port " + ports.map(\.description).joined(separator: ", ")) }
        parts.append(interface.map { "on \($0)" } ?? "on every interface but lo")
        if !exemptPorts.isEmpty { parts.append("(control port \(exemptPorts.map(String.init).joined(separator: ", ")) exempt)") }
        return parts.joined(separator: " ")
    }
}

/// Checks of address text with inet_pton, so nothing else reaches an nft program.
public enum AddressText {
    /// 4 for IPv4 (optionally `/0-32`), 6 for IPv6 (optionally `/0-128`), 0 otherwise.
    public static func family(of text: String) -> Int {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return 0 }
        let addr = String(parts[0])
        var buf = [UInt8](repeating: 0, count: 16)
        let family: Int
        if inet_pton(AF_INET, addr, &buf) == 1 { family = 4 }
        else if inet_pton(AF_INET6, addr, &buf) == 1 { family = 6 }
        else { return 0 }
        if parts.count == 2 {
            guard let bits = Int(parts[1]), parts[1].allSatisfy(\.isNumber), bits >= 0, bits <= (family == 4 ? 32 : 128) else { return 0 }
        }
        return family
    }
}

extension AddressText {
    /// Whether `address` (no prefix) equals one of `entries` or lies inside one of their prefixes.
    public static func contains(_ entries: [String], _ address: String) -> Bool {
        guard let (bytes, family) = parse(address) else { return false }
        return entries.contains { entry in
            let parts = entry.split(separator: "/", maxSplits: 1)
            guard let (net, netFamily) = parse(String(parts[0])), netFamily == family else { return false }
            let bits = parts.count == 2 ? (Int(parts[1]) ?? -1) : bytes.count * 8
            guard bits >= 0, bits <= bytes.count * 8 else { return false }
            for i in 0..<bytes.count {
                let take = max(0, min(8, bits - i * 8))
                let mask: UInt8 = take == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - take))
                if bytes[i] & mask != net[i] & mask { return false }
            }
            return true
        }
    }

    static func parse(_ text: String) -> ([UInt8], Int)? {
        var buf = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, text, &buf) == 1 { return (Array(buf.prefix(4)), 4) }
        if inet_pton(AF_INET6, text, &buf) == 1 { return (buf, 6) }
        return nil
    }
}

/// Linux interface names: 1–15 bytes, no '/', whitespace or quotes (we allow a safe subset).
public enum InterfaceName {
    public static func isValid(_ name: String) -> Bool {
        guard (1...15).contains(name.utf8.count) else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-:@".unicodeScalars.contains($0) }
    }
}
