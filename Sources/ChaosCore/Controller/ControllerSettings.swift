/// What a caller of the controller's API and dashboard may do. Each role may do everything the roles
/// before it may.
///
/// | role | may |
/// |---|---|
/// | `viewer` | read: the overview, runs, the audit log, the dashboard's pages, `/metrics` |
/// | `operator` | a viewer's reads, and halt and resume every agent |
/// | `admin` | an operator's actions, and the administrative ones (none exist yet) |
///
/// A certificate or token with no role configured is a `viewer`: the controller acts on the agents
/// with its own certificate, so only what controller.yaml grants is let through.
public enum ControllerRole: String, Hashable, Sendable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    case viewer
    case `operator`
    case admin

    public var description: String { rawValue }

    public static func < (a: ControllerRole, b: ControllerRole) -> Bool { a.rank < b.rank }

    private var rank: Int {
        switch self {
        case .viewer: return 0
        case .operator: return 1
        case .admin: return 2
        }
    }
}

/// How the controller's API and dashboard listen and whom they let in.
public struct ControllerAPISettings: Hashable, Sendable {
    /// An API token: its name (recorded as "who" in the audit log), the SHA-256 of the secret (hex),
    /// its role and when it stops being accepted. The controller never stores the secret itself.
    public struct Token: Hashable, Sendable {
        public var name: String
        public var sha256: String
        /// `viewer` unless configured.
        public var role: ControllerRole
        /// Milliseconds since the epoch after which the token is refused; `nil`: it does not expire.
        public var expiresAt: Int64?
        public init(name: String, sha256: String, role: ControllerRole = .viewer, expiresAt: Int64? = nil) {
            self.name = name; self.sha256 = sha256; self.role = role; self.expiresAt = expiresAt
        }
    }

    /// The role of a client certificate of the chaos CA, by its name (CN). Certificates not listed are
    /// viewers.
    public struct Grant: Hashable, Sendable {
        public var certificate: String
        public var role: ControllerRole
        public init(certificate: String, role: ControllerRole) { self.certificate = certificate; self.role = role }
    }

    public var address: String
    public var port: Int
    /// Plain HTTP, only on a loopback address (for a local reverse proxy or tests).
    public var plaintext: Bool
    /// PEM files: the controller's certificate and key, and the CA whose certificates are let in.
    public var certificate: String
    public var key: String
    public var ca: String
    /// A revocation list (`chaos certs revoke`): certificates whose serial it names are refused.
    public var revoked: String?
    /// How often the CA bundle and the revocation list are checked for a change (not configurable in
    /// controller.yaml; tests shorten it).
    public var trustCheckInterval: Duration = .seconds(30)
    public var tokens: [Token]
    /// Roles of certificates by name (`api.access`).
    public var access: [Grant]
    /// How long a dashboard sign-in lasts (never beyond its token's expiry).
    public var sessionLifetime: ChaosDuration
    /// At most this many dashboard sessions are kept; signing in beyond it ends the oldest.
    public var maxSessions: Int
    /// Shown in page titles.
    public var name: String

    public init(address: String, port: Int, plaintext: Bool = false, certificate: String, key: String, ca: String, tokens: [Token] = [],
                access: [Grant] = [], sessionLifetime: ChaosDuration = .seconds(12 * 3600), maxSessions: Int = 10_000, name: String = "chaos",
                revoked: String? = nil) {
        self.address = address; self.port = port; self.plaintext = plaintext; self.revoked = revoked
        self.certificate = certificate; self.key = key; self.ca = ca; self.tokens = tokens; self.access = access
        self.sessionLifetime = sessionLifetime; self.maxSessions = maxSessions; self.name = name
    }

    /// The role of the certificate named `name`: its grant, else `viewer`.
    public func role(ofCertificate name: String) -> ControllerRole {
        access.first { $0.certificate == name }?.role ?? .viewer
    }
}

/// A webhook: where the controller posts run starts, verdicts and halts.
public struct WebhookSpec: Hashable, Sendable {
    public enum Format: String, Hashable, Sendable, CaseIterable {
        /// The ``ControllerEvent`` as JSON.
        case json
        /// `{"text": "..."}`, which Slack's (and Mattermost's) incoming webhooks take.
        case slack
    }
    public var url: String
    public var format: Format
    /// Which events (all when empty).
    public var events: Set<ControllerEvent.Kind>
    public init(url: String, format: Format = .json, events: Set<ControllerEvent.Kind> = []) { self.url = url; self.format = format; self.events = events }

    public func wants(_ kind: ControllerEvent.Kind) -> Bool { events.isEmpty || events.contains(kind) }
}
