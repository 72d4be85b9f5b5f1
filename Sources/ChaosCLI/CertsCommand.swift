import ArgumentParser
import ChaosCore
import ChaosPKI
import Foundation
import X509

/// `chaos certs`: the CA and the certificates for mutual TLS between the controller, operators and agents.
struct CertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Certificates for mutual TLS: create a CA, issue agent/controller/operator certificates, show them.",
        discussion: """
        Agents accept only callers whose certificate the CA signed, and their policy decides from the \
        subject (OU = role, CN = name) who may do what. Keys are ECDSA P-256; private keys are written \
        with mode 0600 and never over an existing file unless --force. See docs/certificates.md.

        Examples:
          chaos certs init
          chaos certs issue --agent db1 --san 10.0.0.11,db1.staging
          chaos certs issue --controller
          chaos certs issue --operator alice --out ./alice
          chaos certs issue --observer prometheus
          chaos certs token --host db1 --san 10.0.0.11      # enrolment: the host keeps its key
          chaos certs approve agent.csr --name db1 --san 10.0.0.11
          chaos certs revoke /etc/chaos/pki/alice.pem --reason offboarded
          chaos certs show /etc/chaos/pki/db1.pem
        """,
        subcommands: [CertsInitCommand.self, CertsIssueCommand.self, CertsApproveCommand.self, CertsTokenCommand.self, CertsServeCommand.self,
                      CertsEnrolCommand.self, CertsRevokeCommand.self, CertsShowCommand.self, CertsVerifyCommand.self]
    )
}

/// Where the CA lives.
struct PKIDirectoryOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The CA's directory: ca.pem and ca-key.pem (env CHAOS_PKI_DIR; default /etc/chaos/pki).", valueName: "dir"))
    var pkiDir: String?
    /// `--dir` was the name before every command called it `--pki-dir`.
    @Option(name: .customLong("dir"), help: .hidden) var legacyDir: String?

    var dir: String? { pkiDir ?? legacyDir }
    /// `--pki-dir`, else `CHAOS_PKI_DIR`, else `/etc/chaos/pki`.
    var resolved: String { dir ?? Environment.value("CHAOS_PKI_DIR") ?? "/etc/chaos/pki" }
}

/// Runs `body`, reporting a `ChaosError` in the chosen format and ending with its exit status.
private func runReporting(_ format: OutputFormat, _ body: () throws(ChaosError) -> Void) throws {
    do { try body() } catch { try finish(Console.report(error, format: format)) }
}

struct CertsInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the CA: DIR/ca.pem (give to everyone) and DIR/ca-key.pem (0600, keep offline).",
        discussion: """
        The CA is self-signed (ECDSA P-256, CA:true, path length 0, keyCertSign + cRLSign) and valid for \
        ten years unless --days says otherwise. Existing CA files are left alone unless --force: replacing \
        the CA makes every certificate it signed untrusted once agents trust only the new one (see \
        'Rotating the CA' in docs/certificates.md for doing that without downtime).

        Examples:
          chaos certs init
          chaos certs init --pki-dir ./pki --days 1825
          CHAOS_PKI_DIR=./pki chaos certs init --output json
        """
    )
    @OptionGroup var pki: PKIDirectoryOptions
    @Option(help: "Validity of the CA in days.") var days: Int = CertificateAuthority.defaultDays
    @Option(help: ArgumentHelp("Common name of the CA (default: 'chaos CA' and today's date).", valueName: "name")) var name: String?
    @Flag(help: "Replace existing CA files.") var force = false
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.") var output: OutputFormat = .table

    func validate() throws {
        if days < 1 || days > 36_500 { throw ValidationError("--days must be 1 to 36500; got \(days).") }
    }

    struct Result: Encodable { var certificate: CertificateSummary; var files: WrittenFiles }

    func run() throws {
        try runReporting(output) { () throws(ChaosError) in
            let dir = pki.resolved
            let ca = try CertificateAuthority.create(name: name, days: days)
            let files = try ca.write(to: dir, force: force)
            let summary = CertificateSummary(ca.certificate)
            if output == .json { Console.json(Result(certificate: summary, files: files)); return }
            Console.out("""
            Created CA '\(summary.name ?? summary.subject)', valid until \(summary.notValidAfter) (\(days) days).
            \(Console.table(["FILE", "WHAT"], [
                [files.certificate, "CA certificate: install on every agent, the controller and operators"],
                [files.privateKey, "CA private key (0600): signs every certificate; keep it offline"],
            ]))
            SHA-256 fingerprint: \(summary.sha256Fingerprint)
            Next: chaos certs issue --agent NAME --san ADDRESS\(pki.dir.map { " --pki-dir \($0)" } ?? "")
            """)
        }
    }
}

struct CertsIssueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue a certificate for an agent, the controller or an operator, signed by the CA.",
        discussion: """
        Writes OUT/NAME.pem and OUT/NAME-key.pem (0600); OUT defaults to the CA's directory, and NAME is \
        the agent's or operator's name, or 'controller'. The subject is O=chaos, OU=<role>, CN=<name>.
          agent       serverAuth + clientAuth; SANs: the host name and every --san (its inventory address)
          controller  serverAuth + clientAuth; SANs: every --san (where its API is reached), if any
          operator    clientAuth only; no SANs
          observer    clientAuth only; no SANs; agents let it read only (Prometheus)
        With --inventory FILE, an agent certificate for every host of the inventory (SAN: its address), \
        each in OUT/NAME/. To keep private keys on their hosts instead, see 'chaos certs token' and \
        'chaos certs approve'.
        Certificates are valid for 90 days unless --days says otherwise; renew them with --force before \
        they expire.

        Examples:
          chaos certs issue --agent db1 --san 10.0.0.11,db1.staging
          chaos certs issue --agent db2 --san 10.0.0.12 --san db2.staging --out /tmp/db2
          chaos certs issue --controller --san controller.staging
          chaos certs issue --operator alice --days 30 --out ./alice
          chaos certs issue --agent db1 --san 10.0.0.11 --force
          chaos certs issue --observer prometheus --out ./prometheus
          chaos certs issue --inventory deploy/inventory.yaml --out ./issued
        """
    )
    @Option(help: ArgumentHelp("An agent certificate for this host (its inventory name).", valueName: "name")) var agent: String?
    @Flag(help: "The controller's certificate (CN=controller).") var controller = false
    @Option(name: .customLong("operator"), help: ArgumentHelp("An operator certificate for this person or script.", valueName: "name")) var operatorName: String?
    @Option(help: ArgumentHelp("A read-only observer certificate (e.g. prometheus): agents let it read only.", valueName: "name")) var observer: String?
    @Option(help: ArgumentHelp("An agent certificate for every host of this inventory (in OUT/NAME/).", valueName: "file")) var inventory: String?
    @Option(parsing: .singleValue, help: ArgumentHelp("Subject alternative names: IP addresses and DNS names, comma-separated or repeated.", valueName: "list"))
    var san: [String] = []
    @OptionGroup var pki: PKIDirectoryOptions
    @Option(help: ArgumentHelp("Where to write the certificate and key (default: the CA's directory).", valueName: "dir")) var out: String?
    @Option(help: "Validity in days.") var days: Int = CertificateAuthority.defaultLeafDays
    @Flag(help: "Replace existing certificate and key files (to renew).") var force = false
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.") var output: OutputFormat = .table

    func validate() throws {
        let chosen = [agent != nil, controller, operatorName != nil, observer != nil, inventory != nil].filter { $0 }.count
        if chosen != 1 { throw ValidationError("Give exactly one of --agent NAME, --controller, --operator NAME, --observer NAME and --inventory FILE.") }
        if (operatorName != nil || observer != nil) && !san.isEmpty { throw ValidationError("Operator and observer certificates are for clients only and carry no SANs; drop --san.") }
        if inventory != nil && !san.isEmpty { throw ValidationError("With --inventory each host's SAN is its inventory address; drop --san.") }
        if days < 1 || days > 36_500 { throw ValidationError("--days must be 1 to 36500; got \(days).") }
    }

    struct Result: Encodable { var certificate: CertificateSummary; var files: WrittenFiles }

    func run() throws {
        try runReporting(output) { () throws(ChaosError) in
            if let inventory {
                try CertsIssueInventory.run(inventoryPath: inventory, out: out ?? pki.resolved, pkiDir: pki.resolved, days: days, force: force, output: output)
                return
            }
            let role: CertificateRole = agent != nil ? .agent : controller ? .controller : observer != nil ? .observer : .operator
            let request = try CertificateRequest(role: role, name: agent ?? operatorName ?? observer ?? CertificateRequest.controllerName,
                                                 subjectAlternativeNames: san.flatMap { $0.split(separator: ",").map(String.init) })
            let dir = pki.resolved
            let ca = try CertificateAuthority.load(directory: dir)
            let issued = try ca.issue(request, days: days)
            let files = try issued.write(to: out ?? dir, force: force)
            let summary = CertificateSummary(issued.certificate)
            if output == .json { Console.json(Result(certificate: summary, files: files)); return }
            var lines = ["Issued \(role) certificate '\(request.name)' (\(summary.subject)), valid until \(summary.notValidAfter) (\(days) days)."]
            if !summary.subjectAlternativeNames.isEmpty { lines.append("SANs: \(summary.subjectAlternativeNames.joined(separator: ", "))") }
            lines.append(Console.table(["FILE", "WHAT"], [
                [files.certificate, "certificate"],
                [files.privateKey, "private key (0600): copy it only to where it is used"],
            ]))
            lines.append("Renew before \(PKIFormat.day(issued.certificate.notValidAfter)): rerun this command with --force.")
            Console.out(lines.joined(separator: "\n"))
        }
    }
}

struct CertsShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a certificate: subject, role, SANs, validity, fingerprint.",
        discussion: """
        FILE may hold one certificate or a bundle of several (each is shown). The status is 'valid', \
        'expired' or 'notYetValid' at the time of the command; 'show' does not check who signed it \
        (use 'chaos certs verify' for that).

        Examples:
          chaos certs show /etc/chaos/pki/db1.pem
          chaos certs show /etc/chaos/pki/ca.pem --output json
        """
    )
    @Argument(help: ArgumentHelp("A PEM certificate file.", valueName: "file")) var file: String
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.") var output: OutputFormat = .table

    struct Result: Encodable { var file: String; var certificates: [CertificateSummary] }

    func run() throws {
        try runReporting(output) { () throws(ChaosError) in
            let summaries = try PKIFiles.readCertificates(file).map { CertificateSummary($0) }
            if output == .json { Console.json(Result(file: file, certificates: summaries)); return }
            Console.out(summaries.map(Self.describe).joined(separator: "\n\n"))
        }
    }

    static func describe(_ s: CertificateSummary) -> String {
        let rows: [[String]] = [
            ["subject", s.subject],
            ["issuer", s.issuer],
            ["role", s.isCertificateAuthority ? "CA" : s.role.map { "\($0) '\(s.name ?? "")'" } ?? "none (no chaos OU)"],
            ["SANs", s.subjectAlternativeNames.isEmpty ? "-" : s.subjectAlternativeNames.joined(separator: ", ")],
            ["valid from", s.notValidBefore],
            ["valid until", "\(s.notValidAfter) (\(s.validitySummary))"],
            ["key usage", s.keyUsage.joined(separator: ", ")],
            ["extended", s.extendedKeyUsage.isEmpty ? "-" : s.extendedKeyUsage.joined(separator: ", ")],
            ["serial", s.serial],
            ["SHA-256", s.sha256Fingerprint],
        ]
        return rows.map { $0[0].padding(toLength: 12, withPad: " ", startingAt: 0) + $0[1] }.joined(separator: "\n")
    }
}

struct CertsVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that a certificate chains to a trusted CA and is valid now, as an agent would.",
        discussion: """
        Trusts every certificate in the --ca files (default: DIR/ca.pem); during a CA rotation give both \
        CAs, or the bundle the agents use. Exits 0 when trusted, 1 when not.

        Examples:
          chaos certs verify /etc/chaos/pki/db1.pem
          chaos certs verify alice.pem --ca /etc/chaos/pki/ca-bundle.pem --usage client
        """
    )
    enum Usage: String, ExpressibleByArgument, CaseIterable { case any, client, server }

    @Argument(help: ArgumentHelp("A PEM certificate file (the first certificate is the leaf; others are intermediates).", valueName: "file")) var file: String
    @Option(parsing: .singleValue, help: ArgumentHelp("A trusted CA certificate or bundle; repeat for several.", valueName: "file")) var ca: [String] = []
    @OptionGroup var pki: PKIDirectoryOptions
    @Option(help: "The extended key usage the certificate must have: any, client or server.") var usage: Usage = .any
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.") var output: OutputFormat = .table

    struct Result: Encodable { var file: String; var trusted: Bool; var identity: CertificateIdentity?; var chain: [String]; var reason: String? }

    func run() async throws {
        let loaded: (leaf: Certificate, rest: [Certificate], roots: TrustedRoots)
        do {
            let certs = try PKIFiles.readCertificates(file)
            let roots = try TrustedRoots(pemFiles: ca.isEmpty ? [PKIFiles.join(pki.resolved, CertificateAuthority.certificateFileName)] : ca)
            loaded = (certs[0], Array(certs.dropFirst()), roots)
        } catch {
            try finish(Console.report(error, format: output))
            return
        }
        let eku: ExtendedKeyUsage.Usage? = usage == .client ? .clientAuth : usage == .server ? .serverAuth : nil
        let verdict = await loaded.roots.verify(loaded.leaf, intermediates: loaded.rest, usage: eku)
        let identity = try? CertificateIdentity(certificate: loaded.leaf)
        switch verdict {
        case .trusted(let chain):
            if output == .json {
                Console.json(Result(file: file, trusted: true, identity: identity, chain: chain.map { $0.subject.description }, reason: nil))
            } else {
                Console.out("\(file): trusted (\(chain.map { $0.subject.description }.joined(separator: " <- ")))\(identity.map { "; identity \($0)" } ?? "")")
            }
        case .untrusted(let reason):
            if output == .json {
                Console.json(Result(file: file, trusted: false, identity: identity, chain: [], reason: reason))
            } else {
                Console.out("\(file): NOT trusted: \(reason)")
            }
            throw ExitCode(1)
        }
    }
}
