import ChaosCLI
import ChaosRemote

// `chaos` with the agent client: the lean `chaos` executable execs this one for commands that talk
// to agents. Same commands, same arguments.
ChaosMain.resetSignalMask()
RemoteAgents.install(HTTPAgentConnector())
await ChaosMain.run()
