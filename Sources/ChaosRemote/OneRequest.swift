import AsyncHTTPClient
public import ChaosCore
import NIOCore
import NIOHTTP1
import NIOSSL

/// One HTTPS request outside the agent API (enrolment): GET, or POST with a JSON body.
public enum OneRequest {
    /// - Parameter trustedCA: `nil` checks nothing about the server (only to fetch a CA the caller then checks
    ///   against a pin); else the server must chain to this CA and match the URL's host.
    public static func fetch(_ url: String, body: [UInt8]?, trustedCA: String?, timeout: TimeAmount = .seconds(15)) async throws(ChaosError) -> (status: Int, body: [UInt8]) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let trustedCA {
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(trustedCA.utf8))) } catch {
                throw ChaosError("pki.invalid", "The CA to trust is not PEM: \(error).")
            }
            tls.certificateVerification = .fullVerification
        } else {
            tls.certificateVerification = .none
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5), read: timeout)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            var request = HTTPClientRequest(url: url)
            if let body {
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            let response = try await client.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: 1 << 20)
            try? await client.shutdown()
            return (Int(response.status.code), Array(buffer: bytes))
        } catch {
            try? await client.shutdown()
            throw ChaosError("net.request", "Cannot reach \(url): \(error). Check the address and port, and that 'chaos certs serve' runs there; its certificate names \(trustedCA == nil ? "" : "must include ")the host you gave.")
        }
    }
}
