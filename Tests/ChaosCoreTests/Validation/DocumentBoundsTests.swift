import Testing
@testable import ChaosCore

/// The YAML reader for files is bounded before anything grows: size, nesting, aliases, expansion.
@Suite("Bounds of the YAML reader")
struct DocumentBoundsTests {
    static let aliasHint = "anchors and aliases ('&a', '*a') are limited to 100 uses in chaos files; write the values out"

    /// Parses `text`, expecting a refusal, and how long it took.
    static func refusal(_ text: String, limits: DocumentLimits = .file) -> (error: DocumentNode.SyntaxError?, elapsed: Duration) {
        var error: DocumentNode.SyntaxError?
        let elapsed = ContinuousClock().measure {
            do {
                _ = try DocumentNode.parse(text, limits: limits)
            } catch let e as DocumentNode.SyntaxError {
                error = e
            } catch {
                Issue.record("not a SyntaxError: \(error)")
            }
        }
        return (error, elapsed)
    }

    /// The 1-based column of the `n`-th (1-based) occurrence of `needle` on line `line` of `text`.
    static func column(of needle: String, occurrence n: Int, line: Int, in text: String) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var rest = lines[line - 1][...]
        var seen = 0
        while let r = rest.firstRange(of: needle) {
            seen += 1
            if seen == n { return lines[line - 1][..<r.lowerBound].unicodeScalars.count + 1 }
            rest = rest[r.upperBound...]
        }
        return nil
    }

    @Test("the alias bomb of the finding (10 levels of 10) is refused quickly, at the alias that passes the bound")
    func aliasBomb() throws {
        let bomb = JSONDocumentBomb.yaml(levels: 10, width: 10)
        #expect(bomb.utf8.count < 600)
        let (error, elapsed) = Self.refusal(bomb)
        #expect(elapsed < .seconds(1))
        let e = try #require(error)
        // Up to a4's list the document is 12,351 values; 8 x 11,111 more pass 100,000: a4's 8th '*a3'.
        #expect(e.message == "not accepted: alias '*a3' expands the document past 100000 values")
        #expect(e.hint == Self.aliasHint)
        #expect(e.location == SourceLocation(line: 5, column: 45))
        #expect(Self.column(of: "*a3", occurrence: 8, line: 5, in: bomb) == 45)
        // The same through the file loader, as the operator sees it.
        #expect(Doc.diagnostics(bomb) == ["t.yaml:5:45: (document): \(e.message); \(Self.aliasHint)"])
    }

    @Test("a billion laughs with a scalar anchor and block lists is refused quickly")
    func billionLaughs() throws {
        var lines = ["lol: &lol \"lol\""]
        for level in 1...9 {
            lines.append("lol\(level): &lol\(level)")
            for _ in 0..<10 { lines.append("  - *lol\(level == 1 ? "" : String(level - 1))") }
        }
        let (error, elapsed) = Self.refusal(lines.joined(separator: "\n"))
        #expect(elapsed < .seconds(1))
        let e = try #require(error)
        #expect(e.message == "not accepted: alias '*lol4' expands the document past 100000 values")
        // Up to lol5's list the document is 12,353 values; 8 x 11,111 more pass 100,000: its 8th item, line 46 + 8.
        #expect(e.location == SourceLocation(line: 54, column: 5))
    }

    @Test("alias uses past maxAliases are refused at the first one too many; quoted, commented and block text is not an alias")
    func aliasCount() throws {
        let many = "v: &v x\nl: [" + Array(repeating: "*v", count: 101).joined(separator: ", ") + "]\n"
        let e = try #require(Self.refusal(many).error)
        #expect(e.message == "not accepted: alias '*v' is one use more than the 100 allowed")
        #expect(e.hint == Self.aliasHint)
        #expect(e.location == SourceLocation(line: 2, column: 405))

        let hundred = "v: &v x\nl: [" + Array(repeating: "*v", count: 100).joined(separator: ", ") + "]\n"
        guard case .sequence(let items, _)? = try DocumentNode.parse(hundred)?.value("l") else { Issue.record("no list"); return }
        #expect(items.count == 100)

        let one = DocumentLimits(maxDepth: 64, maxNodes: 1000, maxBytes: 1000, maxAliases: 1)
        let decoys = """
            a: &v x
            note: "*v"   # *v
            script: |
              echo *v
            list: [*v, *v]
            """
        let d = try #require(Self.refusal(decoys, limits: one).error)
        #expect(d.location == SourceLocation(line: 5, column: 12))
        #expect(d.hint == "anchors and aliases ('&a', '*a') are limited to 1 uses in chaos files; write the values out")
    }

    @Test("aliases within the bounds still expand, as before")
    func aliasesExpand() throws {
        let root = try #require(try DocumentNode.parse("base: &b {x: 1, y: [a]}\nuse: *b\n"))
        #expect(DocumentOutline.lines(try #require(root.value("use"))) == DocumentOutline.lines(try #require(root.value("base"))))
        #expect(root.value("use")?.value("x").map { DocumentOutline.lines($0) } == ["$ int '1' @1:14"])
    }

    @Test("an alias as a mapping key is refused before composing, which would hash its expansion", arguments: [
        ("? *a9\n: x\n", SourceLocation(line: 11, column: 1), "an explicit key ('? ')"),
        ("*a9 : x\n", SourceLocation(line: 11, column: 1), "an alias used as a mapping key"),
        ("k: {*a9 : x}\n", SourceLocation(line: 11, column: 5), "an alias used as a mapping key"),
        ("k: {[*a9]: x}\n", SourceLocation(line: 11, column: 5), "a list or mapping used as a mapping key"),
        ("k: [[*a9]: x]\n", SourceLocation(line: 11, column: 9), "a list or mapping used as a mapping key"),
        // In a mapping in brackets, a key needs no ':'.
        ("k: {a: 1, *a9}\n", SourceLocation(line: 11, column: 11), "an alias used as a mapping key"),
        // Inside brackets libyaml takes a ':' right after an alias as the value indicator.
        ("k: {*a9:x}\n", SourceLocation(line: 11, column: 5), "an alias used as a mapping key"),
        ("k: [{?*a9 : x}]\n", SourceLocation(line: 11, column: 6), "an explicit key ('? ')"),
        ("k: {\n  *a9\n  : x}\n", SourceLocation(line: 12, column: 3), "an alias used as a mapping key"),
    ])
    func aliasKeys(tail: String, at: ChaosCore.SourceLocation, what: String) throws {
        let (error, elapsed) = Self.refusal(JSONDocumentBomb.yaml(levels: 10, width: 10) + tail)
        #expect(elapsed < .seconds(1))
        let e = try #require(error)
        #expect(e.message == "not accepted: \(what) in a document that uses aliases")
        #expect(e.location == at)
    }

    @Test("complex keys without aliases still parse")
    func complexKeysWithoutAliases() throws {
        #expect(try DocumentNode.parse("? [a, b]\n: x\n") != nil)
        #expect(try DocumentNode.parse("{[a]: x}\n") != nil)
    }

    @Test("deep nesting is refused, not a stack overflow", arguments: [
        (String(repeating: "[", count: 100_000), SourceLocation(line: 1, column: 65)),
        (String(repeating: "{a: ", count: 100_000), SourceLocation(line: 1, column: 257)),
        (String(repeating: "- ", count: 100_000) + "x", SourceLocation(line: 1, column: 129)),
        ((0..<1000).map { String(repeating: " ", count: $0) + "a:" }.joined(separator: "\n"), SourceLocation(line: 65, column: 65)),
        // Within the scan's bound, so composed; the exact measure finds the 65th level.
        (String(repeating: "[", count: 70) + String(repeating: "]", count: 70), SourceLocation(line: 1, column: 65)),
    ])
    func deepNesting(text: String, at: ChaosCore.SourceLocation) throws {
        let (error, elapsed) = Self.refusal(text)
        #expect(elapsed < .seconds(5))
        let e = try #require(error)
        #expect(e.message == "not accepted: nesting deeper than 64 levels")
        #expect(e.location == at)
    }

    @Test("brackets in the continuation of a plain scalar, in quotes, comments and block scalars are text, not nesting")
    func bracketsInText() throws {
        let brackets = String(repeating: "[", count: 300)
        let text = "a: one\n  \(brackets)\nb: \"\(brackets)\"  # \(brackets)\nc: |\n  \(brackets)\nd: x\(brackets)\n"
        let root = try #require(try DocumentNode.parse(text))
        #expect(root.value("a").map { DocumentOutline.lines($0) } == ["$ string 'one \(brackets)' @1:4"])
        #expect(root.value("d").map { DocumentOutline.lines($0) } == ["$ string 'x\(brackets)' @6:4"])
    }

    @Test("64 levels are accepted; lists at the indentation of their key (which the scan counts low) are measured exactly")
    func depthLimitExact() throws {
        let sixtyFour = (0..<64).map { String(repeating: " ", count: $0) + "a:" }.joined(separator: "\n") + " x\n"
        #expect(try DocumentNode.parse(sixtyFour) != nil)
        // k: / - k: / ... : a mapping and a list per step, 80 levels for 40 steps.
        let indentless = (0..<40).map { String(repeating: "  ", count: $0) + ($0 == 0 ? "k:" : "- k:") }.joined(separator: "\n") + " x\n"
        let e = try #require(Self.refusal(indentless).error)
        #expect(e.message == "not accepted: nesting deeper than 64 levels")
        // Line j (from 0) holds levels 2j and 2j + 1: level 65 is the mapping at line 33, its key at column 2 * 32 + 3.
        #expect(e.location == SourceLocation(line: 33, column: 67))
    }

    @Test("an alias that nests the document too deep is refused at the alias")
    func deepAlias() throws {
        let deep = "d: &d " + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "\n"
        let use = "u: " + String(repeating: "[", count: 30) + "*d" + String(repeating: "]", count: 30) + "\n"
        let e = try #require(Self.refusal(deep + use).error)
        #expect(e.message == "not accepted: alias '*d' nests the document deeper than 64 levels")
        #expect(e.location == SourceLocation(line: 2, column: 34))
    }

    @Test("the size is checked first")
    func size() throws {
        let small = DocumentLimits(maxDepth: 64, maxNodes: 100, maxBytes: 10, maxAliases: 0)
        let e = try #require(Self.refusal("a: 12345678901", limits: small).error)
        #expect(e.message == "not accepted: the text is 14 bytes, more than the limit of 10")
        #expect(e.location == .start)
    }
}

/// libyaml's reader refuses control characters; the message names them and the position is theirs.
@Suite("Control characters in YAML")
struct YAMLControlCharacterTests {
    static func noRawControl(_ s: String) -> Bool {
        !s.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
    }

    @Test("a control character is reported where it is, by code point", arguments: [
        ("a: b\u{1}c\n", SourceLocation(line: 1, column: 5), "U+0001"),
        ("a: b\nc: \"é😀\u{7F}\"\n", SourceLocation(line: 2, column: 7), "U+007F"),
        ("a: x\r\nb: e\u{301}\u{9F}\n", SourceLocation(line: 2, column: 6), "U+009F"),
        ("a: [1, 2]\n# \u{0} in a comment\n", SourceLocation(line: 2, column: 3), "U+0000"),
    ])
    func reader(text: String, at: ChaosCore.SourceLocation, code: String) throws {
        let e = try #require(DocumentBoundsTests.refusal(text).error)
        #expect(e.location == at)
        #expect(e.message == "not valid YAML or JSON: a control character (\(code)) is not allowed")
        #expect(e.hint == "delete it, or inside double quotes write it as '\\u\(code.dropFirst(2))'")
        let shown = Doc.diagnostics(text)
        #expect(shown == ["t.yaml:\(at.line):\(at.column): (document): \(e.message); \(e.hint ?? "")"])
        #expect(shown.allSatisfy(Self.noRawControl))
    }

    @Test("a file with CRLF line ends is positioned like one with LF")
    func crlf() {
        let lf = "apiVersion: chaos/v1\nkind: Experiment\ntarget: {process: {name: web}\n\n"
        let expected = ["t.yaml:3:30: (document): not valid YAML or JSON: the '{' at line 3, column 9 is never closed; add the missing '}'"]
        #expect(Doc.diagnostics(lf) == expected)
        #expect(Doc.diagnostics(lf.replacing("\n", with: "\r\n")) == expected)
        #expect(Doc.diagnostics("a: 1\r\nb: 2\r\nc: d: e\r\n") == Doc.diagnostics("a: 1\nb: 2\nc: d: e\n"))
    }

    @Test("a duplicate key holding an escaped control character is named by code point")
    func duplicateKey() throws {
        let e = try #require(DocumentBoundsTests.refusal("\"a\\x01\": 1\n\"a\\x01\": 2\n").error)
        #expect(e.message == "key 'aU+0001' appears twice in the same mapping")
        #expect(Self.noRawControl(e.message))
    }

    @Test("messages spell out invisible characters and stay short")
    func visible() {
        #expect(DocumentNode.visible("a\u{1}b\u{7F}\u{202E}c\n") == "aU+0001bU+007FU+202EcU+000A")
        #expect(DocumentNode.visible(String(repeating: "x", count: 100)) == String(repeating: "x", count: 80) + "…")
        #expect(DocumentNode.codePoint(0x1F600) == "U+1F600")
    }
}
