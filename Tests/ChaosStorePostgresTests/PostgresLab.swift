import Foundation
import Glibc

/// A throwaway PostgreSQL 15 server for one test suite: `initdb` in a temporary directory, run as
/// the `postgres` user, listening only on a Unix socket in that directory (no TCP port, nothing
/// shared with the machine), `fsync` off. Stopped and removed by ``stop()``.
final class PostgresLab: @unchecked Sendable {
    static let bin = "/usr/lib/postgresql/15/bin"
    /// Why the lab cannot run here, or nil.
    static var unavailable: String? {
        if getuid() != 0 { return "needs root (to run PostgreSQL as the postgres user)" }
        if !FileManager.default.isExecutableFile(atPath: bin + "/initdb") { return "needs PostgreSQL 15 (apt install postgresql-15)" }
        if getpwnam("postgres") == nil { return "needs the postgres user (apt install postgresql-15)" }
        return nil
    }

    let dir: String
    let port: Int

    init() throws {
        dir = NSTemporaryDirectory() + "chaos-pg-\(UUID().uuidString.prefix(8))"
        port = 20000 + Int.random(in: 0..<20000)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try run(["/usr/bin/chown", "postgres:postgres", dir])
        try asPostgres(["\(Self.bin)/initdb", "-D", dir + "/data", "-A", "trust", "-U", "chaos", "--no-sync", "-E", "UTF8"])
        try start()
        try asPostgres(["\(Self.bin)/createdb", "-h", dir, "-p", String(port), "-U", "chaos", "chaos"])
    }

    /// `postgres://chaos@/chaos?host=DIR&port=PORT`.
    var url: String { "postgres://chaos@/chaos?host=\(dir)&port=\(port)" }

    func start() throws {
        try asPostgres(["\(Self.bin)/pg_ctl", "-D", dir + "/data", "-l", dir + "/log", "-w", "-t", "30", "-o",
                        "-c listen_addresses='' -c unix_socket_directories='\(dir)' -c port=\(port) -c fsync=off -c max_connections=50", "start"])
    }

    /// Stops the server at once (as a crash would).
    func kill() throws { try asPostgres(["\(Self.bin)/pg_ctl", "-D", dir + "/data", "-m", "immediate", "-w", "stop"]) }

    func stop() {
        _ = try? asPostgres(["\(Self.bin)/pg_ctl", "-D", dir + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Runs SQL with psql, as a second client would.
    @discardableResult
    func psql(_ sql: String) throws -> String {
        try asPostgres(["/usr/bin/psql", "-h", dir, "-p", String(port), "-U", "chaos", "-d", "chaos", "-At", "-c", sql])
    }

    @discardableResult
    func asPostgres(_ argv: [String]) throws -> String { try run(["/usr/sbin/runuser", "-u", "postgres", "--"] + argv) }

    /// Runs `argv` to its end with posix_spawn and waitpid, output to a file. Not Foundation's
    /// Process (it does not notice the exit of `pg_ctl start`, which leaves the server behind), and
    /// not a pipe (the server would inherit it and keep it open).
    @discardableResult
    func run(_ argv: [String]) throws -> String {
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
