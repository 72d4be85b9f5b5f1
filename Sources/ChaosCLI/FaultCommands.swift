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
    @Option(help: "Signal to send: a name (KILL, TERM, INT, HUP...) or a number.") var signal: SignalName = .kill
    @Option(help: ArgumentHelp("With --unit: all, main or control.", valueName: "who")) var who: String = "all"
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard ["all", "main", "control"].contains(who) else { throw ValidationError("--who must be all, main or control.") }
    }

    func run() async throws {
        var params = FaultParameters()
        params.signal = signal
        var spec = target.spec
        let unitWide = target.unit != nil && target.count == nil && target.percent == nil
        let kind: FaultKind = unitWide ? .systemdKill : .processKill
        if unitWide { params.who = who }
        if target.target != nil, spec.process == nil { spec.selection = Selection(count: target.count, percent: target.percent, random: !target.oldest) }
        let status = await OneOff(global: global, safety: safety, target: spec, inventoryPath: target.inventory,
                                  spec: FaultSpec(type: kind, duration: nil, with: params)).run()
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
        deadline (the guardian does it if this command is killed). Percentages are df's Use%.

        Examples:
          chaos disk fill --path /var/lib/redis --percent 95 --for 2m
          chaos disk fill --path /var/log --free 100MiB --for 30s
          chaos disk fill --path /srv --size 2GiB --for 1m --dry-run
        """
    )
    @Option(help: ArgumentHelp("A directory (or file) on the filesystem to fill.", valueName: "path")) var path: String
    @Option(help: "Fill until the filesystem is this percent full.") var percent: Double?
    @Option(help: ArgumentHelp("Fill until only this much is left, e.g. 100MiB.", valueName: "size")) var free: ByteSize?
    @Option(help: ArgumentHelp("Add exactly this much, e.g. 1GiB.", valueName: "size")) var size: ByteSize?
    @OptionGroup var hold: HoldOptions
    @OptionGroup var at: HostOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        let n = [percent != nil, free != nil, size != nil].filter { $0 }.count
        guard n == 1 else { throw ValidationError("Give exactly one of --percent, --free and --size.") }
        if let percent, !(1...100).contains(percent) { throw ValidationError("--percent must be 1-100.") }
        guard path.hasPrefix("/") else { throw ValidationError("--path must be absolute, e.g. /var/lib/redis.") }
    }

    func run() async throws {
        var p = FaultParameters()
        p.path = path; p.percent = percent; p.free = free; p.size = size
        var one = OneOff(global: global, safety: safety, target: at.placement, inventoryPath: at.inventory,
                         spec: FaultSpec(type: .diskFill, duration: hold.duration, with: p))
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
    @Option(help: "Busy threads (default: one per CPU).") var workers: Int?
    @Option(help: "Percent of each worker's time to burn, 1-100.") var load: Double = 100
    @OptionGroup var hold: HoldOptions
    @OptionGroup var at: HostOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let workers, !(1...1024).contains(workers) { throw ValidationError("--workers must be 1-1024.") }
        guard (1...100).contains(load) else { throw ValidationError("--load must be 1-100.") }
    }

    func run() async throws {
        var p = FaultParameters()
        p.workers = workers; p.load = load
        var one = OneOff(global: global, safety: safety, target: at.placement, inventoryPath: at.inventory, spec: FaultSpec(type: .stressCPU, duration: hold.duration, with: p))
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
    @Option(help: ArgumentHelp("How much, e.g. 512MiB or 2GiB.", valueName: "size")) var size: ByteSize
    @OptionGroup var hold: HoldOptions
    @OptionGroup var at: HostOptions
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        var p = FaultParameters()
        p.size = size
        var one = OneOff(global: global, safety: safety, target: at.placement, inventoryPath: at.inventory, spec: FaultSpec(type: .stressMemory, duration: hold.duration, with: p))
        one.detach = hold.detach
        try finish(await one.run())
    }
}
