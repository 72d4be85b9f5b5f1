extension FaultKind {
    public static let systemdStop = FaultKind(declaring: "systemd.stop")
    public static let systemdKill = FaultKind(declaring: "systemd.kill")
}

extension ParameterKeys {
    public var who: ParameterKey<String> { .init("who") }
}

extension FaultDescriptor {
    public static let systemdStop = FaultDescriptor(
        .systemdStop, summary: "stop the unit, start it after `duration`", subject: .unit, reversible: true,
        needs: [.systemd], example: "{type: systemd.stop, duration: 1m}")

    public static let systemdKill = FaultDescriptor(
        .systemdKill, summary: "signal the unit's processes (`systemctl kill`)", subject: .unit, reversible: false,
        needs: [.systemd],
        parameters: [
            FaultParameter("signal", .signal, default: "KILL",
                           help: "The signal to send: a name (KILL, TERM, SIGHUP, RTMIN+3) or a number 1-64.", example: "KILL"),
            FaultParameter("who", .word(["all", "main", "control"]), default: "all",
                           help: "Which of the unit's processes get the signal.", example: "main"),
        ],
        example: "{type: systemd.kill, with: {signal: KILL, who: main}}")
}
