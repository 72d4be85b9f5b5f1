/// A validated file: an experiment or an inventory, or the problems that stop it being one.
public enum ChaosDocument: Sendable {
    case experiment(Experiment)
    case inventory(Inventory)

    /// The kinds of file, as written in `kind:`.
    public static let kinds = ["Experiment", "Inventory"]

    /// The outcome of reading one file: the document when valid, and every problem found.
    public struct Loaded: Sendable {
        public var document: ChaosDocument?
        public var diagnostics: [Diagnostic]
        public var isValid: Bool { document != nil && diagnostics.isEmpty }
    }

    /// Parses and validates `text`, reporting positions against `file`.
    /// - Parameters:
    ///   - text: YAML or JSON.
    ///   - file: the name used in diagnostics.
    ///   - expecting: the kind required here (e.g. `--inventory` takes only an inventory), or `nil` for any.
    /// - Returns: the document when valid, and every problem found, in file order (by line, then column;
    ///   problems at the same position in the order they were found).
    public static func load(_ text: String, file: String, expecting: String? = nil) -> Loaded {
        let sink = DiagnosticSink(file: file)
        let document = read(text, sink: sink, expecting: expecting)
        let sorted = sink.diagnostics.enumerated()
            .sorted { ($0.element.line, $0.element.column, $0.offset) < ($1.element.line, $1.element.column, $1.offset) }
            .map(\.element)
        return Loaded(document: sorted.isEmpty ? document : nil, diagnostics: sorted)
    }

    static func read(_ text: String, sink: DiagnosticSink, expecting: String?) -> ChaosDocument? {
        let root: DocumentNode?
        do { root = try DocumentNode.parse(text) } catch {
            sink.report(error.location, "", error.message, hint: error.hint ?? "fix the syntax first; JSON and YAML are both accepted")
            return nil
        }
        // Nothing, only comments, or only '---' (a null document).
        guard let root, !root.isNull else {
            sink.report(.start, "", "the file is empty", hint: "start with 'apiVersion: \(chaosAPIVersion)' and 'kind: Experiment' or 'kind: Inventory'")
            return nil
        }
        let reader = FieldReader(sink: sink)
        guard let top = reader.mapping(root, "") else { return nil }
        if let version = top.required("apiVersion", hint: "add 'apiVersion: \(chaosAPIVersion)'", { reader.string($0, $1) }), version != chaosAPIVersion {
            sink.report(top.valueLocation(of: "apiVersion"), "apiVersion", "'\(version)' is not supported", hint: "use '\(chaosAPIVersion)'")
        }
        let kindHint = "add 'kind: Experiment' or 'kind: Inventory'"
        guard let kind = top.required("kind", hint: kindHint, { reader.oneOf($0, $1, kinds) }) else { return nil }
        if let expecting, kind != expecting {
            sink.report(top.location(of: "kind"), "kind", "this is an \(kind) file, but an \(expecting) is needed here", hint: "pass the \(expecting.lowercased()) file")
            return nil
        }
        switch kind {
        case "Experiment": return ExperimentReader(reader).read(top).map(ChaosDocument.experiment)
        default: return InventoryReader(reader).read(top).map(ChaosDocument.inventory)
        }
    }
}

/// Names of things users define: lowercase letters, digits, `-`, `_`, `.`; starting with a letter or digit.
public enum NameRule {
    public static func isValid(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, s.count <= 63,
              ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
        return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }
    public static let hint = "use lowercase letters, digits, '-', '_' and '.', starting with a letter or digit (at most 63)"

    /// Reads a name field, checking the rule.
    static func read(_ r: FieldReader, _ node: DocumentNode, _ path: String) -> String? {
        guard let s = r.string(node, path) else { return nil }
        guard isValid(s) else { r.sink.report(node.location, path, "'\(s)' is not a valid name", hint: hint); return nil }
        return s
    }
}
