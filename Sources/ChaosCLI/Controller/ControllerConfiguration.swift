import ChaosCore
import ChaosPOSIX
import ChaosRun
import Foundation

/// How the controller runs (`/etc/chaos/controller.yaml`). Every value but the inventory has a default.
///
/// ```yaml
/// apiVersion: chaos/v1
/// kind: ControllerConfig
/// experiments: /etc/chaos/experiments   # a directory, searched for *.yaml and *.json, reloaded on change
/// inventory: /etc/chaos/inventory.yaml  # the hosts, their agents, targets and groups
/// stateDir: /var/lib/chaos-controller   # the store (STATE_DIR/runs: runs, fires, verdict log)
/// identity: {name: controller, pkiDir: /etc/chaos/pki}   # its certificate for the agents
/// schedule:
///   seed: 20261129     # of the Chaos-Monkey draws (chaos schedule preview --seed shows them)
///   grace: 5m          # a fire missed by longer (controller down) is recorded as missed, not run late
///   tick: 10s          # how often the controller looks at the clock
/// gate: 5s             # steady state observed before each fault
/// api:                 # the API and dashboard (off without this section)
///   listen: 0.0.0.0:7434
///   access:            # roles of operators' certificates by name (CN); unlisted: viewer
///     - {certificate: alice, role: operator}   # viewer (read), operator (+ halt, resume), admin
///   tokens:            # `chaos controller token --name bob --role viewer --expires 90d` makes one
///     - {name: bob, sha256: 5e88..., role: viewer, expires: "2027-01-31T00:00:00Z"}
///   sessionLifetime: 12h   # a dashboard sign-in lasts this long (at most until its token expires)
///   # tls: {certificate, key, ca} default to the identity's files; plaintext: true (loopback only)
/// notify:              # webhooks on run start, verdict, halt and resume
///   - {url: https://hooks.slack.com/services/..., format: slack, events: [run.verdict, halt]}
/// store:               # share a PostgreSQL store with other controllers: one leads, the others stand by
///   postgres: postgres://chaos@db.example:5432/chaos
///   passwordFile: /etc/chaos/postgres-password   # or the password in the URL
///   lease: 15s         # a dead leader is replaced within this (renewed every third of it)
/// ```
struct ControllerConfiguration: Sendable {
    var experiments = "/etc/chaos/experiments"
    var inventory = ""
    var stateDir = "/var/lib/chaos-controller"
    var identity = "controller"
    var pkiDir = "/etc/chaos/pki"
    var seed: UInt64 = 0
    var grace: ChaosDuration = .seconds(300)
    var tick: ChaosDuration = .seconds(10)
    var gate: ChaosDuration = .seconds(5)
    var api: API?
    var notify: [WebhookSpec] = []
    var store: Store?

    /// The `store` section: a PostgreSQL store shared by several controllers.
    struct Store: Sendable {
        var url: String
        var passwordFile: String?
        var lease: ChaosDuration = .seconds(15)
    }

    /// The `api` section; TLS files default to the controller's identity.
    struct API: Sendable {
        var address = "0.0.0.0"
        var port = 7434
        var plaintext = false
        var certificate: String?
        var key: String?
        var ca: String?
        var revoked: String?
        var tokens: [ControllerAPISettings.Token] = []
        var access: [ControllerAPISettings.Grant] = []
        var sessionLifetime: ChaosDuration = .seconds(12 * 3600)
    }

    static let roles = ControllerRole.allCases.map(\.rawValue)

    /// `expires` of a token: a date (`2027-01-31`, midnight UTC) or a date-time (`2027-01-31T00:00:00Z`;
    /// UTC unless an offset is written), as milliseconds since the epoch.
    static func expiry(_ text: String) -> Int64? {
        guard let seconds = CalendarText.instant(text, timeZone: "UTC"), seconds.isFinite, abs(seconds) < 1e14 else { return nil }
        return Int64((seconds * 1000).rounded())
    }

    var storeDir: String { stateDir + "/runs" }

    /// The configuration as the controller (ChaosRun) takes it; the API's TLS files default to the
    /// controller's identity.
    var settings: ControllerSettings {
        ControllerSettings(experiments: experiments, inventory: inventory, storeDir: storeDir, seed: seed, grace: grace, tick: tick, gate: gate,
                           api: api.map { api in
                               ControllerAPISettings(address: api.address, port: api.port, plaintext: api.plaintext,
                                                     certificate: api.certificate ?? "\(pkiDir)/\(identity).pem", key: api.key ?? "\(pkiDir)/\(identity)-key.pem",
                                                     ca: api.ca ?? "\(pkiDir)/ca.pem", tokens: api.tokens, access: api.access,
                                                     sessionLifetime: api.sessionLifetime, name: identity, revoked: api.revoked)
                           },
                           notify: notify, shared: store.map { SharedStoreSettings(url: $0.url, lease: $0.lease) }, name: identity)
    }

    /// `HOST:PORT` or `[V6]:PORT`.
    static func listen(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    /// Reads a configuration, reporting every problem with its line and column, like `chaos validate`.
    static func load(_ text: String, file: String) -> (ControllerConfiguration?, [Diagnostic]) {
        let sink = DiagnosticSink(file: file)
        let root: DocumentNode?
        do { root = try DocumentNode.parse(text) } catch {
            sink.report(error.location, "", error.message)
            return (nil, sink.diagnostics)
        }
        guard let root else {
            sink.report(.start, "", "the file is empty", hint: "give at least 'inventory: /etc/chaos/inventory.yaml'")
            return (nil, sink.diagnostics)
        }
        let r = FieldReader(sink: sink)
        guard let m = r.mapping(root, "") else { return (nil, sink.diagnostics) }
        var c = ControllerConfiguration()
        if let v = m.optional("apiVersion", { r.string($0, $1) }), v != chaosAPIVersion {
            sink.report(m.location(of: "apiVersion"), "apiVersion", "'\(v)' is not supported", hint: "use '\(chaosAPIVersion)'")
        }
        _ = m.optional("kind") { r.oneOf($0, $1, ["ControllerConfig"]) }
        c.experiments = m.optional("experiments") { r.string($0, $1) } ?? c.experiments
        c.inventory = m.required("inventory", hint: "add e.g. 'inventory: /etc/chaos/inventory.yaml'") { r.string($0, $1) } ?? ""
        c.stateDir = m.optional("stateDir") { r.string($0, $1) } ?? c.stateDir
        if let i = m.optional("identity", { r.mapping($0, $1) }) {
            c.identity = i.optional("name") { r.string($0, $1) } ?? c.identity
            c.pkiDir = i.optional("pkiDir") { r.string($0, $1) } ?? c.pkiDir
            i.finish()
        }
        if let s = m.optional("schedule", { r.mapping($0, $1) }) {
            c.seed = s.optional("seed") { r.int($0, $1, in: 0...Int.max) }.map { UInt64($0) } ?? c.seed
            c.grace = s.optional("grace") { r.duration($0, $1, atLeast: .seconds(1)) } ?? c.grace
            c.tick = s.optional("tick") { r.duration($0, $1, atLeast: .milliseconds(200)) } ?? c.tick
            s.finish()
        }
        c.gate = m.optional("gate") { r.duration($0, $1, atLeast: .milliseconds(500)) } ?? c.gate
        if let a = m.optional("api", { r.mapping($0, $1) }) {
            var api = API()
            if let listen = a.optional("listen", { r.string($0, $1) }) {
                if let (host, port) = Self.listen(listen) { api.address = host; api.port = port } else {
                    sink.report(a.location(of: "listen"), "api.listen", "'\(listen)' is not ADDRESS:PORT", hint: "e.g. '0.0.0.0:7434' or '[::1]:7434'")
                }
            }
            api.plaintext = a.optional("plaintext") { r.bool($0, $1) } ?? false
            if let t = a.optional("tls", { r.mapping($0, $1) }) {
                api.certificate = t.optional("certificate") { r.string($0, $1) }
                api.key = t.optional("key") { r.string($0, $1) }
                api.ca = t.optional("ca") { r.string($0, $1) }
                api.revoked = t.optional("revoked") { r.string($0, $1) }
                t.finish()
            }
            api.tokens = a.optional("tokens") { node, path in
                r.list(node, path) { item, itemPath -> ControllerAPISettings.Token? in
                    guard let t = r.mapping(item, itemPath) else { return nil }
                    let name = t.required("name", hint: "who holds the token, for the audit log") { r.string($0, $1) }
                    let hash = t.required("sha256", hint: "the token's SHA-256 in hex ('chaos controller token' prints one)") { r.string($0, $1) }
                    if let h = hash, h.count != 64 || !h.allSatisfy(\.isHexDigit) {
                        sink.report(t.location(of: "sha256"), itemPath + ".sha256", "not a SHA-256 in hex (64 hex digits)", hint: "run 'chaos controller token --name NAME'")
                    }
                    let role = t.optional("role") { r.oneOf($0, $1, Self.roles) }.flatMap(ControllerRole.init) ?? .viewer
                    var expires: Int64?
                    if let text = t.optional("expires", { r.string($0, $1) }) {
                        expires = Self.expiry(text)
                        if expires == nil {
                            sink.report(t.valueLocation(of: "expires"), itemPath + ".expires", "'\(text)' is not a date or date-time",
                                        hint: "write e.g. '2027-01-31T00:00:00Z' or '2027-01-31' (UTC), or leave 'expires' out for a token that does not expire")
                        }
                    }
                    t.finish()
                    guard let name, let hash else { return nil }
                    return ControllerAPISettings.Token(name: name, sha256: hash.lowercased(), role: role, expiresAt: expires)
                }
            } ?? []
            var granted: Set<String> = []
            api.access = a.optional("access") { node, path in
                r.list(node, path) { item, itemPath -> ControllerAPISettings.Grant? in
                    guard let g = r.mapping(item, itemPath) else { return nil }
                    let name = g.required("certificate", hint: "the name (CN) of an operator's certificate, e.g. 'alice' ('chaos certs issue --operator alice')") { r.string($0, $1) }
                    let role = g.required("role", hint: "one of \(Self.roles.joined(separator: ", "))") { r.oneOf($0, $1, Self.roles) }.flatMap(ControllerRole.init)
                    g.finish()
                    if let name, !granted.insert(name).inserted {
                        sink.report(g.valueLocation(of: "certificate"), itemPath + ".certificate", "'\(name)' is listed twice",
                                    hint: "give each certificate one entry with the role it needs")
                        return nil
                    }
                    guard let name, let role else { return nil }
                    return ControllerAPISettings.Grant(certificate: name, role: role)
                }
            } ?? []
            api.sessionLifetime = a.optional("sessionLifetime") { r.duration($0, $1, atLeast: .seconds(60)) } ?? api.sessionLifetime
            a.finish()
            if api.plaintext && !(api.address.hasPrefix("127.") || api.address == "::1" || api.address == "localhost") {
                sink.report(a.location(of: "plaintext"), "api.plaintext", "plain HTTP is allowed on a loopback address only", hint: "listen on 127.0.0.1 behind a proxy, or remove 'plaintext' (TLS)")
            }
            c.api = api
        }
        c.notify = m.optional("notify") { node, path in
            r.list(node, path) { item, itemPath -> WebhookSpec? in
                guard let h = r.mapping(item, itemPath) else { return nil }
                let url = h.required("url", hint: "the webhook's URL, e.g. https://hooks.slack.com/services/...") { r.string($0, $1) }
                if let u = url, !(u.hasPrefix("https://") || u.hasPrefix("http://")) {
                    sink.report(h.location(of: "url"), itemPath + ".url", "'\(u)' is not an http(s) URL", hint: "e.g. https://hooks.example.com/chaos")
                }
                let format = h.optional("format") { r.oneOf($0, $1, WebhookSpec.Format.allCases.map(\.rawValue)) }.flatMap(WebhookSpec.Format.init) ?? .json
                let events = h.optional("events") { node, p in
                    r.list(node, p) { e, ep in r.oneOf(e, ep, ["run.started", "run.verdict", "halt", "resume"]).flatMap(ControllerEvent.Kind.init) }
                } ?? []
                h.finish()
                return url.map { WebhookSpec(url: $0, format: format, events: Set(events)) }
            }
        } ?? []
        if let st = m.optional("store", { r.mapping($0, $1) }) {
            let url = st.required("postgres", hint: "the PostgreSQL URL the controllers share, e.g. postgres://chaos@db.example:5432/chaos") { r.string($0, $1) }
            if let url {
                do throws(ChaosError) { _ = try PostgresURL.parse(url) } catch {
                    sink.report(st.valueLocation(of: "postgres"), "store.postgres", error.message)
                }
            }
            let passwordFile = st.optional("passwordFile") { r.string($0, $1) }
            let lease = st.optional("lease") { r.duration($0, $1, atLeast: .seconds(2)) } ?? .seconds(15)
            if lease.milliseconds > 600_000 {
                sink.report(st.valueLocation(of: "lease"), "store.lease", "a lease of \(lease) leaves fires unrun that long after a leader dies", hint: "use 5s to 60s")
            }
            st.finish()
            if let url { c.store = Store(url: url, passwordFile: passwordFile, lease: lease) }
        }
        m.finish()
        return (sink.isEmpty ? c : nil, sink.diagnostics)
    }
}

extension ControllerConfiguration {
    /// ``settings`` with the PostgreSQL password read from `store.passwordFile`.
    /// Under a systemd unit with `LoadCredential=`, every file it names may come from `$CREDENTIALS_DIRECTORY`
    /// (``SystemdCredentials``): the key stays root-only while the controller runs as a dynamic user.
    func settingsWithSecrets() throws(ChaosError) -> ControllerSettings {
        var s = settings
        if var api = s.api {
            api.certificate = SystemdCredentials.resolve(api.certificate)
            api.key = SystemdCredentials.resolve(api.key)
            api.ca = SystemdCredentials.resolve(api.ca)
            api.revoked = api.revoked.map { SystemdCredentials.resolve($0) }
            s.api = api
        }
        if let file = store?.passwordFile.map({ SystemdCredentials.resolve($0) }) {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw .usage("controller.badConfig", "Cannot read the PostgreSQL password file '\(file)' (store.passwordFile). Check that it exists and that this user may read it.")
            }
            s.shared?.password = text.trimmingCharacters(in: .newlines)
        }
        return s
    }
}
