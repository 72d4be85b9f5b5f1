import ChaosLinux
import Testing

/// The packet engine's decisions, replayed with fixed seeds: delay bounds, per-flow order under
/// jitter, shares of loss, duplicates, corruption and reordering, and where a bit is flipped.
@Suite("Packet scheduler: what happens to each queued packet")
struct PacketSchedulerTests {
    /// An IPv4 packet: TCP (6) or UDP (17) between 10.0.0.1:sport and 10.0.0.2:dport, with `payload` bytes.
    static func packet(proto: UInt8 = 6, sport: UInt16 = 40000, dport: UInt16 = 6379, payload: Int = 10) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 20)
        p[0] = 0x45
        p[9] = proto
        p[12...15] = [10, 0, 0, 1]
        p[16...19] = [10, 0, 0, 2]
        var l4 = [UInt8](repeating: 0, count: proto == 6 ? 20 : 8)
        l4[0] = UInt8(sport >> 8); l4[1] = UInt8(sport & 0xff); l4[2] = UInt8(dport >> 8); l4[3] = UInt8(dport & 0xff)
        if proto == 6 { l4[12] = 5 << 4 }
        return p + l4 + [UInt8](repeating: 0xAB, count: payload)
    }

    func decide(_ s: inout PacketScheduler, _ bytes: [UInt8], at now: Int64) -> PacketScheduler.Decision {
        bytes.withUnsafeBytes { s.decide($0, now: now) }
    }

    @Test("delay ± jitter: every release is within the bounds, and jitter spreads them")
    func delayBounds() {
        var s = PacketScheduler(.init(delayNs: 200_000_000, jitterNs: 20_000_000), seed: 1)
        var offsets: [Int64] = []
        for i in 0..<2000 {
            let now = Int64(i) * 10_000_000
            // A new flow per packet, so order keeping does not shift the times.
            guard case .release(let at, _, _) = decide(&s, Self.packet(sport: UInt16(1000 + i)), at: now) else { Issue.record("dropped"); return }
            offsets.append(at - now)
        }
        #expect(offsets.allSatisfy { (180_000_000...220_000_000).contains($0) })
        #expect(offsets.max()! - offsets.min()! > 35_000_000, "uniform over ±20 ms")
        let mean = Double(offsets.reduce(0, +)) / Double(offsets.count)
        #expect(abs(mean - 200_000_000) < 2_000_000, "centred on the delay: \(mean)")
    }

    @Test("packets of one flow are never reordered by jitter; another flow is independent")
    func flowOrder() {
        var s = PacketScheduler(.init(delayNs: 50_000_000, jitterNs: 50_000_000), seed: 7)
        var last: Int64 = 0
        var otherEarlier = false
        for i in 0..<5000 {
            let now = Int64(i) * 100_000  // 10k packets/s
            guard case .release(let at, _, _) = decide(&s, Self.packet(), at: now) else { return }
            #expect(at >= last, "flow order kept at packet \(i)")
            last = at
            if case .release(let o, _, _) = decide(&s, Self.packet(sport: 5), at: now), o < at { otherEarlier = true }
        }
        #expect(otherEarlier, "another flow's packets may overtake this one's")
    }

    @Test("loss, duplicate and corrupt shares are within ±2 points over 10k packets", arguments: [(300, 0, 0), (0, 100, 0), (0, 0, 50)])
    func shares(loss: Int, duplicate: Int, corrupt: Int) {
        var s = PacketScheduler(.init(lossPerMille: loss, duplicatePerMille: duplicate, corruptPerMille: corrupt), seed: 42)
        var dropped = 0, copies = 0, flipped = 0
        for i in 0..<10_000 {
            switch decide(&s, Self.packet(), at: Int64(i)) {
            case .drop: dropped += 1
            case .release(let at, let dup, let bit):
                #expect(at == Int64(i), "no delay asked: released at once")
                if dup { copies += 1 }
                if bit != nil { flipped += 1 }
            }
        }
        #expect(abs(dropped - loss * 10) <= 200, "dropped \(dropped)")
        #expect(abs(copies - duplicate * 10) <= 200, "copies \(copies)")
        #expect(abs(flipped - corrupt * 10) <= 200, "flipped \(flipped)")
    }

    @Test("reorder: that share goes at once, the rest waits the delay")
    func reorder() {
        var s = PacketScheduler(.init(delayNs: 10_000_000, reorderPerMille: 250), seed: 3)
        var now0 = 0
        for i in 0..<4000 {
            let now = Int64(i) * 1_000_000
            guard case .release(let at, _, _) = decide(&s, Self.packet(sport: UInt16(i % 7)), at: now) else { return }
            if at == now { now0 += 1 } else { #expect(at >= now + 10_000_000) }
        }
        #expect(abs(now0 - 1000) <= 100, "about 25 %: \(now0)")
    }

    @Test("corrupt flips a bit in the transport payload, or in the checksum of a bare segment, never in the IP header")
    func corruptBit() {
        var s = PacketScheduler(.init(corruptPerMille: 1000), seed: 9)
        for _ in 0..<500 {
            guard case .release(_, _, let bit?) = decide(&s, Self.packet(payload: 30), at: 0) else { Issue.record("no bit"); return }
            #expect(bit / 8 >= 40 && bit / 8 < 70, "payload bytes 40..<70: \(bit / 8)")
            guard case .release(_, _, let ack?) = decide(&s, Self.packet(payload: 0), at: 0) else { Issue.record("no bit"); return }
            #expect(ack / 8 == 36 || ack / 8 == 37, "TCP checksum bytes 36-37: \(ack / 8)")
            guard case .release(_, _, let udp?) = decide(&s, Self.packet(proto: 17, payload: 0), at: 0) else { Issue.record("no bit"); return }
            #expect(udp / 8 == 26 || udp / 8 == 27, "UDP checksum bytes 26-27: \(udp / 8)")
        }
        // Not IP: left whole.
        guard case .release(_, _, let none) = decide(&s, [0x00, 0x01, 0x02], at: 0) else { return }
        #expect(none == nil)
    }

    @Test("the flow table is bounded: past the limit, flows whose packets have left are forgotten")
    func boundedFlows() {
        var s = PacketScheduler(.init(delayNs: 1_000_000), seed: 5)
        s.flowLimit = 1000
        for i in 0..<50_000 {
            _ = decide(&s, Self.packet(sport: UInt16(i % 60_000)), at: Int64(i) * 10_000_000)
        }
        #expect(s.flowsRemembered <= 1000)
    }

    @Test("the same seed gives the same decisions")
    func replay() {
        var a = PacketScheduler(.init(delayNs: 5_000_000, jitterNs: 5_000_000, lossPerMille: 100), seed: 11)
        var b = PacketScheduler(.init(delayNs: 5_000_000, jitterNs: 5_000_000, lossPerMille: 100), seed: 11)
        for i in 0..<1000 { #expect(decide(&a, Self.packet(), at: Int64(i)) == decide(&b, Self.packet(), at: Int64(i))) }
    }
}
