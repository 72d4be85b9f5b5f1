/// A regular expression that matches in linear time, whatever the pattern: the agent runs as root
/// and matches patterns users wrote (`match:` selectors, probe `bodyMatches`), so a pattern such as
/// `(a+)+b` must not freeze it the way a backtracking engine does.
///
/// The pattern compiles to a Thompson NFA program, and ``matches(in:)`` runs it as a Pike VM: every
/// live thread advances one Unicode scalar at a time, and a thread already at an instruction for a
/// position is dropped. A search therefore costs O(program size × text length); nothing
/// backtracks, and the only recursion (parsing and compiling) is bounded by the group nesting limit.
///
/// Matching works on **Unicode scalars**: `.` and bracket expressions consume one scalar, so `é`
/// written as one scalar does not match `e` followed by a combining accent.
///
/// Syntax, as written for `grep -E`, `pgrep -f` and Swift regexes:
/// - literals; `.` (any scalar but a newline); `^` and `$` (start and end of the whole text; `\A`
///   and `\z` too); `\b` and `\B` (word boundary and its negation);
/// - escapes `\t \n \r`, escaped ASCII punctuation (`\. \\ \* \( \[ \{ \| \$ \/ \-` ...), and the
///   classes `\d \D \w \W \s \S`;
/// - bracket expressions `[abc]`, `[a-z]`, `[^...]`, with escapes and `\d \w \s` inside, `]` first
///   taken literally, and `[[:alpha:]]`, `digit`, `alnum`, `space`, `upper`, `lower`, `punct`, `xdigit`;
/// - groups `( )`, `(?: )`, `(?<name> )`; `(?i)` (case-insensitive for the rest of the enclosing
///   group) and `(?i: )`; alternation `|`;
/// - quantifiers `* + ? {m} {m,} {m,n} {,n}` and their lazy forms (`*?`, ...), which give the same
///   yes/no answer. A `{` that does not start a quantifier is a literal, as in Swift and PCRE.
///
/// Refused, with a message: backreferences, lookaround, atomic groups, possessive quantifiers,
/// recursion and conditionals (none of them can be matched in linear time), a quantifier on a
/// quantifier (`a**`) or on an anchor (`^*`), flags other than `i`, and unknown escapes.
///
/// Bounds, so that compiling is cheap too: at most ``maxPatternBytes`` UTF-8 bytes,
/// repetition counts up to ``maxRepetition``, at most ``maxProgramSize`` instructions (so
/// `(a{1000}){1000}` is refused, not compiled), and groups nested at most ``maxGroupDepth`` deep.
public struct BoundedRegex: Sendable, Hashable, CustomStringConvertible {
    /// The longest pattern accepted, in UTF-8 bytes.
    public static let maxPatternBytes = 1_024
    /// The largest count in `{m,n}`.
    public static let maxRepetition = 1_000
    /// The most instructions a compiled pattern may have.
    public static let maxProgramSize = 10_000
    /// How deep groups may nest.
    public static let maxGroupDepth = 64

    /// The pattern as written.
    public let pattern: String
    let program: [Instruction]
    let classes: [ScalarClass]

    /// Why a pattern was refused, and where.
    public struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong and what to write instead, without a trailing period.
        public let message: String
        /// The 1-based position in the pattern, counted in Unicode scalars.
        public let column: Int

        /// Creates an error at `column` (1-based).
        public init(_ message: String, column: Int) {
            self.message = VisibleText.of(message)
            self.column = column
        }

        /// `at column 4: unbalanced ')'; ...`
        public var description: String { "at column \(column): \(message)" }
    }

    /// Compiles `pattern`.
    /// - Parameter pattern: a regular expression in the syntax described on ``BoundedRegex``.
    /// - Throws: ``SyntaxError`` when the pattern is malformed, uses a construct that cannot be
    ///   matched in linear time, or exceeds a bound.
    public init(_ pattern: String) throws(SyntaxError) {
        var parser = try Parser(pattern)
        let root = try parser.parse()
        var compiler = Compiler()
        compiler.emit(root)
        compiler.program.append(.match)
        self.pattern = pattern
        self.program = compiler.program
        self.classes = compiler.classes
    }

    /// Why `pattern` does not compile (``SyntaxError/description``), or `nil` when it does.
    public static func validate(_ pattern: String) -> String? {
        do throws(SyntaxError) {
            _ = try BoundedRegex(pattern)
            return nil
        } catch {
            return error.description
        }
    }

    /// Whether the pattern matches somewhere in `text`, like `grep -E` on one line or
    /// `text.contains(regex)`. Costs O(program size × scalars in `text`).
    public func matches(in text: String) -> Bool { run(text).matched }

    /// Whether the pattern matches somewhere in `text`, spending at most `budget` steps (instruction
    /// visits, about 10 ns each); `nil` when the budget ran out first. `budget` is decreased by what
    /// was spent, so one budget can bound a whole request (a pattern against every process).
    public func matches(in text: String, budget: inout Int) -> Bool? {
        let (matched, steps) = run(text, limit: budget)
        budget -= steps
        if matched { return true }
        return budget < 0 ? nil : false
    }

    /// The pattern as written.
    public var description: String { pattern }

    public static func == (lhs: BoundedRegex, rhs: BoundedRegex) -> Bool { lhs.pattern == rhs.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }
}

// MARK: - Program

extension BoundedRegex {
    /// A zero-width test.
    enum Assertion: Sendable, Hashable {
        case start, end, wordBoundary, notWordBoundary
    }

    /// One instruction of the NFA program.
    enum Instruction: Sendable, Hashable {
        /// Consumes this scalar.
        case scalar(Unicode.Scalar)
        /// Consumes any scalar but a newline.
        case any
        /// Consumes a scalar in `classes[index]`.
        case set(Int)
        /// Continues at both targets.
        case split(Int, Int)
        case jump(Int)
        case assert(Assertion)
        case match
    }

    /// A named class: `\d`, `\w`, `\s` and the POSIX bracket classes.
    enum NamedClass: String, Sendable, Hashable, CaseIterable {
        case digit, word, space, alpha, alnum, upper, lower, punct, xdigit

        func contains(_ s: Unicode.Scalar) -> Bool {
            switch self {
            case .digit: return s.properties.generalCategory == .decimalNumber
            case .word: return BoundedRegex.isWord(s)
            case .space: return s.properties.isWhitespace
            case .alpha: return s.properties.isAlphabetic
            case .alnum: return s.properties.isAlphabetic || s.properties.generalCategory == .decimalNumber
            case .upper: return s.properties.isUppercase
            case .lower: return s.properties.isLowercase
            case .punct:
                // POSIX punctuation (ASCII symbols included) and Unicode punctuation.
                if s.isASCII { return (0x21...0x7E).contains(s.value) && !NamedClass.alnum.contains(s) }
                switch s.properties.generalCategory {
                case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                     .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
                default: return false
                }
            case .xdigit:
                return (0x30...0x39).contains(s.value) || (0x41...0x46).contains(s.value) || (0x61...0x66).contains(s.value)
            }
        }
    }

    /// A set of scalars: a bracket expression, `\d` and friends, or a literal under `(?i)`.
    struct ScalarClass: Sendable, Hashable {
        var ranges: [ClosedRange<UInt32>] = []
        var named: [NamedItem] = []
        var negated = false
        /// Also matches when a one-scalar lower- or uppercase mapping of the scalar is in `ranges`.
        /// Named classes are not folded, as in Swift: `(?i)[[:upper:]]` does not match `a`.
        var caseInsensitive = false

        struct NamedItem: Sendable, Hashable {
            var kind: NamedClass
            var negated: Bool
        }

        func contains(_ s: Unicode.Scalar) -> Bool {
            var hit = inRanges(s) || named.contains { $0.kind.contains(s) != $0.negated }
            if !hit && caseInsensitive {
                hit = BoundedRegex.caseVariants(of: s).contains { $0 != s && inRanges($0) }
            }
            return hit != negated
        }

        private func inRanges(_ s: Unicode.Scalar) -> Bool { ranges.contains { $0.contains(s.value) } }
    }

    /// Letters, marks, decimal digits and connector punctuation such as `_`, as Swift's `\w`.
    static func isWord(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII {
            let v = s.value
            return (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v) || v == 0x5F
        }
        if s.properties.isAlphabetic { return true }
        switch s.properties.generalCategory {
        case .decimalNumber, .connectorPunctuation, .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// `s` and its one-scalar lower- and uppercase mappings.
    static func caseVariants(of s: Unicode.Scalar) -> [Unicode.Scalar] {
        if s.isASCII {
            let v = s.value
            if (0x41...0x5A).contains(v), let lower = Unicode.Scalar(v + 0x20) { return [s, lower] }
            if (0x61...0x7A).contains(v), let upper = Unicode.Scalar(v - 0x20) { return [s, upper] }
            return [s]
        }
        var out = [s]
        for mapped in [s.properties.lowercaseMapping, s.properties.uppercaseMapping] {
            let scalars = Array(mapped.unicodeScalars)
            if scalars.count == 1, !out.contains(scalars[0]) { out.append(scalars[0]) }
        }
        return out
    }
}

// MARK: - Parsing

extension BoundedRegex {
    /// The parsed pattern. Depth is bounded by ``maxGroupDepth``.
    indirect enum Node: Sendable {
        case empty
        case scalar(Unicode.Scalar)
        case any
        case set(ScalarClass)
        case assert(Assertion)
        case concat([Node])
        case alternation([Node])
        case repetition(Node, min: Int, max: Int?)
    }

    /// A node with the number of instructions it compiles to (saturated just above the limit).
    struct Parsed {
        var node: Node
        var size: Int
        var quantifiable = true
    }

    /// A recursive-descent parser over the pattern's scalars.
    struct Parser {
        let scalars: [Unicode.Scalar]
        var i = 0
        var caseInsensitive = false
        /// Sizes saturate here, so arithmetic never overflows.
        static let sizeCap = BoundedRegex.maxProgramSize + 1

        init(_ pattern: String) throws(SyntaxError) {
            scalars = Array(pattern.unicodeScalars)
            var bytes = 0
            for (index, s) in scalars.enumerated() {
                bytes += UTF8.width(s)
                if bytes > BoundedRegex.maxPatternBytes {
                    throw SyntaxError("the pattern is \(pattern.utf8.count) bytes long; the limit is \(BoundedRegex.maxPatternBytes)",
                                      column: index + 1)
                }
            }
        }

        mutating func parse() throws(SyntaxError) -> Node {
            let top = try alternation(depth: 0)
            if i < scalars.count {  // only a ')' stops the top level early
                throw error("unbalanced ')'; remove it or write '\\)' for a literal parenthesis", at: i)
            }
            return top.node
        }

        // MARK: Structure

        mutating func alternation(depth: Int) throws(SyntaxError) -> Parsed {
            let first = try concatenation(depth: depth)
            guard peek == "|" else { return first }
            var branches = [first.node]
            var size = first.size
            while peek == "|" {
                let bar = i
                i += 1
                let branch = try concatenation(depth: depth)
                branches.append(branch.node)
                size = Self.add(size, Self.add(branch.size, 2))  // a split and a jump per extra branch
                try checkSize(size, at: bar)
            }
            return Parsed(node: .alternation(branches), size: size)
        }

        mutating func concatenation(depth: Int) throws(SyntaxError) -> Parsed {
            var items: [Node] = []
            var size = 0
            while let c = peek, c != "|", c != ")" {
                let start = i
                guard let atom = try atom(depth: depth) else { continue }
                let item = try quantified(atom)
                items.append(item.node)
                size = Self.add(size, item.size)
                try checkSize(size, at: start)
            }
            if items.count == 1 { return Parsed(node: items[0], size: size) }
            return Parsed(node: items.isEmpty ? .empty : .concat(items), size: size)
        }

        /// One atom, or `nil` for a flag group such as `(?i)` that matches nothing itself.
        mutating func atom(depth: Int) throws(SyntaxError) -> Parsed? {
            guard let c = peek else { return nil }
            switch c {
            case "(": return try group(depth: depth)
            case "[": return Parsed(node: .set(try bracket()), size: 1)
            case ".":
                i += 1
                return Parsed(node: .any, size: 1)
            case "^":
                i += 1
                return Parsed(node: .assert(.start), size: 1, quantifiable: false)
            case "$":
                i += 1
                return Parsed(node: .assert(.end), size: 1, quantifiable: false)
            case "\\": return try escape()
            case "*", "+", "?":
                throw error("'\(c)' has nothing to repeat; write '\\\(c)' for a literal '\(c)'", at: i)
            case "{" where braceQuantifierAhead:
                throw error("'{' has nothing to repeat; write '\\{' for a literal '{'", at: i)
            default:
                i += 1
                return literal(c)
            }
        }

        mutating func group(depth: Int) throws(SyntaxError) -> Parsed? {
            let open = i
            guard depth < BoundedRegex.maxGroupDepth else {
                throw error("groups nest deeper than \(BoundedRegex.maxGroupDepth) levels", at: open)
            }
            i += 1
            let saved = caseInsensitive
            if peek == "?" {
                i += 1
                guard let q = peek else { throw error("unbalanced '('; add ')'", at: open) }
                switch q {
                case ":":
                    i += 1
                case "i" where peek(1) == ")":
                    i += 2
                    caseInsensitive = true  // until the end of the enclosing group
                    return nil
                case "i" where peek(1) == ":":
                    i += 2
                    caseInsensitive = true
                case "=", "!":
                    throw linearTime("lookahead '(?\(q)'", at: open)
                case "<" where peek(1) == "=" || peek(1) == "!":
                    throw linearTime("lookbehind '(?<\(scalars[i + 1])'", at: open)
                case "<":
                    i += 1
                    try groupName(closing: ">", open: open)
                case "P" where peek(1) == "<":
                    i += 2
                    try groupName(closing: ">", open: open)
                case "P", "&", "R", "0"..."9", "+":
                    throw linearTime("recursion or a named backreference '(?\(q)'", at: open)
                case "-" where peek(1).map(Self.isDigit) ?? false:
                    throw linearTime("recursion '(?-'", at: open)
                case ">":
                    throw linearTime("an atomic group '(?>'", at: open)
                case "(":
                    throw linearTime("a conditional '(?('", at: open)
                default:
                    throw error("'(?\(q)' is not supported; the only flag is 'i', as in '(?i)' or '(?i:...)'", at: open)
                }
            }
            let inner = try alternation(depth: depth + 1)
            caseInsensitive = saved
            guard peek == ")" else { throw error("unbalanced '('; add ')'", at: open) }
            i += 1
            return inner
        }

        /// Skips `name>` of a named group; the name only labels the group.
        mutating func groupName(closing: Unicode.Scalar, open: Int) throws(SyntaxError) {
            let start = i
            while let c = peek, c == "_" || Self.isDigit(c) || (c.isASCII && c.properties.isAlphabetic) { i += 1 }
            guard i > start, peek == closing else {
                throw error("a group name must be letters, digits or '_' followed by '\(closing)', as in '(?<name>...)'", at: open)
            }
            i += 1
        }

        // MARK: Quantifiers

        mutating func quantified(_ atom: Parsed) throws(SyntaxError) -> Parsed {
            let at = i
            guard let bounds = try quantifier() else { return atom }
            let (min, max) = bounds
            guard atom.quantifiable else {
                throw error("'\(scalars[at])' cannot repeat an anchor; put it in a group or remove the quantifier", at: at)
            }
            if peek == "?" {
                i += 1  // lazy: the same yes/no answer
            } else if peek == "+" {
                throw linearTime("a possessive quantifier like '*+'", at: i)
            }
            if let c = peek, c == "*" || c == "+" || c == "?" || (c == "{" && braceQuantifierAhead) {
                throw error("'\(c)' follows another quantifier; put the repeated part in a group, as in '(a*)\(c)'", at: i)
            }
            let size: Int
            switch (min, max) {
            case (0, nil): size = Self.add(atom.size, 2)
            case (_, nil): size = Self.add(min * atom.size, 1)
            case (_, let max?): size = Self.add(min * atom.size, (max - min) * Self.add(atom.size, 1))
            }
            try checkSize(size, at: at)
            return Parsed(node: .repetition(atom.node, min: min, max: max), size: size)
        }

        /// Reads `* + ? {m} {m,} {m,n} {,n}` if one is next.
        mutating func quantifier() throws(SyntaxError) -> (Int, Int?)? {
            guard let c = peek else { return nil }
            switch c {
            case "*": i += 1; return (0, nil)
            case "+": i += 1; return (1, nil)
            case "?": i += 1; return (0, 1)
            case "{" where braceQuantifierAhead:
                let open = i
                i += 1
                let low = number()
                var high = low
                if peek == "," {
                    i += 1
                    high = number()
                }
                i += 1  // '}'
                let text = String(String.UnicodeScalarView(scalars[open..<i]))
                for n in [low, high].compactMap({ $0 }) where n > BoundedRegex.maxRepetition {
                    throw error("the repetition count in '\(text)' is above the limit of \(BoundedRegex.maxRepetition)", at: open)
                }
                let min = low ?? 0
                if let high, high < min {
                    throw error("'\(text)' has its bounds reversed; write '{\(high),\(min)}'", at: open)
                }
                return (min, scalars[open + 1 ..< i].contains(",") ? high : min)
            default: return nil
            }
        }

        /// Whether `{` here starts `{m}`, `{m,}`, `{m,n}` or `{,n}`; otherwise it is a literal.
        var braceQuantifierAhead: Bool {
            guard peek == "{" else { return false }
            var j = i + 1
            var digits = 0
            while j < scalars.count, Self.isDigit(scalars[j]) { j += 1; digits += 1 }
            if j < scalars.count, scalars[j] == "," {
                j += 1
                while j < scalars.count, Self.isDigit(scalars[j]) { j += 1; digits += 1 }
            }
            return digits > 0 && j < scalars.count && scalars[j] == "}"
        }

        /// Reads decimal digits, saturating well above any limit; `nil` when there are none.
        mutating func number() -> Int? {
            var value: Int?
            while let c = peek, Self.isDigit(c) {
                value = Swift.min((value ?? 0) * 10 + Int(c.value - 0x30), 1_000_000)
                i += 1
            }
            return value
        }

        // MARK: Escapes and brackets

        mutating func escape() throws(SyntaxError) -> Parsed {
            let start = i
            i += 1
            guard let e = peek else { throw error("the pattern ends with '\\'; write '\\\\' for a literal backslash", at: start) }
            i += 1
            switch e {
            case "b": return Parsed(node: .assert(.wordBoundary), size: 1, quantifiable: false)
            case "B": return Parsed(node: .assert(.notWordBoundary), size: 1, quantifiable: false)
            case "A": return Parsed(node: .assert(.start), size: 1, quantifiable: false)
            case "z": return Parsed(node: .assert(.end), size: 1, quantifiable: false)
            default: break
            }
            if let named = Self.namedEscape(e) {
                var set = ScalarClass(named: [named])
                set.caseInsensitive = caseInsensitive
                return Parsed(node: .set(set), size: 1)
            }
            return literal(try escapedScalar(e, at: start))
        }

        /// The scalar an escape stands for, inside or outside brackets.
        func escapedScalar(_ e: Unicode.Scalar, at start: Int) throws(SyntaxError) -> Unicode.Scalar {
            switch e {
            case "t": return "\t"
            case "n": return "\n"
            case "r": return "\r"
            case "1"..."9", "k", "g":
                throw linearTime("a backreference like '\\\(e)'", at: start)
            case "<", ">":
                throw error("'\\\(e)' is a word boundary in grep but a literal elsewhere; write '\\b' for a boundary or '\(e)' for the character", at: start)
            case "p", "P":
                throw error("Unicode properties '\\\(e){...}' are not supported; use a bracket expression such as '[[:alpha:]]'", at: start)
            default:
                if !e.isASCII || (e.value >= 0x20 && e.value < 0x7F && !Self.isDigit(e) && !e.properties.isAlphabetic) { return e }
                throw error("'\\\(e)' is not a supported escape; supported are \\t \\n \\r \\d \\D \\w \\W \\s \\S \\b \\B and escaped punctuation", at: start)
            }
        }

        static func namedEscape(_ e: Unicode.Scalar) -> ScalarClass.NamedItem? {
            switch e {
            case "d", "D": return .init(kind: .digit, negated: e == "D")
            case "w", "W": return .init(kind: .word, negated: e == "W")
            case "s", "S": return .init(kind: .space, negated: e == "S")
            default: return nil
            }
        }

        /// One bracket-expression member: a scalar, or a class such as `\d` or `[:alpha:]`.
        enum Member { case scalar(Unicode.Scalar), named(ScalarClass.NamedItem) }

        mutating func bracket() throws(SyntaxError) -> ScalarClass {
            let open = i
            i += 1
            var set = ScalarClass()
            set.caseInsensitive = caseInsensitive
            if peek == "^" {
                set.negated = true
                i += 1
            }
            var first = true
            while true {
                guard let c = peek else { throw error("unterminated '['; add ']'", at: open) }
                if c == "]" && !first {
                    i += 1
                    return set
                }
                first = false
                let start = i
                let low = try member(open: open)
                if peek == "-", let after = peek(1), after != "]" {
                    i += 1
                    let highStart = i
                    guard case .scalar(let a) = low else {
                        throw error("a range cannot start at a class; write '-' last for a literal '-'", at: start)
                    }
                    guard case .scalar(let b) = try member(open: open) else {
                        throw error("a range cannot end at a class; write '-' last for a literal '-'", at: highStart)
                    }
                    guard a.value <= b.value else { throw error("the range '\(a)-\(b)' is out of order; write '\(b)-\(a)'", at: start) }
                    set.ranges.append(a.value...b.value)
                } else {
                    switch low {
                    case .scalar(let a): set.ranges.append(a.value...a.value)
                    case .named(let item): set.named.append(item)
                    }
                }
            }
        }

        mutating func member(open: Int) throws(SyntaxError) -> Member {
            guard let c = peek else { throw error("unterminated '['; add ']'", at: open) }
            let start = i
            switch c {
            case "[" where peek(1) == ":":
                i += 2
                let nameStart = i
                while let n = peek, n != ":", n != "]" { i += 1 }
                let name = String(String.UnicodeScalarView(scalars[nameStart..<i]))
                guard peek == ":", peek(1) == "]" else { throw error("unterminated '[:'; write e.g. '[[:alpha:]]'", at: start) }
                i += 2
                let known: [NamedClass] = [.alpha, .digit, .alnum, .space, .upper, .lower, .punct, .xdigit]
                guard let kind = known.first(where: { $0.rawValue == name }) else {
                    throw error("'[:\(name):]' is not a known class; known: \(known.map { "[:\($0.rawValue):]" }.joined(separator: ", "))", at: start)
                }
                return .named(.init(kind: kind, negated: false))
            case "[":
                throw error("'[' inside a bracket expression; write '\\[' for a literal '['", at: start)
            case "\\":
                i += 1
                guard let e = peek else { throw error("unterminated '['; add ']'", at: open) }
                i += 1
                if let named = Self.namedEscape(e) { return .named(named) }
                if e == "b" || e == "B" {
                    throw error("'\\\(e)' is not supported inside brackets", at: start)
                }
                return .scalar(try escapedScalar(e, at: start))
            default:
                i += 1
                return .scalar(c)
            }
        }

        // MARK: Helpers

        func literal(_ c: Unicode.Scalar) -> Parsed {
            guard caseInsensitive else { return Parsed(node: .scalar(c), size: 1) }
            let variants = BoundedRegex.caseVariants(of: c)
            if variants.count == 1 { return Parsed(node: .scalar(c), size: 1) }
            let set = ScalarClass(ranges: variants.map { $0.value...$0.value }, caseInsensitive: true)
            return Parsed(node: .set(set), size: 1)
        }

        var peek: Unicode.Scalar? { i < scalars.count ? scalars[i] : nil }
        func peek(_ ahead: Int) -> Unicode.Scalar? { i + ahead < scalars.count ? scalars[i + ahead] : nil }

        static func isDigit(_ c: Unicode.Scalar) -> Bool { (0x30...0x39).contains(c.value) }
        static func add(_ a: Int, _ b: Int) -> Int { Swift.min(a + b, sizeCap) }

        /// Refuses a node whose size, with the final `match`, is over the limit.
        func checkSize(_ size: Int, at index: Int) throws(SyntaxError) {
            if size + 1 > BoundedRegex.maxProgramSize { throw tooBig(at: index) }
        }

        func tooBig(at index: Int) -> SyntaxError {
            error("the pattern compiles to more than \(BoundedRegex.maxProgramSize) instructions; use smaller repetition counts", at: index)
        }

        func linearTime(_ what: String, at index: Int) -> SyntaxError {
            error("\(what) is not supported, because matching must take linear time", at: index)
        }

        func error(_ message: String, at index: Int) -> SyntaxError { SyntaxError(message, column: index + 1) }
    }
}

// MARK: - Compiling

extension BoundedRegex {
    /// Emits the Thompson program for a node; recursion depth follows the (bounded) nesting.
    struct Compiler {
        var program: [Instruction] = []
        var classes: [ScalarClass] = []
        var classIndex: [ScalarClass: Int] = [:]

        mutating func emit(_ node: Node) {
            switch node {
            case .empty: break
            case .scalar(let s): program.append(.scalar(s))
            case .any: program.append(.any)
            case .set(let set):
                let index = classIndex[set] ?? classes.count
                if index == classes.count {
                    classes.append(set)
                    classIndex[set] = index
                }
                program.append(.set(index))
            case .assert(let a): program.append(.assert(a))
            case .concat(let items):
                for item in items { emit(item) }
            case .alternation(let branches):
                var jumps: [Int] = []
                for branch in branches.dropLast() {
                    let split = program.count
                    program.append(.split(split + 1, -1))
                    emit(branch)
                    jumps.append(program.count)
                    program.append(.jump(-1))
                    program[split] = .split(split + 1, program.count)
                }
                if let last = branches.last { emit(last) }
                for j in jumps { program[j] = .jump(program.count) }
            case .repetition(let body, let min, let max):
                if let max {
                    for _ in 0..<min { emit(body) }
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(program.count)
                        program.append(.split(program.count + 1, -1))
                        emit(body)
                    }
                    for s in splits { program[s] = .split(s + 1, program.count) }
                } else if min == 0 {
                    let split = program.count
                    program.append(.split(split + 1, -1))
                    emit(body)
                    program.append(.jump(split))
                    program[split] = .split(split + 1, program.count)
                } else {
                    for _ in 0..<(min - 1) { emit(body) }
                    let start = program.count
                    emit(body)
                    program.append(.split(start, program.count + 1))
                }
            }
        }
    }
}

// MARK: - Matching

extension BoundedRegex {
    /// Runs the Pike VM over `text`. `steps` counts instruction visits, at most one per instruction
    /// per position: `steps <= program.count * (scalars in text + 1)`.
    func run(_ text: String, limit: Int = .max) -> (matched: Bool, steps: Int) {
        var vm = Machine(program: program)
        var current: [Int] = []
        var next: [Int] = []
        current.reserveCapacity(program.count)
        next.reserveCapacity(program.count)
        var classSeen = [Int](repeating: -1, count: classes.count)
        var classHit = [Bool](repeating: false, count: classes.count)
        let anchored = program.first == .assert(.start)

        var scalars = text.unicodeScalars.makeIterator()
        var position = 0
        var previous: Unicode.Scalar?
        var upcoming = scalars.next()
        while true {
            if position == 0 || !anchored {
                let context = Machine.Context(position: position, previous: previous, next: upcoming)
                if vm.addThread(0, to: &current, context) { return (true, vm.steps) }
            }
            guard let c = upcoming else { return (false, vm.steps) }
            if current.isEmpty && anchored { return (false, vm.steps) }
            if vm.steps > limit { return (false, vm.steps) }
            let after = scalars.next()
            let context = Machine.Context(position: position + 1, previous: c, next: after)
            for pc in current {
                let consumed: Bool
                switch program[pc] {
                case .scalar(let s): consumed = s == c
                case .any: consumed = c != "\n"
                case .set(let k):
                    if classSeen[k] != position {
                        classSeen[k] = position
                        classHit[k] = classes[k].contains(c)
                    }
                    consumed = classHit[k]
                default: consumed = false
                }
                if consumed, vm.addThread(pc + 1, to: &next, context) { return (true, vm.steps) }
            }
            swap(&current, &next)
            next.removeAll(keepingCapacity: true)
            previous = c
            upcoming = after
            position += 1
        }
    }

    /// The thread lists' bookkeeping: which instruction was visited at which position.
    struct Machine {
        let program: [Instruction]
        /// `visited[pc] == position` when `pc` is already on the list for `position` (a generation mark).
        var visited: [Int]
        var stack: [Int] = []
        var steps = 0

        struct Context {
            var position: Int
            var previous: Unicode.Scalar?
            var next: Unicode.Scalar?
        }

        init(program: [Instruction]) {
            self.program = program
            visited = [Int](repeating: -1, count: program.count)
            stack.reserveCapacity(program.count)
        }

        /// Follows jumps, splits and assertions from `pc` (with an explicit stack), adding the
        /// consuming instructions reached to `list`. Returns whether `match` was reached.
        mutating func addThread(_ pc: Int, to list: inout [Int], _ context: Context) -> Bool {
            stack.append(pc)
            while let pc = stack.popLast() {
                if visited[pc] == context.position { continue }
                visited[pc] = context.position
                steps += 1
                switch program[pc] {
                case .match:
                    stack.removeAll(keepingCapacity: true)
                    return true
                case .jump(let target):
                    stack.append(target)
                case .split(let a, let b):
                    stack.append(b)
                    stack.append(a)
                case .assert(let assertion):
                    if holds(assertion, context) { stack.append(pc + 1) }
                case .scalar, .any, .set:
                    list.append(pc)
                }
            }
            return false
        }

        func holds(_ assertion: Assertion, _ context: Context) -> Bool {
            switch assertion {
            case .start: return context.previous == nil
            case .end: return context.next == nil
            case .wordBoundary, .notWordBoundary:
                let before = context.previous.map(BoundedRegex.isWord) ?? false
                let after = context.next.map(BoundedRegex.isWord) ?? false
                return (before != after) == (assertion == .wordBoundary)
            }
        }
    }
}
