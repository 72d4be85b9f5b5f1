import ArgumentParser
import ChaosCore
import Foundation

struct SPOFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spof",
        abstract: "Find single points of failure in the inventory's architecture map.",
        subcommands: [SPOFAnalyzeCommand.self, SPOFWhatIfCommand.self, SPOFPlanCommand.self, SPOFVerifyCommand.self]
    )
}

struct SPOFAnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Which single failure (one instance, one host, one zone or rack) takes an entry point down, or only slows it.",
        discussion: """
        Reads the inventory's 'services' (instances on hosts, minHealthy, 'entry' for the user-facing \
        entry points) and 'dependencies' between them (hard, or soft: a cache that only makes things \
        slower). Every instance, every host and every failure domain (the hosts' 'domains', e.g. \
        'domains: {zone: a, rack: r1}': all hosts of zone a at once) is failed in turn, on paper: a \
        service works while minHealthy of its instances are up and every hard dependency works. \
        Suspected SPOFs are the \
        failures that take an entry point down, ranked by how many they cut (a host or domain is \
        listed only when it does more than its parts); performance SPOFs only degrade one through a \
        soft dependency. Services with spare instances are listed with whether they survive the loss \
        of any one (a shared host says no) and of any one domain. Nothing is touched: 'chaos spof \
        whatif' asks about any combination, 'chaos spof plan' and 'verify' prove it with faults.

        Examples:
          chaos spof analyze --inventory deploy/inventory.yaml
          chaos spof analyze --inventory deploy/inventory.yaml --output json
          chaos spof analyze --inventory deploy/inventory.yaml --dot spof.dot && dot -Tsvg spof.dot -o spof.svg
        """
    )
    @Option(help: ArgumentHelp("The inventory file.", valueName: "file")) var inventory: String
    @Option(help: ArgumentHelp("Also write the dependency diagram (Graphviz DOT, SPOFs in red) to this file ('-' for stdout instead of the table).", valueName: "file")) var dot: String?
    @OptionGroup var local: LocalOptions
    var global: GlobalOptions { local.global }

    func run() throws {
        let code: Int32
        do { code = try analyze() } catch { code = Console.report(error, format: global.output) }
        try finish(code)
    }

    private func analyze() throws(ChaosError) -> Int32 {
        guard let inv = try Context(global: global).loadInventory(inventory) else {
            throw .usage("spof.noInventory", "Give the inventory: --inventory FILE.")
        }
        let report = SPOFAnalysis.analyze(inv)
        if let dot {
            let text = SPOFDiagram.dot(inv, report)
            if dot == "-" { Console.out(String(text.dropLast())); return 0 }
            do { try text.write(toFile: dot, atomically: true, encoding: .utf8) } catch {
                throw ChaosError("spof.write", "Cannot write '\(dot)': \(error.localizedDescription).")
            }
        }
        if global.output == .json { Console.json(report); return 0 }
        var out: [String] = []
        out.append("Entry points: " + (report.entryPoints.isEmpty ? "none" : report.entryPoints.joined(separator: ", ")))
        out.append("Failure domains: " + (report.domains.isEmpty ? "none (give hosts 'domains: {zone: a}' to fail a zone or rack as one)" : report.domains.joined(separator: ", ")))
        if report.spofs.isEmpty { out.append("\nNo suspected single point of failure.") } else {
            out.append("\nSuspected single points of failure (most entry points cut first):")
            out.append(Console.table(["COMPONENT", "KIND", "CUTS", "WHY"], report.spofs.map { [$0.component, $0.kind.rawValue, $0.cuts.joined(separator: ", "), $0.reasons.joined(separator: "; ")] }))
        }
        if !report.performance.isEmpty {
            out.append("\nPerformance SPOFs (soft dependencies: slower, not down):")
            out.append(Console.table(["COMPONENT", "DEGRADES", "WHY"], report.performance.map { [$0.component, $0.degrades.joined(separator: ", "), $0.reasons.joined(separator: "; ")] }))
        }
        if !report.redundant.isEmpty {
            out.append("\nRedundancy claimed (more instances than needed):")
            func yes(_ b: Bool?) -> String { b.map { $0 ? "yes" : "NO" } ?? "-" }
            out.append(Console.table(["SERVICE", "INSTANCES", "MIN", "SURVIVES ONE LOSS", "SURVIVES A DOMAIN", "NOTE"],
                                     report.redundant.map { [$0.service, String($0.instances), String($0.minHealthy), yes($0.survivesOneLoss), yes($0.survivesDomainLoss), $0.note] }))
        }
        for n in report.notes { out.append("note: \(n)") }
        if let dot, dot != "-" { out.append("\nDiagram: \(dot) (dot -Tsvg \(dot) -o spof.svg)") }
        Console.out(out.joined(separator: "\n"))
        return 0
    }
}

struct SPOFPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Write the experiments that would confirm or refute each suspected SPOF and each claimed redundancy.",
        discussion: """
        From 'chaos spof analyze': for each suspected SPOF, an experiment that kills its instance \
        (process), stops it (unit) or cuts its host off; for each service with spare instances, one \
        that kills one instance; for each value of a failure domain (zone:a, rack:r1: the hosts' \
        'domains'), one that cuts every host of it off the network at once (all but loopback and the \
        agents' port), predicted down, slower or survived. Each watches every entry point through its 'entry' probe, with the \
        same criteria (--max-outage, --recover-within), so a SPOF shows as a failed run and \
        redundancy as a passed one. The files are normal experiments: read them, adapt them, check \
        them with 'chaos validate', run them with 'chaos gameday DIR --inventory F'.

        Examples:
          chaos spof plan --inventory deploy/inventory.yaml --out experiments/spof
          chaos spof plan --inventory deploy/inventory.yaml --out /tmp/spof --for 20s --max-outage 3s --output json
          chaos spof plan --inventory deploy/inventory.yaml --out /tmp/zones --domain-kind zone
        """
    )
    @Option(help: ArgumentHelp("The inventory file.", valueName: "file")) var inventory: String
    @Option(help: ArgumentHelp("Directory for the experiment files (created; existing files of the same names are replaced).", valueName: "dir")) var out: String
    @Option(name: .customLong("for"), help: ArgumentHelp("How long each reversible fault is held, as --for of a one-off (default 30s).", valueName: "duration")) var holdFor: String?
    /// `--hold` was the name before `--for` meant the same everywhere.
    @Option(help: .hidden) var hold: String?
    var heldFor: String { holdFor ?? hold ?? "30s" }
    @Option(help: ArgumentHelp("The longest outage an entry point may show and still count as surviving.", valueName: "duration")) var maxOutage: String = "10s"
    @Option(help: ArgumentHelp("How soon the entry points must recover.", valueName: "duration")) var recoverWithin: String = "30s"
    @Option(name: .customLong("domain-kind"), help: ArgumentHelp("Plan whole-domain experiments only for these kinds of the hosts' 'domains' (repeatable; default every kind, e.g. zone and rack).", valueName: "kind")) var domainKinds: [String] = []
    @OptionGroup var local: LocalOptions
    var global: GlobalOptions { local.global }

    func run() throws {
        let code: Int32
        do { code = try plan() } catch { code = Console.report(error, format: global.output) }
        try finish(code)
    }

    struct Written: Encodable { var file: String; var experiment: String; var component: String; var prediction: String }

    /// A planned experiment as YAML in the file format, read back first: what is written (or run)
    /// must be a valid experiment.
    static func checkedYAML(_ p: SPOFPlan.Planned, inventory: String, file: String) throws(ChaosError) -> String {
        let text = try ExperimentWriter.yaml(p.experiment, comment: ["Generated by 'chaos spof plan --inventory \(inventory)'.",
                                                                     "Tests \(p.component): predicted \(p.prediction.rawValue)."])
        let check = ChaosDocument.load(text, file: file)
        guard check.isValid else {
            throw .internalError("spof.plan", "The planned experiment '\(p.experiment.name)' does not validate:\n" + check.diagnostics.map(\.description).joined(separator: "\n"))
        }
        return text
    }

    static func duration(_ text: String, _ flag: String) throws(ChaosError) -> ChaosDuration {
        guard let d = try? ChaosDuration.parse(text), d.milliseconds >= 1000 else {
            throw .usage("spof.duration", "\(flag) '\(text)' is not a duration of at least 1s (e.g. '30s', '2m').")
        }
        return d
    }

    private func plan() throws(ChaosError) -> Int32 {
        guard let inv = try Context(global: global).loadInventory(inventory) else { throw .usage("spof.noInventory", "Give the inventory: --inventory FILE.") }
        let report = SPOFAnalysis.analyze(inv)
        let (planned, notes) = SPOFPlan.experiments(inv, report, hold: try Self.duration(heldFor, "--for"), maxOutage: try Self.duration(maxOutage, "--max-outage"),
                                                    recoverWithin: try Self.duration(recoverWithin, "--recover-within"),
                                                    domainKinds: domainKinds.isEmpty ? nil : domainKinds)
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw ChaosError("spof.write", "Cannot create '\(out)': \(error.localizedDescription).")
        }
        var written: [Written] = []
        for p in planned {
            let file = "\(out)/\(p.experiment.name).yaml"
            let text = try Self.checkedYAML(p, inventory: inventory, file: file)
            do { try text.write(toFile: file, atomically: true, encoding: .utf8) } catch {
                throw ChaosError("spof.write", "Cannot write '\(file)': \(error.localizedDescription).")
            }
            written.append(Written(file: file, experiment: p.experiment.name, component: p.component, prediction: p.prediction.rawValue))
        }
        if global.output == .json {
            struct Out: Encodable { var experiments: [Written]; var notes: [String] }
            Console.json(Out(experiments: written, notes: notes))
            return 0
        }
        var lines = [written.isEmpty ? "No experiment planned." : "Wrote \(written.count) experiment\(written.count == 1 ? "" : "s") to \(out):"]
        if !written.isEmpty { lines.append(Console.table(["FILE", "TESTS", "PREDICTED"], written.map { [$0.file, $0.component, $0.prediction] })) }
        for n in notes + report.notes { lines.append("note: \(n)") }
        if !written.isEmpty { lines.append("Run them: chaos gameday \(out) --inventory \(inventory)") }
        Console.out(lines.joined(separator: "\n"))
        return 0
    }
}

struct SPOFWhatIfCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whatif",
        abstract: "What the entry points see if these fail at once: hosts, zones or racks, whole services; or every pair (N-2).",
        discussion: """
        Fails everything given with --fail at once, on paper (the same rules as 'chaos spof analyze'), \
        and prints each entry point as up, degraded or down with the dependency path that explains \
        it. A failure is KIND:NAME: 'host:db1', 'service:cache', or a failure domain of the hosts \
        ('zone:b', 'rack:r12', any key of the hosts' 'domains'). --all-pairs KIND tries every pair of \
        hosts ('host') or of a domain's values ('zone') on top of the --fail ones, and lists the pairs \
        that take an entry point down, first those that neither member does alone. Nothing is touched.

        Exit status: 0 when every entry point stays up or degraded, 1 when one goes down (or, with \
        --all-pairs, when a pair takes one down that neither member does alone), 2 on bad input.

        Examples:
          chaos spof whatif --inventory deploy/inventory.yaml --fail zone:b
          chaos spof whatif --inventory deploy/inventory.yaml --fail host:db1 --fail service:cache
          chaos spof whatif --inventory deploy/inventory.yaml --all-pairs host
          chaos spof whatif --inventory deploy/inventory.yaml --fail zone:a --all-pairs rack --output json
        """
    )
    @Option(help: ArgumentHelp("The inventory file.", valueName: "file")) var inventory: String
    @Option(name: .customLong("fail"), help: ArgumentHelp("A failure to assume: host:NAME, service:NAME or DOMAIN:VALUE (zone:b). Repeat for several at once.", valueName: "kind:name"))
    var failures: [String] = []
    @Option(help: ArgumentHelp("Also try every pair of hosts ('host') or of a domain kind's values ('zone', 'rack'...).", valueName: "kind")) var allPairs: String?
    @OptionGroup var local: LocalOptions
    var global: GlobalOptions { local.global }

    func run() throws {
        let code: Int32
        do { code = try whatIf() } catch { code = Console.report(error, format: global.output) }
        try finish(code)
    }

    struct Out: Encodable { var scenario: SPOFWhatIf.Scenario?; var allPairs: SPOFWhatIf.PairReport?; var notes: [String] }

    private func whatIf() throws(ChaosError) -> Int32 {
        guard let inv = try Context(global: global).loadInventory(inventory) else { throw .usage("spof.noInventory", "Give the inventory: --inventory FILE.") }
        guard !failures.isEmpty || allPairs != nil else {
            throw .usage("whatif.nothing", "Say what fails: --fail host:db1, --fail zone:b, --fail service:cache (repeatable), or --all-pairs host.")
        }
        var parsed: [SPOFFailure] = []
        for f in failures { parsed.append(try SPOFFailure.parse(f, in: inv)) }
        let model = SPOFModel(inv)
        let scenario = parsed.isEmpty ? nil : SPOFWhatIf.evaluate(model, failures: parsed)
        var pairs: SPOFWhatIf.PairReport?
        if let kind = allPairs {
            guard let candidates = SPOFWhatIf.candidates(model, over: kind) else {
                let kinds = Set(inv.hosts.flatMap { $0.domains.keys }).sorted()
                throw .usage("whatif.unknown", "--all-pairs takes 'host' or a domain kind of the hosts\(kinds.isEmpty ? " (none has 'domains')" : ": \(kinds.joined(separator: ", "))"); '\(kind)' is neither.")
            }
            let showProgress = global.output != .json && candidates.count > 200
            pairs = SPOFWhatIf.allPairs(model, over: kind, base: parsed, candidates: candidates,
                                        progress: showProgress ? { done, total in Console.err("whatif: \(done) of \(total) pairs") } : nil)
        }
        let down = (scenario?.worst == .down) || (pairs?.pairs.contains { !$0.onlyTogether.isEmpty } ?? false)
        if global.output == .json {
            Console.json(Out(scenario: scenario, allPairs: pairs, notes: model.notes))
            return down ? 1 : 0
        }
        var out: [String] = []
        if let s = scenario {
            out.append("If \(s.failures.joined(separator: " and ")) fail\(s.failures.count == 1 ? "s" : ""):")
            if !s.hosts.isEmpty { out.append("  hosts lost: \(s.hosts.joined(separator: ", "))") }
            out.append("  instances lost: " + (s.lost.isEmpty ? "none" : s.lost.joined(separator: ", ")))
            out.append(Console.table(["ENTRY POINT", "STATE", "WHY"], s.entries.map { e in
                [e.entry, e.health == .up ? "up" : e.health.rawValue.uppercased(), e.why.isEmpty ? "-" : e.why.joined(separator: "; ")]
            }))
            if !s.servicesDown.isEmpty { out.append("Services down: \(s.servicesDown.joined(separator: ", "))") }
            if !s.servicesDegraded.isEmpty { out.append("Services degraded: \(s.servicesDegraded.joined(separator: ", "))") }
        }
        if let p = pairs {
            let only = p.pairs.filter { !$0.onlyTogether.isEmpty }
            let base = p.base.isEmpty ? "" : " on top of \(p.base.joined(separator: ", "))"
            out.append("\nEvery pair of \(p.over == "host" ? "hosts" : "\(p.over) values") (\(p.candidates.count) candidates, \(p.pairsEvaluated) pairs)\(base):")
            if only.isEmpty { out.append("  no pair takes down an entry point that neither member takes down alone.") } else {
                out.append(Console.table(["PAIR", "DOWN ONLY TOGETHER", "WHY"], only.map { [$0.pair.joined(separator: " + "), $0.onlyTogether.joined(separator: ", "), $0.why.joined(separator: "; ")] }))
            }
            let rest = p.pairs.count - only.count
            if rest > 0 { out.append("  \(rest) more pair\(rest == 1 ? "" : "s") only degrade an entry point, or cut one that a member alone already cuts (--output json lists them).") }
        }
        for n in model.notes { out.append("note: \(n)") }
        Console.out(out.joined(separator: "\n"))
        return down ? 1 : 0
    }
}
