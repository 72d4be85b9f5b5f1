import ChaosCLI
import ChaosController
import ChaosCore
import ChaosProbes
import ChaosRemote
import ChaosReport
import ChaosRun
import ChaosServing
import ChaosStore
import ChaosStorePostgres
import Logging

// `chaos` with the network and storage stack: the agent client, probes, the run store, reports and
// the controller's HTTP face. The lean `chaos` executable execs this one for the commands of
// `RemoteCommands.table` (Sources/ChaosCLI/Remote/RemoteCommands.swift). Same commands, same arguments.
ChaosMain.resetSignalMask()
RemoteServices.install(agents: HTTPAgentConnector(), run: .init(
    probes: { Probes() },
    store: { (dir) throws(ChaosError) in try SQLiteRunStore(directory: dir) },
    render: { runs, format, title in RunReport.render(runs, format: ReportFormat(rawValue: format) ?? .text, title: title) },
    renderSPOF: { proof, runs, format, title in SPOFReport.render(proof, runs: runs, format: ReportFormat(rawValue: format) ?? .html, title: title) },
    controller: .init(
        bootstrapMetrics: { _ = ControllerMetrics.bootstrap() },
        serve: { (settings, backend) throws(ChaosError) in
            let metrics = ControllerMetrics.bootstrap()
            var logger = Logger(label: "chaos.controller.api")
            logger.logLevel = .warning
            let running = try await ControllerServer.start(settings, backend: backend, metrics: metrics, logger: logger)
            return .init(port: running.port, stop: running.stop)
        },
        notifier: { hooks in
            let sender = WebhookSender(hooks)
            return .init(send: { await sender.send($0) }, close: { await sender.shutdown() })
        }),
    sharedStore: { (settings, dir) throws(ChaosError) in
        var url = try PostgresURL.parse(settings.url)
        if let password = settings.password { url.password = password }
        return try await PostgresStore.open(url, verdictLog: VerdictLog(path: try SQLiteRunStore.prepareDirectory(dir) + "/verdicts.jsonl"))
    }),
    enrolment: .init(
        serve: { (address, port, certificate, key, handler, listening) throws(ChaosError) in
            do {
                try await EnrolmentServer.run(address: address, port: port, certificatePEM: certificate, keyPEM: key, handler: handler, listening: listening)
            } catch {
                throw ChaosError("net.listen", "Cannot serve enrolment on \(address):\(port): \(error). Choose another --listen, or stop what holds the port.")
            }
        },
        fetch: { (url, body, trustedCA) throws(ChaosError) in try await OneRequest.fetch(url, body: body, trustedCA: trustedCA) }))
await ChaosMain.run()
