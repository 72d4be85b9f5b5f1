import ArgumentParser
import ChaosCore

/// Any fault kind from its descriptor: the one-off for kinds without a command of their own, and the
/// same checks as an experiment file's `with:`.
struct InjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inject",
        abstract: "Inject any fault kind, with its parameters as --set NAME=VALUE (as under 'with:' in an experiment).",
        discussion: """
        Every kind chaos knows is available here, checked exactly as in an experiment file: \
        'chaos schema fault-tables' lists the kinds and their parameters. Lists are comma-separated \
        (--set ports=6379,8000-8100). Process kinds take a process selector; unit kinds --unit; \
        host kinds none. Reversible kinds need --for; kinds that cannot be undone refuse it.

        Kinds: \(FaultKind.allCases.map(\.rawValue).joined(separator: ", ")).

        Examples:
          chaos inject process.signal --set signal=HUP --name nginx
          chaos inject process.signal --set signal=USR1 --pidfile /run/app.pid --dry-run
          chaos inject network.loss --set lossPercent=30 --set ports=8080 --for 1m
          chaos inject disk.fill --set path=/var/lib/redis --set free=100MiB --for 2m
          chaos inject systemd.kill --set signal=TERM --set who=main --unit redis-server.service
        """
    )
    @Argument(help: ArgumentHelp("The fault kind, e.g. process.signal.", valueName: "kind")) var kind: String
    @Option(name: .customLong("set"), parsing: .singleValue, help: ArgumentHelp("A parameter: NAME=VALUE (repeat for several).", valueName: "name=value"))
    var settings: [String] = []
    @OptionGroup var target: TargetOptions
    @Option(name: .customLong("for"), help: ArgumentHelp("How long a reversible fault stays, with a unit: 500ms, 30s, 2m.", valueName: "duration"))
    var duration: String?
    @Flag(help: "Return after injecting; the detached guardian reverts at the deadline.") var detach = false
    @OptionGroup var safety: SafetyOptions
    @OptionGroup var global: GlobalOptions

    var faultKind: FaultKind? { FaultKind(rawValue: kind) }

    /// The parameters as `--set` wrote them.
    func arguments(_ kind: FaultKind) throws(ValidationError) -> FaultArguments {
        var a = FaultArguments(kind, bySet: true)
        for setting in settings {
            guard let eq = setting.firstIndex(of: "="), eq != setting.startIndex else {
                throw ValidationError("--set '\(setting)' is not NAME=VALUE; write e.g. --set \(kind.descriptor.parameters.first.map { "\($0.name)=\($0.example)" } ?? "name=value").")
            }
            let name = String(setting[..<eq]), value = String(setting[setting.index(after: eq)...])
            switch kind.descriptor.parameter(name)?.type {
            case .hosts?, .ports?: a.set(name, list: value.split(separator: ",").map { String($0).trimmingWhitespace() })
            case .bool? where ["true", "false"].contains(value.lowercased()): a.set(name, flag: value.lowercased() == "true")
            default: a.set(name, value)  // unknown names and wrong values are refused by the reader, naming --set NAME
            }
        }
        return a
    }

    func validate() throws {
        guard let k = faultKind else {
            let kinds = FaultKind.allCases.map(\.rawValue)
            let hint = Spelling.closest(to: kind, in: kinds).map { " Did you mean '\($0)'?" } ?? ""
            throw ValidationError("'\(kind)' is not a fault kind.\(hint) Kinds: \(kinds.joined(separator: ", ")).")
        }
        _ = try arguments(k).parameters()
        if k.isReversible && duration == nil { throw ValidationError("\(k) is reversible and needs --for, e.g. --for 30s.") }
        if !k.isReversible && duration != nil { throw ValidationError("\(k) cannot be undone, so it takes no --for; recovery is measured from the moment of the fault.") }
        if let duration {
            let d: ChaosDuration
            do { d = try ChaosDuration.parse(duration) } catch { throw ValidationError("--for '\(duration)': \(error.description); \(error.hint).") }
            if d < .milliseconds(100) { throw ValidationError("--for must be at least 100ms.") }
        }
        if detach && !k.isReversible { throw ValidationError("--detach only applies to reversible kinds.") }
        switch k.subject {
        case .processes where target.selectorCount == 0 && target.target == nil:
            throw ValidationError("\(k) acts on processes: give one of --pid, --pidfile, --name, --match, --port or --unit (or --target with --inventory).")
        case .unit where target.unit == nil && target.target == nil:
            throw ValidationError("\(k) acts on a systemd unit: give --unit NAME (or --target with --inventory).")
        case .host where target.selectorCount > 0:
            throw ValidationError("\(k) acts on the whole host: drop --pid/--name/--unit...; use --host or --target to say where.")
        default: break
        }
    }

    func run() async throws {
        guard let k = faultKind else { throw ValidationError("'\(kind)' is not a fault kind.") }
        let a = try arguments(k)
        let hold = try duration.map { text throws(ValidationError) -> ChaosDuration in
            guard let d = try? ChaosDuration.parse(text) else { throw ValidationError("--for '\(text)' is not a duration.") }
            return d
        }
        if k.descriptor.needs.contains(.nftables) || k.descriptor.needs.contains(.tc) {
            var options = try NetworkOptions.parse([])
            options.inventory = target.inventory
            options.host = target.host
            options.target = target.target
            var h = try HoldOptions.parse(["--for", hold.map(\.description) ?? "1s"])
            h.detach = detach
            try finish(await NetworkOneOff.run(a, options: options, hold: h, safety: safety, global: global))
            return
        }
        var spec = target.spec
        if k.subject == .host { spec = TargetSpec(ref: target.target, host: target.host) }
        var one = OneOff(global: global, safety: safety, target: spec, inventoryPath: target.inventory,
                         spec: FaultSpec(type: k, duration: hold, with: try a.parameters()))
        one.detach = detach
        try finish(await one.run())
    }
}
