import ArgumentParser
import ChaosCore
import Foundation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check experiment, inventory and controller files; report every problem with its position.",
        discussion: """
        Each problem is printed as FILE:LINE:COLUMN: field.path: what is wrong; hint. \
        Exits 64 when any file is invalid, 0 when all are valid. YAML and JSON are both accepted.

        Examples:
          chaos validate experiments/*.yaml
          chaos validate deploy/inventory.yaml --output json
          chaos validate /etc/chaos/controller.yaml
        """
    )

    @Argument(help: "Files to check (YAML or JSON).") var files: [String]
    @Option(help: "Output format: table or json.") var output: OutputFormat = .table

    struct FileResult: Encodable {
        var file: String
        var valid: Bool
        var kind: String?
        var name: String?
        var diagnostics: [Diagnostic]
    }

    func run() throws {
        var results: [FileResult] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                let d = Diagnostic(file: file, location: .start, path: "", message: "cannot read the file", hint: "check the path and permissions")
                results.append(FileResult(file: file, valid: false, diagnostics: [d]))
                continue
            }
            let text = String(decoding: data, as: UTF8.self)
            if Self.isControllerConfig(text) {
                let (c, problems) = ControllerConfiguration.load(text, file: file)
                results.append(FileResult(file: file, valid: c != nil, kind: "ControllerConfig", name: c.map { "inventory \($0.inventory)" }, diagnostics: problems))
                continue
            }
            let loaded = ChaosDocument.load(text, file: file)
            var r = FileResult(file: file, valid: loaded.isValid, diagnostics: loaded.diagnostics)
            switch loaded.document {
            case .experiment(let e)?: r.kind = "Experiment"; r.name = e.name
            case .inventory(let i)?: r.kind = "Inventory"; r.name = "\(i.hosts.count) hosts, \(i.targets.count) targets, \(i.groups.count) groups"
            case nil: break
            }
            results.append(r)
        }
        if output == .json {
            Console.json(["files": results])
        } else {
            for r in results {
                if r.valid { Console.out("\(r.file): ok (\(r.kind ?? "?") \(r.kind == "Experiment" ? "'\(r.name ?? "")'" : r.name ?? ""))") }
                for d in r.diagnostics { Console.out(d.description) }
            }
            let bad = results.filter { !$0.valid }
            if !bad.isEmpty {
                let problems = bad.reduce(0) { $0 + $1.diagnostics.count }
                Console.err("\(problems) problem\(problems == 1 ? "" : "s") in \(bad.count) of \(results.count) file\(results.count == 1 ? "" : "s").")
            }
        }
        if results.contains(where: { !$0.valid }) { throw ExitCode(64) }
    }

    /// A controller configuration says so in its `kind` (experiments and inventories are read by
    /// ChaosDocument, which knows nothing of the controller).
    static func isControllerConfig(_ text: String) -> Bool {
        guard let parsed = try? DocumentNode.parse(text), case .scalar(let kind, _, _)? = parsed.value("kind") else { return false }
        return kind == "ControllerConfig"
    }
}
