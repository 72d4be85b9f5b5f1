public import Hummingbird
public import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
public import NIOSSL
import NIOTLS
import Synchronization

/// Keeps idle or half-open connections from locking everyone out of a server (the agent's, the
/// controller's): at most ``ConnectionLimits/maxConnections`` at once, and a TLS handshake must finish
/// within ``ConnectionLimits/handshakeTimeout`` (a client that connects and never says hello holds
/// nothing for long). Over the cap, the oldest connection still in its handshake makes room. With a
/// raised descriptor limit, 1,100 silent sockets no longer take every descriptor for 30 s.
public struct ConnectionLimits: Sendable {
    public var maxConnections: Int
    public var handshakeTimeout: TimeAmount
    public init(maxConnections: Int = 512, handshakeTimeout: TimeAmount = .seconds(5)) {
        self.maxConnections = maxConnections; self.handshakeTimeout = handshakeTimeout
    }
}

/// Counts a server's open connections, and knows those still in their TLS handshake, oldest first.
public final class ConnectionCount: Sendable {
    public init() {}
    let open = Atomic<Int>(0)
    let evicted = Atomic<Int>(0)
    /// Connections open now, and connections closed to make room so far.
    public var openNow: Int { open.load(ordering: .relaxed) }
    public var evictedSoFar: Int { evicted.load(ordering: .relaxed) }
    private let handshaking = Mutex<[(id: ObjectIdentifier, channel: any Channel)]>([])

    func startHandshake(_ channel: any Channel) { handshaking.withLock { $0.append((ObjectIdentifier(channel), channel)) } }
    func endHandshake(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        handshaking.withLock { list in list.removeAll { $0.id == id } }
    }
    /// Takes the oldest connection still in its handshake, other than `channel`.
    func oldestHandshaking(except channel: any Channel) -> (any Channel)? {
        let id = ObjectIdentifier(channel)
        return handshaking.withLock { list in
            guard let i = list.firstIndex(where: { $0.id != id }) else { return nil }
            return list.remove(at: i).channel
        }
    }
}

/// A child channel that puts a ``ConnectionGuardHandler`` in front of `Base` (TLS + HTTP/1).
struct GuardedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let limits: ConnectionLimits
    let count: ConnectionCount
    let tls: Bool

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let handler = ConnectionGuardHandler(limits: limits, count: count, waitsForHandshake: tls)
            let ops = channel.pipeline.syncOperations
            // Right behind the TLS handler, where its "handshake completed" event arrives.
            if tls, let ssl = try? ops.handler(type: NIOSSLServerHandler.self) {
                try ops.addHandler(handler, position: .after(ssl))
            } else {
                try ops.addHandler(handler, position: .first)
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async { await base.handle(value: value, logger: logger) }
}

/// Closes a connection over the limit, and one whose TLS handshake is not done in time.
final class ConnectionGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let limits: ConnectionLimits
    let count: ConnectionCount
    let waitsForHandshake: Bool
    private var counted = false
    private var timeout: Scheduled<Void>?

    init(limits: ConnectionLimits, count: ConnectionCount, waitsForHandshake: Bool) {
        self.limits = limits; self.count = count; self.waitsForHandshake = waitsForHandshake
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    /// Over the cap, the oldest connection still in its handshake makes room (a client that connects
    /// and says nothing is cheap to drop, and a real client finishes its handshake in milliseconds);
    /// with none, the new connection is closed.
    private func start(_ context: ChannelHandlerContext) {
        guard !counted else { return }
        counted = true
        let channel = context.channel
        if waitsForHandshake {
            count.startHandshake(channel)
            timeout = context.eventLoop.scheduleTask(in: limits.handshakeTimeout) { channel.close(promise: nil) }
        }
        let now = count.open.wrappingAdd(1, ordering: .relaxed).newValue
        guard now > limits.maxConnections else { return }
        count.evicted.wrappingAdd(1, ordering: .relaxed)
        if let oldest = count.oldestHandshaking(except: channel) {
            oldest.close(promise: nil)
        } else {
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            timeout?.cancel()
            timeout = nil
            count.endHandshake(context.channel)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context.channel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { finish(context.channel) }

    private func finish(_ channel: any Channel) {
        timeout?.cancel()
        timeout = nil
        if waitsForHandshake { count.endHandshake(channel) }
        if counted {
            counted = false
            count.open.wrappingSubtract(1, ordering: .relaxed)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 behind a ``ConnectionGuardHandler``, with TLS when `tls` is given.
    public static func guarded(_ http: HTTP1Channel.Configuration, tls: TLSConfiguration?, limits: ConnectionLimits,
                        count: ConnectionCount) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            let plain = HTTP1Channel(responder: responder, configuration: http)
            guard let tls else { return GuardedChannel(base: plain, limits: limits, count: count, tls: false) }
            return GuardedChannel(base: try TLSChannel(plain, tlsConfiguration: tls), limits: limits, count: count, tls: true)
        }
    }

    /// HTTP/1 behind a ``ConnectionGuardHandler``, with TLS whose credentials can be replaced while it
    /// serves (``ReloadableTLS``): new connections get the new certificate, open ones keep theirs.
    public static func guarded(_ http: HTTP1Channel.Configuration, tls: ReloadableTLS?, limits: ConnectionLimits,
                        count: ConnectionCount) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            let plain = HTTP1Channel(responder: responder, configuration: http)
            guard let tls else { return GuardedChannel(base: plain, limits: limits, count: count, tls: false) }
            return GuardedChannel(base: ReloadableTLSChannel(base: plain, tls: tls), limits: limits, count: count, tls: true)
        }
    }
}

/// A server's TLS context, replaceable while it serves: a certificate renewed on disk is taken on SIGHUP
/// without closing the listener (the agent keeps its faults).
public final class ReloadableTLS: Sendable {
    private let context: Mutex<NIOSSLContext>

    /// - Throws: NIOSSL's error when the configuration cannot make a context (unreadable key, mismatch).
    public init(_ configuration: TLSConfiguration) throws {
        context = Mutex(try NIOSSLContext(configuration: configuration))
    }

    /// Builds a context from `configuration` and, only if that works, uses it for every new connection.
    /// - Throws: NIOSSL's error; the current context then stays.
    public func replace(_ configuration: TLSConfiguration) throws {
        let made = try NIOSSLContext(configuration: configuration)
        context.withLock { $0 = made }
    }

    var current: NIOSSLContext { context.withLock { $0 } }
}

/// Like HummingbirdTLS's `TLSChannel`, but taking the context of a ``ReloadableTLS`` at each connection.
struct ReloadableTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let tls: ReloadableTLS

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = tls.current
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async { await base.handle(value: value, logger: logger) }
}
