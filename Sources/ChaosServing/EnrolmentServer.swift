import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import UnixSignals

/// A small HTTPS server for `chaos certs serve`: server-side TLS only (hosts that enrol have no
/// certificate yet), bounded connections and bodies, one handler for every request. Runs until SIGINT
/// or SIGTERM.
public enum EnrolmentServer {
    public typealias Handler = @Sendable (_ method: String, _ path: String, _ body: [UInt8], _ peer: String) async -> (status: Int, body: [UInt8])

    /// The largest request body: a CSR and a token are a few hundred bytes.
    public static let maxBody = 64 * 1024

    public static func run(address: String, port: Int, certificatePEM: String, keyPEM: String, handler: @escaping Handler,
                           listening: @escaping @Sendable (Int) -> Void) async throws {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        let router = Router(context: EnrolmentRequestContext.self)
        let respond: @Sendable (Request, EnrolmentRequestContext) async throws -> Response = { request, context in
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: maxBody) } catch {
                return Response(status: .contentTooLarge)
            }
            let peer = context.channel.remoteAddress?.ipAddress ?? "?"
            let (status, bytes) = await handler(request.method.rawValue, request.uri.path, Array(buffer: body), peer)
            let type = request.uri.path == "/v1/ca" && status == 200 ? "application/x-pem-file" : "application/json"
            return Response(status: .init(code: status), headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("/v1/ca", use: respond)
        router.post("/v1/enrol", use: respond)
        router.get("**", use: respond)
        router.post("**", use: respond)
        let server = HTTPServerBuilder.guarded(.init(idleTimeout: .seconds(30)), tls: try ReloadableTLS(tls),
                                               limits: ConnectionLimits(maxConnections: 128, handshakeTimeout: .seconds(5)), count: ConnectionCount())
        var logger = Logger(label: "chaos.enrolment")
        logger.logLevel = .warning
        let app = Application(router: router, server: server, configuration: .init(address: .hostname(address, port: port), serverName: "chaos-enrolment"),
                              onServerRunning: { channel in listening(channel.localAddress?.port ?? port) }, logger: logger)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}

/// The request context of the enrolment server: the channel, for the peer's address in the log.
struct EnrolmentRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
