/// The names written in a list of entries (`hosts`, `probes`, `groups`...), read straight from the
/// document: every entry's valid name, even when the entry has other problems.
///
/// References (`stopWhen[].probe`, a target's `host`, group members, dependencies) are checked against
/// these, so one broken entry does not make every reference to it fail as well; and duplicates are
/// reported at the duplicate's own `name`.
struct WrittenNames {
    /// One name as written.
    struct Entry {
        var text: String
        /// The field path, e.g. `groups[1].name`.
        var path: String
        /// Where the value is written.
        var location: SourceLocation
    }

    var entries: [Entry]

    /// The texts, in file order.
    var texts: [String] { entries.map(\.text) }

    /// Scans the list `node` (the value of `list`) for each item's scalar `key` that passes `isValid`.
    init(_ node: DocumentNode?, list: String, key: String = "name", isValid: (String) -> Bool = NameRule.isValid) {
        guard case .sequence(let items, _)? = node else { entries = []; return }
        entries = items.enumerated().compactMap { i, item in
            guard case .mapping(let fields, _) = item,
                  let value = fields.first(where: { $0.key == key })?.value,
                  case .scalar(let text, let kind, let location) = value, kind != .null, isValid(text) else { return nil }
            return Entry(text: text, path: "\(list)[\(i)].\(key)", location: location)
        }
    }

    init(entries: [Entry]) { self.entries = entries }

    /// These names followed by `other`'s, for one namespace shared by two lists.
    static func + (a: WrittenNames, b: WrittenNames) -> WrittenNames { WrittenNames(entries: a.entries + b.entries) }

    /// Reports every name already used by an earlier entry, at the later entry's own value.
    func reportDuplicates(_ sink: DiagnosticSink, message: (String) -> String, hint: String) {
        var seen = Set<String>()
        for e in entries where !seen.insert(e.text).inserted {
            sink.report(e.location, e.path, message(e.text), hint: hint)
        }
    }
}
