import Testing
@testable import ChaosCore

/// Every value and key of a document as `path kind 'text' @line:column`, in document order.
enum DocumentOutline {
    static func lines(_ node: DocumentNode, _ path: String = "$") -> [String] {
        switch node {
        case .scalar(let text, let kind, let l):
            return ["\(path) \(kind) '\(text)' @\(l.line):\(l.column)"]
        case .sequence(let items, let l):
            return ["\(path) list @\(l.line):\(l.column)"] + items.enumerated().flatMap { lines($1, "\(path)[\($0)]") }
        case .mapping(let entries, let l):
            return ["\(path) mapping @\(l.line):\(l.column)"] + entries.flatMap { entry in
                ["\(path).\(entry.key) key @\(entry.keyLocation.line):\(entry.keyLocation.column)"] + lines(entry.value, "\(path).\(entry.key)")
            }
        }
    }

    static func of(json text: String) throws -> [String] {
        try lines(#require(try DocumentNode.parseJSON(text)))
    }
}

@Suite("Strict JSON documents")
struct JSONDocumentTests {
    static let multiLine = """
        {
          "name": "web",
          "count": 3,
          "ratio": 1.5,
          "on": true,
          "none": null,
          "tags": ["a", "b",
                   {"deep": [1, -2]}],
          "empty": {}, "nothing": [],
          "text": "héllo 😀 e\u{301}", "after": "x\\ty"
        }
        """

    @Test("every key and value has its line and column, columns in Unicode scalars")
    func positions() throws {
        #expect(try DocumentOutline.of(json: Self.multiLine) == [
            "$ mapping @1:1",
            "$.name key @2:3", "$.name string 'web' @2:11",
            "$.count key @3:3", "$.count int '3' @3:12",
            "$.ratio key @4:3", "$.ratio float '1.5' @4:12",
            "$.on key @5:3", "$.on bool 'true' @5:9",
            "$.none key @6:3", "$.none null 'null' @6:11",
            "$.tags key @7:3", "$.tags list @7:11", "$.tags[0] string 'a' @7:12", "$.tags[1] string 'b' @7:17",
            "$.tags[2] mapping @8:12", "$.tags[2].deep key @8:13", "$.tags[2].deep list @8:21",
            "$.tags[2].deep[0] int '1' @8:22", "$.tags[2].deep[1] int '-2' @8:25",
            "$.empty key @9:3", "$.empty mapping @9:12", "$.nothing key @9:16", "$.nothing list @9:27",
            // "héllo 😀 e\u{301}" is 10 scalars (9 characters) between its quotes, so "after" is at 11 + 1 + 10 + 1 + 2.
            "$.text key @10:3", "$.text string 'héllo 😀 e\u{301}' @10:11", "$.after key @10:25", "$.after string 'x\ty' @10:34",
        ])
    }

    @Test("the YAML reader gives the same positions, kinds and text for the same JSON")
    func sameAsYAML() throws {
        let json = try DocumentOutline.of(json: Self.multiLine)
        let yaml = try DocumentOutline.lines(#require(try DocumentNode.parse(Self.multiLine)))
        #expect(json == yaml)
    }

    @Test("CRLF and CR end lines like LF; a leading byte order mark takes no column")
    func lineBreaks() throws {
        let lf = try DocumentOutline.of(json: "{\n \"a\": [1,\n  2]}")
        #expect(try DocumentOutline.of(json: "{\r\n \"a\": [1,\r\n  2]}") == lf)
        #expect(try DocumentOutline.of(json: "{\r \"a\": [1,\r  2]}") == lf)
        #expect(try DocumentOutline.of(json: "\u{FEFF}{\n \"a\": [1,\n  2]}") == lf)
        #expect(lf == ["$ mapping @1:1", "$.a key @2:2", "$.a list @2:7", "$.a[0] int '1' @2:8", "$.a[1] int '2' @3:3"])
        #expect(try DocumentNode.parse("{\r\n \"a\": [1,\r\n  2]}").map { DocumentOutline.lines($0) } == lf)
    }

    @Test("empty or whitespace-only text is no document")
    func empty() throws {
        #expect(try DocumentNode.parseJSON("") == nil)
        #expect(try DocumentNode.parseJSON(" \n\t\r\n ") == nil)
        #expect(try DocumentOutline.of(json: " 42 ") == ["$ int '42' @1:2"])
        #expect(try DocumentOutline.of(json: "null") == ["$ null 'null' @1:1"])
    }

    @Test("numbers keep their text; integers without fraction or exponent are .int, others .float")
    func numbers() throws {
        let digits400 = "1" + String(repeating: "0", count: 399)
        let text = "[1e19, 9223372036854775807, 9223372036854775808, -0, 1e400, 0.5, -1.25E-3, 0, \(digits400), -\(digits400).5e-999]"
        guard case .sequence(let items, _)? = try DocumentNode.parseJSON(text) else { Issue.record("not a list"); return }
        let read = items.map { item -> String in
            guard case .scalar(let t, let kind, _) = item else { return "?" }
            return "\(kind) \(t)"
        }
        #expect(read == ["float 1e19", "int 9223372036854775807", "int 9223372036854775808", "int -0", "float 1e400", "float 0.5",
                         "float -1.25E-3", "int 0", "int \(digits400)", "float -\(digits400).5e-999"])
        // The readers convert later, without trapping: too large for Int is a reported problem.
        let sink = DiagnosticSink(file: "b")
        #expect(FieldReader(sink: sink).int(items[2], "n") == nil)
        #expect(FieldReader(sink: sink).int(items[8], "n") == nil)
        #expect(FieldReader(sink: sink).int(items[1], "n") == Int.max)
        #expect(sink.diagnostics.count == 2)
    }

    @Test("a number of a million digits is kept as text, quickly")
    func hugeNumber() throws {
        let text = String(repeating: "9", count: 1_000_000)
        let elapsed = try ContinuousClock().measure {
            guard case .scalar(let t, .int, _)? = try DocumentNode.parseJSON(text) else { Issue.record("not an int"); return }
            #expect(t.utf8.count == 1_000_000)
        }
        #expect(elapsed < .seconds(5))
    }

    @Test("escapes are decoded; surrogate pairs make one character")
    func escapes() throws {
        let text = #""\"\\\/\b\f\n\r\t\u00e9\u00E9\ud83d\ude00 \u0000""#
        guard case .scalar(let s, .string, _)? = try DocumentNode.parseJSON(text) else { Issue.record("not a string"); return }
        #expect(s == "\"\\/\u{8}\u{C}\n\r\téé😀 \u{0}")
        // RFC 8259 allows DEL and C1 characters unescaped in strings.
        guard case .scalar(let del, .string, _)? = try DocumentNode.parseJSON("\"a\u{7F}\u{85}b\"") else { Issue.record("not a string"); return }
        #expect(del == "a\u{7F}\u{85}b")
    }

    struct Invalid: CustomTestStringConvertible, Sendable {
        var text: String
        var at: String
        var message: String
        var hint: String?
        var testDescription: String { message }
    }

    static let invalid: [Invalid] = [
        Invalid(text: #"{"a": 1 "b": 2}"#, at: "1:9", message: "not valid JSON: expected ',' or '}' after a value, found '\"'", hint: "add the missing ','"),
        Invalid(text: "[1 2]", at: "1:4", message: "not valid JSON: expected ',' or ']' after a value, found '2'"),
        Invalid(text: "{\n  \"a\": 1\n  \"b\": 2\n}", at: "3:3", message: "not valid JSON: expected ',' or '}' after a value, found '\"'", hint: "add the missing ','"),
        Invalid(text: "[1}", at: "1:3", message: "not valid JSON: '}' closes the '[' at line 1, column 1", hint: "write ']'"),
        Invalid(text: #"{"a": "b"#, at: "1:7", message: "not valid JSON: unterminated string", hint: "add the closing '\"'"),
        Invalid(text: "{\"a\": \"b\u{1}c\"}", at: "1:9", message: "not valid JSON: a control character (U+0001) in a string must be escaped", hint: "write it as '\\u0001'"),
        Invalid(text: "[\"é😀\u{0}\"]", at: "1:5", message: "not valid JSON: a control character (U+0000) in a string must be escaped", hint: "write it as '\\u0000'"),
        Invalid(text: "{\"a\": \"b\nc\"}", at: "1:9", message: "not valid JSON: a control character (U+000A) in a string must be escaped",
                hint: "write it as '\\n', or add the missing closing '\"'"),
        Invalid(text: "[1,\u{1}2]", at: "1:4", message: "not valid JSON: unexpected control character U+0001", hint: "remove it"),
        Invalid(text: "[1,\u{7F}2]", at: "1:4", message: "not valid JSON: unexpected control character U+007F", hint: "remove it"),
        Invalid(text: #"{"x": 1, "x": 2}"#, at: "1:10", message: "duplicate key 'x'", hint: "remove one of them; the first is at line 1, column 2"),
        Invalid(text: #"{"a\u0001": 1, "a\u0001": 2}"#, at: "1:16", message: "duplicate key 'aU+0001'", hint: "remove one of them; the first is at line 1, column 2"),
        Invalid(text: "[1, 2,]", at: "1:6", message: "not valid JSON: trailing comma before ']'", hint: "remove the ','; JSON allows no comma after the last item"),
        Invalid(text: "{\"a\": 1,\n}", at: "1:8", message: "not valid JSON: trailing comma before '}'", hint: "remove the ','; JSON allows no comma after the last item"),
        Invalid(text: String(repeating: "[", count: 65) + String(repeating: "]", count: 65), at: "1:65",
                message: "not accepted: nesting deeper than 64 levels", hint: "send a flatter document"),
        Invalid(text: "{} x", at: "1:4", message: "not valid JSON: text after the JSON value", hint: "send one JSON value; remove what follows it"),
        Invalid(text: "[1, 2] // two", at: "1:8", message: "not valid JSON: text after the JSON value", hint: "send one JSON value; remove what follows it"),
        Invalid(text: "[01]", at: "1:2", message: "not valid JSON: leading zeros in '01'", hint: "remove the leading zeros, or put the value in double quotes"),
        Invalid(text: "[-007]", at: "1:2", message: "not valid JSON: leading zeros in '-007'", hint: "remove the leading zeros, or put the value in double quotes"),
        Invalid(text: #"["\u12G4"]"#, at: "1:3", message: "not valid JSON: invalid \\u escape", hint: "write '\\u' and four hex digits, e.g. '\\u00e9'"),
        Invalid(text: #"["ab\u12"]"#, at: "1:5", message: "not valid JSON: invalid \\u escape", hint: "write '\\u' and four hex digits, e.g. '\\u00e9'"),
        Invalid(text: #"["\uD800"]"#, at: "1:3", message: "not valid JSON: '\\uD800' is half of a surrogate pair without its other half",
                hint: "write a character beyond U+FFFF as the character itself or as a pair, e.g. '\\uD83D\\uDE00'"),
        Invalid(text: #"["x\uDC00"]"#, at: "1:4", message: "not valid JSON: '\\uDC00' is half of a surrogate pair without its other half",
                hint: "write a character beyond U+FFFF as the character itself or as a pair, e.g. '\\uD83D\\uDE00'"),
        Invalid(text: #"["\uD83D\u0041"]"#, at: "1:3", message: "not valid JSON: '\\uD83D' is half of a surrogate pair without its other half",
                hint: "write a character beyond U+FFFF as the character itself or as a pair, e.g. '\\uD83D\\uDE00'"),
        Invalid(text: #"["a\qb"]"#, at: "1:4", message: "not valid JSON: invalid escape '\\q' in a string",
                hint: "the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX; write a backslash as '\\\\'"),
        Invalid(text: #"{"a": tru}"#, at: "1:7", message: "not valid JSON: 'tru' is not a value", hint: "put text in double quotes: \"tru\""),
        Invalid(text: #"{"a": True}"#, at: "1:7", message: "not valid JSON: 'True' is not a value", hint: "write it in lowercase: 'true'"),
        Invalid(text: "[NaN]", at: "1:2", message: "not valid JSON: 'NaN' is not a value", hint: "JSON has no NaN or Infinity"),
        Invalid(text: "a: b", at: "1:1", message: "not valid JSON: 'a' is not a value"),
        Invalid(text: "{a: 1}", at: "1:2", message: "not valid JSON: expected a key in double quotes, found 'a'", hint: "write \"a\""),
        Invalid(text: "{'a': 1}", at: "1:2", message: "not valid JSON: expected a key in double quotes, found '''", hint: "JSON keys are written in double quotes"),
        Invalid(text: #"{"a" 1}"#, at: "1:6", message: "not valid JSON: expected ':' after the key 'a', found '1'"),
        Invalid(text: #"{"a": }"#, at: "1:7", message: "not valid JSON: expected a value after ':', found '}'", hint: "write the value, e.g. null"),
        Invalid(text: "['x']", at: "1:2", message: "not valid JSON: strings must be in double quotes, found '''", hint: "write \"...\" instead of '...'"),
        Invalid(text: "[.5]", at: "1:2", message: "not valid JSON: a number must start with a digit, found '.'", hint: "write e.g. '0.5'"),
        Invalid(text: "[+1]", at: "1:2", message: "not valid JSON: a number must not start with '+'", hint: "remove the '+'"),
        Invalid(text: "[-]", at: "1:2", message: "not valid JSON: '-' must be followed by a digit", hint: "write e.g. '-1'"),
        Invalid(text: "[-Infinity]", at: "1:2", message: "not valid JSON: '-' must be followed by a digit", hint: "JSON has no Infinity"),
        Invalid(text: "[1.]", at: "1:2", message: "not valid JSON: expected a digit after '.' in '1.'", hint: "write e.g. '1.0'"),
        Invalid(text: "[1e+]", at: "1:2", message: "not valid JSON: expected a digit in the exponent of '1e+'", hint: "write e.g. '1e3'"),
        Invalid(text: #"{"lease": 10s}"#, at: "1:11", message: "not valid JSON: '10s' is not a number", hint: "put text in double quotes: \"10s\""),
        Invalid(text: "{\"a\": &a [1], \"b\": *a}", at: "1:7", message: "not valid JSON: unexpected '&'", hint: "JSON has no anchors or aliases; write the values out"),
        Invalid(text: "[*a]", at: "1:2", message: "not valid JSON: unexpected '*'", hint: "JSON has no anchors or aliases; write the values out"),
        Invalid(text: "{\"a\": \u{201C}b\u{201D}}", at: "1:7", message: "not valid JSON: unexpected '\u{201C}'", hint: "use straight double quotes '\"'"),
        Invalid(text: "[1,\n 2,\n\n", at: "2:4", message: "not valid JSON: the '[' at line 1, column 1 is never closed", hint: "add the missing ']'"),
        Invalid(text: "{\"a\": {\"b\": 1", at: "1:14", message: "not valid JSON: the '{' at line 1, column 7 is never closed", hint: "add the missing '}'"),
        Invalid(text: "{\"a\":", at: "1:6", message: "not valid JSON: the '{' at line 1, column 1 is never closed", hint: "add the missing '}'"),
        Invalid(text: "{\"é😀\": x}", at: "1:8", message: "not valid JSON: 'x' is not a value", hint: "put text in double quotes: \"x\""),
    ]

    @Test("each invalid text is refused at its exact line and column", arguments: invalid)
    func refused(_ c: Invalid) {
        do {
            _ = try DocumentNode.parseJSON(c.text)
            Issue.record("accepted: \(c.text)")
        } catch {
            #expect("\(error.location.line):\(error.location.column)" == c.at)
            #expect(error.message == c.message)
            #expect(error.hint == c.hint)
            #expect(!(error.message + (error.hint ?? "")).unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        }
    }

    @Test("100,000 open brackets or objects are refused at level 65, without recursion")
    func deepNesting() throws {
        for text in [String(repeating: "[", count: 100_000), String(repeating: "{\"a\":", count: 100_000), String(repeating: "[{\"a\":", count: 50_000)] {
            let error = #expect(throws: DocumentNode.SyntaxError.self) { try DocumentNode.parseJSON(text) }
            #expect(error?.message == "not accepted: nesting deeper than 64 levels")
            #expect(error?.location.line == 1)
        }
        let sixtyFour = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try DocumentNode.parseJSON(sixtyFour) != nil)
    }

    @Test("the value count and the size are bounded")
    func bounds() throws {
        let small = DocumentLimits(maxDepth: 64, maxNodes: 10, maxBytes: 100, maxAliases: 0)
        // '[' is the first value, then 0...8; the tenth element, '9', is the eleventh.
        let error = #expect(throws: DocumentNode.SyntaxError.self) { try DocumentNode.parseJSON("[0,1,2,3,4,5,6,7,8,9,10]", limits: small) }
        #expect(error?.message == "not accepted: more than 10 values")
        #expect(error?.location == SourceLocation(line: 1, column: 20))
        // Keys count too.
        #expect(throws: DocumentNode.SyntaxError.self) { try DocumentNode.parseJSON(#"{"a":1,"b":2,"c":3,"d":4,"e":5}"#, limits: small) }
        #expect(try DocumentNode.parseJSON("[0,1,2,3,4,5,6,7,8]", limits: small) != nil)

        let big = "[" + String(repeating: "1,", count: DocumentLimits.api.maxBytes / 2) + "1]"
        let tooBig = #expect(throws: DocumentNode.SyntaxError.self) { try DocumentNode.parseJSON(big) }
        #expect(tooBig?.message == "not accepted: the text is \(big.utf8.count) bytes, more than the limit of 1048576")
        #expect(tooBig?.location == .start)
    }
}

@Suite("Agent inject requests are JSON only")
struct InjectRequestJSONTests {
    /// The inject body in docs/agent-api.md, and the one in `InjectRequest`'s doc comment.
    static let documented = [
        """
        {
          "runID": "r-42",
          "idempotencyKey": "r-42/pause-db",
          "lease": "15s",
          "fault": {"type": "process.pause", "duration": "30s"},
          "target": {"process": {"name": "redis-server"}, "count": 1},
          "to": ["10.0.0.21"]
        }
        """,
        """
        {"runID": "r-42", "idempotencyKey": "r-42/kill-db", "lease": "15s",
         "fault": {"type": "process.pause", "duration": "30s"},
         "target": {"process": {"name": "redis-server"}, "count": 1},
         "to": ["10.0.0.21"]}
        """,
    ]

    @Test("the documented JSON bodies are accepted", arguments: documented)
    func documentedBodies(_ text: String) throws {
        let (request, diagnostics) = InjectRequest.read(text)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let r = try #require(request)
        #expect(r.runID == "r-42" && r.lease == .seconds(15) && r.fault.type == .processPause && r.to == ["10.0.0.21"])
        #expect(r.target.process?.name == "redis-server")
    }

    @Test("a YAML body is refused as not JSON, at its first character")
    func yamlRefused() {
        let yaml = "idempotencyKey: r-42/kill\nfault: {type: process.kill}\ntarget: {process: {name: redis-server}}\n"
        let (request, diagnostics) = InjectRequest.read(yaml)
        #expect(request == nil)
        #expect(diagnostics.map(\.description) == ["request:1:1: (document): not valid JSON: 'idempotencyKey' is not a value; send a JSON object"])
    }

    @Test("an alias bomb body is refused at its first anchor, before anything grows")
    func bombRefused() {
        let bomb = "{\"a\": &a [\"x\", \"x\"], \"b\": &b [*a, *a], \"c\": [*b, *b]}"
        let (request, diagnostics) = InjectRequest.read(bomb)
        #expect(request == nil)
        #expect(diagnostics.map(\.description) == ["request:1:7: (document): not valid JSON: unexpected '&'; JSON has no anchors or aliases; write the values out"])
        let yamlBomb = JSONDocumentBomb.yaml(levels: 10, width: 10)
        let (r2, d2) = InjectRequest.read(yamlBomb)
        #expect(r2 == nil && d2.count == 1 && d2.first?.line == 1 && d2.first?.column == 1)
    }

    @Test("a control character in a body is named, not echoed")
    func controlCharacter() {
        let (_, diagnostics) = InjectRequest.read("{\"idempotencyKey\": \"k\u{1}\"}")
        #expect(diagnostics.map(\.description) == ["request:1:22: (document): not valid JSON: a control character (U+0001) in a string must be escaped; write it as '\\u0001'"])
    }

    @Test("an empty body and a JSON value that is not an object are reported")
    func notAnObject() {
        #expect(InjectRequest.read(" ").diagnostics.map(\.message) == ["the body is empty"])
        #expect(InjectRequest.read("[1]").diagnostics.map(\.description) == ["request:1:1: (document): expected a mapping (key: value pairs), found a list"])
    }
}

/// The alias bomb of the security finding, built programmatically: level 0 is a list of `width` strings,
/// each next level a list of `width` aliases of the one before.
enum JSONDocumentBomb {
    static func yaml(levels: Int, width: Int) -> String {
        var lines = ["a0: &a0 [" + Array(repeating: "x", count: width).joined(separator: ", ") + "]"]
        for level in 1..<levels {
            lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: width).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
