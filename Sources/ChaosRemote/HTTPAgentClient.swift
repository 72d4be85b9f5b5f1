import AsyncHTTPClient
public import ChaosCore
import ChaosPKI
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Connects to agents over HTTPS with a client certificate (mutual TLS): the agent must present a
/// certificate that chains to the chaos CA and names the address it was reached at.
public struct HTTPAgentConnector: AgentConnector {
    /// The leadership epoch a controller sends with every inject and renew (`chaos-controller-epoch`),
    /// asked at each request; nil for operators and single controllers (nothing is sent).
    let epoch: (@Sendable () -> UInt64?)?

    public init(epoch: (@Sendable () -> UInt64?)? = nil) { self.epoch = epoch }

    public func fenced(by epoch: FencingEpoch) -> any AgentConnector { HTTPAgentConnector(epoch: { epoch.current }) }

    public func open(_ credentials: ClientCredentials) throws(ChaosError) -> any AgentSession {
        let tls = try Self.tlsConfiguration(credentials)
        let config = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                              timeout: .init(connect: .seconds(3), read: .seconds(60)))
        return HTTPAgentSession(client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: config), epoch: epoch)
    }

    /// The client's TLS settings: its certificate and key, the CA as the only trust root, full
    /// verification (chain and host name), TLS 1.2 or later.
    static func tlsConfiguration(_ c: ClientCredentials) throws(ChaosError) -> TLSConfiguration {
        let issue = "Issue one with 'chaos certs issue --operator NAME' (or use --identity / --cert, --key and --ca)."
        let certPEM = try PKIFiles.readText(c.certificate, hint: issue)
        let keyPEM = try PKIFiles.readText(c.key, hint: issue)
        let caPEM = try PKIFiles.readText(c.ca, hint: "Copy the CA certificate (ca.pem) from where 'chaos certs init' made it.")
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certPEM.utf8)).map { .certificate($0) }
        } catch { throw ChaosError.usage("pki.invalid", "'\(c.certificate)' is not a PEM certificate (\(error)). \(issue)") }
        do {
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
        } catch { throw ChaosError.usage("pki.invalid", "'\(c.key)' is not a PEM private key (\(error)). \(issue)") }
        do {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        } catch { throw ChaosError.usage("pki.invalid", "'\(c.ca)' is not a PEM CA certificate (\(error)).") }
        if tls.certificateChain.isEmpty { throw ChaosError.usage("pki.invalid", "'\(c.certificate)' holds no certificate. \(issue)") }
        tls.certificateVerification = .fullVerification
        tls.minimumTLSVersion = .tlsv12
        return tls
    }
}

/// One HTTP client (a connection pool) shared by the agents of a command.
final class HTTPAgentSession: AgentSession {
    let client: HTTPClient
    let epoch: (@Sendable () -> UInt64?)?
    init(client: HTTPClient, epoch: (@Sendable () -> UInt64?)? = nil) { self.client = client; self.epoch = epoch }

    func agent(url: String, hostName: String) throws(ChaosError) -> any AgentClient {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        guard let parsed = URL(string: base), let scheme = parsed.scheme, ["https", "http"].contains(scheme), parsed.host != nil else {
            throw .usage("inventory.badAgent", "Host '\(hostName)' has agent '\(url)', which is not an https:// URL (e.g. https://10.0.0.11:7433). Fix 'agent' in the inventory.")
        }
        return HTTPAgentClient(client: client, base: base, hostName: hostName, epoch: epoch)
    }

    func close() async { try? await client.shutdown() }
}

/// One agent over HTTPS.
struct HTTPAgentClient: AgentClient {
    let client: HTTPClient
    let base: String
    let hostName: String
    var epoch: (@Sendable () -> UInt64?)? = nil

    /// The largest response read.
    static let maxResponse = 16 << 20

    func health() async throws(ChaosError) -> AgentHealth { try await call(.GET, "/v1/health") }
    func faults(all: Bool) async throws(ChaosError) -> [AgentFault] { try await call(.GET, "/v1/faults" + (all ? "?all=true" : "")) }
    func fault(_ id: String) async throws(ChaosError) -> AgentFault { try await call(.GET, "/v1/faults/" + Self.escape(id)) }
    func inject(_ request: InjectRequest) async throws(ChaosError) -> AgentFault {
        try await call(.POST, "/v1/faults", body: try encode(request), timeout: .seconds(120), fenced: true)
    }
    func revert(_ id: String) async throws(ChaosError) -> AgentFault {
        try await call(.DELETE, "/v1/faults/" + Self.escape(id), timeout: .seconds(120))
    }
    func renew(_ id: String, lease: ChaosDuration) async throws(ChaosError) -> AgentFault {
        try await call(.POST, "/v1/faults/\(Self.escape(id))/renew", body: try encode(["lease": lease.description]), fenced: true)
    }
    func halt(reason: String) async throws(ChaosError) -> AgentHaltResult {
        try await call(.POST, "/v1/halt", body: try encode(["reason": reason]), timeout: .seconds(300))
    }
    func resume() async throws(ChaosError) {
        struct Resumed: Decodable { var halted: Bool }
        let _: Resumed = try await call(.POST, "/v1/resume", body: Data("{}".utf8))
    }
    func preview(_ request: InjectRequest) async throws(ChaosError) -> AgentPreview {
        try await call(.POST, "/v1/preview", body: try encode(request))
    }
    func discovery() async throws(ChaosError) -> HostDiscovery { try await call(.GET, "/v1/discovery", timeout: .seconds(60)) }
    func watchDiscovery(for duration: ChaosDuration, every: ChaosDuration) async throws(ChaosError) -> DiscoveryWatchStatus {
        try await call(.POST, "/v1/discovery/watch", body: try encode(["for": duration.description, "every": every.description]))
    }

    func fence() async throws(ChaosError) -> UInt64 {
        let answer: FenceAnswer = try await call(.POST, "/v1/fence", body: Data("{}".utf8), timeout: .seconds(5), fenced: true)
        return answer.epoch
    }

    static func escape(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? id
    }

    func encode<T: Encodable>(_ value: T) throws(ChaosError) -> Data {
        do { return try JSONEncoder().encode(value) } catch {
            throw .internalError("agent.protocol", "Could not encode the request for \(hostName): \(error).")
        }
    }

    /// Sends one request and decodes the answer, or the agent's error.
    /// - Parameter fenced: sends the controller's epoch, if it has one (inject and renew).
    func call<T: Decodable>(_ method: HTTPMethod, _ path: String, body: Data? = nil, timeout: TimeAmount = .seconds(15), fenced: Bool = false) async throws(ChaosError) -> T {
        let status: HTTPResponseStatus
        let data: Data
        let headers = fenced ? (epoch?()).map { ["chaos-controller-epoch": String($0)] } ?? [:] : [:]
        do { (status, data) = try await JSONExchange.send(client, url: base + path, method: method, body: body, timeout: timeout, maxResponse: Self.maxResponse, headers: headers) } catch {
            throw unreachable(error)
        }
        guard (200..<300).contains(Int(status.code)) else {
            if let e = try? JSONDecoder().decode(AgentErrorBody.self, from: data) {
                let kind: ChaosError.ExitKind = status.code == 400 ? .usage : .failed
                throw ChaosError(e.error.code, "\(hostName): \(e.error.message)", exit: kind)
            }
            throw ChaosError("agent.protocol", "\(hostName): the agent at \(base) answered \(status.code) \(status.reasonPhrase) to \(method) \(path) without an error body. Is this a chaos agent?")
        }
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw ChaosError("agent.protocol", "\(hostName): the agent at \(base) sent an answer to \(method) \(path) that chaos cannot read (\(error)). Are the agent and this chaos the same version?")
        }
    }

    func unreachable(_ error: any Error) -> ChaosError {
        if error is NIOSSLError || error is BoringSSLError || "\(error)".contains("SSL") {
            return ChaosError("agent.tls", "\(hostName): the TLS handshake with \(base) failed (\(error)). The agent's certificate must chain to your CA and name this address (SAN), and the agent must accept your certificate; check both with 'chaos certs verify'.")
        }
        if let e = error as? HTTPClientError, e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
            return ChaosError("agent.timeout", "\(hostName): the agent at \(base) did not answer in time (\(e)). Is the host reachable from here, and is the agent up ('systemctl status chaos-agent')?")
        }
        return ChaosError("agent.unreachable", "\(hostName): cannot reach the agent at \(base) (\(error)). Is it running ('systemctl status chaos-agent'), and can this host reach its port?")
    }
}

extension HTTPAgentConnector: ControllerConnector {
    public func call(base: String, method: String, path: String, json: Data?, credentials: ClientCredentials?, ca: String, token: String?) async throws(ChaosError) -> Data {
        var tls: TLSConfiguration
        if let credentials { tls = try Self.tlsConfiguration(credentials) } else {
            tls = TLSConfiguration.makeClientConfiguration()
            let caPEM = try PKIFiles.readText(ca, hint: "The controller's certificate is checked against the chaos CA: pass --pki-dir DIR holding ca.pem.")
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8))) } catch {
                throw ChaosError.usage("pki.invalid", "'\(ca)' is not a PEM CA certificate (\(error)).")
            }
            tls.certificateVerification = .fullVerification
            tls.minimumTLSVersion = .tlsv12
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                                                                          timeout: .init(connect: .seconds(3), read: .seconds(30))))
        defer { Task { try? await client.shutdown() } }
        var b = base
        while b.hasSuffix("/") { b.removeLast() }
        let status: HTTPResponseStatus
        let data: Data
        do {
            (status, data) = try await JSONExchange.send(client, url: b + path, method: HTTPMethod(rawValue: method), body: json, timeout: .seconds(30),
                                                         maxResponse: 16 << 20, headers: token.map { ["authorization": "Bearer \($0)"] } ?? [:])
        } catch {
            throw ChaosError("controller.unreachable", "Cannot reach the controller at \(b) (\(error)). Is it running with an 'api' section, and does its certificate name this address?")
        }
        guard (200..<300).contains(Int(status.code)) else {
            struct Body: Decodable { struct E: Decodable { var code: String; var message: String }; var error: E }
            if let e = try? JSONDecoder().decode(Body.self, from: data) { throw ChaosError(e.error.code, "The controller refused: \(e.error.message)") }
            throw ChaosError("controller.protocol", "The controller at \(b) answered \(status.code) to \(method) \(path).")
        }
        return data
    }
}

/// One JSON request and its whole answer (status and body), for the agent and controller clients.
enum JSONExchange {
    static func send(_ client: HTTPClient, url: String, method: HTTPMethod, body: Data?, timeout: TimeAmount, maxResponse: Int,
                     headers: [String: String] = [:]) async throws -> (HTTPResponseStatus, Data) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "accept", value: "application/json")
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: timeout)
        var buffer = try await response.body.collect(upTo: maxResponse)
        return (response.status, Data(buffer.readBytes(length: buffer.readableBytes) ?? []))
    }
}
