import ArgumentParser
import ChaosCore
import ChaosRun
import Foundation

struct MapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Discover the architecture from the hosts' agents, and compare it with the map in the inventory.",
        subcommands: [MapDiscoverCommand.self, MapDiffCommand.self]
    )
}

/// Where a map comes from: the agents now (optionally watched for a while), or a saved discovery.
struct MapSourceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The inventory file: its hosts' agents are asked (its 'services' are not read by discover).", valueName: "file")) var inventory: String
    @Option(parsing: .singleValue, help: ArgumentHelp("Only this host (repeat for several).", valueName: "name")) var host: [String] = []
    @Option(help: ArgumentHelp("Watch connections for this long first (sampled on every agent), so short-lived ones are seen too; default: one snapshot. At most 1h.", valueName: "duration"))
    var watch: ChaosDuration?
    @Option(help: ArgumentHelp("With --watch: how often each agent samples its connections (1s or more).", valueName: "duration")) var every: ChaosDuration = .seconds(2)
    init() {}

    func validate() throws {
        if let watch, watch.milliseconds < 1000 || watch.milliseconds > 3_600_000 { throw ValidationError("--watch takes 1s to 1h, e.g. '5m'.") }
        if every.milliseconds < 1000 { throw ValidationError("--every must be at least 1s.") }
        if let watch, every > watch { throw ValidationError("--every must not be longer than --watch.") }
    }
}

/// What `map discover` prints as JSON and `map diff --from` reads back.
struct DiscoveredMap: Codable {
    var map: MapDiscovery.Map
    /// Per host: why its view is missing.
    var errors: [String: ChaosError]
}

enum MapGathering {
    /// The agents' views (after a watch, when asked), joined into a map.
    static func discover(_ options: MapSourceOptions, _ inventory: Inventory, global: GlobalOptions) async throws(ChaosError) -> DiscoveredMap {
        let fleet = try AgentFleet.open(inventory, global: global)
        let hosts: [Inventory.Host]
        do { hosts = try fleet.hosts(options.host).filter { $0.agent != nil } } catch {
            await fleet.close()
            throw error
        }
        guard !hosts.isEmpty else {
            await fleet.close()
            throw .usage("map.noAgents", "No host of the inventory has an 'agent' URL to ask. Add e.g. 'agent: https://10.0.0.11:7433' to the hosts.")
        }
        var errors: [String: ChaosError] = [:]
        if let watch = options.watch {
            let every = options.every
            let started = await fleet.each(hosts) { (agent) throws(ChaosError) -> DiscoveryWatchStatus in try await agent.watchDiscovery(for: watch, every: every) }
            for (h, r) in started { if case .failure(let e) = r { errors[h.name] = e } }
            let watching = started.filter { if case .success = $0.1 { return true } else { return false } }.count
            let deadline = Date().addingTimeInterval(Double(watch.milliseconds) / 1000)
            Console.err("map: \(watching) of \(hosts.count) agents watch their connections for \(watch), every \(every)")
            while Date() < deadline {
                let left = deadline.timeIntervalSinceNow
                try? await Task.sleep(for: .milliseconds(Int(min(10, max(0, left)) * 1000)))
                let now = deadline.timeIntervalSinceNow
                if now > 1 { Console.err("map: \(Int(now.rounded())) s left") }
                if Task.isCancelled { break }
            }
        }
        let views = await fleet.each(hosts.filter { errors[$0.name] == nil }) { (agent) throws(ChaosError) -> HostDiscovery in try await agent.discovery() }
        await fleet.close()
        var seen: [String: HostDiscovery] = [:]
        for (h, r) in views {
            switch r {
            case .success(let v):
                seen[h.name] = v
                if v.omitted > 0 { Console.err("warning: \(h.name) holds more conversations than an answer lists; the \(v.omitted) least busy were left out") }
            case .failure(let e): errors[h.name] = e
            }
        }
        let ports = Set(inventory.hosts.compactMap { $0.agent.flatMap { URL(string: $0)?.port } } + [7433])
        return DiscoveredMap(map: MapDiscovery.join(hosts: hosts, views: seen, controlPorts: ports), errors: errors)
    }

    /// Writes DOT, or SVG through Graphviz when the name ends in .svg.
    static func writeDiagram(_ dot: String, to path: String) throws(ChaosError) {
        if path == "-" { Console.out(String(dot.dropLast())); return }
        if path.hasSuffix(".svg") {
            guard let graphviz = ["/usr/bin/dot", "/usr/local/bin/dot"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw ChaosError("map.noGraphviz", "Writing '\(path)' needs Graphviz's 'dot' (apt install graphviz); or name a .dot file and draw it elsewhere.")
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: graphviz)
            p.arguments = ["-Tsvg", "-o", path]
            let input = Pipe()
            p.standardInput = input
            do {
                try p.run()
                input.fileHandleForWriting.write(Data(dot.utf8))
                try input.fileHandleForWriting.close()
                p.waitUntilExit()
            } catch { throw ChaosError("map.write", "Cannot run Graphviz for '\(path)': \(error.localizedDescription).") }
            guard p.terminationStatus == 0 else { throw ChaosError("map.write", "Graphviz could not draw '\(path)' (exit \(p.terminationStatus)).") }
            return
        }
        do { try dot.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw ChaosError("map.write", "Cannot write '\(path)': \(error.localizedDescription).")
        }
    }

    static func warnMissing(_ d: DiscoveredMap) {
        for (h, e) in d.errors.sorted(by: { $0.key < $1.key }) { Console.err("warning: no view from \(h): \(e.message)") }
    }
}

struct MapDiscoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discover",
        abstract: "Ask every agent what listens and who talks to whom, and write the map it shows as a draft of the inventory's services and dependencies.",
        discussion: """
        Each agent reads its host's socket tables (no packet capture, no payload): its listeners, with \
        the process and systemd unit that hold them, and its established connections. The views are \
        joined across hosts: a service is a program listening on a port (its unit, else its process \
        name), grouped over the hosts it runs on; a dependency is a connection from one service (or a \
        client process) to another's port on a host of the inventory, with how many were seen. \
        Connections among the instances of one service (replication, gossip) are peer links; \
        connections leaving the inventory are listed as external. Pooled connections show in one \
        snapshot; short-lived ones (a cron job, a health check) need --watch.

        The draft (YAML) is the inventory's 'services' and 'dependencies' with comments saying what \
        was observed: paste it into the inventory, rename the services, mark soft dependencies and \
        entry points, and 'chaos validate' it. The inventory's own 'services' are not read; compare \
        the two with 'chaos map diff'.

        Examples:
          chaos map discover --inventory deploy/inventory.yaml
          chaos map discover --inventory deploy/inventory.yaml --watch 5m --out discovered.yaml --dot map.svg
          chaos map discover --inventory deploy/inventory.yaml --output json > discovered.json
        """
    )
    @OptionGroup var source: MapSourceOptions
    @Option(help: ArgumentHelp("Write the draft (YAML) to this file instead of printing it.", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Also write the map as a diagram: Graphviz DOT, or SVG for a .svg name ('-' for stdout).", valueName: "file")) var dot: String?
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let code: Int32
        do { code = try await discover() } catch { code = Console.report(error, format: global.output) }
        try finish(code)
    }

    private func discover() async throws(ChaosError) -> Int32 {
        guard let inv = try Context(global: global).loadInventory(source.inventory) else { throw .usage("map.noInventory", "Give the inventory: --inventory FILE.") }
        let found = try await MapGathering.discover(source, inv, global: global)
        MapGathering.warnMissing(found)
        if let dot { try MapGathering.writeDiagram(MapDiscovery.dot(found.map), to: dot) }
        let yaml = MapDiscovery.inventoryYAML(found.map)
        if let out {
            do { try yaml.write(toFile: out, atomically: true, encoding: .utf8) } catch {
                throw ChaosError("map.write", "Cannot write '\(out)': \(error.localizedDescription).")
            }
        }
        if global.output == .json { Console.json(found) }
        else if out == nil { if dot != "-" { Console.out(String(yaml.dropLast())) } }
        else {
            let m = found.map
            Console.out("Discovered \(m.services.count) services and \(m.dependencies.filter { !$0.peers }.count) dependencies on \(inv.hosts.count - m.missing.count) of \(inv.hosts.count) hosts; the draft is in \(out!).")
        }
        return found.errors.isEmpty ? 0 : 1
    }
}

struct MapDiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare the inventory's map (services, dependencies) with the one the hosts show; exit 1 when they disagree.",
        discussion: """
        Matches each written service to what its instances point at on their hosts (a port, a unit, \
        a process name) and reports where the map and the hosts disagree:
          undeclared_dependency  observed, not written (e.g. a dependency added last quarter)
          stale_dependency       written, never observed in the window (use --watch for rare ones)
          unlisted_instance      a service also runs on a host the map does not give it
          missing_instance       a written instance with nothing listening for it
          shared_host            "redundant" instances of one service on one host
        Discovered services that nothing on the map talks to (sshd, exporters) are listed for \
        information only.

        Exit status: 0 the maps agree; 1 they disagree; 2 no disagreement, but a host could not be \
        asked (nothing about it is known); 64 bad input. For CI: run it against staging on a schedule.

        Examples:
          chaos map diff --inventory deploy/inventory.yaml
          chaos map diff --inventory deploy/inventory.yaml --watch 10m --output json
          chaos map diff --inventory deploy/inventory.yaml --from discovered.json
        """
    )
    @OptionGroup var source: MapSourceOptions
    @Option(help: ArgumentHelp("Compare with a saved 'chaos map discover --output json' instead of asking the agents.", valueName: "file")) var from: String?
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let code: Int32
        do { code = try await diff() } catch { code = Console.report(error, format: global.output) }
        try finish(code)
    }

    struct Out: Encodable { var agrees: Bool; var report: MapDiff.Report; var errors: [String: ChaosError] }

    private func diff() async throws(ChaosError) -> Int32 {
        guard let inv = try Context(global: global).loadInventory(source.inventory) else { throw .usage("map.noInventory", "Give the inventory: --inventory FILE.") }
        guard !inv.services.isEmpty else {
            throw .usage("map.noServices", "The inventory has no 'services' to compare. Write them, or start from 'chaos map discover --inventory \(source.inventory) --out draft.yaml'.")
        }
        let found: DiscoveredMap
        if let from {
            guard let data = FileManager.default.contents(atPath: from) else { throw .usage("map.read", "Cannot read '\(from)'.") }
            do { found = try JSONDecoder().decode(DiscoveredMap.self, from: data) } catch {
                throw .usage("map.read", "'\(from)' is not the JSON of 'chaos map discover --output json' (\(error)).")
            }
        } else {
            found = try await MapGathering.discover(source, inv, global: global)
        }
        MapGathering.warnMissing(found)
        let report = MapDiff.compare(inv, found.map)
        let code: Int32 = report.disagreements > 0 ? 1 : found.map.missing.isEmpty ? 0 : 2
        if global.output == .json {
            Console.json(Out(agrees: report.disagreements == 0, report: report, errors: found.errors))
            return code
        }
        var lines: [String] = []
        let matched = report.matched.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value.isEmpty ? "nothing found" : $0.value.joined(separator: ", "))" }
        lines.append("Matched: " + matched.joined(separator: "; "))
        let disagree = report.findings.filter(\.disagrees), info = report.findings.filter { !$0.disagrees }
        if disagree.isEmpty { lines.append("\nThe map and the hosts agree.") } else {
            lines.append("\nThe map and the hosts disagree (\(disagree.count)):")
            lines.append(Console.table(["KIND", "WHAT", "DETAIL"], disagree.map { [$0.kind.rawValue, $0.subject, $0.detail] }))
        }
        if !info.isEmpty {
            lines.append("\nNot on the map (information):")
            lines.append(Console.table(["WHAT", "DETAIL"], info.map { [$0.subject, $0.detail] }))
        }
        for n in report.notes { lines.append("note: \(n)") }
        Console.out(lines.joined(separator: "\n"))
        return code
    }
}
