import ArgumentParser
import ChaosCore
import Foundation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check experiment, inventory, controller and agent files; report every problem with its position.",
        discussion: """
        Each problem is printed as FILE:LINE:COLUMN: field.path: what is wrong; hint. \
        Exits 64 when any file is invalid, 0 when all are valid. YAML and JSON are both accepted.

        Examples:
          chaos validate experiments/*.yaml
          chaos validate experiments/sandbox            (every *.yaml, *.yml, *.json in it)
          chaos validate deploy/inventory.yaml --output json
          chaos validate /etc/chaos/controller.yaml
          chaos validate /etc/chaos/agent.yaml
        """
    )

    @Argument(help: "Files to check (YAML or JSON); a directory means its *.yaml, *.yml and *.json files.") var files: [String]
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.") var output: OutputFormat = .table

    struct FileResult: Encodable {
        var file: String
        var valid: Bool
        var kind: String?
        var name: String?
        var diagnostics: [Diagnostic]
    }

    func run() throws {
        var results: [FileResult] = []
        for file in files.flatMap(Self.expand) {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: file, isDirectory: &isDir), isDir.boolValue {
                let d = Diagnostic(file: file, location: .start, path: "", message: "is a directory without *.yaml, *.yml or *.json files", hint: "name the files, or a directory that holds them")
                results.append(FileResult(file: file, valid: false, diagnostics: [d]))
                continue
            }
            guard let data = FileManager.default.contents(atPath: file) else {
                let d = Diagnostic(file: file, location: .start, path: "", message: "cannot read the file", hint: "check the path and permissions")
                results.append(FileResult(file: file, valid: false, diagnostics: [d]))
                continue
            }
            let text = String(decoding: data, as: UTF8.self)
            switch Self.kind(text) {
            case "ControllerConfig":
                let (c, problems) = ControllerConfiguration.load(text, file: file)
                results.append(FileResult(file: file, valid: c != nil, kind: "ControllerConfig", name: c.map { "inventory \($0.inventory)" }, diagnostics: problems))
                continue
            case "AgentConfig":
                let (c, problems) = AgentConfiguration.load(text, file: file)
                results.append(FileResult(file: file, valid: c != nil, kind: "AgentConfig",
                                          name: c.map { "\($0.name ?? "this host") on \($0.address):\($0.port)" }, diagnostics: problems))
                continue
            default:
                break
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

    /// A directory's experiment-like files, by name; anything else as given.
    static func expand(_ path: String) -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else { return [path] }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }.sorted()
        return names.isEmpty ? [path] : names.map { (path.hasSuffix("/") ? path : path + "/") + $0 }
    }

    /// The file's `kind`: controller and agent configurations say so (experiments and inventories
    /// are read by ChaosDocument, which knows neither).
    static func kind(_ text: String) -> String? {
        guard let parsed = try? DocumentNode.parse(text), case .scalar(let kind, _, _)? = parsed.value("kind") else { return nil }
        return kind
    }
}
