import Foundation

/// The fault tables of docs/formats.md, written from the ``FaultDescriptor``s (`chaos schema fault-tables`).
/// The docs hold them between `<!-- generated: fault-tables -->` and `<!-- end generated -->`; a test
/// checks they match.
public enum FaultTables {
    public static let begin = "<!-- generated: fault-tables (chaos schema fault-tables; edit Sources/ChaosCore/Faults/Descriptors) -->"
    public static let end = "<!-- end generated -->"

    /// The kinds table, then one parameter table per kind that takes parameters.
    public static func markdown() -> String {
        var out = ["| `type` | what it does | `duration` | needs | `with` fields (**required** in bold) |", "|---|---|---|---|---|"]
        for d in FaultDescriptor.all {
            out.append("| `\(d.kind)` | \(d.summary) | \(d.isReversible ? "required" : "forbidden") | \(d.needs.map(\.rawValue).joined(separator: ", ")) | \(fields(d)) |")
        }
        for d in FaultDescriptor.all where !d.parameters.isEmpty {
            out += ["", "`\(d.kind)` parameters:", "", "| field | type | default | meaning |", "|---|---|---|---|"]
            for p in d.parameters {
                let type = p.isRequired ? "**\(p.type.summary)**, required" + (p.requiredBecause!.isEmpty ? "" : " (\(p.requiredBecause!))") : p.type.summary
                out.append("| `\(p.name)` | \(type) | \(p.defaultText.map { "`\($0)`".replacing("``", with: "`") } ?? "") | \(p.help) |")
            }
            for rule in d.rules {
                switch rule {
                case .exactlyOne(let names, let what): out.append("\nGive exactly one of \(names.map { "`\($0)`" }.joined(separator: ", ")) (\(what)).")
                case .notAbove(let a, let b): out.append("\n`\(a)` must not be larger than `\(b)`.")
                }
            }
            out.append("\n```yaml\nfault: \(d.example)\n```")
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func fields(_ d: FaultDescriptor) -> String {
        if d.parameters.isEmpty { return "none" }
        return d.parameters.map { $0.isRequired ? "**`\($0.name)`**" : "`\($0.name)`" }.joined(separator: ", ")
    }

    /// `document` with the text between the markers replaced by ``markdown()``, or `nil` when it has no
    /// markers.
    public static func replacing(in document: String) -> String? {
        guard let a = document.range(of: begin), let b = document.range(of: end, range: a.upperBound..<document.endIndex) else { return nil }
        return String(document[..<a.upperBound]) + "\n" + markdown() + String(document[b.lowerBound...])
    }
}
