import CoreFoundation
import Foundation
import Glibc
import Testing

/// deploy/systemd/chaos-controller.service, as shipped, under a real systemd user manager
/// (scripts/user-manager.sh): the controller's private key stays in a root-only file and reaches the
/// controller only through `LoadCredential=` ($CREDENTIALS_DIRECTORY), as under DynamicUser= on a host.
///
/// The unit is rewritten only where a user manager cannot follow it: no DynamicUser= (a user manager
/// runs services as its own user), StateDirectory= becomes ReadWritePaths= on a temporary store (a user
/// manager would put it under ~/.local/state), ExecStart= runs the built binary with a temporary
/// controller.yaml, LoadCredential= reads the temporary root-only key, and the output goes to a file (no
/// journal here). Every other line, the whole sandbox (ProtectSystem=strict, PrivateTmp=, an empty
/// capability set, the system call filter...), is as shipped. The temporary files, and the user
/// manager's own directory (so $XDG_RUNTIME_DIR/credentials), live under /var/lib: the unit has
/// PrivateTmp=yes and ProtectHome=yes, and on this host (where /run is no mount point) it also gets a
/// /run of its own, so /tmp, /var/tmp, /root and /run are not the ones it would see (226/NAMESPACE).
///
/// The user manager's mounts are made shared (`mount --make-rshared /` in its own namespace only;
/// systemd as PID 1 does the same at boot): systemd mounts a unit's credentials from a child namespace
/// and relies on propagation to see them, so with private mounts $CREDENTIALS_DIRECTORY stays empty.
@Suite("The shipped controller unit under a user manager: its key through LoadCredential", .serialized,
       Requirements.integration("/usr/lib/systemd/systemd", "/usr/bin/curl", "/usr/bin/nsenter", "/usr/bin/systemctl"))
struct ControllerUnitTests {
    @Test("the controller starts with its key loaded from a root-only file through LoadCredential, and answers /healthz; without the credential it does not")
    func loadCredential() throws {
        let shipped = try String(contentsOfFile: Harness.root + "/deploy/systemd/chaos-controller.service", encoding: .utf8)
        let base = "/var/lib/chaos-ctl-unit-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: base) }
        chmod(base, 0o755)

        // A CA and the controller's certificate; the key moves to a root-only directory of its own, so
        // the only way the controller can read it is the credential systemd hands it.
        let state = Harness.stateDir()
        let issue = base + "/issue", pki = base + "/pki", secret = base + "/secret", store = base + "/state"
        #expect(try Harness.run(["certs", "init", "--dir", issue], state: state).status == 0)
        let issued = try Harness.run(["certs", "issue", "--controller", "--san", "127.0.0.1", "--dir", issue], state: state)
        try #require(issued.status == 0, "chaos certs issue --controller: \(issued.stderr)")
        for dir in [pki, secret, store, base + "/experiments"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        }
        chmod(pki, 0o755)
        chmod(secret, 0o700)
        chmod(store, 0o700)
        try FileManager.default.copyItem(atPath: issue + "/ca.pem", toPath: pki + "/ca.pem")
        try FileManager.default.copyItem(atPath: issue + "/controller.pem", toPath: pki + "/controller.pem")
        try FileManager.default.moveItem(atPath: issue + "/controller-key.pem", toPath: secret + "/controller-key.pem")
        try FileManager.default.removeItem(atPath: issue)
        let keyAttributes = try FileManager.default.attributesOfItem(atPath: secret + "/controller-key.pem")
        #expect((keyAttributes[.posixPermissions] as? NSNumber)?.intValue == 0o600 && (keyAttributes[.ownerAccountID] as? NSNumber)?.intValue == 0,
                "the key is root-only (0600)")
        #expect(!FileManager.default.fileExists(atPath: pki + "/controller-key.pem"))

        let port = Int.random(in: 21_000...29_000)
        try "apiVersion: chaos/v1\nkind: Inventory\nhosts:\n  - {name: h1, address: 127.0.0.1}\n"
            .write(toFile: base + "/inventory.yaml", atomically: true, encoding: .utf8)
        try """
        apiVersion: chaos/v1
        kind: ControllerConfig
        experiments: \(base)/experiments
        inventory: \(base)/inventory.yaml
        stateDir: \(store)
        identity: {name: controller, pkiDir: \(pki)}
        schedule: {tick: 1s}
        api:
          listen: 127.0.0.1:\(port)

        """.write(toFile: base + "/controller.yaml", atomically: true, encoding: .utf8)
        let validated = try Harness.run(["validate", base + "/controller.yaml"], state: state)
        #expect(validated.status == 0, "chaos validate: \(validated.stdout) \(validated.stderr)")

        let unit = try Self.rewrite(shipped, base: base, store: store, key: secret + "/controller-key.pem")
        let withoutCredential = unit.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("LoadCredential=") }.joined(separator: "\n")

        try UserManager.with { manager in
            // Control: the same unit without LoadCredential= runs the controller, which cannot read its key
            // (it is nowhere the unit may read) and exits with an error, not a sandbox failure (2xx).
            try manager.install("chaos-ctl-nocred.service", withoutCredential)
            _ = try manager.systemctl(["start", "chaos-ctl-nocred.service"])
            let refused = Harness.waitUntil(timeout: 15) {
                let p = (try? manager.show("chaos-ctl-nocred.service")) ?? [:]
                return p["Result"] == "exit-code" && p["ExecMainCode"] == "1"
            }
            let control = (try? manager.show("chaos-ctl-nocred.service")) ?? [:]
            _ = try manager.systemctl(["stop", "chaos-ctl-nocred.service"])
            let controlLog = (try? String(contentsOfFile: base + "/controller.log", encoding: .utf8)) ?? ""
            #expect(refused && (Int(control["ExecMainStatus"] ?? "") ?? 0) < 200,
                    "without its credential the controller should start and fail on its key: \(control) \(controlLog)")
            #expect(controlLog.contains("controller-key.pem"), "the controller's error names the key it could not read: \(controlLog)")
            #expect(!Self.healthy(port: port, ca: pki + "/ca.pem"))
            try? FileManager.default.removeItem(atPath: base + "/controller.log")

            // The unit as shipped: the key arrives through LoadCredential=.
            try manager.install("chaos-controller.service", unit)
            let started = try manager.systemctl(["start", "chaos-controller.service"])
            #expect(started.status == 0, "systemctl start: \(started.stdout) \(started.stderr)")
            let answered = Harness.waitUntil(timeout: 30) { Self.healthy(port: port, ca: pki + "/ca.pem") }
            let properties = try manager.show("chaos-controller.service")
            let log = (try? String(contentsOfFile: base + "/controller.log", encoding: .utf8)) ?? ""
            #expect(answered, """
                the controller did not answer https://127.0.0.1:\(port)/healthz within 30 s (the controller must read \
                controller.yaml's key from $CREDENTIALS_DIRECTORY/controller-key.pem). Unit: \(properties). Its output: \(log)
                """)
            if answered {
                #expect(properties["ActiveState"] == "active", "\(properties)")
                let pid = properties["MainPID"].flatMap { Int32($0) } ?? 0
                let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
                let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                #expect(variables.contains { $0.hasPrefix("CREDENTIALS_DIRECTORY=") }, "\(variables)")
                // The sandbox as shipped: no capabilities, no new privileges.
                let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
                #expect(status.contains("NoNewPrivs:\t1"), "\(status)")
                #expect(status.contains("CapEff:\t0000000000000000") && status.contains("CapBnd:\t0000000000000000"), "\(status)")
            }
            let stopped = try manager.systemctl(["stop", "chaos-controller.service"])
            #expect(stopped.status == 0, "systemctl stop: \(stopped.stderr)")
            #expect(try manager.show("chaos-controller.service")["ActiveState"] == "inactive")
        }
    }

    /// The shipped unit with only what a user manager cannot follow changed; every line it changes must be there.
    static func rewrite(_ shipped: String, base: String, store: String, key: String) throws -> String {
        var lines: [String] = []
        var replaced: Set<String> = []
        for line in shipped.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            switch line {
            case "DynamicUser=yes":
                replaced.insert(line)
                lines.append("# DynamicUser=yes: a user manager runs services as its own user")
            case "StateDirectory=chaos-controller":
                replaced.insert(line)
                lines.append("ReadWritePaths=\(store)")
            case "StateDirectoryMode=0700":
                replaced.insert(line)
            case "ExecStart=/usr/bin/chaos controller --config /etc/chaos/controller.yaml":
                replaced.insert(line)
                lines.append("ExecStart=\(Harness.chaos) controller --config \(base)/controller.yaml")
                lines.append("StandardOutput=append:\(base)/controller.log")
                lines.append("StandardError=append:\(base)/controller.log")
            case "LoadCredential=controller-key.pem:/etc/chaos/pki/controller-key.pem":
                replaced.insert(line)
                lines.append("LoadCredential=controller-key.pem:\(key)")
            default:
                lines.append(line)
            }
        }
        let expected: Set = ["DynamicUser=yes", "StateDirectory=chaos-controller", "StateDirectoryMode=0700",
                             "ExecStart=/usr/bin/chaos controller --config /etc/chaos/controller.yaml",
                             "LoadCredential=controller-key.pem:/etc/chaos/pki/controller-key.pem"]
        try #require(replaced == expected, "the shipped unit lacks \(expected.subtracting(replaced).sorted())")
        return lines.joined(separator: "\n")
    }

    /// GET /healthz over TLS, trusting the test's CA.
    static func healthy(port: Int, ca: String) -> Bool {
        guard let out = try? PackageLab.run(["curl", "-sf", "--max-time", "2", "--cacert", ca, "https://127.0.0.1:\(port)/healthz"], timeout: 10) else { return false }
        return out.status == 0
    }

    /// A systemd user manager (scripts/user-manager.sh) for one test, stopped at the end.
    struct UserManager {
        let directory: String
        let env: [String: String]

        static func with(_ body: (UserManager) throws -> Void) throws {
            typealias Script = SystemdIntegrationTests.Manager
            let dir = "/var/lib/chaos-ctl-um-\(UUID().uuidString.prefix(8))"
            let (status, out) = try Script.script(["start", dir])
            defer { _ = try? Script.script(["stop", dir]); try? FileManager.default.removeItem(atPath: dir) }
            try #require(status == 0, "user-manager.sh start: \(out)")
            var env: [String: String] = [:]
            for line in try String(contentsOfFile: dir + "/env", encoding: .utf8).split(separator: "\n") {
                if let eq = line.firstIndex(of: "=") { env[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
            }
            // systemd as PID 1 makes /run/systemd/inaccessible/* at boot; ProtectKernelTunables= and the like
            // mount them over what they hide. The manager's private /run/systemd lacks them: make them.
            let pid = env["CHAOS_USER_MANAGER_PID"] ?? "0"
            try makeInaccessibleNodes(root: "/proc/\(pid)/root")
            // Shared mounts in the manager's own namespace, as on a host booted with systemd: LoadCredential=
            // mounts a unit's credentials from a child namespace and needs them to propagate back.
            let shared = try PackageLab.run(["nsenter", "--mount=/proc/\(pid)/ns/mnt", "--", "mount", "--make-rshared", "/"])
            try #require(shared.status == 0, "mount --make-rshared / in the user manager's namespace: \(shared.stderr)")
            try body(UserManager(directory: dir, env: env))
        }

        func install(_ unit: String, _ text: String) throws {
            let (status, out) = try SystemdIntegrationTests.Manager.script(["unit", directory, unit], input: text)
            try #require(status == 0, "install \(unit): \(out)")
        }

        func systemctl(_ args: [String]) throws -> PackageLab.Output {
            try PackageLab.run(["env", "XDG_RUNTIME_DIR=\(env["XDG_RUNTIME_DIR"] ?? "")",
                                "DBUS_SESSION_BUS_ADDRESS=\(env["DBUS_SESSION_BUS_ADDRESS"] ?? "")",
                                "systemctl", "--user"] + args, timeout: 60)
        }

        func show(_ unit: String) throws -> [String: String] {
            let out = try systemctl(["show", unit, "--property=ActiveState,SubState,Result,MainPID,NRestarts,ExecMainStatus,ExecMainCode"])
            var properties: [String: String] = [:]
            for line in out.stdout.split(separator: "\n") {
                if let eq = line.firstIndex(of: "=") { properties[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
            }
            return properties
        }

        static func makeInaccessibleNodes(root: String) throws {
            let base = root + "/run/systemd/inaccessible"
            if access(base, F_OK) == 0 { return }
            guard mkdir(base, 0o755) == 0 else { throw PackageFailure("mkdir '\(base)': \(String(cString: strerror(errno)))") }
            let old = umask(0)
            defer { umask(old) }
            let made = [mkdir(base + "/dir", 0), mknod(base + "/reg", S_IFREG, 0), mkfifo(base + "/fifo", 0),
                        mknod(base + "/sock", S_IFSOCK, 0), mknod(base + "/chr", S_IFCHR, 0), mknod(base + "/blk", S_IFBLK, 0)]
            guard made.allSatisfy({ $0 == 0 }) else {
                throw PackageFailure("cannot create the inaccessible nodes in '\(base)': \(String(cString: strerror(errno)))")
            }
        }
    }
}
