import ChaosCLI
import ChaosCore
import ChaosProbes
import ChaosRemote
import ChaosStore

// `chaos` with the network and storage stack: the agent client, probes and the run store. The lean
// `chaos` executable execs this one for commands that need them. Same commands, same arguments.
ChaosMain.resetSignalMask()
RemoteAgents.install(HTTPAgentConnector())
RunServices.install(.init(probes: { Probes() }, store: { (dir) throws(ChaosError) in try SQLiteRunStore(directory: dir) }))
await ChaosMain.run()
