import ChaosCore
import ChaosPOSIX
import CLinuxShims
import Glibc

/// One nfnetlink_queue binding, spoken over a raw netlink socket: the kernel hands each packet that a
/// `NFQUEUE` rule (iptables) or `queue` statement (nft) sends to queue `number` to this socket, and
/// holds it until a verdict for its id comes back.
///
/// The protocol is five message shapes (linux/netfilter/nfnetlink_queue.h), written here directly
/// rather than through libnetfilter_queue: the agent stays free of three more shared libraries on
/// every host (libnetfilter_queue, libnfnetlink, libmnl), most of which never queue a packet.
///
/// Configuration: bind, copy mode (headers only, or whole packets when they are changed or copied),
/// queue length, no fail-open (a full queue drops, like netem's `limit`), no GSO (the kernel
/// segments large packets before queueing them, so each verdict is one wire packet).
/// Verdicts are written into one buffer and sent with one `send` per loop turn.
final class NetfilterQueue {
    // linux/netlink.h, linux/netfilter/nfnetlink.h, linux/netfilter/nfnetlink_queue.h
    static let netlinkNetfilter: Int32 = 12
    static let solNetlink: Int32 = 270
    static let netlinkNoENOBUFS: Int32 = 5
    static let subsysQueue: UInt16 = 3
    static let msgPacket: UInt16 = 0, msgVerdict: UInt16 = 1, msgConfig: UInt16 = 2
    static let nlmFRequest: UInt16 = 1, nlmFAck: UInt16 = 4
    static let nlmsgError: UInt16 = 2
    static let cfgCmd: UInt16 = 1, cfgParams: UInt16 = 2, cfgQueueMaxlen: UInt16 = 3, cfgMask: UInt16 = 4, cfgFlags: UInt16 = 5
    static let cmdBind: UInt8 = 1
    static let copyPacket: UInt8 = 2
    static let attrPacketHdr: UInt16 = 1, attrVerdictHdr: UInt16 = 2, attrPayload: UInt16 = 10
    static let flagFailOpen: UInt32 = 1, flagGSO: UInt32 = 4
    static let verdictDrop: UInt32 = 0, verdictAccept: UInt32 = 1

    let fd: Int32
    let number: UInt16
    private var sequence: UInt32 = 1
    private var out: [UInt8] = []

    /// A packet as the kernel queued it.
    struct Packet {
        var id: UInt32
        /// The IP packet, from its first byte (up to the copy range).
        var payload: UnsafeRawBufferPointer
    }

    /// Opens the socket and binds queue `number`.
    /// - Parameters:
    ///   - copyRange: bytes of each packet to copy to userspace (headers, or whole packets).
    ///   - maxLength: packets the kernel holds for us at most; past it, new packets are dropped.
    init(number: UInt16, copyRange: UInt32, maxLength: UInt32) throws(ChaosError) {
        self.number = number
        fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Self.netlinkNetfilter)
        guard fd >= 0 else { throw ChaosError("netqueue.socket", "Cannot open a netfilter netlink socket: \(Errno.text(errno)).") }
        var addr = sockaddr_nl()
        addr.nl_family = sa_family_t(AF_NETLINK)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
        }
        guard bound == 0 else { let e = errno; Glibc.close(fd); throw ChaosError("netqueue.socket", "Cannot bind the netlink socket: \(Errno.text(e)).") }
        // Room for bursts: a packet the socket cannot take is dropped by the kernel.
        var size: Int32 = 16 << 20
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(4)) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(4))
        }
        var one: Int32 = 1
        _ = setsockopt(fd, Self.solNetlink, Self.netlinkNoENOBUFS, &one, socklen_t(4))
        do {
            try configure([attribute(Self.cfgCmd, [Self.cmdBind, 0, 0, 0])], what: "bind queue \(number)")
            try configure([attribute(Self.cfgParams, be32(copyRange) + [Self.copyPacket])], what: "set the copy mode")
            try configure([attribute(Self.cfgQueueMaxlen, be32(maxLength))], what: "set the queue length")
            try configure([attribute(Self.cfgMask, be32(Self.flagFailOpen | Self.flagGSO)), attribute(Self.cfgFlags, be32(0))], what: "set the queue flags")
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    deinit { Glibc.close(fd) }

    // MARK: messages

    private func header(type: UInt16, flags: UInt16, bodyLength: Int) -> [UInt8] {
        let length = UInt32(16 + 4 + bodyLength)
        sequence &+= 1
        return le32(length) + le16((Self.subsysQueue << 8) | type) + le16(flags) + le32(sequence) + le32(0)
            + [UInt8(AF_UNSPEC), 0] + be16(number)
    }

    private func attribute(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
        let padded = (value.count + 3) & ~3
        return le16(UInt16(4 + value.count)) + le16(type) + value + [UInt8](repeating: 0, count: padded - value.count)
    }

    /// Sends one configuration message and waits for the kernel's acknowledgement.
    private func configure(_ attributes: [[UInt8]], what: String) throws(ChaosError) {
        let body = attributes.flatMap { $0 }
        let message = header(type: Self.msgConfig, flags: Self.nlmFRequest | Self.nlmFAck, bodyLength: body.count) + body
        let sent = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == message.count else { throw ChaosError("netqueue.config", "Cannot \(what): \(Errno.text(errno)).") }
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n >= 0 else {
                if errno == EINTR { continue }
                throw ChaosError("netqueue.config", "Cannot \(what): no answer from the kernel (\(Errno.text(errno))).")
            }
            guard n >= 20 else { continue }
            let type = UInt16(buffer[4]) | UInt16(buffer[5]) << 8
            guard type == Self.nlmsgError else { continue }
            let code = Int32(bitPattern: UInt32(buffer[16]) | UInt32(buffer[17]) << 8 | UInt32(buffer[18]) << 16 | UInt32(buffer[19]) << 24)
            if code == 0 { return }
            let hint = -code == EBUSY ? " Another program holds queue \(number)." : -code == EPERM ? " It needs root (CAP_NET_ADMIN)." : ""
            throw ChaosError("netqueue.config", "Cannot \(what): \(Errno.text(-code)).\(hint)")
        }
    }

    /// Reads the packets waiting in the socket, at most `limit`, without blocking; `body` sees each
    /// packet while the receive buffer holds it.
    /// - Returns: how many packet messages were read.
    func receive(into buffer: UnsafeMutableRawBufferPointer, limit: Int, _ body: (Packet) -> Void) -> Int {
        var count = 0
        while count < limit {
            let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if n < 0 { if errno == EINTR { continue }; break }
            var offset = 0
            while offset + 16 <= n {
                let length = Int(read32le(buffer, offset))
                guard length >= 16, offset + length <= n else { break }
                let type = read16le(buffer, offset + 4)
                if type == (Self.subsysQueue << 8) | Self.msgPacket {
                    if let p = parsePacket(UnsafeRawBufferPointer(rebasing: buffer[(offset + 20)..<(offset + length)])) {
                        body(p)
                        count += 1
                    }
                }
                offset += (length + 3) & ~3
            }
        }
        return count
    }

    private func parsePacket(_ attrs: UnsafeRawBufferPointer) -> Packet? {
        var id: UInt32?
        var payload: UnsafeRawBufferPointer?
        var offset = 0
        while offset + 4 <= attrs.count {
            let length = Int(UInt16(attrs[offset]) | UInt16(attrs[offset + 1]) << 8)
            let type = (UInt16(attrs[offset + 2]) | UInt16(attrs[offset + 3]) << 8) & 0x3fff
            guard length >= 4, offset + length <= attrs.count else { break }
            let value = UnsafeRawBufferPointer(rebasing: attrs[(offset + 4)..<(offset + length)])
            if type == Self.attrPacketHdr, value.count >= 4 {
                id = UInt32(value[0]) << 24 | UInt32(value[1]) << 16 | UInt32(value[2]) << 8 | UInt32(value[3])
            } else if type == Self.attrPayload {
                payload = value
            }
            offset += (length + 3) & ~3
        }
        guard let id else { return nil }
        return Packet(id: id, payload: payload ?? UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Adds a verdict for packet `id` to the batch; `replacement` replaces the packet's bytes.
    /// Written byte by byte into the batch buffer: no allocation per packet.
    func verdict(_ id: UInt32, accept: Bool, replacement: [UInt8]? = nil) {
        let payload = replacement.flatMap { $0.count <= 65_531 ? $0 : nil }
        let padded = payload.map { ($0.count + 3) & ~3 } ?? 0
        let bodyLength = 12 + (payload == nil ? 0 : 4 + padded)
        sequence &+= 1
        appendLE32(UInt32(16 + 4 + bodyLength))
        appendLE16((Self.subsysQueue << 8) | Self.msgVerdict)
        appendLE16(Self.nlmFRequest)
        appendLE32(sequence)
        appendLE32(0)
        out.append(UInt8(AF_UNSPEC)); out.append(0)
        out.append(UInt8(number >> 8)); out.append(UInt8(number & 0xff))
        appendLE16(12); appendLE16(Self.attrVerdictHdr)
        appendBE32(accept ? Self.verdictAccept : Self.verdictDrop)
        appendBE32(id)
        if let payload {
            appendLE16(UInt16(4 + payload.count)); appendLE16(Self.attrPayload)
            out.append(contentsOf: payload)
            for _ in payload.count..<padded { out.append(0) }
        }
    }

    private func appendLE16(_ v: UInt16) { out.append(UInt8(v & 0xff)); out.append(UInt8(v >> 8)) }
    private func appendLE32(_ v: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8((v >> UInt32(shift)) & 0xff)) } }
    private func appendBE32(_ v: UInt32) { for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8((v >> UInt32(shift)) & 0xff)) } }

    /// Sends the batched verdicts. The kernel reads every message of one `send`.
    func flush() {
        var offset = 0
        while offset < out.count {
            // A datagram carries whole messages; keep each send under 1 MiB.
            var end = offset
            while end < out.count {
                let length = Int(UInt32(out[end]) | UInt32(out[end + 1]) << 8 | UInt32(out[end + 2]) << 16 | UInt32(out[end + 3]) << 24)
                if end > offset && end + length - offset > 1 << 20 { break }
                end += (length + 3) & ~3
            }
            _ = out[offset..<end].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            offset = end
        }
        out.removeAll(keepingCapacity: true)
    }

    var hasPendingVerdicts: Bool { !out.isEmpty }
}

private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
private func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)] }
private func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
private func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
private func read16le(_ b: UnsafeMutableRawBufferPointer, _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
private func read32le(_ b: UnsafeMutableRawBufferPointer, _ o: Int) -> UInt32 {
    UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
}
