import Testing
@testable import ChaosCore

/// Loads inline documents under the file name `t.yaml`, so expected diagnostics read `t.yaml:LINE:COLUMN: ...`.
enum Doc {
    static let file = "t.yaml"

    static func load(_ text: String, expecting: String? = nil) -> ChaosDocument.Loaded {
        ChaosDocument.load(text, file: file, expecting: expecting)
    }

    static func diagnostics(_ text: String, expecting: String? = nil) -> [String] {
        load(text, expecting: expecting).diagnostics.map(\.description)
    }

    /// The first three lines of every experiment below.
    static let experimentHeader = """
        apiVersion: chaos/v1
        kind: Experiment
        name: x
        """

    /// The first four lines of every inventory below.
    static let inventoryHeader = """
        apiVersion: chaos/v1
        kind: Inventory
        hosts:
          - {name: db1, address: 10.0.0.1, tags: [db]}
        """
}

/// One invalid document and the exact diagnostics it must produce.
struct InvalidCase: CustomTestStringConvertible, Sendable {
    var title: String
    var text: String
    var expecting: String? = nil
    var diagnostics: [String]
    var testDescription: String { title }
}
