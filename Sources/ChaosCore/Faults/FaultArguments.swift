/// A one-off command's parameters for one fault kind, read by the kind's ``FaultDescriptor`` exactly as
/// a file's `with:` is: same types, bounds, requirements and rules, with messages that name the
/// command's options (`--percent: 150% is out of range; use a percentage from 0.1 to 100`).
public struct FaultArguments: Sendable {
    public let kind: FaultKind
    /// The option of each parameter whose option is not `--` + its name in kebab case.
    private(set) var options: [String: String]
    /// Parameters given as `--set NAME=VALUE` (`chaos inject`) rather than options of their own.
    let bySet: Bool
    private var given: [(key: String, keyLocation: SourceLocation, value: DocumentNode)] = []

    /// - Parameter options: parameter name → option, where they differ (`["lossPercent": "--percent"]`).
    /// - Parameter bySet: every parameter is given as `--set NAME=VALUE`.
    public init(_ kind: FaultKind, options: [String: String] = [:], bySet: Bool = false) {
        self.kind = kind; self.options = options; self.bySet = bySet
    }

    /// The option that sets parameter `name`.
    public func option(_ name: String) -> String { bySet ? "--set \(name)" : options[name] ?? Self.option(name) }

    /// `--` and the name in kebab case: `includeControlPort` → `--include-control-port`.
    public static func option(_ name: String) -> String {
        "--" + name.reduce(into: "") { out, c in
            if c.isUppercase { out += "-" + c.lowercased() } else { out.append(c) }
        }
    }

    /// Sets a parameter from the text of its option; `nil` leaves it absent.
    public mutating func set(_ name: String, _ text: String?) {
        guard let text else { return }
        add(name, .scalar(text, .string, place))
    }

    /// Sets a parameter whose option has a name of the command's own (`--percent` for `lossPercent`).
    public mutating func set(_ name: String, _ text: String?, option: String) {
        options[name] = option
        set(name, text)
    }

    /// Sets a list parameter (`--to a,b`); `nil` or empty leaves it absent.
    public mutating func set(_ name: String, list items: [String]?) {
        guard let items, !items.isEmpty else { return }
        add(name, .sequence(items.map { .scalar($0, .string, place) }, place))
    }

    /// Sets a boolean parameter from a flag; `nil` leaves it absent.
    public mutating func set(_ name: String, flag: Bool?) {
        guard let flag else { return }
        add(name, .scalar(flag ? "true" : "false", .bool, place))
    }

    private var place: SourceLocation { SourceLocation(line: given.count + 1, column: 1) }
    private mutating func add(_ name: String, _ node: DocumentNode) {
        given.removeAll { $0.key == name }
        given.append((name, place, node))
    }

    /// The parameters, or every problem as one line per option.
    public func read() -> Result<FaultParameters, Problems> {
        let sink = DiagnosticSink(file: "arguments")
        let r = FieldReader(sink: sink)
        let spelling = bySet
            ? FieldSpelling(name: { "--set \($0)" }, assignment: { name, example in "'--set \(name)=\(example)'" })
            : FieldSpelling(name: { [options] in options[$0] ?? Self.option($0) },
                            assignment: { [options] name, example in "'\(options[name] ?? Self.option(name)) \(example)'" })
        let p = FaultParameterReader(r, kind.descriptor, spelling: spelling).read(.mapping(given, .start), "with")
        guard sink.isEmpty, let p else {
            return .failure(Problems(lines: sink.diagnostics.map { d in
                let name = d.path.hasPrefix("with.") ? String(d.path.dropFirst(5).prefix { $0 != "[" }) : ""
                return (name.isEmpty ? "" : option(name) + ": ") + d.message + (d.hint.isEmpty ? "" : "; " + d.hint)
            }))
        }
        return .success(p)
    }

    /// What a command's options got wrong, one line each.
    public struct Problems: Error, Sendable, CustomStringConvertible {
        public let lines: [String]
        public var description: String { lines.joined(separator: "\n") }
    }

    /// The `--help` text of the option of `name` for `kind`: the descriptor's help, bounds and default.
    public static func help(_ kind: FaultKind, _ name: String) -> String {
        guard let p = kind.descriptor.parameter(name) else { return "" }
        var text = p.help
        switch p.type {
        case .percent(let r): text += " (\(NumberText.format(r.lowerBound))-\(NumberText.format(r.upperBound)))"
        case .integer(let r): text += " (\(r.lowerBound)-\(r.upperBound))"
        case .word(let words, _, _, _): text += " (\(words.joined(separator: ", ")))"
        default: break
        }
        if let d = p.defaultText { text += " Default: \(d.replacing("`", with: ""))." }
        return text.replacing("`", with: "'")
    }
}
