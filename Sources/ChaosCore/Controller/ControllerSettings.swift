/// How the controller's API and dashboard listen and whom they let in.
public struct ControllerAPISettings: Hashable, Sendable {
    /// An API token: its name (recorded as "who" in the audit log) and the SHA-256 of the secret
    /// (hex). The controller never stores the secret itself.
    public struct Token: Hashable, Sendable {
        public var name: String
        public var sha256: String
        public init(name: String, sha256: String) { self.name = name; self.sha256 = sha256 }
    }

    public var address: String
    public var port: Int
    /// Plain HTTP, only on a loopback address (for a local reverse proxy or tests).
    public var plaintext: Bool
    /// PEM files: the controller's certificate and key, and the CA whose certificates are let in.
    public var certificate: String
    public var key: String
    public var ca: String
    public var tokens: [Token]
    /// Shown in page titles.
    public var name: String

    public init(address: String, port: Int, plaintext: Bool = false, certificate: String, key: String, ca: String, tokens: [Token] = [], name: String = "chaos") {
        self.address = address; self.port = port; self.plaintext = plaintext
        self.certificate = certificate; self.key = key; self.ca = ca; self.tokens = tokens; self.name = name
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
