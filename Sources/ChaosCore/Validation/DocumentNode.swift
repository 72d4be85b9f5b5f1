import Yams

/// A parsed YAML or JSON document with the position of every value, so validation can say where.
///
/// JSON is read by the same YAML parser (JSON is YAML's flow style), so both give line and column.
public indirect enum DocumentNode: Sendable {
    /// A scalar with its text, whether it was quoted, and YAML's resolved type.
    case scalar(String, ScalarKind, SourceLocation)
    case mapping([(key: String, keyLocation: SourceLocation, value: DocumentNode)], SourceLocation)
    case sequence([DocumentNode], SourceLocation)

    /// What YAML makes of a scalar: a quoted or plain string, a number, a boolean or null.
    public enum ScalarKind: Sendable, Equatable { case string, int, float, bool, null }

    /// Where the node starts.
    public var location: SourceLocation {
        switch self {
        case .scalar(_, _, let l), .mapping(_, let l), .sequence(_, let l): return l
        }
    }

    /// Whether this is a null scalar (`~`, `null`, or nothing at all).
    public var isNull: Bool {
        if case .scalar(_, .null, _) = self { return true }
        return false
    }

    /// Whether this is a mapping.
    public var isMapping: Bool {
        if case .mapping = self { return true }
        return false
    }

    /// The non-null value of `key` when this is a mapping that has it.
    public func value(_ key: String) -> DocumentNode? {
        guard case .mapping(let entries, _) = self, let v = entries.first(where: { $0.key == key })?.value, !v.isNull else { return nil }
        return v
    }

    /// A word for the node's shape, for messages: "a mapping", "a list", "a string"...
    public var shapeName: String {
        switch self {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(_, let kind, _):
            switch kind {
            case .string: return "a string"
            case .int, .float: return "a number"
            case .bool: return "a boolean"
            case .null: return "null"
            }
        }
    }

    /// A problem with the text itself: it is not YAML or JSON at all.
    public struct SyntaxError: Error, Sendable {
        /// Where, never past the last line of the text.
        public var location: SourceLocation
        public var message: String
        /// What to do, when something better than the general advice is known (e.g. "add the missing '}'").
        public var hint: String?
    }

    /// Parses `text`; an empty document is `nil`.
    /// - Throws: ``SyntaxError`` with the position libyaml reports.
    public static func parse(_ text: String) throws(SyntaxError) -> DocumentNode? {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw SyntaxError.from(error, text: text)
        } catch {
            throw SyntaxError(location: .start, message: "\(error)")
        }
        return node.map(DocumentNode.init)
    }

    init(_ node: Node) {
        let loc = node.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? .start
        switch node {
        case .scalar(let s):
            let kind: ScalarKind
            if s.style == .singleQuoted || s.style == .doubleQuoted || s.style == .literal || s.style == .folded {
                kind = .string
            } else {
                switch Tag.Name(rawValue: node.tag.rawValue) {
                case .int: kind = .int
                case .float: kind = .float
                case .bool: kind = .bool
                case .null: kind = .null
                default: kind = .string
                }
            }
            self = .scalar(s.string, kind, loc)
        case .mapping(let m):
            self = .mapping(m.map { pair in
                let keyLoc = pair.key.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? loc
                return (key: pair.key.string ?? "\(pair.key)", keyLocation: keyLoc, value: DocumentNode(pair.value))
            }, loc)
        case .sequence(let seq):
            self = .sequence(seq.map(DocumentNode.init), loc)
        case .alias:
            self = .scalar("*alias", .string, loc)
        }
    }
}

extension DocumentNode.SyntaxError {
    init(location: SourceLocation, message: String) { self.init(location: location, message: message, hint: nil) }

    static func from(_ error: YamlError, text: String) -> Self {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        // The last line with text, and the column just after its end.
        let lastIndex = lines.lastIndex(where: { !$0.allSatisfy(\.isWhitespace) }) ?? 0
        let end = SourceLocation(line: lastIndex + 1, column: (lines.isEmpty ? 0 : lines[lastIndex].unicodeScalars.count) + 1)
        func clamped(_ mark: Mark) -> SourceLocation {
            let l = SourceLocation(line: mark.line, column: mark.column)
            return (l.line, l.column) > (end.line, end.column) ? end : l
        }
        func describe(_ context: YamlError.Context?, _ problem: String, _ mark: Mark) -> Self {
            let at = clamped(mark)
            // libyaml's contexts read "while parsing a flow mapping"; name the bracket or quote instead.
            let opened: (what: String, closer: String)?
            switch context?.text {
            case "while parsing a flow mapping"?: opened = ("'{'", "}")
            case "while parsing a flow sequence"?: opened = ("'['", "]")
            case "while scanning a quoted scalar"?: opened = ("quote", "closing quote")
            default: opened = nil
            }
            if let context, let opened {
                let start = "\(opened.what) at line \(context.mark.line), column \(context.mark.column)"
                if at == end || mark.line > end.line {
                    return .init(location: at, message: "not valid YAML or JSON: the \(start) is never closed",
                                 hint: "add the missing \(opened.closer == "closing quote" ? opened.closer : "'\(opened.closer)'")")
                }
                return .init(location: at, message: "not valid YAML or JSON: \(problem) (in the \(start))")
            }
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
            return .init(location: at, message: "not valid YAML or JSON: \(what)")
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return describe(context, problem, mark)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .init(location: clamped(context.mark),
                         message: "key '\(duplicates.joined(separator: "', '"))' appears twice in the same mapping")
        default:
            return .init(location: .start, message: "not valid YAML or JSON: \(error)")
        }
    }
}
