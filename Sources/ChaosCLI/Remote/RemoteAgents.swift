public import ChaosCore
import Foundation
import Glibc
import Synchronization

/// The agent client, when this executable has one (`chaos-remote` installs it at start).
///
/// `chaos` itself has none: commands that talk to agents (`--inventory`, `halt`, `resume`) exec the
/// `chaos-remote` executable beside it with the same arguments, so that one-off commands on this
/// host never load NIO and TLS (which doubled their start-up time).
public enum RemoteAgents {
    private static let installed = Mutex<(any AgentConnector)?>(nil)

    /// Makes `connector` the way to reach agents; call once, before the command runs.
    public static func install(_ connector: any AgentConnector) { installed.withLock { $0 = connector } }

    /// The connector, or (in `chaos`) exec `chaos-remote` with this command line.
    /// Call before changing anything: on success the process is replaced.
    static func connector() throws(ChaosError) -> any AgentConnector {
        if let c = installed.withLock({ $0 }) { return c }
        try Sibling.exec("chaos-remote", Array(CommandLine.arguments.dropFirst()),
                         missing: "Commands that talk to agents need it; install chaos-remote beside chaos (swift build --product chaos-remote).")
    }
}

/// The executables installed beside this one.
enum Sibling {
    /// The path of `name` in this executable's directory.
    static func path(_ name: String) -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Replaces this process with `name` and `arguments`; returns only by throwing.
    static func exec(_ name: String, _ arguments: [String], missing: String) throws(ChaosError) -> Never {
        let path = path(name)
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ChaosError("install.missing", "The executable '\(path)' is missing. \(missing)")
        }
        var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) }
        argv.append(nil)
        execv(path, argv)
        throw ChaosError("install.exec", "Could not start '\(path)': \(String(cString: strerror(errno))).")
    }
}

/// The agents of an inventory, reached with the caller's certificate.
struct AgentFleet {
    let inventory: Inventory
    let session: any AgentSession
    /// Lent by a longer-lived owner (the controller's one session): `close()` leaves it open.
    var borrowed = false

    /// The same session, for a user that must not close it.
    func lent() -> AgentFleet { AgentFleet(inventory: inventory, session: session, borrowed: true) }

    /// Opens a session with the identity of `global` (`--identity`, `--pki-dir`).
    static func open(_ inventory: Inventory, global: GlobalOptions) throws(ChaosError) -> AgentFleet {
        let connector = try RemoteAgents.connector()
        return AgentFleet(inventory: inventory, session: try connector.open(try credentials(global)))
    }

    /// The certificate, key and CA of the caller's identity.
    static func credentials(_ global: GlobalOptions) throws(ChaosError) -> ClientCredentials {
        let dir = global.pkiDir ?? Environment.value("CHAOS_PKI_DIR") ?? "/etc/chaos/pki"
        let name = global.identity ?? Environment.value("CHAOS_IDENTITY") ?? Environment.value("USER") ?? loginName()
        let c = ClientCredentials(certificate: "\(dir)/\(name).pem", key: "\(dir)/\(name)-key.pem", ca: "\(dir)/ca.pem")
        for file in [c.certificate, c.key, c.ca] where access(file, R_OK) != 0 {
            if errno == EMFILE || errno == ENFILE {
                throw ChaosError("host.tooManyFiles", "Cannot read '\(file)': too many open files (the limit is \(Self.openFilesLimit())). Raise it: LimitNOFILE= in the systemd unit, or 'ulimit -n 65536'.")
            }
            throw .usage("agent.noIdentity", "Cannot read '\(file)' (\(String(cString: strerror(errno)))): agents need your certificate to accept you. Issue one with 'chaos certs issue --operator \(name) --dir \(dir)', or name yours with '--identity NAME' and '--pki-dir DIR' (env CHAOS_IDENTITY, CHAOS_PKI_DIR).")
        }
        return c
    }

    static func openFilesLimit() -> String {
        var l = rlimit()
        return getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l) == 0 ? String(l.rlim_cur) : "unknown"
    }

    static func loginName() -> String {
        guard let pw = getpwuid(getuid()), let name = pw.pointee.pw_name else { return "root" }
        return String(cString: name)
    }

    /// A client for `host`'s agent.
    func client(_ host: Inventory.Host) throws(ChaosError) -> any AgentClient {
        guard let url = host.agent else {
            throw .usage("inventory.noAgent", "Host '\(host.name)' has no 'agent' in the inventory. Add e.g. 'agent: https://\(host.address):7433'.")
        }
        return try session.agent(url: url, hostName: host.name)
    }

    /// The hosts named in `only` (all hosts with an agent when empty).
    func hosts(_ only: [String]) throws(ChaosError) -> [Inventory.Host] {
        if only.isEmpty {
            let hosts = inventory.hosts.filter { $0.agent != nil }
            if hosts.isEmpty { throw .usage("inventory.noAgent", "No host in the inventory has an 'agent' URL; add e.g. 'agent: https://ADDRESS:7433' to each host.") }
            return hosts
        }
        return try only.map { (name: String) throws(ChaosError) -> Inventory.Host in
            guard let h = inventory.host(named: name) else {
                let hint = Spelling.closest(to: name, in: inventory.hosts.map(\.name)).map { " Did you mean '\($0)'?" } ?? ""
                throw .usage("target.unknownHost", "No host '\(name)' in the inventory.\(hint)")
            }
            return h
        }
    }

    /// Runs `body` on every host's agent at once; results in the order of `hosts`.
    func each<T: Sendable>(_ hosts: [Inventory.Host], _ body: @escaping @Sendable (any AgentClient) async throws(ChaosError) -> T) async -> [(Inventory.Host, Result<T, ChaosError>)] {
        var clients: [(Int, Result<any AgentClient, ChaosError>)] = []
        for (i, h) in hosts.enumerated() {
            do { clients.append((i, .success(try client(h)))) } catch { clients.append((i, .failure(error))) }
        }
        let results = await withTaskGroup(of: (Int, Result<T, ChaosError>).self) { group in
            for (i, c) in clients {
                group.addTask {
                    switch c {
                    case .failure(let e): return (i, .failure(e))
                    case .success(let client): return (i, await Self.attempt(client, body))
                    }
                }
            }
            var out: [(Int, Result<T, ChaosError>)] = []
            for await r in group { out.append(r) }
            return out
        }
        let byIndex = Dictionary(uniqueKeysWithValues: results)
        return hosts.indices.map { (hosts[$0], byIndex[$0]!) }
    }

    private static func attempt<T>(_ client: any AgentClient, _ body: @Sendable (any AgentClient) async throws(ChaosError) -> T) async -> Result<T, ChaosError> {
        do { return .success(try await body(client)) } catch { return .failure(error) }
    }

    func close() async { if !borrowed { await session.close() } }
}
