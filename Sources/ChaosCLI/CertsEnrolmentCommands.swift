import ArgumentParser
import ChaosCore
import ChaosPKI
import ChaosPOSIX
import ChaosRun
import Foundation
import X509

/// Runs `body`, reporting a `ChaosError` in the chosen format and ending with its exit status.
private func reporting(_ format: OutputFormat, _ body: () throws(ChaosError) -> Void) throws {
    do { try body() } catch { try finish(Console.report(error, format: format)) }
}

/// Parses a `--ttl`/`--days`-like duration (`90s`, `15m`, `1h`, `2d`).
private func seconds(of text: String, flag: String) throws -> Int64 {
    guard let d = try? ChaosDuration.parse(text) else { throw ValidationError("\(flag) '\(text)' is not a duration; write e.g. 15m, 1h or 2d.") }
    return d.milliseconds / 1000
}

struct CertsApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Sign a host's certificate signing request (CSR) with the CA: enrolment without moving private keys.",
        discussion: """
        An agent without a certificate makes its own private key and a CSR on its first start \
        (agent.csr beside tls.certificate, e.g. /var/lib/chaos/pki/agent.csr) and exits with status 78. Copy \
        the CSR (public) here, approve it, and copy the certificate (and ca.pem) back. The CSR's signature is \
        checked (proof it was made with the key it certifies); what the certificate says — role, name, SANs — \
        is decided here, not by the CSR. Compare the key's SHA-256 printed here with the one the agent logged.

        Writes OUT/NAME.pem (OUT defaults to the current directory); NAME defaults to the CSR's CN.

        Examples:
          chaos certs approve agent.csr --san 10.0.0.11
          chaos certs approve db1.csr --name db1 --san 10.0.0.11,db1.staging --out ./issued
          chaos certs approve alice.csr --role operator --name alice --days 30
        """
    )
    @Argument(help: ArgumentHelp("The CSR file (PEM).", valueName: "csr")) var file: String
    @Option(help: ArgumentHelp("The certificate's name (CN): the host's inventory name (default: the CSR's CN).", valueName: "name")) var name: String?
    @Option(help: ArgumentHelp("agent, controller, operator or observer.", valueName: "role")) var role: String = "agent"
    @Option(parsing: .singleValue, help: ArgumentHelp("Subject alternative names (agents and the controller): IP addresses and DNS names, comma-separated or repeated.", valueName: "list"))
    var san: [String] = []
    @OptionGroup var pki: PKIDirectoryOptions
    @Option(help: ArgumentHelp("Where to write NAME.pem (default: the current directory).", valueName: "dir")) var out: String = "."
    @Option(help: "Validity in days.") var days: Int = CertificateAuthority.defaultLeafDays
    @Flag(help: "Replace an existing NAME.pem (to renew).") var force = false
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.") var output: OutputFormat = .table

    func validate() throws {
        if CertificateRole(rawValue: role) == nil { throw ValidationError("--role must be one of \(CertificateRole.allCases.map(\.rawValue).joined(separator: ", ")); got '\(role)'.") }
        if days < 1 || days > 36_500 { throw ValidationError("--days must be 1 to 36500; got \(days).") }
    }

    struct Result: Encodable { var certificate: CertificateSummary; var file: String; var keySHA256: String }

    func run() throws {
        try reporting(output) { () throws(ChaosError) in
            let verified = try SigningRequest.verify(pem: try PKIFiles.readText(file), source: file)
            guard let chosen = name ?? verified.requestedName else {
                throw ChaosError.usage("pki.usage", "'\(file)' asks for no usable name; give one with --name NAME (the host's inventory name).")
            }
            let role = CertificateRole(rawValue: role) ?? .agent
            let request = try CertificateRequest(role: role, name: chosen, subjectAlternativeNames: san.flatMap { $0.split(separator: ",").map(String.init) })
            let ca = try CertificateAuthority.load(directory: pki.resolved)
            let certificate = try ca.sign(request, publicKey: verified.publicKey, days: days)
            let path = PKIFiles.join(out, "\(request.name).pem")
            try PKIFiles.write(try PKIFormat.pem(certificate), to: path, mode: PKIFiles.certificateMode, force: force,
                               existsHint: "Pass --force to replace it (to renew).")
            let summary = CertificateSummary(certificate)
            if output == .json { Console.json(Result(certificate: summary, file: path, keySHA256: verified.keyFingerprint)); return }
            Console.out("""
            Signed \(role) certificate '\(request.name)' (\(summary.subject)) for the key with SHA-256 \(verified.keyFingerprint),
            valid until \(summary.notValidAfter) (\(days) days).\(summary.subjectAlternativeNames.isEmpty ? "" : "\nSANs: \(summary.subjectAlternativeNames.joined(separator: ", "))")
            Wrote \(path). Copy it and \(PKIFiles.join(pki.resolved, CertificateAuthority.certificateFileName)) to the host (the agent's tls.certificate and tls.ca),
            then start the agent, or 'systemctl reload chaos-agent' to renew without reverting its faults.
            """)
        }
    }
}

struct CertsTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Make a one-time join token for a host: it enrols with 'chaos certs enrol' against 'chaos certs serve'.",
        discussion: """
        The token is single-use and short-lived (--ttl, default 1h, at most 7d), and is for one host name \
        and its SANs, decided here. The CA directory keeps only the SHA-256 of its secret (join-tokens.json, \
        0600); the token itself is printed once. It also carries the CA's SHA-256 fingerprint, so the host \
        trusts the CA it receives only if it is this one. Five wrong secrets for one token burn it.

        Examples:
          chaos certs token --host db1 --san 10.0.0.11
          chaos certs token --host db2 --san 10.0.0.12,db2.staging --ttl 15m --output json
          chaos certs token --list
        """
    )
    @Option(help: ArgumentHelp("The host's inventory name (the certificate's CN).", valueName: "name")) var host: String?
    @Option(parsing: .singleValue, help: ArgumentHelp("SANs of its certificate: its inventory address and DNS names.", valueName: "list")) var san: [String] = []
    @Option(help: ArgumentHelp("How long the token may be used: 1m to 7d.", valueName: "duration")) var ttl: String = "1h"
    @Option(help: "Validity of the certificate it gets, in days.") var days: Int = CertificateAuthority.defaultLeafDays
    @Flag(help: "List the tokens (never their secrets): host, expiry, used or not.") var list = false
    @OptionGroup var pki: PKIDirectoryOptions
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.") var output: OutputFormat = .table

    func validate() throws {
        if !list && host == nil { throw ValidationError("Give --host NAME (or --list).") }
        if days < 1 || days > 36_500 { throw ValidationError("--days must be 1 to 36500; got \(days).") }
        _ = try seconds(of: ttl, flag: "--ttl")
    }

    struct Made: Encodable { var token: String; var host: String; var sans: [String]; var expires: String; var caSHA256: String }
    struct Listed: Encodable { var id: String; var host: String; var sans: [String]; var expires: String; var state: String }

    func run() throws {
        let ttlSeconds = try seconds(of: ttl, flag: "--ttl")
        try reporting(output) { () throws(ChaosError) in
            let store = JoinTokenStore(directory: pki.resolved)
            if list {
                let now = Int64(Date().timeIntervalSince1970)
                let rows = try store.list().map { e in
                    Listed(id: e.id, host: e.host, sans: e.sans, expires: PKIFormat.day(Date(timeIntervalSince1970: Double(e.expires))),
                           state: e.used != nil ? "used" : e.expires <= now ? "expired" : e.failures >= JoinTokenStore.maxFailures ? "burned" : "open")
                }
                if output == .json { Console.json(["tokens": rows]); return }
                Console.out(rows.isEmpty ? "No join tokens in \(store.path)." : Console.table(["ID", "HOST", "SANS", "EXPIRES", "STATE"], rows.map { [$0.id, $0.host, $0.sans.joined(separator: ","), $0.expires, $0.state] }))
                return
            }
            let ca = try CertificateAuthority.load(directory: pki.resolved)
            let sans = san.flatMap { $0.split(separator: ",").map(String.init) }
            let (token, entry) = try store.mint(host: host ?? "", sans: sans, ttlSeconds: ttlSeconds, days: days, caPin: ca.pin)
            let expires = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(entry.expires)))
            if output == .json { Console.json(Made(token: token.text, host: entry.host, sans: entry.sans, expires: expires, caSHA256: ca.pin)); return }
            Console.out("""
            \(token.text)

            One-time join token for '\(entry.host)'\(sans.isEmpty ? "" : " (SANs \(sans.joined(separator: ", ")))"), usable until \(expires).
            On the CA host:  chaos certs serve --pki-dir \(pki.resolved)
            On \(entry.host):  chaos certs enrol --token <the token> --server <this host>:\(CertsServeCommand.defaultPort)
            It is shown only now; the CA directory keeps only its SHA-256.
            """)
        }
    }
}

struct CertsRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Add a certificate to the revocation list that agents and the controller honour.",
        discussion: """
        Appends its serial number to PKI_DIR/revoked.txt (or --list FILE). Distribute that file to the \
        hosts and name it in agent.yaml and controller.yaml as tls.revoked; they read it again on SIGHUP \
        ('systemctl reload') and when it changes, and refuse every request made with a revoked certificate.

        Examples:
          chaos certs revoke /etc/chaos/pki/alice.pem --reason offboarded
          chaos certs revoke --serial 4f:1a:09:c2:7e --reason laptop-lost
        """
    )
    @Argument(help: ArgumentHelp("The certificate to revoke (PEM).", valueName: "file")) var file: String?
    @Option(help: ArgumentHelp("The serial number in hex instead of a file.", valueName: "hex")) var serial: String?
    @Option(help: "Why, written beside the serial.") var reason: String?
    @Option(name: .customLong("list"), help: ArgumentHelp("The revocation list (default: PKI_DIR/revoked.txt).", valueName: "file")) var listFile: String?
    @OptionGroup var pki: PKIDirectoryOptions
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.") var output: OutputFormat = .table

    func validate() throws {
        if (file == nil) == (serial == nil) { throw ValidationError("Give a certificate file or --serial HEX (one of them).") }
        if let serial, RevocationList.normalized(serial) == nil { throw ValidationError("--serial '\(serial)' is not a hex serial number.") }
    }

    struct Result: Encodable { var serial: String; var subject: String?; var list: String; var alreadyListed: Bool }

    func run() throws {
        try reporting(output) { () throws(ChaosError) in
            let path = listFile ?? PKIFiles.join(pki.resolved, "revoked.txt")
            var subject: String?
            let hex: String
            if let file {
                let cert = try PKIFiles.readCertificates(file)[0]
                subject = cert.subject.description
                hex = RevocationList.normalized(PKIFormat.serialHex(cert)) ?? PKIFormat.serialHex(cert)
            } else {
                hex = RevocationList.normalized(serial ?? "") ?? ""
            }
            let existing = POSIXFiles.exists(path) ? try RevocationList.load(path) : RevocationList()
            let already = existing.serials.contains(hex)
            if !already {
                do throws(SyscallError) {
                    try POSIXFiles.appendLocked(Array(RevocationList.line(serial: hex, subject: subject ?? "serial given by hand", reason: reason, at: Date()).utf8),
                                                to: path, mode: 0o644, startOnNewLine: true)
                } catch {
                    throw ChaosError("pki.io", "Cannot append to '\(path)': \(Errno.text(error.code)). Run as the CA's owner, or choose the list with --list.")
                }
            }
            if output == .json { Console.json(Result(serial: hex, subject: subject, list: path, alreadyListed: already)); return }
            Console.out(already ? "\(hex) is already in \(path)." : """
            Revoked \(subject ?? hex) (serial \(hex)) in \(path).
            Copy it to every agent and the controller (tls.revoked), then 'systemctl reload chaos-agent' (or wait: they notice the change within 30 s).
            """)
        }
    }
}

/// `chaos certs serve`: the enrolment server on the CA host (runs in chaos-remote, which has the TLS stack).
struct CertsServeCommand: AsyncParsableCommand {
    static let defaultPort = 7435
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve enrolment on the CA host: hosts with a join token get their CSR signed over HTTPS.",
        discussion: """
        Run it while you enrol hosts, then stop it (Ctrl-C): the CA key stays on this host and is not on \
        the always-on controller. It serves HTTPS with a short-lived certificate it issues itself from the \
        CA, for --san (default: this host's name and addresses), so hosts check it against the CA they \
        pinned through the token. POST /v1/enrol takes {id, secret, csr} and answers {certificate, ca}; a \
        token is spent at its first good use. Each enrolment is logged on stderr.

        Examples:
          chaos certs serve
          chaos certs serve --listen 0.0.0.0:7435 --san ca.staging,10.0.0.5 --pki-dir /etc/chaos/pki
        """
    )
    @Option(help: ArgumentHelp("Address and port to listen on.", valueName: "address:port")) var listen: String = "0.0.0.0:\(defaultPort)"
    @Option(parsing: .singleValue, help: ArgumentHelp("Names and addresses hosts reach this server by (default: host name, its addresses, localhost).", valueName: "list")) var san: [String] = []
    @OptionGroup var pki: PKIDirectoryOptions

    func run() async throws {
        do {
            try await EnrolmentService.serve(listen: listen, sans: san.flatMap { $0.split(separator: ",").map(String.init) }, pkiDir: pki.resolved)
        } catch {
            try finish(Console.report(error, format: .table))
        }
    }
}

/// `chaos certs enrol`: on a new host, trade a join token and this host's CSR for its certificate.
struct CertsEnrolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enrol",
        abstract: "Enrol this host's agent with a join token: its own key, a CSR, and the certificate back.",
        discussion: """
        Reads agent.yaml for where the key, the certificate and the CA go (tls.key, tls.certificate, \
        tls.ca), makes the key (0600) if there is none, sends only the CSR and the token to \
        'chaos certs serve', and checks the answer before writing anything: the CA must be the one the \
        token pins, and the certificate must be for this key and chain to it. Run as the agent's user \
        (root). Then start the agent, or reload it (SIGHUP) to renew without reverting faults.

        Examples:
          chaos certs enrol --token chaos1.... --server ca.staging:7435
          chaos certs enrol --token "$(cat token)" --server 10.0.0.5:7435 --config /etc/chaos/agent.yaml
        """
    )
    @Option(help: ArgumentHelp("The join token from 'chaos certs token' (env CHAOS_JOIN_TOKEN).", valueName: "token")) var token: String?
    @Option(help: ArgumentHelp("Where 'chaos certs serve' listens.", valueName: "host:port")) var server: String
    @Option(help: ArgumentHelp("The agent's configuration.", valueName: "file")) var config: String = "/etc/chaos/agent.yaml"
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.") var output: OutputFormat = .table

    func run() async throws {
        do {
            guard let text = token ?? Environment.value("CHAOS_JOIN_TOKEN") else {
                throw ChaosError.usage("pki.usage", "Give the join token with --token TOKEN or CHAOS_JOIN_TOKEN.")
            }
            try await EnrolmentService.enrol(token: try JoinToken(parsing: text), server: server, configPath: config, output: output)
        } catch let error as ChaosError {
            try finish(Console.report(error, format: output))
        }
    }
}

struct CertsIssueInventory {
    /// `chaos certs issue --inventory FILE`: an agent certificate and key for every host, SAN its address.
    static func run(inventoryPath: String, out: String, pkiDir: String, days: Int, force: Bool, output: OutputFormat) throws(ChaosError) {
        guard let inventory = try DocumentFiles.inventory(inventoryPath) else {
            throw ChaosError.usage("pki.usage", "'\(inventoryPath)' holds no inventory.")
        }
        let ca = try CertificateAuthority.load(directory: pkiDir)
        struct Row: Encodable { var host: String; var certificate: String; var privateKey: String; var notValidAfter: String }
        var rows: [Row] = []
        // Check every request first, so a bad host name stops the command before any file is written.
        let requests = try inventory.hosts.map { h throws(ChaosError) in try CertificateRequest(role: .agent, name: h.name, subjectAlternativeNames: [h.address]) }
        for request in requests {
            let issued = try ca.issue(request, days: days)
            let files = try issued.write(to: PKIFiles.join(out, request.name), force: force)
            rows.append(Row(host: request.name, certificate: files.certificate, privateKey: files.privateKey, notValidAfter: PKIFormat.day(issued.certificate.notValidAfter)))
        }
        if output == .json { Console.json(["issued": rows]); return }
        Console.out("""
        \(Console.table(["HOST", "CERTIFICATE", "PRIVATE KEY (0600)", "VALID UNTIL"], rows.map { [$0.host, $0.certificate, $0.privateKey, $0.notValidAfter] }))
        Copy each host's pair and \(PKIFiles.join(pkiDir, CertificateAuthority.certificateFileName)) to it (tls.certificate, tls.key, tls.ca).
        To keep private keys on their hosts instead, use 'chaos certs token' or 'chaos certs approve'.
        """)
    }
}
