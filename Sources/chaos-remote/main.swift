import ChaosCLI
import ChaosCore
import ChaosProbes
import ChaosRemote
import ChaosReport
import ChaosStore

// `chaos` with the network and storage stack: the agent client, probes, the run store and reports. The lean
// `chaos` executable execs this one for commands that need them. Same commands, same arguments.
ChaosMain.resetSignalMask()
RemoteAgents.install(HTTPAgentConnector())
RunServices.install(.init(
    probes: { Probes() },
    store: { (dir) throws(ChaosError) in try SQLiteRunStore(directory: dir) },
    render: { runs, format, title in RunReport.render(runs, format: ReportFormat(rawValue: format) ?? .text, title: title) }))
await ChaosMain.run()
