import Foundation
import Glibc
import Synchronization

/// A throwaway PostgreSQL 15 server for one test suite: `initdb` in a temporary directory, run as
/// the `postgres` user, listening only on a Unix socket in that directory (no TCP port, nothing
/// shared with the machine), `fsync` off. Stopped and removed by ``stop()``.
public final class PostgresLab: @unchecked Sendable {
    public static let bin = "/usr/lib/postgresql/15/bin"
    /// Why the lab cannot run here, or nil.
    public static var unavailable: String? {
        if getuid() != 0 { return "needs root (to run PostgreSQL as the postgres user)" }
        if !FileManager.default.isExecutableFile(atPath: bin + "/initdb") { return "needs PostgreSQL 15 (apt install postgresql-15)" }
        if getpwnam("postgres") == nil { return "needs the postgres user (apt install postgresql-15)" }
        return nil
    }

    public let dir: String
    public let port: Int
    /// The network namespace the server runs in, and the address it listens on there (TCP); nil:
    /// a Unix socket only.
    public let netns: String?
    public let address: String?

    /// - Parameters:
    ///   - netns: a network namespace (a NetworkLab host's) to run the server in, listening on
    ///     `address` there as well as on its socket; clients in other lab hosts reach it over TCP.
    public init(netns: String? = nil, address: String? = nil) throws {
        dir = NSTemporaryDirectory() + "chaos-pg-\(UUID().uuidString.prefix(8))"
        port = 20000 + Int.random(in: 0..<20000)
        self.netns = netns
        self.address = address
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try run(["/usr/bin/chown", "postgres:postgres", dir])
        try asPostgres(["\(Self.bin)/initdb", "-D", dir + "/data", "-A", "trust", "-U", "chaos", "--no-sync", "-E", "UTF8"])
        if address != nil {
            // Lab addresses exist only inside the lab's namespaces.
            let hba = dir + "/data/pg_hba.conf"
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: hba))
            handle.seekToEndOfFile()
            handle.write(Data("host all all 0.0.0.0/0 trust\n".utf8))
            try handle.close()
        }
        try start()
        try asPostgres(["\(Self.bin)/createdb", "-h", dir, "-p", String(port), "-U", "chaos", "chaos"])
    }

    /// One server for every test of the process that does not stop or kill it, each test in a
    /// database of its own (``freshDatabase()``); stopped when the process exits.
    public static func shared() throws -> PostgresLab {
        try sharedLab.withLock { lab in
            if let lab { return lab }
            let made = try PostgresLab()
            lab = made
            atexit { PostgresLab.sharedLab.withLock { $0?.stop() } }
            return made
        }
    }
    private static let sharedLab = Mutex<PostgresLab?>(nil)

    /// A new empty database on this server; its URL.
    public func freshDatabase() throws -> String { try freshDatabaseNamed().url }

    /// A new empty database on this server: its URL and name (for ``psql(_:database:)``).
    public func freshDatabaseNamed() throws -> (url: String, name: String) {
        let name = "t_" + UUID().uuidString.prefix(8).lowercased()
        try asPostgres(["\(Self.bin)/createdb", "-h", dir, "-p", String(port), "-U", "chaos", name])
        return ("postgres://chaos@/\(name)?host=\(dir)&port=\(port)", name)
    }

    /// `postgres://chaos@/chaos?host=DIR&port=PORT`.
    public var url: String { "postgres://chaos@/chaos?host=\(dir)&port=\(port)" }

    /// `postgres://chaos@ADDRESS:PORT/chaos` (with `address`).
    public var tcpURL: String { "postgres://chaos@\(address ?? "127.0.0.1"):\(port)/chaos" }

    public func start() throws {
        try asPostgres(["\(Self.bin)/pg_ctl", "-D", dir + "/data", "-l", dir + "/log", "-w", "-t", "30", "-o",
                        "-c listen_addresses='\(address ?? "")' -c unix_socket_directories='\(dir)' -c port=\(port) -c fsync=off -c max_connections=50", "start"])
    }

    /// Stops the server at once (as a crash would).
    public func kill() throws { try asPostgres(["\(Self.bin)/pg_ctl", "-D", dir + "/data", "-m", "immediate", "-w", "stop"]) }

    public func stop() {
        _ = try? asPostgres(["\(Self.bin)/pg_ctl", "-D", dir + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Runs SQL with psql, as a second client would.
    @discardableResult
    public func psql(_ sql: String, database: String = "chaos") throws -> String {
        try asPostgres(["/usr/bin/psql", "-h", dir, "-p", String(port), "-U", "chaos", "-d", database, "-At", "-c", sql])
    }

    @discardableResult
    public func asPostgres(_ argv: [String]) throws -> String {
        try run((netns.map { ["/usr/sbin/ip", "netns", "exec", $0] } ?? []) + ["/usr/sbin/runuser", "-u", "postgres", "--"] + argv)
    }

    /// Runs `argv` to its end with posix_spawn and waitpid, output to a file. Not Foundation's
    /// Process (it does not notice the exit of `pg_ctl start`, which leaves the server behind), and
    /// not a pipe (the server would inherit it and keep it open).
    @discardableResult
    public func run(_ argv: [String]) throws -> String {
        let file = NSTemporaryDirectory() + "chaos-pg-out-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: file) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let args: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in args { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, args, environ)
        guard rc == 0 else { throw NSError(domain: "PostgresLab", code: Int(rc), userInfo: [NSLocalizedDescriptionKey: "\(argv[0]): \(String(cString: strerror(rc)))"]) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0 else {
            throw NSError(domain: "PostgresLab", code: Int(status), userInfo: [NSLocalizedDescriptionKey: "\(argv.joined(separator: " ")): \(text)"])
        }
        return text
    }
}
