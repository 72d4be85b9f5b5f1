public import ChaosCore
public import NIOCore
import NIOPosix

/// One TCP connect per observation, closed at once: the latency is the connect time.
public struct TCPProbe: ProbeRunner {
    public let spec: ProbeSpec
    let group: any EventLoopGroup

    /// - Parameter eventLoopGroup: where the connection is made (default: NIO's shared singleton).
    public init(spec: ProbeSpec, eventLoopGroup: (any EventLoopGroup)? = nil) {
        self.spec = spec
        self.group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
    }

    public func observe() async -> Observation {
        let watch = Stopwatch()
        guard let target = TCPAddress(spec.address ?? "") else {
            return watch.blind(spec, "'\(spec.address ?? "")' is not host:port (e.g. 10.0.0.21:6379 or [::1]:6379)")
        }
        let timeout = spec.timeout
        let group = self.group
        do {
            // The bootstrap's timeout covers resolving and connecting; the deadline is a backstop.
            let connected = try await Deadline.run(within: timeout.duration + .milliseconds(200)) {
                try await TCPProbe.connect(group, target, timeout: timeout)
            }
            if Task.isCancelled { return watch.cancelled(spec) }
            guard connected != nil else { return watch.failure(spec, "timed out after \(timeout)") }
            return watch.observation(spec)
        } catch {
            if Task.isCancelled { return watch.cancelled(spec) }
            switch NetworkTrouble.classify(error, timeout: timeout) {
            case .failure(let reason): return watch.failure(spec, reason)
            case .blind(let reason): return watch.blind(spec, reason)
            }
        }
    }

    /// Connects and closes (the latency is taken when the connection is up, before the close).
    static func connect(_ group: any EventLoopGroup, _ target: TCPAddress, timeout: ChaosDuration) async throws -> Bool {
        let bootstrap = ClientBootstrap(group: group).connectTimeout(.milliseconds(max(1, timeout.milliseconds)))
        let channel: any Channel
        if let address = target.literal {
            channel = try await bootstrap.connect(to: address).get()
        } else {
            channel = try await bootstrap.connect(host: target.host, port: target.port).get()
        }
        channel.close(promise: nil)
        return true
    }
}

/// `host:port`, `[v6]:port` or (as written in files) `v6:port`.
struct TCPAddress: Hashable, Sendable {
    var host: String
    var port: Int
    /// The address when `host` is an IP literal (no name to resolve).
    var literal: SocketAddress? { try? SocketAddress(ipAddress: host, port: port) }

    init?(_ text: String) {
        let t = text.trimmingWhitespace()
        let host: Substring
        let portText: Substring
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]") else { return nil }
            host = t[t.index(after: t.startIndex)..<close]
            let rest = t[t.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = t.lastIndex(of: ":") else { return nil }
            host = t[..<colon]
            portText = t[t.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" || $0 == "[" || $0 == "]" }),
              !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText),
              (1...65535).contains(port) else { return nil }
        // An unbracketed host with a colon must be an IPv6 literal.
        if host.contains(":"), (try? SocketAddress(ipAddress: String(host), port: port)) == nil { return nil }
        self.host = String(host)
        self.port = port
    }
}
