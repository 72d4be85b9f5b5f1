import AsyncHTTPClient
import ChaosCore
import ChaosPOSIX
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

extension StringProtocol {
    fileprivate func replacingUnderscores() -> String { String(map { $0 == "_" ? " " : $0 }) }
}

/// The start of one observation: wall-clock time for `at`, a monotonic instant for the latency.
struct Stopwatch {
    let at: Int64
    let start: ContinuousClock.Instant

    init() {
        at = Epoch.milliseconds()
        start = ContinuousClock.now
    }

    /// Milliseconds since the start.
    var elapsedMs: Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    func observation(_ spec: ProbeSpec) -> Observation {
        Observation(probe: spec.name, at: at, latencyMs: elapsedMs)
    }

    func failure(_ spec: ProbeSpec, _ reason: String) -> Observation {
        var o = observation(spec)
        o.failure = reason
        return o
    }

    func blind(_ spec: ProbeSpec, _ reason: String) -> Observation {
        var o = observation(spec)
        o.blind = reason
        return o
    }

    /// An observation its caller cancelled: it says nothing about the system.
    func cancelled(_ spec: ProbeSpec) -> Observation {
        blind(spec, "the observation was cancelled")
    }
}

/// Runs an operation for at most a given time.
enum Deadline {
    /// The operation's result, or `nil` when `timeout` passed first (the operation is then cancelled
    /// and awaited). Errors of the operation are rethrown.
    static func run<T: Sendable>(within timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T? {
        try await withThrowingTaskGroup(of: Outcome<T>.self) { group in
            group.addTask { .done(try await operation()) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .timedOut
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { return nil }
            switch first {
            case .done(let value): return value
            case .timedOut: return nil
            }
        }
    }

    enum Outcome<T: Sendable>: Sendable {
        case done(T)
        case timedOut
    }
}

/// Reading bodies without keeping more than the limit.
enum BodyReader {
    /// The first `limit` bytes of `body`; the rest is not read (the connection is then dropped).
    static func read(_ body: HTTPClientResponse.Body, limit: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in body {
            let room = limit - bytes.count
            if chunk.readableBytes >= room {
                bytes += chunk.readableBytesView.prefix(room)
                break
            }
            bytes += chunk.readableBytesView
        }
        return bytes
    }

    /// `bytes` cut to `limit`, as UTF-8 (invalid sequences replaced).
    static func text(_ bytes: some Collection<UInt8>, limit: Int = Observation.bodyLimit) -> String {
        String(decoding: bytes.prefix(limit), as: UTF8.self)
    }
}

/// What went wrong when connecting or talking to a system, in a few words.
enum NetworkTrouble {
    /// Whether the error says the observer is at fault (a request that cannot be made), not the system.
    case blind(String)
    case failure(String)

    /// Classifies an error of AsyncHTTPClient or NIO. `timeout` is the observation's timeout, for the
    /// "timed out after" message.
    static func classify(_ error: any Error, timeout: ChaosDuration) -> NetworkTrouble {
        let timedOut = NetworkTrouble.failure("timed out after \(timeout)")
        if let e = error as? HTTPClientError {
            let timeouts: [HTTPClientError] = [.deadlineExceeded, .connectTimeout, .readTimeout, .writeTimeout,
                                               .getConnectionFromPoolTimeout, .cancelled, .tlsHandshakeTimeout]
            if timeouts.contains(e) { return timedOut }
            if e == .remoteConnectionClosed { return .failure("connection closed by the server") }
            // Requests that cannot be made at all: the probe's fault, not the system's.
            let unusable = ["Invalid URL", "Empty host", "Empty scheme", "Unsupported scheme", "Missing socket path",
                            "Invalid header field names", "Invalid header field values", "Already shutdown",
                            "Incompatible headers", "Trace request with body"]
            if unusable.contains(e.shortDescription) { return .blind("cannot make the request: \(e.shortDescription.lowercased())") }
            return .failure(e.shortDescription.lowercased())
        }
        if let e = error as? ChannelError {
            switch e {
            case .connectTimeout: return timedOut
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed: return .failure("connection closed by the server")
            default: return .failure("\(e)")
            }
        }
        if let e = error as? IOError { return .failure(errnoReason(e.errnoCode, timeout: timeout)) }
        if let e = error as? NIOConnectionError {
            if let dns = e.dnsAError ?? e.dnsAAAAError { return classify(dns, timeout: timeout) }
            if let first = e.connectionErrors.first { return classify(first.error, timeout: timeout) }
            return .failure("cannot connect to \(e.host):\(e.port)")
        }
        if let e = error as? SocketAddressError.UnknownHost { return .failure("no such host '\(e.host)' (\(e.errorDescription))") }
        if let e = error as? SocketAddressError {
            if case .failedToParseIPString(let s) = e { return .blind("'\(s)' is not an IP address") }
            return .failure("cannot resolve the address (\(e))")
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            return .failure("TLS handshake failed: \(tlsReason(error))")
        }
        if error is HTTPParserError { return .failure("not an HTTP response: \(error)") }
        if error is CancellationError { return timedOut }
        return .failure("\(error)")
    }

    /// BoringSSL's reason (`CERTIFICATE_VERIFY_FAILED` → "certificate verify failed") when the error
    /// carries one, else the error's own text.
    static func tlsReason(_ error: any Error) -> String {
        let text = "\(error)"
        if let match = text.firstMatch(of: /OPENSSL_internal:([A-Z0-9_]+)/) {
            return match.1.lowercased().replacingUnderscores()
        }
        if let e = error as? NIOSSLExtraError { return e.description }
        return text
    }

    /// A few words for a socket error.
    static func errnoReason(_ code: Int32, timeout: ChaosDuration) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused"
        case ECONNRESET: return "connection reset"
        case ETIMEDOUT: return "timed out after \(timeout)"
        case EHOSTUNREACH: return "host unreachable"
        case ENETUNREACH: return "network unreachable"
        case EPIPE: return "connection closed by the server"
        case ECONNABORTED: return "connection aborted"
        case EADDRNOTAVAIL: return "address not available"
        default: return Errno.text(code).lowercased()
        }
    }
}
