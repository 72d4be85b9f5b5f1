import ArgumentParser
import ChaosCore

/// `chaos agent ...` runs the separate `chaos-agent` executable installed beside `chaos`.
///
/// The agent lives in its own executable so that one-off commands do not load its server stack
/// (Hummingbird, NIO, TLS): that stack doubled the start-up time of `chaos kill`.
struct AgentLauncher: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the agent (the chaos-agent executable beside this one); see 'chaos-agent --help'.",
        discussion: """
        Examples:
          chaos agent --config /etc/chaos/agent.yaml
          chaos agent --plaintext --listen 127.0.0.1:7433 --state-dir /tmp/chaos-agent
        """
    )
    @Argument(parsing: .allUnrecognized, help: "Arguments for chaos-agent.") var arguments: [String] = []

    func run() throws {
        try Sibling.exec("chaos-agent", arguments, missing: "Install chaos-agent beside chaos (swift build --product chaos-agent).")
    }
}
