import Testing
@testable import ChaosCore

/// Problems with the file as a whole: syntax, emptiness, apiVersion and kind.
@Suite("Document-level diagnostics")
struct DocumentDiagnosticsTests {
    static let syntaxHint = "fix the syntax first; JSON and YAML are both accepted"
    static let emptyHint = "start with 'apiVersion: chaos/v1' and 'kind: Experiment' or 'kind: Inventory'"
    static let validExperiment = """
        apiVersion: chaos/v1
        kind: Experiment
        name: x
        target: {process: {name: web}}
        fault: {type: process.kill}
        """

    static let cases: [InvalidCase] = [
        InvalidCase(title: "YAML syntax error, positioned by libyaml", text: """
            apiVersion: chaos/v1
            kind: Experiment
            name: a: b
            """, diagnostics: ["t.yaml:3:8: (document): not valid YAML or JSON: mapping values are not allowed in this context; \(syntaxHint)"]),

        InvalidCase(title: "a duplicate key", text: """
            apiVersion: chaos/v1
            kind: Experiment
            name: a
            name: b
            """, diagnostics: ["t.yaml:3:1: (document): key 'name' appears twice in the same mapping; \(syntaxHint)"]),

        InvalidCase(title: "an empty file", text: "", diagnostics: ["t.yaml:1:1: (document): the file is empty; \(emptyHint)"]),
        InvalidCase(title: "a file of blank lines", text: "\n   \n\n", diagnostics: ["t.yaml:1:1: (document): the file is empty; \(emptyHint)"]),
        InvalidCase(title: "a file of comments", text: "# nothing yet\n# really\n", diagnostics: ["t.yaml:1:1: (document): the file is empty; \(emptyHint)"]),

        InvalidCase(title: "a list at the top", text: "- a\n- b\n", diagnostics: ["t.yaml:1:1: (document): expected a mapping (key: value pairs), found a list"]),
        InvalidCase(title: "a bare word at the top", text: "hello\n", diagnostics: ["t.yaml:1:1: (document): expected a mapping (key: value pairs), found a string"]),

        InvalidCase(title: "a wrong apiVersion", text: """
            apiVersion: chaos/v2
            kind: Experiment
            name: x
            target: {process: {name: web}}
            fault: {type: process.kill}
            """, diagnostics: ["t.yaml:1:13: apiVersion: 'chaos/v2' is not supported; use 'chaos/v1'"]),

        InvalidCase(title: "a file of only '---' is empty", text: "---\n", diagnostics: ["t.yaml:1:1: (document): the file is empty; \(emptyHint)"]),
        InvalidCase(title: "a file of '---' and comments is empty", text: "# experiments come later\n---\n# nothing here\n", diagnostics: ["t.yaml:1:1: (document): the file is empty; \(emptyHint)"]),
        InvalidCase(title: "a file of '--- ~' is empty", text: "--- ~\n", diagnostics: ["t.yaml:1:1: (document): the file is empty; \(emptyHint)"]),

        InvalidCase(title: "an apiVersion written with no value", text: "apiVersion:\nkind: Experiment\nname: x\ntarget: {process: {name: web}}\nfault: {type: process.kill}\n",
                    diagnostics: ["t.yaml:1:1: apiVersion: is empty; add 'apiVersion: chaos/v1'"]),

        InvalidCase(title: "an unclosed flow mapping in a multi-line file", text: "apiVersion: chaos/v1\nkind: Experiment\ntarget: {process: {name: web}\n\n", diagnostics: [
            "t.yaml:3:30: (document): not valid YAML or JSON: the '{' at line 3, column 9 is never closed; add the missing '}'",
        ]),

        InvalidCase(title: "an unclosed quote", text: "apiVersion: chaos/v1\nkind: \"Experiment\n", diagnostics: [
            "t.yaml:2:18: (document): not valid YAML or JSON: the quote at line 2, column 7 is never closed; add the missing closing quote",
        ]),

        InvalidCase(title: "a missing comma inside a flow mapping names where it opened", text: "apiVersion: chaos/v1\nkind: Experiment\ntarget: {process: web host: db1}\n", diagnostics: [
            "t.yaml:3:27: (document): not valid YAML or JSON: did not find expected ',' or '}' (in the '{' at line 3, column 9); fix the syntax first; JSON and YAML are both accepted",
        ]),

        InvalidCase(title: "no apiVersion and no kind", text: "name: x\n", diagnostics: [
            "t.yaml:1:1: apiVersion: is required; add 'apiVersion: chaos/v1'",
            "t.yaml:1:1: kind: is required; add 'kind: Experiment' or 'kind: Inventory'",
        ]),

        InvalidCase(title: "a misspelt kind", text: """
            apiVersion: chaos/v1
            kind: Experimnt
            """, diagnostics: ["t.yaml:2:7: kind: 'Experimnt' is not allowed; did you mean 'Experiment'? Allowed: 'Experiment', 'Inventory'"]),

        InvalidCase(title: "an experiment where an inventory is needed", text: validExperiment, expecting: "Inventory", diagnostics: [
            "t.yaml:2:1: kind: this is an Experiment file, but an Inventory is needed here; pass the inventory file",
        ]),

        InvalidCase(title: "an inventory where an experiment is needed", text: """
            apiVersion: chaos/v1
            kind: Inventory
            hosts: []
            """, expecting: "Experiment", diagnostics: [
                "t.yaml:2:1: kind: this is an Inventory file, but an Experiment is needed here; pass the experiment file",
            ]),
    ]

    @Test("each broken document gives exactly its diagnostics", arguments: cases)
    func invalid(_ c: InvalidCase) {
        let loaded = Doc.load(c.text, expecting: c.expecting)
        #expect(loaded.diagnostics.map(\.description) == c.diagnostics)
        #expect(loaded.document == nil)
    }

    @Test("an unclosed JSON object is a syntax error of the whole document, and says what to add")
    func jsonSyntax() throws {
        let loaded = Doc.load(#"{"apiVersion": "chaos/v1", "kind": "Experiment""#)
        let d = try #require(loaded.diagnostics.first)
        #expect(loaded.diagnostics.count == 1)
        #expect(loaded.document == nil)
        #expect(d.path == "(document)")
        #expect(d.message == "not valid YAML or JSON: the '{' at line 1, column 1 is never closed")
        #expect(d.hint == "add the missing '}'")
    }

    @Test("an unclosed bracket is reported at the end of the last line, not past the end of the file")
    func unclosedBracketPosition() throws {
        let oneLine = Doc.load(#"{"apiVersion": "chaos/v1", "kind": "Experiment""#)
        let twoLines = Doc.load("apiVersion: chaos/v1\nkind: [Experiment\n")
        let a = try #require(oneLine.diagnostics.first)
        let b = try #require(twoLines.diagnostics.first)
        #expect((a.line, a.column) == (1, 48))
        #expect((b.line, b.column) == (2, 18))
        #expect(b.message == "not valid YAML or JSON: the '[' at line 2, column 7 is never closed")
        #expect(b.hint == "add the missing ']'")
    }

    @Test("a document that is only '---' is empty, not a null")
    func explicitEmptyDocument() {
        #expect(Doc.diagnostics("---\n") == ["t.yaml:1:1: (document): the file is empty; \(Self.emptyHint)"])
    }

    @Test("the kind the caller expects is accepted")
    func expectingMatches() {
        #expect(Doc.load(Self.validExperiment, expecting: "Experiment").isValid)
        #expect(Doc.load(Self.validExperiment).isValid)
    }

    @Test("the file name given is the one printed")
    func fileName() {
        let d = ChaosDocument.load("", file: "experiments/kill.yaml").diagnostics.map(\.description)
        #expect(d == ["experiments/kill.yaml:1:1: (document): the file is empty; \(Self.emptyHint)"])
    }
}
