/// Reads a ``DocumentNode`` into typed values while collecting *every* problem in a ``DiagnosticSink``.
///
/// Each reader method returns `nil` (after reporting) instead of throwing, so that validation of a file
/// goes on after the first mistake and the user sees all of them in one pass.
public struct FieldReader {
    public let sink: DiagnosticSink
    public init(sink: DiagnosticSink) { self.sink = sink }

    // MARK: Shapes

    /// Opens `node` as a mapping, reporting if it is something else.
    public func mapping(_ node: DocumentNode, _ path: String) -> MappingReader? {
        guard case .mapping(let entries, let loc) = node else {
            sink.report(node.location, path, "expected a mapping (key: value pairs), found \(node.shapeName)")
            return nil
        }
        return MappingReader(entries: entries, location: loc, path: path, reader: self)
    }

    /// Reads a list, applying `element` to each item with its index in the path. A single value where a
    /// list is expected is reported, not silently wrapped.
    public func list<T>(_ node: DocumentNode, _ path: String, _ element: (DocumentNode, String) -> T?) -> [T]? {
        guard case .sequence(let items, _) = node else {
            sink.report(node.location, path, "expected a list, found \(node.shapeName)", hint: "write it as '[a, b]' or one '- item' per line")
            return nil
        }
        var out: [T] = []
        var ok = true
        for (i, item) in items.enumerated() {
            if let v = element(item, "\(path)[\(i)]") { out.append(v) } else { ok = false }
        }
        return ok ? out : nil
    }

    // MARK: Scalars

    /// A non-empty string. Numbers and booleans written without quotes are accepted as their text.
    public func string(_ node: DocumentNode, _ path: String, allowEmpty: Bool = false) -> String? {
        guard case .scalar(let text, let kind, let loc) = node, kind != .null else {
            sink.report(node.location, path, "expected a string, found \(node.shapeName)")
            return nil
        }
        if !allowEmpty && text.trimmingWhitespace().isEmpty {
            sink.report(loc, path, "must not be empty")
            return nil
        }
        // A NUL would cut the text short where it meets the C library (a path checked whole, opened cut).
        if text.unicodeScalars.contains("\u{0}") {
            sink.report(loc, path, "contains a NUL character (U+0000)", hint: "remove it")
            return nil
        }
        return text
    }

    /// An integer inside `range`.
    public func int(_ node: DocumentNode, _ path: String, in range: ClosedRange<Int> = Int.min...Int.max) -> Int? {
        guard case .scalar(let text, let kind, let loc) = node, kind == .int || kind == .string, let n = Int(text.trimmingWhitespace()) else {
            sink.report(node.location, path, "expected a whole number, found \(describe(node))")
            return nil
        }
        guard range.contains(n) else {
            sink.report(loc, path, "\(n) is out of range", hint: "use a number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return n
    }

    /// A number (integer or decimal) inside `range`.
    public func number(_ node: DocumentNode, _ path: String, in range: ClosedRange<Double>) -> Double? {
        guard case .scalar(let text, let kind, let loc) = node, kind == .int || kind == .float || kind == .string,
              let n = Double(text.trimmingWhitespace()), n.isFinite else {
            sink.report(node.location, path, "expected a number, found \(describe(node))")
            return nil
        }
        guard range.contains(n) else {
            sink.report(loc, path, "\(text) is out of range", hint: "use a number from \(format(range.lowerBound)) to \(format(range.upperBound))")
            return nil
        }
        return n
    }

    /// A percentage written `95`, `95%` or `99.9%`, inside 0...100 (or `range`).
    public func percent(_ node: DocumentNode, _ path: String, in range: ClosedRange<Double> = 0...100) -> Double? {
        guard case .scalar(var text, let kind, let loc) = node, kind != .null, kind != .bool else {
            sink.report(node.location, path, "expected a percentage such as '95%', found \(node.shapeName)")
            return nil
        }
        let written = text
        text = text.trimmingWhitespace()
        if text.hasSuffix("%") { text.removeLast() }
        guard let n = Double(text.trimmingWhitespace()), n.isFinite else {
            sink.report(loc, path, "'\(written)' is not a percentage", hint: "write e.g. '95%' or '99.9%'")
            return nil
        }
        guard range.contains(n) else {
            sink.report(loc, path, "\(format(n))% is out of range", hint: "use a percentage from \(format(range.lowerBound)) to \(format(range.upperBound))")
            return nil
        }
        return n
    }

    /// A boolean (`true`/`false`).
    public func bool(_ node: DocumentNode, _ path: String) -> Bool? {
        guard case .scalar(let text, let kind, _) = node, kind == .bool else {
            sink.report(node.location, path, "expected true or false, found \(describe(node))")
            return nil
        }
        return ["true", "yes", "on"].contains(text.lowercased())
    }

    /// A duration with a unit, optionally bounded below.
    public func duration(_ node: DocumentNode, _ path: String, atLeast minimum: ChaosDuration? = nil) -> ChaosDuration? {
        guard case .scalar(let text, let kind, let loc) = node, kind != .null, kind != .bool else {
            sink.report(node.location, path, "expected a duration such as '30s', found \(node.shapeName)")
            return nil
        }
        do {
            let d = try ChaosDuration.parse(text)
            if let minimum, d < minimum {
                sink.report(loc, path, "'\(text)' is shorter than the minimum \(minimum)", hint: "use at least '\(minimum)'")
                return nil
            }
            return d
        } catch {
            sink.report(loc, path, error == .empty ? "must not be empty" : error.description, hint: error.hint)
            return nil
        }
    }

    /// A size with a unit.
    public func byteSize(_ node: DocumentNode, _ path: String) -> ByteSize? {
        guard case .scalar(let text, let kind, let loc) = node, kind != .null, kind != .bool else {
            sink.report(node.location, path, "expected a size such as '100MiB', found \(node.shapeName)")
            return nil
        }
        do { return try ByteSize.parse(text) } catch {
            sink.report(loc, path, error.description, hint: error.hint)
            return nil
        }
    }

    /// One of a fixed set of words; the hint lists them and suggests the closest.
    public func oneOf(_ node: DocumentNode, _ path: String, _ allowed: [String]) -> String? {
        guard let text = string(node, path) else { return nil }
        guard allowed.contains(text) else {
            let list = allowed.map { "'\($0)'" }.joined(separator: ", ")
            let hint = Spelling.closest(to: text, in: allowed).map { "did you mean '\($0)'? Allowed: \(list)" } ?? "allowed: \(list)"
            sink.report(node.location, path, "'\(text)' is not allowed", hint: hint)
            return nil
        }
        return text
    }

    /// A list of strings, or a single string; non-empty unless `allowEmpty`.
    public func stringList(_ node: DocumentNode, _ path: String, allowEmpty: Bool = false) -> [String]? {
        guard let items = list(node, path, { self.string($0, $1) }) else { return nil }
        if items.isEmpty && !allowEmpty {
            sink.report(node.location, path, "must not be empty")
            return nil
        }
        return items
    }

    func describe(_ node: DocumentNode) -> String {
        if case .scalar(let text, let kind, _) = node, kind != .null { return "'\(text)'" }
        return node.shapeName
    }

    func format(_ d: Double) -> String { NumberText.format(d) }
}

/// Reads the fields of one mapping and, in ``finish()``, reports keys nobody asked for.
public final class MappingReader {
    public let path: String
    public let location: SourceLocation
    let entries: [(key: String, keyLocation: SourceLocation, value: DocumentNode)]
    let reader: FieldReader
    private var known: [String] = []

    init(entries: [(key: String, keyLocation: SourceLocation, value: DocumentNode)], location: SourceLocation, path: String, reader: FieldReader) {
        self.entries = entries
        self.location = location
        self.path = path
        self.reader = reader
    }

    /// The sink problems go to.
    public var sink: DiagnosticSink { reader.sink }

    /// The path of a child field.
    public func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The raw node of `key`, marking the key as known. A present `null` value (or no value) counts as
    /// absent here; ``required(_:hint:_:)`` tells the two apart in its message.
    public func node(_ key: String) -> DocumentNode? {
        known.append(key)
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        if case .scalar(_, .null, _) = entry.value { return nil }
        return entry.value
    }

    /// Whether `key` is present (with a non-null value).
    public func has(_ key: String) -> Bool {
        entries.contains(where: { $0.key == key && !isNull($0.value) })
    }

    /// Reads an optional field with `parse`.
    public func optional<T>(_ key: String, _ parse: (DocumentNode, String) -> T?) -> T? {
        guard let n = node(key) else { return nil }
        return parse(n, child(key))
    }

    /// Reads a required field with `parse`. A missing key is reported at the mapping ("is required"),
    /// a key written with no value (`name:` or `name: null`) at the key ("is empty"); both with `hint`.
    public func required<T>(_ key: String, hint: String = "", _ parse: (DocumentNode, String) -> T?) -> T? {
        guard let n = node(key) else {
            if let entry = entries.first(where: { $0.key == key }) {
                sink.report(entry.keyLocation, child(key), "is empty", hint: hint)
            } else {
                sink.report(location, child(key), "is required", hint: hint)
            }
            return nil
        }
        return parse(n, child(key))
    }

    /// Marks keys as known without reading them (e.g. `apiVersion` handled elsewhere).
    public func allow(_ keys: String...) { known.append(contentsOf: keys) }

    /// The keys present in the document, in order.
    public var keys: [String] { entries.map(\.key) }

    /// Where `key` is written, or the mapping's own position.
    public func location(of key: String) -> SourceLocation {
        entries.first(where: { $0.key == key })?.keyLocation ?? location
    }

    /// Where the value of `key` starts, or the mapping's own position.
    public func valueLocation(of key: String) -> SourceLocation {
        entries.first(where: { $0.key == key })?.value.location ?? location
    }

    /// Reports every key that no read asked for, suggesting the closest known one, or listing the known
    /// ones.
    /// - Parameter nothingKnownHint: the hint when this mapping takes no fields at all (by default
    ///   "nothing belongs here; remove it").
    public func finish(nothingKnownHint: String? = nil) {
        let names = Set(known)
        for entry in entries where !names.contains(entry.key) {
            let hint: String
            if let close = Spelling.closest(to: entry.key, in: known) {
                hint = "did you mean '\(close)'?"
            } else if names.isEmpty {
                hint = nothingKnownHint ?? "nothing belongs here; remove it"
            } else {
                hint = "known fields here: \(names.sorted().joined(separator: ", "))"
            }
            sink.report(entry.keyLocation, child(entry.key), "unknown field", hint: hint)
        }
    }

    private func isNull(_ n: DocumentNode) -> Bool {
        if case .scalar(_, .null, _) = n { return true }
        return false
    }
}

/// "Did you mean" suggestions by edit distance.
public enum Spelling {
    /// The candidate closest to `word`, if it is close enough to be a typo.
    public static func closest(to word: String, in candidates: [String]) -> String? {
        let w = Array(word.lowercased())
        var best: (String, Int)?
        for c in Set(candidates) {
            let d = distance(w, Array(c.lowercased()))
            guard d <= max(1, min(3, c.count / 3)) else { continue }
            if let b = best, b.1 < d || (b.1 == d && b.0 <= c) { continue }
            best = (c, d)
        }
        return best?.0
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}
