import ChaosCore
import Foundation

/// `{"runs": [...]}`: the run records as stored (sorted keys, pretty-printed), for tools.
enum JSONReport {
    struct Document: Codable { var runs: [RunRecord] }

    static func render(_ runs: [RunRecord]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Latencies can be infinite or NaN in a broken journal: written as strings rather than failing.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        guard let data = try? encoder.encode(Document(runs: runs)) else { return "{\n  \"runs\" : []\n}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
