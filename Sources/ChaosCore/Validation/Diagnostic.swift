/// A position in a source file, 1-based.
public struct SourceLocation: Hashable, Sendable, Codable {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) { self.line = line; self.column = column }
    /// Where nothing better is known: the top of the file.
    public static let start = SourceLocation(line: 1, column: 1)
}

/// One problem found in a user's file, printed as `FILE:LINE:COLUMN: field.path: what is wrong; hint`.
public struct Diagnostic: Hashable, Sendable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    /// The field path, e.g. `fault.with.signal` or `probes[1].interval`; `(document)` for the whole file.
    public var path: String
    /// What is wrong, without a trailing period.
    public var message: String
    /// What to do about it; may be empty.
    public var hint: String

    public init(file: String, location: SourceLocation, path: String, message: String, hint: String = "") {
        self.file = file
        self.line = location.line
        self.column = location.column
        // Messages quote what a stranger wrote: no control or bidirectional character reaches a terminal or log as itself.
        self.path = path.isEmpty ? "(document)" : VisibleText.of(path)
        self.message = VisibleText.of(message)
        self.hint = VisibleText.of(hint)
    }

    public var description: String {
        "\(file):\(line):\(column): \(path): \(message)" + (hint.isEmpty ? "" : "; \(hint)")
    }
}

/// Collects every problem of one file, in the order found.
public final class DiagnosticSink {
    public let file: String
    public private(set) var diagnostics: [Diagnostic] = []
    public init(file: String) { self.file = file }

    /// Records a problem at `location` for the field at `path`.
    public func report(_ location: SourceLocation, _ path: String, _ message: String, hint: String = "") {
        diagnostics.append(Diagnostic(file: file, location: location, path: path, message: message, hint: hint))
    }
    public var isEmpty: Bool { diagnostics.isEmpty }
}

/// Text as it may go into a message, a log line or a terminal: control, line-separator and
/// bidirectional-override characters spelled `U+XXXX`.
public enum VisibleText {
    public static func of(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: DocumentNode.isInvisible) else { return text }
        return DocumentNode.visible(text, limit: Int.max)
    }
}
