import ChaosCore
import ChaosPKI
import ChaosPOSIX
import Foundation
import Glibc
import X509

/// HTTPS for enrolment, which only `chaos-remote` links (NIO, TLS): a small server, and one request.
public struct EnrolmentTransport: Sendable {
    /// Answers a request: method, path, body, the peer's address → status and body (JSON).
    public typealias Handler = @Sendable (_ method: String, _ path: String, _ body: [UInt8], _ peer: String) async -> (status: Int, body: [UInt8])
    /// Serves HTTPS with this certificate and key until SIGINT/SIGTERM; calls `listening` with the port once bound.
    public var serve: @Sendable (_ address: String, _ port: Int, _ certificatePEM: String, _ keyPEM: String,
                                 _ handler: @escaping Handler, _ listening: @escaping @Sendable (Int) -> Void) async throws(ChaosError) -> Void
    /// One request (GET without a body, POST with one) to `url`; `trustedCA` nil: no check of the server
    /// (only to fetch the CA, which the caller then checks against its pin), else the server must chain to
    /// it and match the URL's host.
    public var fetch: @Sendable (_ url: String, _ body: [UInt8]?, _ trustedCA: String?) async throws(ChaosError) -> (status: Int, body: [UInt8])

    public init(serve: @escaping @Sendable (_ address: String, _ port: Int, _ certificatePEM: String, _ keyPEM: String,
                                            _ handler: @escaping Handler, _ listening: @escaping @Sendable (Int) -> Void) async throws(ChaosError) -> Void,
                fetch: @escaping @Sendable (_ url: String, _ body: [UInt8]?, _ trustedCA: String?) async throws(ChaosError) -> (status: Int, body: [UInt8])) {
        self.serve = serve; self.fetch = fetch
    }
}

/// `chaos certs serve` and `chaos certs enrol`: the two ends of enrolment with a join token.
enum EnrolmentService {
    // MARK: The server (CA host)

    static func serve(listen: String, sans: [String], pkiDir: String) async throws(ChaosError) {
        let transport = try RemoteServices.enrolment()
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw ChaosError.usage("pki.usage", "--listen takes address:port, e.g. 0.0.0.0:7435; got '\(listen)'.")
        }
        let address = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let ca = try CertificateAuthority.load(directory: pkiDir)
        let tokens = JoinTokenStore(directory: pkiDir)
        // Its own certificate: from the CA, for a day, for the names hosts reach it by.
        let names = sans.isEmpty ? defaultNames() : sans
        let own = try ca.issue(try CertificateRequest(role: .controller, name: CertificateRequest.controllerName, subjectAlternativeNames: names), days: 1)
        let caPEM = try ca.certificatePEM()
        let handler: EnrolmentTransport.Handler = { method, path, body, peer in
            switch (method, path) {
            case ("GET", "/v1/ca"):
                return (200, Array(caPEM.utf8))
            case ("POST", "/v1/enrol"):
                guard let request = try? JSONDecoder().decode(Enrolment.Request.self, from: Data(body)) else {
                    return (400, errorBody("The body must be JSON {\"id\", \"secret\", \"csr\"} as 'chaos certs enrol' sends it."))
                }
                switch Enrolment.answer(request, ca: ca, tokens: tokens) {
                case .success(let (response, entry)):
                    Console.err("enrolled \(entry.host) (token \(entry.id)) from \(peer); certificate valid until \(response.notValidAfter)")
                    return (200, (try? JSONEncoder().encode(response)).map(Array.init) ?? [])
                case .failure(let refusal):
                    Console.err("refused an enrolment from \(peer): \(refusal.detail)")
                    return (refusal.status, errorBody(refusal.message))
                }
            default:
                return (404, errorBody("Not found: enrolment serves GET /v1/ca and POST /v1/enrol."))
            }
        }
        try await transport.serve(address, port, own.certificatePEM, own.privateKeyPEM, handler) { bound in
            Console.err("""
            Serving enrolment on https://\(listen.hasPrefix("0.0.0.0") ? names.first ?? address : address):\(bound) (names: \(names.joined(separator: ", "))).
            CA SHA-256: \(ca.pin)
            On each host: chaos certs enrol --token TOKEN --server \(names.first ?? address):\(bound)   (Ctrl-C here when done)
            """)
        }
    }

    static func errorBody(_ message: String) -> [UInt8] {
        Array(((try? JSONEncoder().encode(["error": message])).map { String(decoding: $0, as: UTF8.self) } ?? "{}").utf8)
    }

    /// This host's name, its IPv4 and IPv6 addresses (not link-local), `localhost` and 127.0.0.1.
    static func defaultNames() -> [String] {
        var names: [String] = []
        if let host = localHostName()?.lowercased(), SubjectAlternativeName.isDNSName(host) { names.append(host) }
        names.append("localhost")
        var list: UnsafeMutablePointer<ifaddrs>?
        if getifaddrs(&list) == 0, let first = list {
            var p: UnsafeMutablePointer<ifaddrs>? = first
            while let entry = p {
                defer { p = entry.pointee.ifa_next }
                guard let sa = entry.pointee.ifa_addr else { continue }
                var bytes: [UInt8] = []
                if sa.pointee.sa_family == sa_family_t(AF_INET) {
                    sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in bytes = withUnsafeBytes(of: sin.pointee.sin_addr) { Array($0) } }
                } else if sa.pointee.sa_family == sa_family_t(AF_INET6) {
                    sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin in bytes = withUnsafeBytes(of: sin.pointee.sin6_addr) { Array($0) } }
                    if bytes.count == 16 && bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80 { continue }
                }
                if let text = SubjectAlternativeName.ipText(bytes), !names.contains(text) { names.append(text) }
            }
            freeifaddrs(first)
        }
        return names
    }

    static func localHostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return nil }
        let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return host.isEmpty ? nil : host
    }

    // MARK: The host

    struct Enrolled: Encodable { var name: String; var certificate: String; var ca: String; var key: String; var keyCreated: Bool; var notValidAfter: String }

    static func enrol(token: JoinToken, server: String, configPath: String, output: OutputFormat) async throws(ChaosError) {
        let transport = try RemoteServices.enrolment()
        guard let text = POSIXFiles.readText(configPath) else {
            throw ChaosError("pki.io", "Cannot read the agent's configuration '\(configPath)'. Give it with --config FILE (it says where tls.key, tls.certificate and tls.ca go).")
        }
        let (loaded, diagnostics) = AgentConfiguration.load(text, file: configPath)
        guard let config = loaded else {
            throw ChaosError.usage("config.invalid", "'\(configPath)' is not a valid agent configuration:\n" + diagnostics.map(\.description).joined(separator: "\n"))
        }
        guard let certPath = config.certificate, let keyPath = config.key, let caPath = config.ca else {
            throw ChaosError.usage("config.invalid", "'\(configPath)' names no 'tls.certificate', 'tls.key' and 'tls.ca': enrolment writes them there.")
        }
        let base = server.hasPrefix("https://") ? String(server.dropFirst(8)) : server
        guard !base.isEmpty, !base.contains("/") else { throw ChaosError.usage("pki.usage", "--server takes host:port of 'chaos certs serve', e.g. ca.staging:7435.") }
        let url = "https://" + (base.contains(":") && !base.hasSuffix("]") ? base : "\(base):\(CertsServeCommand.defaultPort)")

        // 1. The CA, accepted only if it is the one the token pins.
        let (caStatus, caBody) = try await transport.fetch(url + "/v1/ca", nil, nil)
        guard caStatus == 200 else { throw ChaosError("pki.enrolment", "\(url)/v1/ca answered \(caStatus); is 'chaos certs serve' running there?") }
        let caPEM = String(decoding: caBody, as: UTF8.self)
        let ca = try PKIFiles.certificates(inPEM: caPEM, source: "the CA from \(url)")[0]
        guard PKIFormat.pin(ca) == token.caPin else {
            throw ChaosError("pki.enrolment", "The CA at \(url) (SHA-256 \(PKIFormat.pin(ca).prefix(16))…) is not the one in the token (\(token.caPin.prefix(16))…). Nothing was sent or written. Check --server.")
        }
        // 2. This host's key (made here if missing) and its CSR; only the CSR and the token travel.
        let (key, created) = try SigningRequest.ensureKey(at: keyPath)
        let csr = try SigningRequest.make(name: config.name ?? localHostName() ?? "agent", key: key)
        let body: [UInt8]
        do { body = Array(try JSONEncoder().encode(Enrolment.Request(token: token, csr: csr))) } catch { throw ChaosError.internalError("internal.encode", "\(error)") }
        let (status, answer) = try await transport.fetch(url + "/v1/enrol", body, caPEM)
        guard status == 200 else {
            let message = (try? JSONDecoder().decode([String: String].self, from: Data(answer)))?["error"] ?? String(decoding: answer.prefix(300), as: UTF8.self)
            throw ChaosError("pki.enrolment", "Enrolment refused (\(status)): \(message)")
        }
        let response: Enrolment.Response
        do { response = try JSONDecoder().decode(Enrolment.Response.self, from: Data(answer)) } catch {
            throw ChaosError("pki.enrolment", "The enrolment server's answer is not what 'chaos certs serve' sends: \(error).")
        }
        // 3. Checked before anything is written: the pinned CA, this key, the chain, the role.
        _ = try await Enrolment.check(response, pin: token.caPin, key: key)
        try PKIFiles.write(response.ca, to: caPath, mode: PKIFiles.certificateMode, force: true)
        try PKIFiles.write(response.certificate, to: certPath, mode: PKIFiles.certificateMode, force: true)
        let result = Enrolled(name: response.name, certificate: certPath, ca: caPath, key: keyPath, keyCreated: created, notValidAfter: response.notValidAfter)
        if output == .json { Console.json(result); return }
        Console.out("""
        Enrolled as '\(response.name)': certificate \(certPath) (valid until \(response.notValidAfter)), CA \(caPath), key \(keyPath)\(created ? " (made now)" : "") — the key never left this host.
        Next: systemctl start chaos-agent   (or, to renew a running agent without reverting its faults: systemctl reload chaos-agent)
        """)
    }
}
