import Foundation
import Yams

/// Writes an experiment as a file users read and `chaos validate` accepts: YAML in the file format,
/// fields in their usual order, numbers as written by people (`95`, not `9.5e+1`), and the fields
/// left at their defaults left out.
public enum ExperimentWriter {
    public static func yaml(_ e: Experiment, comment: [String] = []) throws(ChaosError) -> String {
        let body: String
        do {
            // JSON keeps the encoder's field order and plain numbers; JSON is YAML, so compose it.
            let json = String(decoding: try JSONEncoder().encode(e), as: UTF8.self)
            guard let node = try Yams.compose(yaml: json) else { throw ChaosError("experiment.encode", "empty") }
            body = try Yams.serialize(node: prune(node, defaults: [
                "stopWhen": .sequence([]), "with": .mapping([:]), "weight": 1, "successThreshold": 1, "failureThreshold": 1,
                "dryRun": "false", "allowProtected": "false", "safety": .mapping([:]),
            ]))
        } catch {
            throw .internalError("experiment.encode", "Cannot write experiment '\(e.name)' as YAML: \(error).")
        }
        return (comment.map { "# " + $0 } + [body]).joined(separator: "\n")
    }

    /// Drops mapping entries whose value equals the default given for their key (inner ones first).
    static func prune(_ node: Node, defaults: [String: Node]) -> Node {
        switch node {
        case .mapping(let m):
            var pairs: [(Node, Node)] = []
            for (k, v) in m {
                let value = prune(v, defaults: defaults)
                if let key = k.string, let d = defaults[key], same(value, d) { continue }
                pairs.append((prune(k, defaults: [:]), value))
            }
            // The file format's order (JSONEncoder does not keep it), then the rest as they came.
            let rank = { (k: Node) -> Int in order.firstIndex(of: k.string ?? "") ?? order.count }
            let sorted = pairs.enumerated().sorted { (rank($0.element.0), $0.offset) < (rank($1.element.0), $1.offset) }.map(\.element)
            return .mapping(Node.Mapping(sorted, m.tag, .block))
        case .sequence(let s):
            return .sequence(Node.Sequence(s.map { prune($0, defaults: defaults) }, s.tag, .block))
        case .scalar(let x):
            // Quoted only where YAML needs it (the tag keeps "200" a string).
            return .scalar(Node.Scalar(x.string, x.tag, .any))
        default:
            return node
        }
    }

    static let order = ["apiVersion", "kind", "name", "description", "target", "fault", "probes", "expect", "stopWhen", "schedule", "safety", "weight",
                        "host", "process", "type", "duration", "with", "interval", "timeout", "url", "address", "command", "tolerance",
                        "availability", "before", "during", "after", "maxOutage", "recoverWithin"]

    static func same(_ a: Node, _ b: Node) -> Bool {
        switch (a, b) {
        case (.mapping(let x), .mapping(let y)): return x.isEmpty && y.isEmpty
        case (.sequence(let x), .sequence(let y)): return x.isEmpty && y.isEmpty
        case (.scalar(let x), .scalar(let y)): return x.string == y.string || (Double(x.string) != nil && Double(x.string) == Double(y.string))
        default: return false
        }
    }
}
