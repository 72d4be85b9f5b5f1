import Testing
@testable import ChaosCore

@Suite("BoundedRegex")
struct BoundedRegexTests {
    func matches(_ pattern: String, _ text: String) throws -> Bool {
        try BoundedRegex(pattern).matches(in: text)
    }

    // MARK: Syntax

    @Test("each syntax feature matches what grep -E would", arguments: [
        // literals and search semantics
        ("redis", "/usr/bin/redis-server", true), ("redis", "Redis", false), ("", "", true), ("", "anything", true),
        // any
        ("a.c", "abc", true), ("a.c", "ac", false), ("a.c", "a\nc", false), ("^.$", "é", true), ("^..$", "日本", true),
        // escapes
        ("127\\.0\\.0\\.1", "127.0.0.1", true), ("127\\.0\\.0\\.1", "127a0b0c1", false), ("a\\\\b", "a\\b", true),
        ("\\*\\+\\?", "*+?", true), ("\\(\\)\\[\\]\\{\\}", "()[]{}", true), ("a\\|b", "a|b", true), ("a\\|b", "a", false),
        ("\\^\\$", "^$", true), ("\\/tmp", "/tmp", true), ("\\-m", "-m", true), ("a\\tb", "a\tb", true),
        ("a\\nb", "a\nb", true), ("a\\rb", "a\rb", true), ("\\:\\=\\ ", ":= ", true),
        // class escapes
        ("\\d+", "pid 42", true), ("\\d", "none", false), ("^\\D+$", "none", true), ("^\\D+$", "n0ne", false),
        ("\\w+", "!!x!!", true), ("^\\W+$", "!- ", true), ("^\\W+$", "a", false), ("a\\sb", "a b", true),
        ("a\\sb", "a\tb", true), ("a\\Sb", "a b", false), ("a\\Sb", "axb", true),
        // groups
        ("(ab)+c", "ababc", true), ("(?:ab)+c", "abac", false), ("(?<port>\\d+)$", ":8080", true), ("(?P<x>a)", "a", true),
        ("()", "x", true), ("(a|)b", "b", true),
        // quantifiers and their lazy forms
        ("ab*c", "ac", true), ("ab+c", "ac", false), ("ab?c", "abbc", false), ("ab*?c", "abbc", true),
        ("ab+?c", "abc", true), ("ab??c", "ac", true), ("a{2}?", "aa", true),
        // word boundaries and the other anchors
        ("\\bredis\\b", "run redis now", true), ("\\bredis\\b", "redisx", false), ("\\Bedi\\B", "redis", true),
        ("\\Bredis", "redis", false), ("\\Aab\\z", "ab", true), ("\\Aab\\z", "abc", false),
        // braces that are not quantifiers are literals, as in Swift and PCRE
        ("a{", "a{", true), ("{x}", "{x}", true), ("a{,}", "a{,}", true), ("}", "}", true), ("]", "]", true),
    ] as [(String, String, Bool)])
    func syntax(pattern: String, text: String, expected: Bool) throws {
        #expect(try matches(pattern, text) == expected, "/\(pattern)/ on \(text.debugDescription)")
    }

    @Test("^ and $ anchor to the whole text, not to lines", arguments: [
        ("^redis", "redis-server", true), ("^redis", "/usr/bin/redis", false), ("6379$", "redis :6379", true),
        ("6379$", "6379 x", false), ("^$", "", true), ("^$", "x", false), ("^a$", "a\n", false), ("^b", "a\nb", false),
        ("a$|^b", "xa", true), ("a$|^b", "bx", true), ("a$|^b", "ab", false), ("(^a|b)c", "ac", true), ("(^a|b)c", "xac", false),
        ("x^", "x", false), ("$x", "x", false),
    ] as [(String, String, Bool)])
    func anchors(pattern: String, text: String, expected: Bool) throws {
        #expect(try matches(pattern, text) == expected, "/\(pattern)/ on \(text.debugDescription)")
    }

    @Test("alternation has the lowest precedence, below concatenation and quantifiers", arguments: [
        ("^ab|cd$", "abx", true), ("^ab|cd$", "xcd", true), ("^ab|cd$", "xab", false), ("^(ab|cd)$", "abcd", false),
        ("^ab|cd$", "xcdx", false), ("ab*|c", "a", true), ("^(a|bc)+$", "abca", true), ("^(a|bc)+$", "ab", false),
        ("a|b|c", "c", true), ("|", "", true), ("x|", "q", true),
    ] as [(String, String, Bool)])
    func alternation(pattern: String, text: String, expected: Bool) throws {
        #expect(try matches(pattern, text) == expected, "/\(pattern)/ on \(text.debugDescription)")
    }

    @Test("bracket expressions: sets, ranges, negation, escapes and POSIX classes", arguments: [
        ("[abc]", "xbx", true), ("[abc]", "xyz", false), ("^[a-z]+$", "redis", true), ("^[a-z]+$", "Redis", false),
        ("[^a-z]", "abc", false), ("[^a-z]", "abC", true), ("[]x]", "]", true), ("[^]x]", "]", false), ("[^]x]", "y", true),
        ("[a-]", "-", true), ("[-a]", "-", true), ("[a\\-z]", "-", true), ("[a\\-z]", "b", false), ("[\\]]", "]", true),
        ("[\\[]", "[", true), ("[\\\\]", "\\", true), ("[.]", "a", false), ("[.]", ".", true), ("[*+?{}()|$^]", "|", true),
        ("[\\d]", "7", true), ("[\\d_]", "_", true), ("[^\\d]", "7", false), ("[\\w.]", ".", true), ("[\\s]", "\t", true),
        ("[\\D]", "7", false), ("[\\t]", "\t", true), ("[0-9a-fA-F]+$", "beef", true),
        ("[[:alpha:]]", "é", true), ("[[:alpha:]]", "1", false), ("[[:digit:]]", "5", true), ("[[:alnum:]]", "_", false),
        ("[[:space:]]", " ", true), ("[[:upper:]]", "A", true), ("[[:upper:]]", "a", false), ("[[:lower:]]", "a", true),
        ("[[:punct:]]", "$", true), ("[[:punct:]]", "_", true), ("[[:punct:]]", "a", false), ("[[:xdigit:]]", "F", true),
        ("[[:xdigit:]]", "g", false), ("[^[:space:]]", " ", false), ("[[:digit:][:upper:]]", "Q", true), ("[é-ë]", "ê", true),
    ] as [(String, String, Bool)])
    func brackets(pattern: String, text: String, expected: Bool) throws {
        #expect(try matches(pattern, text) == expected, "/\(pattern)/ on \(text.debugDescription)")
    }

    @Test("counted repetition", arguments: [
        ("^a{3}$", "aaa", true), ("^a{3}$", "aa", false), ("^a{3}$", "aaaa", false), ("^a{2,}$", "a", false),
        ("^a{2,}$", "aaaaa", true), ("^a{2,3}$", "aaa", true), ("^a{2,3}$", "aaaa", false), ("^a{,2}$", "", true),
        ("^a{,2}$", "aaa", false), ("^a{0}$", "", true), ("^a{0}b$", "b", true), ("^a{0,0}b$", "ab", false),
        ("^(ab){2}$", "abab", true), ("^(a|b){3}$", "bab", true), ("^(a|b){3}$", "ba", false), ("^[0-9]{1,3}(\\.[0-9]{1,3}){3}$", "10.0.0.1", true),
        ("^a{1000}$", String(repeating: "a", count: 1000), true), ("^a{1000}$", String(repeating: "a", count: 999), false),
    ] as [(String, String, Bool)])
    func counted(pattern: String, text: String, expected: Bool) throws {
        #expect(try matches(pattern, text) == expected, "/\(pattern)/ on \(text.count) characters")
    }

    @Test("(?i) makes matching case-insensitive, for the rest of the enclosing group", arguments: [
        ("(?i)redis", "REDIS-server", true), ("(?i)[a-z]+$", "ABC", true), ("(?i)[^a-z]", "ABC", false), ("(?i)é", "É", true),
        ("(?i)\\d", "7", true), ("(?i)K", "\u{212A}", true), ("redis", "REDIS", false), ("a(?i)b", "aB", true),
        ("a(?i)b", "AB", false), ("(x(?i)b)B", "xBB", true), ("(x(?i)b)B", "xbb", false), ("(?i:a)b", "Ab", true),
        ("(?i:a)b", "AB", false), ("(?i)[[:upper:]]", "a", false), ("(?i)[^[:upper:]]", "A", false),
    ] as [(String, String, Bool)])
    func caseInsensitive(pattern: String, text: String, expected: Bool) throws {
        #expect(try matches(pattern, text) == expected, "/\(pattern)/ on \(text.debugDescription)")
    }

    @Test("empty loops terminate and match the empty string", arguments: [
        "(a*)*", "()*", "(a*)+", "(|a)*", "(a?){3}", "((a*)*)*", "(a*){2,}", "(^)*", "(\\B)+",
    ])
    func emptyLoops(pattern: String) throws {
        #expect(try matches("^\(pattern)$", ""))
        #expect(try matches("^\(pattern)b", String(repeating: "a", count: 50)) == false)
    }

    @Test("a regex equals another with the same pattern, and describes itself by its pattern")
    func equality() throws {
        #expect(try BoundedRegex("a+") == BoundedRegex("a+"))
        #expect(try BoundedRegex("a+") != BoundedRegex("a*"))
        #expect(try BoundedRegex("a+").description == "a+")
    }

    // MARK: Errors

    @Test("malformed and unsupported patterns are refused with the column at fault", arguments: [
        ("(a", 1, "unbalanced '('"), ("a)", 2, "unbalanced ')'"), ("(a))", 4, "unbalanced ')'"), ("x(?:a", 2, "unbalanced '('"),
        ("[a-z", 1, "unterminated '['"), ("([a-z", 2, "unterminated '['"), ("[]", 1, "unterminated '['"), ("[^]", 1, "unterminated '['"),
        ("*a", 1, "'*' has nothing to repeat"), ("a|+b", 3, "'+' has nothing to repeat"), ("(?b)", 1, "'(?b' is not supported"),
        ("{2}", 1, "'{' has nothing to repeat"), ("a**", 3, "'*' follows another quantifier"), ("a{2}{3}", 5, "'{' follows another quantifier"),
        ("a*??", 4, "'?' follows another quantifier"), ("^*", 2, "cannot repeat an anchor"), ("\\b+", 3, "cannot repeat an anchor"),
        ("[z-a]", 2, "the range 'z-a' is out of order; write 'a-z'"), ("a{2,1}", 2, "'{2,1}' has its bounds reversed; write '{1,2}'"),
        ("[\\d-z]", 2, "a range cannot start at a class"), ("[a-\\d]", 4, "a range cannot end at a class"),
        ("[[:word:]]", 2, "'[:word:]' is not a known class"), ("[[:alpha]", 2, "unterminated '[:'"), ("[a[b]]", 3, "'[' inside a bracket expression"),
        ("abc\\", 4, "ends with '\\'"), ("\\q", 1, "'\\q' is not a supported escape"), ("\\0", 1, "'\\0' is not a supported escape"),
        ("\\p{L}", 1, "Unicode properties"), ("\\<x", 1, "word boundary in grep"), ("[\\b]", 2, "not supported inside brackets"),
        ("(?<n)", 1, "a group name must be"),
    ] as [(String, Int, String)])
    func refused(pattern: String, column: Int, message: String) {
        #expect {
            try BoundedRegex(pattern)
        } throws: { error in
            guard let e = error as? BoundedRegex.SyntaxError else { return false }
            return e.column == column && e.message.contains(message) && e.description == "at column \(column): \(e.message)"
        }
    }

    @Test("constructs that need backtracking are refused because matching must take linear time", arguments: [
        ("(a)\\1", 4, "a backreference"), ("(?<n>a)\\k<n>", 8, "a backreference"), ("a(?=b)", 2, "lookahead '(?='"),
        ("a(?!b)", 2, "lookahead '(?!'"), ("(?<=a)b", 1, "lookbehind '(?<='"), ("(?<!a)b", 1, "lookbehind '(?<!'"),
        ("a*+", 3, "a possessive quantifier"), ("(?>a)", 1, "an atomic group"), ("(?(1)a|b)", 1, "a conditional"),
        ("(?R)", 1, "recursion"), ("(?P=n)", 1, "recursion or a named backreference"),
    ] as [(String, Int, String)])
    func refusedForLinearTime(pattern: String, column: Int, message: String) {
        #expect {
            try BoundedRegex(pattern)
        } throws: { error in
            guard let e = error as? BoundedRegex.SyntaxError else { return false }
            return e.column == column && e.message.contains(message)
                && e.message.hasSuffix("is not supported, because matching must take linear time")
        }
    }

    @Test("validate returns the error description, or nil for a good pattern")
    func validate() {
        #expect(BoundedRegex.validate("redis-server .*:6379$") == nil)
        #expect(BoundedRegex.validate("a)") == "at column 2: unbalanced ')'; remove it or write '\\)' for a literal parenthesis")
        #expect(BoundedRegex.validate("(a") == "at column 1: unbalanced '('; add ')'")
    }

    // MARK: Bounds

    @Test("a pattern longer than 1,024 UTF-8 bytes is refused at the first scalar past the limit")
    func tooLong() throws {
        _ = try BoundedRegex(String(repeating: "a", count: 1_024))
        #expect(throws: BoundedRegex.SyntaxError("the pattern is 1025 bytes long; the limit is 1024", column: 1_025)) {
            try BoundedRegex(String(repeating: "a", count: 1_025))
        }
        // 512 two-byte scalars fit; the 513th does not.
        _ = try BoundedRegex(String(repeating: "é", count: 512))
        #expect(throws: BoundedRegex.SyntaxError("the pattern is 1026 bytes long; the limit is 1024", column: 513)) {
            try BoundedRegex(String(repeating: "é", count: 513))
        }
    }

    @Test("repetition counts above 1,000 are refused", arguments: ["a{1001}", "a{1,1001}", "a{1001,}", "a{99999999999999999999}"])
    func tooManyRepeats(pattern: String) {
        #expect {
            try BoundedRegex(pattern)
        } throws: { error in
            guard let e = error as? BoundedRegex.SyntaxError else { return false }
            return e.column == 2 && e.message.contains("is above the limit of 1000")
        }
    }

    @Test("a pattern that compiles to more than 10,000 instructions is refused, not compiled")
    func tooBig() throws {
        // a{1000} is 1,000 instructions; nine copies and the final match make 9,001.
        #expect(try BoundedRegex("(a{1000}){9}").program.count == 9_001)
        let tooBig = BoundedRegex.SyntaxError("the pattern compiles to more than 10000 instructions; use smaller repetition counts", column: 10)
        #expect(throws: tooBig) { try BoundedRegex("(a{1000}){10}") }
        #expect(throws: tooBig) { try BoundedRegex("(a{1000}){1000}") }
        #expect(throws: BoundedRegex.SyntaxError.self) { try BoundedRegex("((((a{1000}){1000}){1000}){1000}){1000}") }
        #expect(throws: BoundedRegex.SyntaxError.self) { try BoundedRegex("[ab]{1000}[ab]{1000}" + String(repeating: "(x{1000})", count: 9)) }
    }

    @Test("the compiled size is what the parser budgets, for every kind of node", arguments: [
        ("a", 2), ("ab|c", 6), ("a|b|c", 8), ("a*", 4), ("a+", 3), ("a?", 3), ("a{3}", 4), ("a{2,4}", 7), ("a{2,}", 4), ("a{0,0}", 1),
        ("(ab)*c", 6), ("^$", 3),
    ] as [(String, Int)])
    func programSize(pattern: String, size: Int) throws {
        #expect(try BoundedRegex(pattern).program.count == size)
    }

    @Test("groups nest at most 64 deep, and 10,000 '(' fail cleanly instead of overflowing the stack")
    func nesting() throws {
        let deepest = String(repeating: "(", count: 64) + "a" + String(repeating: ")", count: 64)
        #expect(try matches(deepest, "a"))
        #expect(throws: BoundedRegex.SyntaxError("groups nest deeper than 64 levels", column: 65)) {
            try BoundedRegex(String(repeating: "(", count: 65) + String(repeating: ")", count: 65))
        }
        #expect(throws: BoundedRegex.SyntaxError.self) { try BoundedRegex(String(repeating: "(", count: 10_000)) }
        #expect(throws: BoundedRegex.SyntaxError.self) { try BoundedRegex(String(repeating: "(?:", count: 300)) }
        #expect(throws: BoundedRegex.SyntaxError.self) { try BoundedRegex(String(repeating: ")", count: 10_000)) }
        #expect(throws: BoundedRegex.SyntaxError.self) { try BoundedRegex(String(repeating: "[", count: 10_000)) }
    }

    // MARK: Linear time

    @Test("patterns that freeze a backtracking engine finish in steps linear in the text", arguments: [
        ("(a+)+b", false), ("(a|a)*b", false), ("(a*)*b", false), ("(.*a){20}", true), ("(.*a){20}$", true),
        ("(a|aa)+$", true), ("^(a?){30}a{30}$", false), ("(\\w+\\s?)+!", false), ("((a+)+)+c", false), ("(a*)*$", true),
        // Took Swift's Regex 52 s on a 6-character text when the differential test below generated it.
        ("(?:(?:[^a]{0,2}|[ab]{1,2}?\\s{0,2}){0,2}.*)+A+?$|a{2}[[:alpha:]]+(?:^\\W{1,}[[:upper:]]{1,}){1,}", false),
    ] as [(String, Bool)])
    func attacks(pattern: String, expected: Bool) throws {
        let regex = try BoundedRegex(pattern)
        let text = String(repeating: "a", count: 10_000)
        let (matched, steps) = regex.run(text)
        #expect(matched == expected)
        #expect(steps <= regex.program.count * (text.unicodeScalars.count + 1))
    }

    @Test("the steps stay within program size × (text length + 1) on random patterns and texts", arguments: propertySeeds)
    func stepBound(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<200 {
            let pattern = Self.randomPattern(&rng, depth: 0)
            let text = Self.randomText(&rng, length: Int(rng.next() % 40))
            let regex = try BoundedRegex(pattern)
            let (_, steps) = regex.run(text)
            #expect(steps <= regex.program.count * (text.unicodeScalars.count + 1), "/\(pattern)/ on \(text.debugDescription)")
        }
    }

    // MARK: Differential

    @Test("agrees with Swift's Regex on generated patterns and texts", arguments: propertySeeds)
    func agreesWithSwiftRegex(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<200 {
            let pattern = Self.randomPattern(&rng, depth: 0)
            let ours = try BoundedRegex(pattern)
            let theirs = try Regex(pattern)
            for _ in 0..<12 {
                let text = Self.randomText(&rng, length: Int(rng.next() % 7))
                #expect(ours.matches(in: text) == text.contains(theirs), "/\(pattern)/ on \(text.debugDescription)")
            }
        }
    }

    static let atoms = ["a", "b", "A", ".", "[ab]", "[^a]", "[a-b]", "[b-]", "\\d", "\\D", "\\w", "\\W", "\\s",
                        "[[:alpha:]]", "[[:upper:]]", "[[:punct:]]", "[\\d_]", "\\-", "\\.", "1"]
    static let quantifiers = ["", "", "", "*", "+", "?", "{2}", "{0,2}", "{1,}", "*?", "+?", "{1,2}?"]
    /// Groups get bounded quantifiers only: nested unbounded loops send Swift's backtracking
    /// `Regex` into exponential time (one generated pattern took it 52 s on a 6-character text).
    static let groupQuantifiers = ["", "", "?", "{2}", "{0,2}", "??"]

    /// A small pattern in the syntax both engines share.
    static func randomPattern(_ rng: inout SplitMix64, depth: Int) -> String {
        var pattern = ""
        let branches = rng.next() % 4 == 0 ? 2 : 1
        for b in 0..<branches {
            if b > 0 { pattern += "|" }
            if rng.next() % 6 == 0 { pattern += "^" }
            for _ in 0..<(1 + rng.next() % 3) {
                if depth < 2 && rng.next() % 5 == 0 {
                    pattern += (rng.next() % 2 == 0 ? "(" : "(?:") + randomPattern(&rng, depth: depth + 1) + ")"
                    pattern += pick(groupQuantifiers, &rng)
                } else {
                    pattern += pick(atoms, &rng) + pick(quantifiers, &rng)
                }
            }
            if rng.next() % 6 == 0 { pattern += "$" }
        }
        if depth == 0 && rng.next() % 8 == 0 { pattern = "(?i)" + pattern }
        return pattern
    }

    static func randomText(_ rng: inout SplitMix64, length: Int) -> String {
        String((0..<length).map { _ in pick(["a", "b", "A", "1", " ", "_", "-", ".", "é"], &rng) })
    }

    static func pick<T>(_ items: [T], _ rng: inout SplitMix64) -> T { items[Int(rng.next() % UInt64(items.count))] }
}
