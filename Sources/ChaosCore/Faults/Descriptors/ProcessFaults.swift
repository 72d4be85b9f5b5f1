extension FaultKind {
    public static let processKill = FaultKind(declaring: "process.kill")
    public static let processPause = FaultKind(declaring: "process.pause")
}

extension ParameterKeys {
    public var signal: ParameterKey<SignalName> { .init("signal") }
}

extension FaultDescriptor {
    public static let processKill = FaultDescriptor(
        .processKill, summary: "send a signal (SIGKILL by default) to the selected processes", subject: .processes, reversible: false,
        needs: [.signals],
        parameters: [
            FaultParameter("signal", .signal, default: "KILL",
                           help: "The signal to send: a name (KILL, TERM, SIGHUP, RTMIN+3) or a number 1-64.", example: "TERM"),
        ],
        example: "{type: process.kill, with: {signal: TERM}}")

    public static let processPause = FaultDescriptor(
        .processPause, summary: "SIGSTOP the processes, SIGCONT after `duration`", subject: .processes, reversible: true,
        needs: [.signals], example: "{type: process.pause, duration: 30s}")
}
