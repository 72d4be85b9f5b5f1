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
        public var location: SourceLocation
        public var message: String
    }

    /// Parses `text`; an empty document is `nil`.
    /// - Throws: ``SyntaxError`` with the position libyaml reports.
    public static func parse(_ text: String) throws(SyntaxError) -> DocumentNode? {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw SyntaxError.from(error)
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
    static func from(_ error: YamlError) -> Self {
        switch error {
        case .scanner(let context, let problem, let mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            return .init(location: .init(line: mark.line, column: mark.column), message: "not valid YAML or JSON: \(what)")
        case .parser(let context, let problem, let mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            return .init(location: .init(line: mark.line, column: mark.column), message: "not valid YAML or JSON: \(what)")
        case .composer(let context, let problem, let mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            return .init(location: .init(line: mark.line, column: mark.column), message: "not valid YAML or JSON: \(what)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .init(location: .init(line: context.mark.line, column: context.mark.column),
                         message: "key '\(duplicates.joined(separator: "', '"))' appears twice in the same mapping")
        default:
            return .init(location: .start, message: "not valid YAML or JSON: \(error)")
        }
    }
}
