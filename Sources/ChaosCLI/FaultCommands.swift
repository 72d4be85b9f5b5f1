import ArgumentParser
import ChaosCore

struct KillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill",
        abstract: "Kill processes (process.kill) or a systemd unit (systemd.kill). Not reversible.",
        discussion: """
        Death is confirmed from /proc (gone or zombie), not with kill -0. With --unit and no \
        --count/--percent, the service manager sends the signal to the whole unit (KillUnit); the \
        unit's Restart= policy decides what happens next.

        Examples:
          chaos kill --pid 4242
          chaos kill --name redis-server --count 1 --signal TERM
          chaos kill --port 6379 --dry-run
          chaos kill --unit redis-server.service
          chaos kill --target db-primary --inventory deploy/inventory.yaml
          chaos kill --name web --count 1 --observe http://10.0.0.10/healthz --recover-within 20s
        """
    )
    @OptionGroup var target: TargetOptions
    @Option(help: ArgumentHelp(FaultArguments.help(.processKill, "signal"), valueName: "signal")) var signal: String?
    @Option(help: ArgumentHelp(FaultArguments.help(.systemdKill, "who") + " Only with --unit (the whole unit).", valueName: "who")) var who: String?
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    /// With --unit and no --count/--percent the service manager signals the whole unit.
    var unitWide: Bool { target.unit != nil && target.count == nil && target.percent == nil }
    var kind: FaultKind { unitWide ? .systemdKill : .processKill }

    var arguments: FaultArguments {
        var a = FaultArguments(kind)
        a.set("signal", signal)
        a.set("who", who)
        return a
    }

    func validate() throws {
        if who != nil && !unitWide { throw ValidationError("--who only applies to a whole unit: --unit without --count or --percent.") }
        _ = try arguments.parameters()
    }

    func run() async throws {
        var spec = target.spec
        if target.target != nil, spec.process == nil { spec.selection = Selection(count: target.count, percent: target.percent, random: !target.oldest) }
        let status = await OneOff(global: global, safety: safety, target: spec, inventoryPath: target.inventory,
                                  spec: FaultSpec(type: kind, duration: nil, with: try arguments.parameters())).run()
        try finish(status)
    }
}

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Freeze processes with SIGSTOP for a duration, then SIGCONT (process.pause).",
        discussion: """
        The fault is recorded in the ledger before the first SIGSTOP, and a detached guardian sends \
        SIGCONT at the deadline even if this command is killed. Ctrl-C resumes at once.

        Examples:
          chaos pause --port 6379 --for 30s
          chaos pause --name redis-server --for 10s --detach
        """
    )
    @OptionGroup var target: TargetOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        var one = OneOff(global: global, safety: safety, target: target.spec, inventoryPath: target.inventory,
                         spec: FaultSpec(type: .processPause, duration: hold.duration, with: FaultParameters()))
        one.detach = hold.detach
        try finish(await one.run())
    }
}

struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop a systemd unit for a duration, then start it again (systemd.stop).",
        discussion: """
        Talks to the service manager over D-Bus (sd-bus): the system manager, or the user's with --user.

        Examples:
          chaos stop --unit nginx.service --for 1m
          chaos stop --unit worker.service --user --for 30s --dry-run
        """
    )
    @Option(help: ArgumentHelp("The unit to stop.", valueName: "unit")) var unit: String
    @Flag(help: "The user's service manager instead of the system's.") var user = false
    @OptionGroup var at: HostOptions
    @OptionGroup var hold: HoldOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if at.target != nil { throw ValidationError("stop takes its unit from --unit; use --host to name the host it runs on.") }
    }

    func run() async throws {
        let target = TargetSpec(host: at.host, process: ProcessSelector(unit: unit, user: user ? true : nil))
        var one = OneOff(global: global, safety: safety, target: target, inventoryPath: at.inventory,
                         spec: FaultSpec(type: .systemdStop, duration: hold.duration, with: FaultParameters()))
        one.detach = hold.detach
        try finish(await one.run())
    }
}

struct DiskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disk", abstract: "Disk faults.", subcommands: [DiskFillCommand.self])
}

struct DiskFillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill",
        abstract: "Fill the filesystem holding a path for a duration (disk.fill).",
        discussion: """
        Creates one file the fault owns, PATH/.chaos-fill-ID, with fallocate, and removes it at the \
        deadline (the guardian does it if this command is killed). --used is df's Use%.

        Examples:
          chaos disk fill --path /var/lib/redis --used 95 --for 2m
          chaos disk fill --path /var/log --free 100MiB --for 30s
          chaos disk fill --path /srv --size 2GiB --for 1m --dry-run
        """
    )
    @Option(help: ArgumentHelp(FaultArguments.help(.diskFill, "path"), valueName: "path")) var path: String
    @Option(help: ArgumentHelp(FaultArguments.help(.diskFill, "percent"), valueName: "percent")) var used: String?
    /// `--percent` was the name before it meant only a share of the victims.
    @Option(help: .hidden) var percent: String?
    @Option(help: ArgumentHelp(FaultArguments.help(.diskFill, "free") + " E.g. 100MiB.", valueName: "size")) var free: String?
    @Option(help: ArgumentHelp(FaultArguments.help(.diskFill, "size") + " E.g. 1GiB.", valueName: "size")) var size: String?
    @OptionGroup var hold: HoldOptions
    @OptionGroup var at: HostOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    var arguments: FaultArguments {
        var a = FaultArguments(.diskFill, options: ["percent": "--used"])
        a.set("path", path); a.set("percent", used ?? percent); a.set("free", free); a.set("size", size)
        return a
    }

    func validate() throws {
        if used != nil && percent != nil { throw ValidationError("Give --used (--percent is its old name), not both.") }
        _ = try arguments.parameters()
    }

    func run() async throws {
        var one = OneOff(global: global, safety: safety, target: at.placement, inventoryPath: at.inventory,
                         spec: FaultSpec(type: .diskFill, duration: hold.duration, with: try arguments.parameters()))
        one.detach = hold.detach
        try finish(await one.run())
    }
}

struct StressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stress", abstract: "CPU and memory pressure.",
                                                    subcommands: [StressCPUCommand.self, StressMemoryCommand.self])
}

struct StressCPUCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpu",
        abstract: "Burn CPU in a helper process for a duration (stress.cpu).",
        discussion: """
        The helper ends itself at the deadline; revert kills it sooner.

        Examples:
          chaos stress cpu --for 1m
          chaos stress cpu --workers 2 --load 80 --for 30s
        """
    )
    @Option(help: ArgumentHelp(FaultArguments.help(.stressCPU, "workers"), valueName: "n")) var workers: String?
    @Option(help: ArgumentHelp(FaultArguments.help(.stressCPU, "load"), valueName: "percent")) var load: String?
    @OptionGroup var hold: HoldOptions
    @OptionGroup var at: HostOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    var arguments: FaultArguments {
        var a = FaultArguments(.stressCPU)
        a.set("workers", workers); a.set("load", load)
        return a
    }

    func validate() throws { _ = try arguments.parameters() }

    func run() async throws {
        var one = OneOff(global: global, safety: safety, target: at.placement, inventoryPath: at.inventory,
                         spec: FaultSpec(type: .stressCPU, duration: hold.duration, with: try arguments.parameters()))
        one.detach = hold.detach
        try finish(await one.run())
    }
}

struct StressMemoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Hold memory in a helper process for a duration (stress.memory).",
        discussion: """
        Every page is touched so the memory is really resident. Refused above 90 % of MemAvailable.

        Examples:
          chaos stress memory --size 1GiB --for 1m
        """
    )
    @Option(help: ArgumentHelp(FaultArguments.help(.stressMemory, "size") + " E.g. 512MiB or 2GiB.", valueName: "size")) var size: String
    @OptionGroup var hold: HoldOptions
    @OptionGroup var at: HostOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    var arguments: FaultArguments {
        var a = FaultArguments(.stressMemory)
        a.set("size", size)
        return a
    }

    func validate() throws { _ = try arguments.parameters() }

    func run() async throws {
        var one = OneOff(global: global, safety: safety, target: at.placement, inventoryPath: at.inventory,
                         spec: FaultSpec(type: .stressMemory, duration: hold.duration, with: try arguments.parameters()))
        one.detach = hold.detach
        try finish(await one.run())
    }
}

extension FaultArguments {
    /// The parameters, or a usage error (exit 64) naming each wrong option.
    func parameters() throws(ValidationError) -> FaultParameters {
        switch read() {
        case .success(let p): return p
        case .failure(let problems): throw ValidationError(problems.description)
        }
    }
}
