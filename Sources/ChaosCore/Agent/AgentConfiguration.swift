import Foundation

/// How an agent runs. Every value has a default; the file (`/etc/chaos/agent.yaml`) sets some, and
/// flags override the file.
///
/// ```yaml
/// apiVersion: chaos/v1
/// kind: AgentConfig
/// name: db1                      # this host's inventory name (default: the hostname)
/// listen: {address: 0.0.0.0, port: 7433}
/// tls:
///   certificate: /etc/chaos/pki/db1.pem
///   key: /etc/chaos/pki/db1-key.pem
///   ca: /etc/chaos/pki/ca.pem    # CA bundle that client certificates must chain to
/// plaintext: false               # only allowed on a loopback address, for tests and local use
/// stateDir: /var/lib/chaos
/// lease: {default: 15s, max: 5m}
/// policy: { ... }                # see AgentPolicy
/// ```
public struct AgentConfiguration: Sendable {
    public var name: String?
    public var address: String
    public var port: Int
    public var certificate: String?
    public var key: String?
    public var ca: String?
    /// A revocation list (`chaos certs revoke`): callers whose certificate serial it names are refused.
    public var revoked: String?
    public var plaintext: Bool
    public var stateDir: String
    public var defaultLease: ChaosDuration
    public var maxLease: ChaosDuration
    public var policy: AgentPolicy
    /// How many connections at once, and how long a TLS handshake may take (the server's
    /// ConnectionLimits; not in the file).
    public var maxConnections = 512
    public var handshakeTimeout: Duration = .seconds(5)

    public init(name: String? = nil, address: String = "0.0.0.0", port: Int = 7433, certificate: String? = nil, key: String? = nil,
                ca: String? = nil, plaintext: Bool = false, stateDir: String = "/var/lib/chaos",
                defaultLease: ChaosDuration = .seconds(15), maxLease: ChaosDuration = .seconds(300), policy: AgentPolicy = AgentPolicy()) {
        self.name = name; self.address = address; self.port = port; self.certificate = certificate; self.key = key; self.ca = ca
        self.plaintext = plaintext; self.stateDir = stateDir; self.defaultLease = defaultLease; self.maxLease = maxLease; self.policy = policy
    }

    /// Why this configuration cannot run, or `nil`.
    public func problem() -> String? {
        if plaintext {
            guard ["127.0.0.1", "::1", "localhost"].contains(address) else {
                return "plaintext is only allowed on a loopback address (127.0.0.1 or ::1), not '\(address)'; configure 'tls' to listen elsewhere"
            }
            return nil
        }
        guard certificate != nil, key != nil, ca != nil else {
            return "'tls.certificate', 'tls.key' and 'tls.ca' are required (create them with 'chaos certs'), or set 'plaintext: true' with a loopback address for local use"
        }
        return nil
    }
}

extension AgentConfiguration {
    /// Reads an agent configuration file, reporting every problem like `chaos validate`.
    public static func load(_ text: String, file: String) -> (AgentConfiguration?, [Diagnostic]) {
        let sink = DiagnosticSink(file: file)
        let root: DocumentNode?
        do { root = try DocumentNode.parse(text) } catch {
            sink.report(error.location, "", error.message)
            return (nil, sink.diagnostics)
        }
        guard let root else { return (AgentConfiguration(), []) }
        let r = FieldReader(sink: sink)
        guard let m = r.mapping(root, "") else { return (nil, sink.diagnostics) }
        var c = AgentConfiguration()
        if let v = m.optional("apiVersion", { r.string($0, $1) }), v != chaosAPIVersion {
            sink.report(m.location(of: "apiVersion"), "apiVersion", "'\(v)' is not supported", hint: "use '\(chaosAPIVersion)'")
        }
        _ = m.optional("kind") { r.oneOf($0, $1, ["AgentConfig"]) }
        c.name = m.optional("name") { r.string($0, $1) }
        if let l = m.optional("listen", { r.mapping($0, $1) }) {
            c.address = l.optional("address") { r.string($0, $1) } ?? c.address
            c.port = l.optional("port") { r.int($0, $1, in: 1...65535) } ?? c.port
            l.finish()
        }
        if let t = m.optional("tls", { r.mapping($0, $1) }) {
            c.certificate = t.optional("certificate") { r.string($0, $1) }
            c.key = t.optional("key") { r.string($0, $1) }
            c.ca = t.optional("ca") { r.string($0, $1) }
            c.revoked = t.optional("revoked") { r.string($0, $1) }
            t.finish()
        }
        c.plaintext = m.optional("plaintext", r.bool) ?? false
        c.stateDir = m.optional("stateDir") { r.string($0, $1) } ?? c.stateDir
        if let l = m.optional("lease", { r.mapping($0, $1) }) {
            c.defaultLease = l.optional("default") { r.duration($0, $1, atLeast: .milliseconds(500)) } ?? c.defaultLease
            c.maxLease = l.optional("max") { r.duration($0, $1, atLeast: .milliseconds(500)) } ?? c.maxLease
            l.finish()
        }
        if let p = m.optional("policy", { r.mapping($0, $1) }) {
            var policy = AgentPolicy()
            policy.allow = p.optional("allow") { r.stringList($0, $1) } ?? policy.allow
            policy.maxDuration = p.optional("maxDuration") { r.duration($0, $1) } ?? policy.maxDuration
            if let md = p.optional("maxDurations", { r.mapping($0, $1) }) {
                for key in md.keys { if let d = md.optional(key, { r.duration($0, $1) }) { policy.maxDurations[key] = d } }
                md.finish()
            }
            policy.denyProcesses = p.optional("denyProcesses") { r.stringList($0, $1, allowEmpty: true) } ?? []
            policy.protectedPorts = p.optional("protectedPorts") { r.list($0, $1) { r.int($0, $1, in: 1...65535) } } ?? []
            if let d = p.optional("diskFill", { r.mapping($0, $1) }) {
                policy.diskFill.paths = d.optional("paths") { n, path in
                    r.list(n, path) { item, ip -> String? in
                        guard let dir = r.string(item, ip) else { return nil }
                        guard let normal = PathText.normalized(dir) else {
                            r.sink.report(item.location, ip, "'\(dir)' is not an absolute path", hint: "write e.g. '/srv' or '/var/lib/redis'")
                            return nil
                        }
                        return normal
                    }
                }
                policy.diskFill.maxPercent = d.optional("maxPercent") { r.percent($0, $1, in: 1...100) } ?? 100
                d.finish()
            }
            if let perms = p.optional("permissions", { n, path in
                r.list(n, path) { item, ip -> AgentPolicy.Permission? in
                    guard let pm = r.mapping(item, ip) else { return nil }
                    let role = pm.required("role", hint: "controller, operator or agent") { r.string($0, $1) }
                    let names = pm.optional("names") { r.stringList($0, $1) }
                    let actions = pm.required("actions", hint: "e.g. [read, inject, revert]") { n2, p2 in
                        r.list(n2, p2) { a, ap in r.oneOf(a, ap, AgentPolicy.Action.allCases.map(\.rawValue)).flatMap(AgentPolicy.Action.init(rawValue:)) }
                    }
                    pm.finish()
                    guard let role, let actions else { return nil }
                    return AgentPolicy.Permission(role: role, names: names, actions: Set(actions))
                }
            }) { policy.permissions = perms }
            p.finish()
            c.policy = policy
        }
        m.finish()
        if sink.isEmpty, let why = c.problem() {
            sink.report(.start, "", why)
        }
        return (sink.isEmpty ? c : nil, sink.diagnostics)
    }
}
