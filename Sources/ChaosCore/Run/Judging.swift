/// Judging observations against a probe's tolerance.
extension Tolerance {
    /// Whether `o` is acceptable for a probe of `kind`. Every field given must hold; defaults: http
    /// status 200-399, command exit status 0.
    public func judge(_ o: Observation, kind: ProbeSpec.Kind) -> Judgement {
        if let blind = o.blind { return .blind(blind) }
        if let failure = o.failure { return .fail(failure) }
        switch kind {
        case .http:
            guard let s = o.status else { return .fail("no HTTP status") }
            let accepted = status ?? [StatusRange(200, 399)]
            if !accepted.contains(where: { $0.contains(s) }) {
                return .fail("status \(s), expected \(accepted.map(\.description).joined(separator: ", "))")
            }
        case .command:
            guard let code = o.exitCode else { return .fail("no exit status") }
            if code != (exitCode ?? 0) { return .fail("exit status \(code), expected \(exitCode ?? 0)") }
        case .prometheus:
            guard let v = o.value else { return .blind("the query returned no value") }
            if let b = valueBelow, !(v < b) { return .fail("value \(v), expected below \(b)") }
            if let a = valueAbove, !(v > a) { return .fail("value \(v), expected above \(a)") }
            if let e = valueEquals, v != e { return .fail("value \(v), expected \(e)") }
        case .tcp:
            break
        }
        if let pattern = bodyMatches {
            guard let regex = try? BoundedRegex(pattern) else { return .blind("'\(pattern)' is not a valid regular expression") }
            if !regex.matches(in: o.body ?? "") {
                return .fail("\(kind == .command ? "output" : "body") does not match /\(pattern)/")
            }
        }
        if let path = jsonPath {
            switch JSONPath.value(at: path, in: o.body ?? "") {
            case .none: return .fail("\(path) not found in the body")
            case .some(let found):
                if let expected = equals, found != expected { return .fail("\(path) is \(found), expected \(expected)") }
            }
        }
        if let bound = latencyBelow, !(o.latencyMs < Double(bound.milliseconds)) {
            return .fail("took \(Int(o.latencyMs.rounded())) ms, expected under \(bound)")
        }
        return .ok
    }
}

/// A small JSONPath: `$.a.b[0].c` (dots, names and indexes), enough for health endpoints.
public enum JSONPath {
    static let bodyLimits = DocumentLimits(maxDepth: 128, maxNodes: 1_000_000, maxBytes: 16 << 20, maxAliases: 0)

    /// The value at `path` as text (strings unquoted; numbers, booleans and null as JSON writes them),
    /// or `nil` when the body is not JSON or the path is not there.
    public static func value(at path: String, in body: String) -> String? {
        // A probe's body is a stranger's text: JSON only, bounded (a health answer is small).
        guard let root = try? DocumentNode.parseJSON(body, limits: bodyLimits) else { return nil }
        var node: DocumentNode? = root
        for step in steps(path) {
            guard let current = node else { return nil }
            switch step {
            case .key(let k): node = current.child(k)
            case .index(let i): node = current.element(i)
            }
        }
        return node?.scalarText
    }

    enum Step { case key(String), index(Int) }

    static func steps(_ path: String) -> [Step] {
        var out: [Step] = []
        var text = Substring(path)
        if text.hasPrefix("$") { text = text.dropFirst() }
        var name = ""
        var i = text.startIndex
        func flush() { if !name.isEmpty { out.append(.key(name)); name = "" } }
        while i < text.endIndex {
            let c = text[i]
            if c == "." { flush() }
            else if c == "[" {
                flush()
                let close = text[i...].firstIndex(of: "]") ?? text.endIndex
                let inner = text[text.index(after: i)..<close].trimmingCharacters(in: "'\"")
                if let n = Int(inner) { out.append(.index(n)) } else { out.append(.key(String(inner))) }
                i = close
            } else { name.append(c) }
            if i < text.endIndex { i = text.index(after: i) }
        }
        flush()
        return out
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return s
    }
}

extension DocumentNode {
    fileprivate func child(_ key: String) -> DocumentNode? {
        if case .mapping(let pairs, _) = self { return pairs.first(where: { $0.key == key })?.value }
        return nil
    }
    fileprivate func element(_ i: Int) -> DocumentNode? {
        if case .sequence(let items, _) = self, items.indices.contains(i) { return items[i] }
        return nil
    }
    fileprivate var scalarText: String? {
        if case .scalar(let text, _, _) = self { return text }
        return nil
    }
}
