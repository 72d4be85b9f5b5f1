import ArgumentParser
import ChaosAgent
import ChaosPOSIX
import ChaosCore
import ChaosLinux
import Foundation
import Logging
import ServiceLifecycle

@main
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos-agent",
        abstract: "Run the agent: the only thing that changes this host, over mutually authenticated TLS.",
        discussion: """
        On start it reverts every fault a previous agent left, before it answers any request. Every \
        fault carries a lease: if the caller does not renew it in time, the agent reverts the fault by \
        itself. On SIGTERM it reverts everything, then exits. See docs/agent-api.md.

        Examples:
          chaos-agent --config /etc/chaos/agent.yaml
          chaos agent --config /etc/chaos/agent.yaml     # the same, through the chaos command
          chaos-agent --plaintext --listen 127.0.0.1:7433 --state-dir /tmp/chaos-agent   # local testing only
        """
    )
    @Option(help: ArgumentHelp("Agent configuration file (YAML).", valueName: "file")) var config: String?
    @Option(help: ArgumentHelp("Address and port to listen on, e.g. 0.0.0.0:7433.", valueName: "address:port")) var listen: String?
    @Flag(help: "Serve without TLS. Only allowed on a loopback address.") var plaintext = false
    @Option(help: ArgumentHelp("Where the ledger lives.", valueName: "dir")) var stateDir: String?

    func run() async throws {
        var c = AgentConfiguration()
        if let config {
            guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                throw ValidationError("Cannot read '\(config)'.")
            }
            let (loaded, diagnostics) = AgentConfiguration.load(text, file: config)
            guard let loaded else {
                FileHandle.standardError.write(Data(diagnostics.map { $0.description + "\n" }.joined().utf8))
                throw ExitCode(64)
            }
            c = loaded
        }
        if let listen {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
                throw ValidationError("--listen takes address:port, e.g. 127.0.0.1:7433.")
            }
            c.address = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            c.port = port
        }
        if plaintext { c.plaintext = true }
        if let stateDir { c.stateDir = stateDir } else if let env = ProcessInfo.processInfo.environment["CHAOS_STATE_DIR"], !env.isEmpty { c.stateDir = env }
        if let why = c.problem() { throw ValidationError("The agent cannot start: \(why).") }
        // Structured logs to the journal under systemd, plain lines on stderr otherwise.
        var logger = Logger(label: "chaos-agent", factory: { LoggingBootstrap.handler(label: $0) })
        logger.logLevel = .info
        // sd_notify: READY only after recovery and once listening; STOPPING on shutdown; the watchdog.
        let notifier = ServiceNotifier()
        let log = logger
        let hooks = AgentServer.Hooks(
            ready: { status in
                _ = try? notifier.ready(status: status)
                // Ten seconds on, start-up is over: give back the pages of the binary only it used.
                Task {
                    try? await Task.sleep(for: .seconds(10))
                    let advised = ThisProcess.releaseStartupPages()
                    log.debug("released start-up pages", metadata: ["mappings": "\(advised.map(String.init) ?? "none")"])
                }
            },
            stopping: { _ = try? notifier.stopping(status: "reverting every fault") },
            status: { text in _ = try? notifier.status(text) })
        let watchdog: [any Service] = notifier.watchdogPinger().map { [WatchdogService(pinger: $0)] } ?? []
        do {
            try await AgentServer.run(c, logger: logger, hooks: hooks, extraServices: watchdog)
        } catch let error as ChaosError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(error.exit.status)
        }
    }
}

/// Pings systemd's watchdog at half its interval while the agent runs.
struct WatchdogService: Service {
    let pinger: WatchdogPinger
    func run() async throws {
        // Stop pinging as soon as shutdown begins, or the service group waits for us forever.
        try await cancelWhenGracefulShutdown { _ = await pinger.run() }
    }
}
