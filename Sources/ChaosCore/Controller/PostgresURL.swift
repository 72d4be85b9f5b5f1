
public import Foundation

/// Where the shared store lives: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require]`,
/// or a Unix socket directory as libpq writes it: `postgres://USER@/DATABASE?host=/run/postgresql`
/// (the socket is `DIR/.s.PGSQL.PORT`). Parsed before anything connects, with an error that says
/// what to write. The password never appears in messages.
public struct PostgresURL: Hashable, Sendable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String?
    public var socketDirectory: String?
    public var port: Int
    public var database: String
    public var requireTLS: Bool

    /// The socket file when connecting through a Unix socket.
    public var socketPath: String? { socketDirectory.map { "\($0)/.s.PGSQL.\(port)" } }

    /// Without the password.
    public var description: String {
        "postgres://\(user)@\(host ?? "")\(host != nil && port != 5432 ? ":\(port)" : "")/\(database)"
            + (socketDirectory.map { "?host=\($0)\(port != 5432 ? "&port=\(port)" : "")" } ?? "")
    }

    public static func parse(_ text: String) throws(ChaosError) -> PostgresURL {
        let example = "write e.g. 'postgres://chaos:secret@db.example:5432/chaos' or 'postgres://chaos@/chaos?host=/run/postgresql'"
        guard let c = URLComponents(string: text), c.scheme == "postgres" || c.scheme == "postgresql" else {
            throw .usage("store.url", "'\(Self.redacted(text))' is not a PostgreSQL URL: \(example).")
        }
        let database = String(c.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw .usage("store.url", "The PostgreSQL URL names no database: \(example).") }
        guard let user = c.user, !user.isEmpty else { throw .usage("store.url", "The PostgreSQL URL names no user: \(example).") }
        if let p = c.port, !(1...65535).contains(p) { throw .usage("store.url", "The port of the PostgreSQL URL must be 1-65535.") }
        var url = PostgresURL(user: user, password: c.password, host: nil, socketDirectory: nil, port: c.port ?? 5432, database: database, requireTLS: false)
        for item in c.queryItems ?? [] {
            switch item.name {
            case "host":
                guard let dir = item.value, dir.hasPrefix("/") else { throw .usage("store.url", "'host=' in the PostgreSQL URL must be a socket directory such as /run/postgresql.") }
                url.socketDirectory = dir
            case "port":
                guard let p = item.value.flatMap(Int.init), (1...65535).contains(p) else { throw .usage("store.url", "'port=' in the PostgreSQL URL must be 1-65535.") }
                url.port = p
            case "sslmode":
                switch item.value {
                case "disable": url.requireTLS = false
                case "require", "verify-full": url.requireTLS = true
                default: throw .usage("store.url", "sslmode must be disable, require or verify-full.")
                }
            default:
                throw .usage("store.url", "Unknown parameter '\(item.name)' in the PostgreSQL URL; known: host, port, sslmode.")
            }
        }
        if url.socketDirectory == nil {
            guard let host = c.host, !host.isEmpty else { throw .usage("store.url", "The PostgreSQL URL names no host: \(example).") }
            url.host = host
        }
        return url
    }

    /// The URL with its password replaced, for messages.
    public static func redacted(_ text: String) -> String {
        guard var c = URLComponents(string: text), c.password != nil else { return text }
        c.password = "***"
        return c.string ?? "(a URL)"
    }
}
