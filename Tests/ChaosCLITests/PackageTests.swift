import CoreFoundation
import CDispatch
import Foundation
import Glibc
import Testing

/// The Debian packages: scripts/package.sh builds them from the debug binaries beside this test bundle,
/// `dpkg-deb` and `lintian` look at them, and they are installed for real with dpkg and apt in a
/// throwaway root, then removed and purged, leaving nothing.
///
/// The throwaway root is this host's own root file system under an overlay (lowerdir=/, an upper layer
/// on a tmpfs) in a private mount namespace: a real Debian root with its dpkg database, /bin/sh and
/// deb-systemd-helper, made in milliseconds and gone when its namespace ends. The upper layer is exactly
/// what the packages changed, so "leaves nothing" is checked on it. Not run here: the branches of the
/// maintainer scripts for a running systemd (daemon-reload, stop, try-restart); there is no systemd
/// as PID 1 (the units themselves run under a user manager in ControllerUnitTests and ServiceNotifierTests).
@Suite("Debian packages: built, inspected, installed and purged in a throwaway root", .serialized,
       .enabled(if: Harness.integration && PackageLab.unavailable == nil,
                "needs root, CHAOS_INTEGRATION=1, overlayfs and \(PackageLab.tools.joined(separator: ", ")) (apt-get install dpkg-dev binutils util-linux)"))
struct PackageTests {
    @Test("dpkg-deb shows the control fields, the files with their modes and the conffile; lintian finds no error")
    func contents() throws {
        let b = try PackageLab.built()
        let chaosInfo = try PackageLab.run(["dpkg-deb", "--field", b.chaos])
        let agentInfo = try PackageLab.run(["dpkg-deb", "--field", b.agent])
        #expect(chaosInfo.status == 0 && agentInfo.status == 0, "\(chaosInfo.stderr) \(agentInfo.stderr)")
        #expect(chaosInfo.stdout.contains("Package: chaos\n") && chaosInfo.stdout.contains("Version: \(b.version)\n"))
        #expect(chaosInfo.stdout.contains("Architecture: amd64\n"))
        #expect(agentInfo.stdout.contains("Package: chaos-agent\n"))
        #expect(agentInfo.stdout.contains("Depends: chaos (= \(b.version)), "), "\(agentInfo.stdout)")
        #expect(try PackageLab.run(["dpkg-deb", "--info", b.agent]).stdout.contains(" conffiles"))
        let conffiles = try PackageLab.run(["dpkg-deb", "--ctrl-tarfile", b.agent], pipeTo: ["tar", "-xOf", "-", "./conffiles"])
        #expect(conffiles.stdout == "/etc/chaos/agent.yaml\n", "\(conffiles.stdout) \(conffiles.stderr)")

        let chaosFiles = try PackageLab.contents(b.chaos)
        let agentFiles = try PackageLab.contents(b.agent)
        let expectedChaos: [String: String] = [
            "./usr/bin/chaos": "-rwxr-xr-x", "./usr/bin/chaos-remote": "-rwxr-xr-x",
            "./lib/systemd/system/chaos-controller.service": "-rw-r--r--",
            "./usr/share/man/man1/chaos.1.gz": "-rw-r--r--", "./usr/share/man/man1/chaos-remote.1.gz": "lrwxrwxrwx",
            "./usr/share/bash-completion/completions/chaos": "-rw-r--r--",
            "./usr/share/zsh/vendor-completions/_chaos": "-rw-r--r--",
            "./usr/share/fish/vendor_completions.d/chaos.fish": "-rw-r--r--",
            "./usr/share/doc/chaos/copyright": "-rw-r--r--", "./usr/share/doc/chaos/changelog.gz": "-rw-r--r--",
            "./usr/share/doc/chaos/README.md": "-rw-r--r--",
            "./usr/share/chaos/schema/agent-config.schema.json": "-rw-r--r--",
        ]
        let expectedAgent: [String: String] = [
            "./usr/bin/chaos-agent": "-rwxr-xr-x", "./lib/systemd/system/chaos-agent.service": "-rw-r--r--",
            "./etc/chaos/agent.yaml": "-rw-r--r--", "./usr/share/man/man8/chaos-agent.8.gz": "-rw-r--r--",
            "./usr/share/doc/chaos-agent/copyright": "-rw-r--r--", "./usr/share/doc/chaos-agent/changelog.gz": "-rw-r--r--",
        ]
        for (path, mode) in expectedChaos { #expect(chaosFiles[path]?.mode == mode, "chaos: \(path) is \(chaosFiles[path]?.mode ?? "missing")") }
        for (path, mode) in expectedAgent { #expect(agentFiles[path]?.mode == mode, "chaos-agent: \(path) is \(agentFiles[path]?.mode ?? "missing")") }
        for (path, entry) in chaosFiles.merging(agentFiles, uniquingKeysWith: { a, _ in a }) {
            #expect(entry.owner == "root/root", "\(path) belongs to \(entry.owner)")
        }
        #expect(chaosFiles["./usr/share/man/man1/chaos-remote.1.gz"]?.target == "chaos.1.gz")
        #expect(!chaosFiles.keys.contains { $0.hasPrefix("./etc/") }, "the chaos package installs nothing in /etc")

        // The units name /usr/bin, and the agent's unit does not crash-loop before it has a certificate.
        let agentUnit = try PackageLab.extract(b.agent, "./lib/systemd/system/chaos-agent.service")
        #expect(agentUnit.contains("\nExecStart=/usr/bin/chaos-agent --config /etc/chaos/agent.yaml\n"))
        #expect(agentUnit.contains("\nRestartPreventExitStatus=78\n") && agentUnit.contains("\nExecReload=/bin/kill -HUP $MAINPID\n"))
        let controllerUnit = try PackageLab.extract(b.chaos, "./lib/systemd/system/chaos-controller.service")
        #expect(controllerUnit.contains("\nExecStart=/usr/bin/chaos controller --config /etc/chaos/controller.yaml\n"))
        #expect(controllerUnit.contains("\nLoadCredential=controller-key.pem:/etc/chaos/pki/controller-key.pem\n"))
        #expect(!agentUnit.contains("/usr/local/bin") && !controllerUnit.contains("/usr/local/bin"))

        // The conffile: the TLS files where the agent can write them, and chaos validate accepts it.
        let config = try PackageLab.extract(b.agent, "./etc/chaos/agent.yaml")
        #expect(config.contains("  certificate: /var/lib/chaos/pki/agent.pem\n") && config.contains("  key: /var/lib/chaos/pki/agent-key.pem\n"))
        #expect(!config.contains("/etc/chaos/pki"))
        let configFile = NSTemporaryDirectory() + "chaos-packaged-agent-\(UUID().uuidString.prefix(8)).yaml"
        try config.write(toFile: configFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: configFile) }
        let validated = try Harness.run(["validate", configFile], state: Harness.stateDir())
        #expect(validated.status == 0, "chaos validate of the packaged agent.yaml: \(validated.stdout) \(validated.stderr)")

        // The man pages: generated from the binaries' help, every command listed, and groff warns of nothing.
        let manual = try PackageLab.run(["dpkg-deb", "--fsys-tarfile", b.chaos], pipeTo: ["tar", "-xOf", "-", "./usr/share/man/man1/chaos.1.gz"])
        let page = try PackageLab.run(["gzip", "-dc"], input: Data(manual.stdoutData)).stdout
        #expect(page.contains(".TH \"CHAOS\" \"1\""), "\(page.prefix(300))")
        for command in ["chaos kill", "chaos net delay", "chaos certs issue", "chaos controller", "chaos validate"] {
            #expect(page.contains(".SS \"\(command.replacingOccurrences(of: "-", with: "\\-"))\""), "chaos(1) has no section for '\(command)'")
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/groff") {
            let rendered = try PackageLab.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input: Data(page.utf8))
            #expect(rendered.status == 0 && rendered.stderr.isEmpty, "groff warnings on chaos(1): \(rendered.stderr.prefix(2000))")
        }

        // lintian, when installed: no error but those listed (and why) in PackageLab.acceptedLintian.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/lintian") else {
            print("PackageTests: lintian is not installed (apt-get install lintian); skipped that check")
            return
        }
        let lint = try PackageLab.run(["lintian", "--allow-root", "--tag-display-limit", "0", b.chaos, b.agent], timeout: 180)
        let tags = lint.stdout.split(separator: "\n").map(String.init).filter { $0.range(of: #"^[EWIPXO]: "#, options: .regularExpression) != nil }
        print("PackageTests: lintian says (exit \(lint.status)):\n" + tags.joined(separator: "\n"))
        for line in tags where line.hasPrefix("E: ") {
            #expect(PackageLab.acceptedLintian.contains { line.contains(": \($0)") }, "lintian error not accepted: \(line)")
        }
        for line in tags where line.hasPrefix("W: ") {
            #expect(PackageLab.acceptedLintian.contains { line.contains(": \($0)") }, "lintian warning not accepted: \(line)")
        }
    }

    /// Run as root in the throwaway root, in a network namespace of its own; prints SHOW OK when every step held.
    static let showScript = #"""
    set -eu
    fail() { echo "FAILED: $*"; for f in /tmp/show-*.log; do echo "== $f"; cat "$f"; done; exit 1; }
    waitfor() { i=0; while ! sh -c "$1" >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 100 ] || fail "timed out: $1"; sleep 0.1; done; }
    ip link set lo up && ip addr add 192.0.2.30/32 dev lo
    ca=/root/chaos-ca
    chaos certs init --pki-dir $ca >/dev/null && chaos certs issue --operator alice --pki-dir $ca >/dev/null
    # 1. First start: a key of its own and a CSR, then exit 78 (no crash loop under the unit).
    set +e; chaos-agent --config /etc/chaos/agent.yaml 2>/tmp/show-first.log; rc=$?; set -e
    [ $rc = 78 ] || fail "first start exited $rc, not 78"
    [ "$(stat -c %a /var/lib/chaos/pki/agent-key.pem)" = 600 ] && [ -s /var/lib/chaos/pki/agent.csr ] || fail "no key or CSR"
    key=$(md5sum </var/lib/chaos/pki/agent-key.pem)
    # 2. A join token and the enrolment server; the host enrols with the packaged agent.yaml.
    token=$(chaos certs token --host db1 --san 192.0.2.30 --pki-dir $ca -o json | sed -n 's/.*"token" : "\(chaos1[^"]*\)".*/\1/p')
    [ -n "$token" ] || fail "no token"
    chaos certs serve --listen 192.0.2.30:7435 --san 192.0.2.30 --pki-dir $ca 2>/tmp/show-serve.log & serve=$!
    waitfor "grep -q 'Serving enrolment' /tmp/show-serve.log"
    chaos certs enrol --token "$token" --server 192.0.2.30:7435 >/tmp/show-enrol.log 2>&1 || fail "enrol"
    kill $serve; wait $serve || true
    [ "$(md5sum </var/lib/chaos/pki/agent-key.pem)" = "$key" ] || fail "the key changed"
    # 3. The agent serves; a one-off through it (chaos pause --host, over mutual TLS).
    chaos-agent --config /etc/chaos/agent.yaml 2>/tmp/show-agent.log & agent=$!
    curl="curl -s --max-time 5 --cacert $ca/ca.pem --cert $ca/alice.pem --key $ca/alice-key.pem"
    waitfor "$curl https://192.0.2.30:7433/v1/health | grep -q ok"
    printf '%s\n' 'apiVersion: chaos/v1' 'kind: Inventory' 'hosts:' '  - {name: db1, address: 192.0.2.30, agent: "https://192.0.2.30:7433"}' >/root/inventory.yaml
    sleep 300 & victim=$!
    chaos pause --pid $victim --for 60s --detach --inventory /root/inventory.yaml --host db1 --identity alice --pki-dir $ca >/tmp/show-pause.log 2>&1 || fail "pause through the agent"
    waitfor "grep -q 'State:.*T' /proc/$victim/status"
    before=$($curl https://192.0.2.30:7433/v1/health)
    # 4. Renewal with the fault held: approve the same CSR for 7 days, put it in place, SIGHUP.
    chaos certs approve /var/lib/chaos/pki/agent.csr --name db1 --san 192.0.2.30 --days 7 --pki-dir $ca --out /root/renewed >/dev/null
    cp /root/renewed/db1.pem /var/lib/chaos/pki/agent.pem.new && mv /var/lib/chaos/pki/agent.pem.new /var/lib/chaos/pki/agent.pem
    kill -HUP $agent
    waitfor "grep -q 'credentials reloaded' /tmp/show-agent.log"
    after=$($curl https://192.0.2.30:7433/v1/health)
    [ "$before" != "$after" ] || fail "the renewed certificate is not served: $after"
    grep -q 'State:.*T' /proc/$victim/status || fail "the fault did not survive the renewal"
    kill -0 $agent || fail "the agent stopped"
    # 5. SIGTERM: the agent reverts the fault, then exits.
    kill -TERM $agent; wait $agent || true
    grep -q 'State:.*T' /proc/$victim/status && fail "the fault outlived the agent"
    kill $victim; wait $victim 2>/dev/null || true
    # The admin's files are the test's, not the packages': only the agent's key, certificates and ledger stay.
    rm -rf $ca /root/inventory.yaml /root/renewed /tmp/show-*.log
    echo "SHOW OK: enrolled with a join token (key kept), paused through the agent, renewed with the fault held, reverted at stop"
    """#

    @Test("dpkg -i installs both packages in a throwaway root: files, modes, conffile, the agent enabled and the controller not; apt-get remove keeps the configuration, purge leaves nothing")
    func installRemovePurge() throws {
        let b = try PackageLab.built()
        let started = Date()
        try ThrowawayRoot.with { root in
            // A fresh host has none of chaos's directories: drop whatever this host's tests left.
            #expect(try root.run(["rm", "-rf", "/etc/chaos", "/var/lib/chaos", "/var/lib/chaos-controller"]).status == 0)
            let baseline = try root.changes()
            let dpkgStatus = try String(contentsOfFile: root.path("/var/lib/dpkg/status"), encoding: .utf8)

            let install = try root.run(["dpkg", "-i", b.chaos, b.agent])
            #expect(install.status == 0, "dpkg -i: \(install.stdout) \(install.stderr)")
            for pkg in ["chaos", "chaos-agent"] {
                let q = try root.run(["dpkg-query", "-W", "-f=${Status} ${Version}", pkg])
                #expect(q.stdout == "install ok installed \(b.version)", "\(pkg): \(q.stdout) \(q.stderr)")
            }
            for (path, mode) in ["/usr/bin/chaos": 0o755, "/usr/bin/chaos-remote": 0o755, "/usr/bin/chaos-agent": 0o755,
                                 "/lib/systemd/system/chaos-agent.service": 0o644, "/lib/systemd/system/chaos-controller.service": 0o644,
                                 "/etc/chaos/agent.yaml": 0o644, "/usr/share/man/man1/chaos.1.gz": 0o644,
                                 "/usr/share/man/man8/chaos-agent.8.gz": 0o644, "/usr/share/doc/chaos/changelog.gz": 0o644,
                                 "/usr/share/bash-completion/completions/chaos": 0o644] {
                let a = PackageLab.attributes(root.path(path))
                #expect(a != nil, "\(path) is not installed")
                #expect(a?.mode == mode && a?.uid == 0 && a?.gid == 0, "\(path): \(a.map { "mode \(String($0.mode, radix: 8)), owner \($0.uid):\($0.gid)" } ?? "missing")")
            }
            let conffiles = try root.run(["dpkg-query", "-W", "-f=${Conffiles}", "chaos-agent"]).stdout
            #expect(conffiles.contains(" /etc/chaos/agent.yaml "), "conffiles: \(conffiles)")
            // Enabled for the next boot (WantedBy=multi-user.target), not started; the controller neither.
            let wants = "/etc/systemd/system/multi-user.target.wants/"
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: root.path(wants + "chaos-agent.service"))) == "/lib/systemd/system/chaos-agent.service")
            #expect(!root.exists(wants + "chaos-controller.service"), "the controller was enabled")
            // No system user: the agent runs as root, the controller as a dynamic user.
            #expect(try root.run(["getent", "passwd", "chaos"]).status == 2)

            // The installed binaries run from /usr/bin: chaos validates the conffile, and execs chaos-remote beside it.
            let validate = try root.run(["/usr/bin/chaos", "validate", "/etc/chaos/agent.yaml"])
            #expect(validate.status == 0, "\(validate.stdout) \(validate.stderr)")
            let remote = try root.run(["env", "CHAOS_STATE_DIR=/tmp/chaos-state", "/usr/bin/chaos", "verdicts"])
            #expect(remote.status == 0, "chaos verdicts (in chaos-remote): \(remote.stdout) \(remote.stderr)")
            _ = try root.run(["rm", "-rf", "/tmp/chaos-state"])
            let agentHelp = try root.run(["/usr/bin/chaos-agent", "--help"])
            #expect(agentHelp.status == 0 && agentHelp.stdout.contains("--config"), "\(agentHelp.stdout) \(agentHelp.stderr)")
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/man") {
                #expect(try root.run(["man", "-w", "chaos-agent"]).stdout == "/usr/share/man/man8/chaos-agent.8.gz\n")
            }

            // The Show, with the installed programs and the packaged agent.yaml, in a network namespace of its own:
            // the agent's first start makes its key and CSR (exit 78), a join token enrols it through
            // `chaos certs serve`, a one-off goes through it, its certificate is renewed with the fault held
            // (SIGHUP: the fault stays), and SIGTERM reverts it.
            let show = try root.run(["unshare", "--net", "/bin/sh", "-c", Self.showScript], timeout: 120)
            #expect(show.status == 0 && show.stdout.contains("SHOW OK"), "the enrolment show in the installed root: \(show.stdout)\n\(show.stderr)")

            // What the running agent left: its enrolment and ledger in /var/lib/chaos; and a local change to the conffile.
            #expect(try root.run(["sh", "-c", "test -s /var/lib/chaos/pki/agent-key.pem && test -s /var/lib/chaos/pki/agent.pem && test -d /var/lib/chaos/ledger"]).status == 0)
            #expect(try root.run(["sh", "-c", "echo '# changed here' >>/etc/chaos/agent.yaml"]).status == 0)

            // apt-get remove: the programs go, the configuration and state stay.
            let remove = try root.run(["apt-get", "remove", "-y", "-q", "chaos-agent", "chaos"])
            #expect(remove.status == 0, "apt-get remove: \(remove.stdout) \(remove.stderr)")
            #expect(!root.exists("/usr/bin/chaos") && !root.exists("/usr/bin/chaos-agent") && !root.exists("/lib/systemd/system/chaos-agent.service"))
            #expect(try String(contentsOfFile: root.path("/etc/chaos/agent.yaml"), encoding: .utf8).hasSuffix("# changed here\n"))
            #expect(root.exists("/var/lib/chaos/pki/agent-key.pem"))
            #expect(try root.run(["dpkg-query", "-W", "-f=${Status}", "chaos-agent"]).stdout == "deinstall ok config-files")

            // apt-get purge: nothing left but dpkg's and apt's own records of having done it.
            let purge = try root.run(["apt-get", "purge", "-y", "-q", "chaos-agent", "chaos"])
            #expect(purge.status == 0, "apt-get purge: \(purge.stdout) \(purge.stderr)")
            for path in ["/etc/chaos", "/var/lib/chaos", wants + "chaos-agent.service", "/usr/share/doc/chaos", "/usr/share/chaos"] {
                #expect(!root.exists(path), "\(path) is left after purge")
            }
            #expect(try root.run(["dpkg-query", "-W", "chaos", "chaos-agent"]).status != 0, "dpkg still knows the packages")
            #expect(try String(contentsOfFile: root.path("/var/lib/dpkg/status"), encoding: .utf8) == dpkgStatus,
                    "dpkg's status file differs from before the installation")
            let after = try root.changes()
            let left = after.filter { baseline[$0.key] != $0.value && !PackageLab.bookkeeping($0.key) }.keys.sorted()
            #expect(left.isEmpty, "left in the root after purge (compared with before the installation): \(left)")
            print("PackageTests: the root's changes after purge, all bookkeeping: \(after.keys.filter { baseline[$0] == nil }.sorted())")
        }
        print("PackageTests: install, remove and purge took \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}

/// The packages, built once per test process, and how to look at them.
enum PackageLab {
    static let tools = ["dpkg-deb", "dpkg-shlibdeps", "strip", "python3", "unshare", "nsenter", "chroot"]

    /// Why the suite cannot run here, or `nil`.
    static let unavailable: String? = {
        let dirs = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        let missing = tools.filter { tool in !dirs.contains { FileManager.default.isExecutableFile(atPath: $0 + "/" + tool) } }
        if !missing.isEmpty { return "missing \(missing.joined(separator: ", "))" }
        let filesystems = (try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8)) ?? ""
        if !filesystems.contains("\toverlay\n") { return "no overlayfs" }
        return nil
    }()

    /// Lintian tags accepted (errors and warnings alike; anything else fails the test), and why:
    /// - custom-library-search-path: the debug binaries these tests package have a RUNPATH into the Swift
    ///   toolchain (/opt/swift/...); the static release that package.sh builds without --bin-dir has none.
    /// - embedded-library: Yams compiles in its own copy of libyaml and swift-nio-extras one of zlib; both are
    ///   statically linked source packages of the build, not copies of a Debian library we could depend on.
    static let acceptedLintian: [String] = [
        "custom-library-search-path",
        "embedded-library",
    ]

    struct Built: Sendable {
        var version: String
        var directory: String
        var chaos: String
        var agent: String
    }

    /// Builds the packages once (scripts/package.sh with the debug binaries beside the tests).
    static func built() throws -> Built { try result.get() }

    private static let result: Result<Built, PackageFailure> = Result {
        try build()
    }.mapError { ($0 as? PackageFailure) ?? PackageFailure("\($0)") }

    private static func build() throws -> Built {
        // One directory per test process; those of earlier processes (gone now) are removed first.
        let dir = "/tmp/chaos-pkgtest-\(getpid())"
        for old in (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? [] where old.hasPrefix("chaos-pkgtest-") {
            if let pid = Int32(old.dropFirst("chaos-pkgtest-".count)), pid == getpid() || kill(pid, 0) != 0 {
                try? FileManager.default.removeItem(atPath: "/tmp/" + old)
            }
        }
        let bin = URL(fileURLWithPath: Harness.chaos).deletingLastPathComponent().path
        let version = "0.0.0+test\(getpid())"
        let started = Date()
        let out = try run(["bash", Harness.root + "/scripts/package.sh", "--version", version, "--bin-dir", bin, "--out", dir, "--compression", "gzip"], timeout: 300)
        print("PackageTests: scripts/package.sh took \(String(format: "%.1f", Date().timeIntervalSince(started))) s:\n\(out.stdout)\(out.stderr)")
        guard out.status == 0 else { throw PackageFailure("scripts/package.sh failed (\(out.status)): \(out.stdout) \(out.stderr)") }
        return Built(version: version, directory: dir, chaos: "\(dir)/chaos_\(version)_amd64.deb", agent: "\(dir)/chaos-agent_\(version)_amd64.deb")
    }

    /// What apt and dpkg record of having installed and removed something, and caches they rebuild:
    /// the only changes a purge may leave in the root.
    static func bookkeeping(_ path: String) -> Bool {
        let prefixes = ["/var/lib/dpkg/", "/var/log/", "/var/cache/apt/", "/var/cache/man/", "/var/cache/debconf/",
                        "/var/lib/apt/extended_states", "/var/cache/ldconfig/", "/etc/ld.so.cache", "/tmp/", "/proc", "/dev", "/run/"]
        let exact = ["/var/lib/dpkg", "/var/log", "/var/cache/apt", "/var/cache/man", "/var/cache/debconf", "/var/lib/apt",
                     "/var/lib", "/var", "/var/cache", "/etc", "/tmp", "/run", "/var/cache/ldconfig", "/"]
        return exact.contains(path) || prefixes.contains { path.hasPrefix($0) }
    }

    struct Entry { var mode: String; var owner: String; var target: String? }

    struct Attributes: Equatable { var mode: Int; var uid: Int; var gid: Int; var isDirectory: Bool }

    /// Permissions, owner and kind of a path, not following a last symbolic link; `nil` when it is not there.
    static func attributes(_ path: String) -> Attributes? {
        guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return Attributes(mode: (a[.posixPermissions] as? NSNumber)?.intValue ?? -1, uid: (a[.ownerAccountID] as? NSNumber)?.intValue ?? -1,
                          gid: (a[.groupOwnerAccountID] as? NSNumber)?.intValue ?? -1, isDirectory: (a[.type] as? FileAttributeType) == .typeDirectory)
    }

    /// `dpkg-deb --contents`: path → mode, owner and link target.
    static func contents(_ deb: String) throws -> [String: Entry] {
        let out = try run(["dpkg-deb", "--contents", deb])
        var entries: [String: Entry] = [:]
        for line in out.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6 else { continue }
            let path = String(fields[5]).hasSuffix("/") ? String(fields[5].dropLast()) : String(fields[5])
            let target = fields.count >= 8 && fields[6] == "->" ? String(fields[7]) : nil
            entries[path] = Entry(mode: String(fields[0]), owner: String(fields[1]), target: target)
        }
        return entries
    }

    /// One file of a package's data, as text.
    static func extract(_ deb: String, _ path: String) throws -> String {
        try run(["dpkg-deb", "--fsys-tarfile", deb], pipeTo: ["tar", "-xOf", "-", path]).stdout
    }

    struct Output {
        var status: Int32
        var stdoutData: Data
        var stderr: String
        var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    }

    /// Runs a command (found on PATH) to its end, or kills it after `timeout` seconds; with `pipeTo`,
    /// its standard output feeds a second command, whose output is returned.
    static func run(_ argv: [String], input: Data? = nil, pipeTo second: [String]? = nil, timeout: TimeInterval = 120) throws -> Output {
        if let second {
            let first = try run(argv, input: input, timeout: timeout)
            guard first.status == 0 else { return first }
            return try run(second, input: first.stdoutData, timeout: timeout)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + argv
        let out = Pipe(), inp = Pipe()
        let errFile = NSTemporaryDirectory() + "chaos-pkgtest-err-\(UUID().uuidString.prefix(8))"
        FileManager.default.createFile(atPath: errFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errFile) }
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errFile))
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        try? err.close()
        let writer = inp.fileHandleForWriting
        DispatchQueue.global().async {
            if let input { try? writer.write(contentsOf: input) }
            try? writer.close()
        }
        let killer = DispatchWorkItem { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        let stderr = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        return Output(status: p.terminationStatus, stdoutData: data, stderr: stderr)
    }
}

struct PackageFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// This host's root under an overlay in a private mount namespace, held by one process (`unshare`
/// running `cat`, which ends when this test closes its standard input, or is killed by pid): changes go to
/// a tmpfs upper layer, nothing reaches the host, and everything goes when the namespace does.
struct ThrowawayRoot {
    let holder: Process
    /// The directory (in the namespace) holding upper/, work/ and root/.
    let base: String

    static func with(_ body: (ThrowawayRoot) throws -> Void) throws {
        let base = "/tmp/chaos-throwaway-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: false)
        defer { rmdir(base) }
        let script = """
        set -e
        mount -t tmpfs -o mode=0755 chaos-throwaway "$1"
        mkdir "$1/upper" "$1/work" "$1/root"
        mount -t overlay chaos-throwaway -o lowerdir=/,upperdir="$1/upper",workdir="$1/work" "$1/root"
        mount --rbind /dev "$1/root/dev"
        mount -t proc proc "$1/root/proc"
        echo ready
        exec cat >/dev/null
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", base]
        let out = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = inp
        try p.run()
        defer {
            try? inp.fileHandleForWriting.close()
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
        }
        let ready = out.fileHandleForReading.availableData
        guard String(decoding: ready, as: UTF8.self) == "ready\n" else {
            throw PackageFailure("cannot make the throwaway root: \(String(decoding: ready, as: UTF8.self))")
        }
        try body(ThrowawayRoot(holder: p, base: base))
    }

    /// A path in the throwaway root, as this process reaches it (through the holder's /proc/PID/root).
    func path(_ inside: String) -> String { "/proc/\(holder.processIdentifier)/root\(base)/root\(inside)" }

    func exists(_ inside: String) -> Bool { PackageLab.attributes(path(inside)) != nil }

    /// Runs `argv` chrooted in the throwaway root, with a plain environment.
    func run(_ argv: [String], timeout: TimeInterval = 120) throws -> PackageLab.Output {
        try PackageLab.run(["nsenter", "--mount=/proc/\(holder.processIdentifier)/ns/mnt", "--", "chroot", base + "/root",
                            "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8",
                            "DEBIAN_FRONTEND=noninteractive"] + argv, timeout: timeout)
    }

    /// Every path of the upper layer (what changed in the root), with its type, mode, owner, size and
    /// content hash: a whiteout (a deleted file of the host) shows as a character device.
    func changes() throws -> [String: String] {
        let upper = "/proc/\(holder.processIdentifier)/root\(base)/upper"
        let out = try PackageLab.run(["find", upper, "-mindepth", "1", "-printf", "%P\t%y %m %u:%g %s %l\n"])
        var result: [String: String] = [:]
        for line in out.stdout.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2 else { continue }
            var description = String(parts[1])
            let inside = "/" + String(parts[0])
            // A directory of the host copied up (a file was made in it) is no change by itself.
            if description.hasPrefix("d "), let host = PackageLab.attributes(inside), host.isDirectory,
               let here = PackageLab.attributes(upper + inside), host == here { continue }
            if description.hasPrefix("f ") {
                let sum = try PackageLab.run(["md5sum", upper + "/" + parts[0]]).stdout.prefix(32)
                description += " " + sum
            }
            result[inside] = description
        }
        return result
    }
}
