import ArgumentParser
import ChaosCore
import Foundation

struct SPOFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spof",
        abstract: "Find single points of failure in the inventory's architecture map.",
        subcommands: [SPOFAnalyzeCommand.self]
    )
}

struct SPOFAnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Which single failure (one instance, one host) takes an entry point down, or only slows it.",
        discussion: """
        Reads the inventory's 'services' (instances on hosts, minHealthy, 'entry' for the user-facing \
        entry points) and 'dependencies' between them (hard, or soft: a cache that only makes things \
        slower). Every instance and every host is failed in turn, on paper: a service works while \
        minHealthy of its instances are up and every hard dependency works. Suspected SPOFs are the \
        failures that take an entry point down, ranked by how many they cut; performance SPOFs only \
        degrade one through a soft dependency. Services with spare instances are listed with whether \
        they survive the loss of any one (a shared host says no). Nothing is touched: 'chaos spof plan' \
        and 'verify' prove it with faults.

        Examples:
          chaos spof analyze --inventory deploy/inventory.yaml
          chaos spof analyze --inventory deploy/inventory.yaml --output json
          chaos spof analyze --inventory deploy/inventory.yaml --dot spof.dot && dot -Tsvg spof.dot -o spof.svg
        """
    )
    @Option(help: ArgumentHelp("The inventory file.", valueName: "file")) var inventory: String
    @Option(help: ArgumentHelp("Also write the dependency diagram (Graphviz DOT, SPOFs in red) to this file ('-' for stdout instead of the table).", valueName: "file")) var dot: String?
    @OptionGroup var global: GlobalOptions

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
            out.append(Console.table(["SERVICE", "INSTANCES", "MIN", "SURVIVES ONE LOSS", "NOTE"], report.redundant.map { [$0.service, String($0.instances), String($0.minHealthy), $0.survivesOneLoss ? "yes" : "NO", $0.note] }))
        }
        for n in report.notes { out.append("note: \(n)") }
        if let dot, dot != "-" { out.append("\nDiagram: \(dot) (dot -Tsvg \(dot) -o spof.svg)") }
        Console.out(out.joined(separator: "\n"))
        return 0
    }
}
