/// Decides what happens to each packet the kernel queues to the packet engine (`chaos _netqueue`):
/// dropped, released at once, or held until a moment, and whether it is sent twice or has a bit
/// flipped. Pure: time comes in as an argument and randomness from a seeded generator, so tests
/// replay exact sequences.
///
/// The decisions follow netem's meaning of each knob, so a fault means the same with either mechanism:
/// - `delayNs ± jitterNs`: uniform jitter, like netem without a distribution table. Unlike netem with
///   jitter, packets of one flow (same protocol, addresses and ports) are never reordered: a packet is
///   released no earlier than the previous packet of its flow (`release = max(due, lastRelease)`),
///   because reordering inside a TCP stream is a different fault (asked for with `reorderPerMille`).
/// - `lossPerMille`: dropped at random, before anything else.
/// - `reorderPerMille`: that share is released at once, ahead of the delayed rest (netem's `reorder`,
///   which needs a delay to have anything to overtake).
/// - `duplicatePerMille`: released, and a copy sent right after it.
/// - `corruptPerMille`: one bit flipped (see ``Decision/corruptBit``).
public struct PacketScheduler: Sendable {
    public struct Config: Sendable, Hashable {
        public var delayNs: Int64
        public var jitterNs: Int64
        public var lossPerMille: Int
        public var duplicatePerMille: Int
        public var corruptPerMille: Int
        public var reorderPerMille: Int
        public init(delayNs: Int64 = 0, jitterNs: Int64 = 0, lossPerMille: Int = 0, duplicatePerMille: Int = 0,
                    corruptPerMille: Int = 0, reorderPerMille: Int = 0) {
            self.delayNs = delayNs; self.jitterNs = jitterNs; self.lossPerMille = lossPerMille
            self.duplicatePerMille = duplicatePerMille; self.corruptPerMille = corruptPerMille; self.reorderPerMille = reorderPerMille
        }
        /// Whether the engine needs whole packets (to copy or change them), not just their headers.
        public var needsPayload: Bool { duplicatePerMille > 0 || corruptPerMille > 0 }
    }

    /// What becomes of one packet.
    public enum Decision: Hashable, Sendable {
        case drop
        /// Release at `at` (monotonic ns; at or before now means at once).
        /// - duplicate: send a copy right after it.
        /// - corruptBit: flip this bit of the packet (an index into its bits) before releasing it.
        case release(at: Int64, duplicate: Bool, corruptBit: Int?)
    }

    public let config: Config
    private var random: SplitMix64
    /// The last release time per flow (hash of protocol, addresses, ports), to keep each flow in order.
    private var lastRelease: [UInt64: Int64] = [:]
    /// Most flows remembered; past that, flows whose last packet has left are forgotten.
    public var flowLimit = 65_536

    public init(_ config: Config, seed: UInt64) {
        self.config = config
        random = SplitMix64(seed: seed)
    }

    public var flowsRemembered: Int { lastRelease.count }

    /// Decides one packet that arrived at `now` (monotonic ns).
    public mutating func decide(_ packet: UnsafeRawBufferPointer, now: Int64) -> Decision {
        if chance(config.lossPerMille) { return .drop }
        let duplicate = chance(config.duplicatePerMille)
        let corruptBit = chance(config.corruptPerMille) ? PacketHeaders.corruptibleBit(packet, random: &random) : nil
        if config.delayNs == 0 && config.jitterNs == 0 { return .release(at: now, duplicate: duplicate, corruptBit: corruptBit) }
        if chance(config.reorderPerMille) { return .release(at: now, duplicate: duplicate, corruptBit: corruptBit) }
        var due = now + config.delayNs
        if config.jitterNs > 0 {
            let span = UInt64(2 * config.jitterNs + 1)
            due += Int64(random.next() % span) - config.jitterNs
        }
        let flow = PacketHeaders.flowHash(packet)
        if let last = lastRelease[flow], last > due { due = last }
        if lastRelease.count >= flowLimit { lastRelease = lastRelease.filter { $0.value > now } }
        lastRelease[flow] = due
        return .release(at: max(due, now), duplicate: duplicate, corruptBit: corruptBit)
    }

    private mutating func chance(_ perMille: Int) -> Bool {
        perMille > 0 && (perMille >= 1000 || Int(random.next() % 1000) < perMille)
    }
}

/// A small, fast, seedable generator (Steele, Lea, Flood: SplitMix64), enough for fault decisions.
public struct SplitMix64: Sendable, RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Reads what the engine needs from an IPv4 or IPv6 packet (from its first byte, the IP header).
public enum PacketHeaders {
    /// The transport protocol and where its header starts, or nil for what is not IPv4/IPv6.
    /// IPv6 extension headers are not walked: their packets count as the protocol in `next header`.
    public static func transport(_ p: UnsafeRawBufferPointer) -> (proto: UInt8, offset: Int)? {
        guard p.count >= 20 else { return nil }
        switch p[0] >> 4 {
        case 4:
            let ihl = Int(p[0] & 0x0f) * 4
            guard ihl >= 20, p.count >= ihl else { return nil }
            return (p[9], ihl)
        case 6:
            guard p.count >= 40 else { return nil }
            return (p[6], 40)
        default:
            return nil
        }
    }

    /// A hash of protocol, addresses and (TCP/UDP) ports: packets of one flow share it.
    public static func flowHash(_ p: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 14_695_981_039_346_656_037
        func mix(_ range: Range<Int>) {
            for i in range where i < p.count { h = (h ^ UInt64(p[i])) &* 1_099_511_628_211 }
        }
        guard let (proto, offset) = transport(p) else { mix(0..<min(p.count, 40)); return h }
        mix(p[0] >> 4 == 4 ? 12..<20 : 8..<40)
        h = (h ^ UInt64(proto)) &* 1_099_511_628_211
        if proto == 6 || proto == 17 { mix(offset..<(offset + 4)) }
        return h
    }

    /// Which bit to flip for a corrupted packet: one in the transport payload, so the packet still
    /// reaches the same socket and the receiver's checksum catches it (as it catches a wire error);
    /// in the transport checksum itself when there is no payload (a bare TCP ACK); nil when the packet
    /// cannot be read (then it is left whole).
    static func corruptibleBit(_ p: UnsafeRawBufferPointer, random: inout SplitMix64) -> Int? {
        guard let (proto, offset) = transport(p) else { return nil }
        let headerLength: Int
        let checksumOffset: Int
        switch proto {
        case 6:
            guard p.count >= offset + 20 else { return nil }
            headerLength = Int(p[offset + 12] >> 4) * 4
            checksumOffset = offset + 16
        case 17:
            headerLength = 8
            checksumOffset = offset + 6
        default:
            headerLength = 0
            checksumOffset = -1
        }
        let payloadStart = offset + headerLength
        if p.count > payloadStart {
            return payloadStart * 8 + Int(random.next() % UInt64((p.count - payloadStart) * 8))
        }
        guard checksumOffset >= 0, p.count >= checksumOffset + 2 else { return nil }
        return checksumOffset * 8 + Int(random.next() % 16)
    }
}
