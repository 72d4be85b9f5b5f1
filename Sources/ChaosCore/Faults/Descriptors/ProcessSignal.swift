extension FaultKind {
    public static let processSignal = FaultKind(declaring: "process.signal")
}

extension FaultDescriptor {
    /// Any signal, once: SIGHUP to force a reload, SIGUSR1 to rotate logs, SIGABRT or SIGSEGV to crash
    /// with a core dump, SIGTERM for a graceful stop. Nothing to undo: what follows is the service's
    /// answer, which is what the experiment observes.
    public static let processSignal = FaultDescriptor(
        .processSignal, summary: "send one chosen signal to the selected processes (reload, log rotation, abort...)",
        subject: .processes, reversible: false, needs: [.signals],
        parameters: [
            FaultParameter("signal", .signal, required: true,
                           help: "The signal to send: a name (HUP, USR1, ABRT, TERM, RTMIN+3) or a number 1-64.", example: "HUP"),
        ],
        example: "{type: process.signal, with: {signal: HUP}}")
}
