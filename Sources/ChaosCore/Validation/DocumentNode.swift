import Yams

/// A parsed YAML or JSON document with the position of every value, so validation can say where.
///
/// Files are read by ``parse(_:limits:)``, a YAML parser (JSON is YAML's flow style, so JSON files work
/// too); bodies of the HTTP APIs by ``parseJSON(_:limits:)``, strict JSON. Both give line and column,
/// counted the same way, and both are bounded by ``DocumentLimits``.
public indirect enum DocumentNode: Sendable {
    /// A scalar with its text, whether it was quoted, and YAML's resolved type.
    case scalar(String, ScalarKind, SourceLocation)
    case mapping([(key: String, keyLocation: SourceLocation, value: DocumentNode)], SourceLocation)
    case sequence([DocumentNode], SourceLocation)

    /// What YAML makes of a scalar: a quoted or plain string, a number, a boolean or null.
    public enum ScalarKind: Sendable, Equatable { case string, int, float, bool, null }

    /// Where the node starts.
    public var location: SourceLocation {
        switch self {
        case .scalar(_, _, let l), .mapping(_, let l), .sequence(_, let l): return l
        }
    }

    /// Whether this is a null scalar (`~`, `null`, or nothing at all).
    public var isNull: Bool {
        if case .scalar(_, .null, _) = self { return true }
        return false
    }

    /// Whether this is a mapping.
    public var isMapping: Bool {
        if case .mapping = self { return true }
        return false
    }

    /// The non-null value of `key` when this is a mapping that has it.
    public func value(_ key: String) -> DocumentNode? {
        guard case .mapping(let entries, _) = self, let v = entries.first(where: { $0.key == key })?.value, !v.isNull else { return nil }
        return v
    }

    /// A word for the node's shape, for messages: "a mapping", "a list", "a string"...
    public var shapeName: String {
        switch self {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(_, let kind, _):
            switch kind {
            case .string: return "a string"
            case .int, .float: return "a number"
            case .bool: return "a boolean"
            case .null: return "null"
            }
        }
    }

    /// A problem with the text itself: it is not YAML or JSON at all.
    public struct SyntaxError: Error, Sendable {
        /// Where, never past the last line of the text.
        public var location: SourceLocation
        public var message: String
        /// What to do, when something better than the general advice is known (e.g. "add the missing '}'").
        public var hint: String?
    }

    /// Parses YAML (or JSON) `text`; an empty document is `nil`.
    ///
    /// Bounded before anything grows: the size is checked first; then a linear scan refuses nesting
    /// too deep for libyaml's recursive composer and aliases inside mapping keys (which Yams would hash,
    /// expanded); then the composed tree, whose aliases are still shared, is measured as if expanded,
    /// and only a document within `limits` is converted.
    /// - Parameters:
    ///   - text: the document.
    ///   - limits: the bounds; ``DocumentLimits/file`` by default.
    /// - Throws: ``SyntaxError`` with the position libyaml reports, or where a bound was passed.
    public static func parse(_ text: String, limits: DocumentLimits = .file) throws(SyntaxError) -> DocumentNode? {
        try limits.checkSize(of: text)
        let scan = YAMLPrescan(text, maxDepth: limits.maxDepth, bound: limits.prescanDepthBound)
        if let deep = scan.tooDeep {
            throw SyntaxError(location: deep, message: "not accepted: nesting deeper than \(limits.maxDepth) levels",
                              hint: "flatten the document; chaos files need only a few levels")
        }
        if let key = scan.complexKey, scan.aliasCount > 0 {
            throw SyntaxError(location: key.location, message: "not accepted: \(key.what) in a document that uses aliases",
                              hint: "write mapping keys as plain words, and the values of aliases ('*a') out")
        }
        let parser: Parser
        let node: Node?
        do {
            parser = try Parser(yaml: text, encoding: .utf8)
            node = try parser.singleRoot()
        } catch let error as YamlError {
            throw SyntaxError.from(error, text: text)
        } catch {
            throw SyntaxError(location: .start, message: "not valid YAML or JSON: \(visible("\(error)"))")
        }
        guard let node else { return nil }
        // Anchors are weak in Yams' nodes and owned by the parser: it must outlive the measuring.
        var budget = AliasBudget(limits: limits, aliases: scan.aliases)
        _ = try budget.measure(node, depth: 0, parent: .start)
        let document = DocumentNode(node)
        withExtendedLifetime(parser) {}
        return document
    }

    /// Converts a composed tree, expanding aliases; callers measure it first (``AliasBudget``).
    init(_ node: Node) {
        let loc = node.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? .start
        switch node {
        case .scalar(let s):
            let kind: ScalarKind
            if s.style == .singleQuoted || s.style == .doubleQuoted || s.style == .literal || s.style == .folded {
                kind = .string
            } else {
                switch Tag.Name(rawValue: node.tag.rawValue) {
                case .int: kind = .int
                case .float: kind = .float
                case .bool: kind = .bool
                case .null: kind = .null
                default: kind = .string
                }
            }
            self = .scalar(s.string, kind, loc)
        case .mapping(let m):
            self = .mapping(m.map { pair in
                let keyLoc = pair.key.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? loc
                return (key: pair.key.string ?? "\(pair.key)", keyLocation: keyLoc, value: DocumentNode(pair.value))
            }, loc)
        case .sequence(let seq):
            self = .sequence(seq.map(DocumentNode.init), loc)
        case .alias:
            self = .scalar("*alias", .string, loc)
        }
    }
}

extension DocumentNode.SyntaxError {
    init(location: SourceLocation, message: String) { self.init(location: location, message: message, hint: nil) }

    static func from(_ error: YamlError, text: String) -> Self {
        // Split as libyaml counts lines; "\r\n" is one `Character`, so splitting at "\n" alone would not.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: DocumentNode.isLineBreak)
        // The last line with text, and the column just after its end.
        let lastIndex = lines.lastIndex(where: { !$0.allSatisfy(\.isWhitespace) }) ?? 0
        let end = SourceLocation(line: lastIndex + 1, column: (lines.isEmpty ? 0 : lines[lastIndex].unicodeScalars.count) + 1)
        func clamped(_ l: SourceLocation) -> SourceLocation { (l.line, l.column) > (end.line, end.column) ? end : l }
        func clamped(_ mark: Mark) -> SourceLocation { clamped(SourceLocation(line: mark.line, column: mark.column)) }
        func describe(_ context: YamlError.Context?, _ problem: String, _ mark: Mark) -> Self {
            let at = clamped(mark)
            // libyaml's contexts read "while parsing a flow mapping"; name the bracket or quote instead.
            let opened: (what: String, closer: String)?
            switch context?.text {
            case "while parsing a flow mapping"?: opened = ("'{'", "}")
            case "while parsing a flow sequence"?: opened = ("'['", "]")
            case "while scanning a quoted scalar"?: opened = ("quote", "closing quote")
            default: opened = nil
            }
            if let context, let opened {
                let start = "\(opened.what) at line \(context.mark.line), column \(context.mark.column)"
                if at == end || mark.line > end.line {
                    return .init(location: at, message: "not valid YAML or JSON: the \(start) is never closed",
                                 hint: "add the missing \(opened.closer == "closing quote" ? opened.closer : "'\(opened.closer)'")")
                }
                return .init(location: at, message: "not valid YAML or JSON: \(DocumentNode.visible(problem)) (in the \(start))")
            }
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.map { DocumentNode.visible($0) }.joined(separator: ", ")
            return .init(location: at, message: "not valid YAML or JSON: \(what)")
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return describe(context, problem, mark)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .init(location: clamped(context.mark),
                         message: "key '\(duplicates.map { DocumentNode.visible($0) }.joined(separator: "', '"))' appears twice in the same mapping")
        case .reader(let problem, let offset, let value, _):
            return reader(problem: problem, offset: offset, value: value, text: text)
        case .memory:
            return .init(location: .start, message: "not valid YAML or JSON: libyaml ran out of memory", hint: "make the document smaller")
        case .dataCouldNotBeDecoded:
            return .init(location: .start, message: "not valid YAML or JSON: the text is not UTF-8", hint: "save the file as UTF-8")
        case .no, .writer, .emitter, .representer:
            // Not raised while parsing; named so that a new case is a compile error, not a silent 1:1.
            return .init(location: .start, message: "not valid YAML or JSON: \(DocumentNode.visible("\(error)"))")
        }
    }

    /// A libyaml reader error (a character YAML does not allow, such as a control character), at the
    /// character it names: Yams gives its offset in `Character`s, else the first such character is found.
    /// Not clamped: the character is in the text, even on a line that looks blank.
    private static func reader(problem: String, offset: Int?, value: Int32, text: String) -> Self {
        let found = offset == nil || value < 0 ? DocumentNode.firstDisallowedScalar(in: text) : nil
        let at = offset.map { DocumentNode.location(ofCharacter: $0, in: text) } ?? found?.location ?? .start
        let code = value >= 0 ? UInt32(value) : found?.scalar.value
        if problem == "control characters are not allowed", let code {
            let name = DocumentNode.codePoint(code)
            let hint = "delete it, or inside double quotes write it as '\\u\(name.dropFirst(2))'"
            return .init(location: at, message: "not valid YAML or JSON: a control character (\(name)) is not allowed", hint: hint)
        }
        let detail = value >= 0 ? " (\(problem.contains("octet") ? "byte 0x" + String(value, radix: 16, uppercase: true) : DocumentNode.codePoint(UInt32(value))))" : ""
        return .init(location: at, message: "not valid YAML or JSON: \(DocumentNode.visible(problem))\(detail)")
    }
}

/// What reading one document may cost: every parser checks these before the cost is paid.
public struct DocumentLimits: Sendable, Hashable {
    /// Mappings and lists nested inside each other, at most (the top-level mapping is level 1).
    public var maxDepth: Int
    /// Values and keys, at most, counted with every alias expanded.
    public var maxNodes: Int
    /// Length of the text in UTF-8 bytes, at most.
    public var maxBytes: Int
    /// Alias uses (`*a`) in YAML, at most; JSON has none.
    public var maxAliases: Int

    public init(maxDepth: Int, maxNodes: Int, maxBytes: Int, maxAliases: Int) {
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
        self.maxBytes = maxBytes
        self.maxAliases = maxAliases
    }

    /// Bodies of the HTTP APIs: 64 levels, 100,000 values, 1 MiB, no aliases.
    public static let api = DocumentLimits(maxDepth: 64, maxNodes: 100_000, maxBytes: 1 << 20, maxAliases: 0)
    /// Files an operator writes (experiments, inventories, configurations): 64 levels, 100,000 values
    /// (an inventory of some 9,000 hosts), 4 MiB, 100 alias uses.
    public static let file = DocumentLimits(maxDepth: 64, maxNodes: 100_000, maxBytes: 4 << 20, maxAliases: 100)

    /// The bound for ``YAMLPrescan``'s estimate, which can be low by up to half (indentless lists):
    /// twice the depth, never above 150, so that Yams' recursive composer never goes past about 300
    /// levels, which it handles on a 512 KiB thread stack.
    var prescanDepthBound: Int { min(2 * maxDepth + 16, 150) }

    func checkSize(of text: String) throws(DocumentNode.SyntaxError) {
        let bytes = text.utf8.count
        guard bytes <= maxBytes else {
            throw DocumentNode.SyntaxError(location: .start, message: "not accepted: the text is \(bytes) bytes, more than the limit of \(maxBytes)",
                                           hint: "send or write a smaller document")
        }
    }
}

extension DocumentNode {
    /// `text` made safe for a message: control, line-separator and bidirectional-override characters as
    /// `U+XXXX`, and at most `limit` characters (then `…`).
    static func visible(_ text: some StringProtocol, limit: Int = 80) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit { out += "…"; break }
            count += 1
            if isInvisible(scalar) { out += codePoint(scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    /// Whether a message must spell `scalar` out rather than print it.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF: return true
        default: return false
        }
    }

    /// `U+0001`: a code point as Unicode writes it, at least four hex digits.
    static func codePoint(_ value: UInt32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// Whether libyaml's reader accepts `scalar` (YAML 1.1 `c-printable`, which is what libyaml checks).
    static func yamlAllows(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D, 0x20...0x7E, 0x85, 0xA0...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
        default: return false
        }
    }

    /// Whether `character` ends a line, as libyaml counts lines (LF, CRLF, CR, NEL, LS, PS).
    static func isLineBreak(_ character: Character) -> Bool {
        character == "\n" || character == "\r\n" || character == "\r" || character == "\u{85}" || character == "\u{2028}" || character == "\u{2029}"
    }

    /// The position of the character `offset` `Character`s into `text` (Yams' unit for reader errors),
    /// with columns in Unicode scalars like libyaml's.
    static func location(ofCharacter offset: Int, in text: String) -> SourceLocation {
        var line = 1, column = 1, seen = 0
        for character in text {
            if seen == offset { break }
            seen += 1
            if isLineBreak(character) { line += 1; column = 1 } else { column += character.unicodeScalars.count }
        }
        return SourceLocation(line: line, column: column)
    }

    /// The first scalar libyaml's reader refuses, and where it is.
    static func firstDisallowedScalar(in text: String) -> (scalar: Unicode.Scalar, location: SourceLocation)? {
        var line = 1, column = 1
        for character in text {
            if let bad = character.unicodeScalars.first(where: { !yamlAllows($0) }) {
                let before = character.unicodeScalars.prefix { $0 != bad }.count
                return (bad, SourceLocation(line: line, column: column + before))
            }
            if isLineBreak(character) { line += 1; column = 1 } else { column += character.unicodeScalars.count }
        }
        return nil
    }
}

/// Measures a composed YAML tree as if its aliases were expanded, in time linear in the text: Yams
/// shares an anchored node between its definition and every alias, so each anchor is measured once.
///
/// Yams gives an aliased node the *anchor's* position, not the alias's, and keeps the `Anchor` object
/// (weakly; the parser owns it) on both: the first node met with a given `Anchor` is the definition,
/// every later one an alias use. Positions of alias uses come from ``YAMLPrescan``'s tokens (the n-th
/// use of `*name` is its n-th token), else the enclosing collection's.
struct AliasBudget {
    let limits: DocumentLimits
    /// Where each alias name is used, in order.
    private let positions: [String: [SourceLocation]]
    /// Expanded size and height of each anchored node measured so far.
    private var measured: [ObjectIdentifier: (size: Int, height: Int)] = [:]
    private var nodes = 0
    private var uses = 0
    private var usesByName: [String: Int] = [:]

    init(limits: DocumentLimits, aliases: [YAMLPrescan.Alias]) {
        self.limits = limits
        positions = Dictionary(grouping: aliases, by: \.name).mapValues { $0.map(\.location) }
    }

    private var hint: String { "anchors and aliases ('&a', '*a') are limited to \(limits.maxAliases) uses in chaos files; write the values out" }

    /// Measures `node`, found inside `depth` collections, throwing at the first bound it passes.
    /// Recursion goes at most `maxDepth` deep: deeper collections are refused before their children.
    /// - Returns: its size in values and keys, and its height in collection levels, aliases expanded.
    mutating func measure(_ node: Node, depth: Int, parent: SourceLocation) throws(DocumentNode.SyntaxError) -> (size: Int, height: Int) {
        let here = node.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? parent
        if let anchor = node.anchor, let known = measured[ObjectIdentifier(anchor)] {
            let name = anchor.rawValue
            let ordinal = usesByName[name, default: 0]
            usesByName[name] = ordinal + 1
            uses += 1
            let written = positions[name] ?? []
            let at = ordinal < written.count ? written[ordinal] : parent
            let alias = "'*\(DocumentNode.visible(name, limit: 40))'"
            if uses > limits.maxAliases {
                throw .init(location: at, message: "not accepted: alias \(alias) is one use more than the \(limits.maxAliases) allowed", hint: hint)
            }
            if depth + known.height > limits.maxDepth {
                throw .init(location: at, message: "not accepted: alias \(alias) nests the document deeper than \(limits.maxDepth) levels", hint: hint)
            }
            nodes += known.size
            if nodes > limits.maxNodes {
                throw .init(location: at, message: "not accepted: alias \(alias) expands the document past \(limits.maxNodes) values", hint: hint)
            }
            return known
        }
        nodes += 1
        if nodes > limits.maxNodes {
            throw .init(location: here, message: "not accepted: more than \(limits.maxNodes) values", hint: "split the document")
        }
        var result = (size: 1, height: 0)
        switch node {
        case .scalar, .alias:
            break
        case .sequence(let items):
            try enter(depth, at: here)
            for item in items {
                let child = try measure(item, depth: depth + 1, parent: here)
                result = (result.size + child.size, max(result.height, child.height + 1))
            }
            result.height = max(result.height, 1)
        case .mapping(let pairs):
            try enter(depth, at: here)
            for pair in pairs {
                let key = try measure(pair.key, depth: depth + 1, parent: here)
                let value = try measure(pair.value, depth: depth + 1, parent: here)
                result = (result.size + key.size + value.size, max(result.height, key.height + 1, value.height + 1))
            }
            result.height = max(result.height, 1)
        }
        if let anchor = node.anchor { measured[ObjectIdentifier(anchor)] = result }
        return result
    }

    private func enter(_ depth: Int, at here: SourceLocation) throws(DocumentNode.SyntaxError) {
        guard depth < limits.maxDepth else {
            throw .init(location: here, message: "not accepted: nesting deeper than \(limits.maxDepth) levels",
                        hint: "flatten the document; chaos files need only a few levels")
        }
    }
}

/// A linear scan of YAML text, before libyaml and Yams compose it: a lexer, not a parser.
///
/// Composing is not bounded by itself: Yams recurses once per nesting level (libyaml allows 1000, more
/// than a small thread stack holds), and hashes every mapping key, so a key that is an alias of an
/// alias bomb costs exponential time before any node comes back. This scan finds, without composing:
/// - whether an estimate of the nesting passes a bound, and where it first passed `maxDepth`. The
///   estimate is the open indentation levels below the first, plus the `-`, `?` and `:` indicators on
///   the line, plus the open brackets: exact for flow nesting, compact nesting (`- - a`) and indented
///   mappings, low by one per indentless list (`key:` then `- item` at the same indentation), high
///   for indented continuation lines;
/// - the first complex key: `? `, an alias or a closing `]`/`}` before a `:`, or an alias, `[` or `{`
///   where a `{...}` expects a key (after `{` or `,`: there a key needs no `:`);
/// - the alias tokens `*name`, with their positions (for messages).
/// Quoted scalars, comments and block scalars (`|`, `>`, by libyaml's indentation rule) are skipped;
/// a plain scalar runs to `: ` or ` #` (and `,[]{}` inside brackets), over more-indented lines.
/// Where it cannot tell, it errs toward reading structure: too deep an estimate or a complex key in
/// an exotic document, never a missed one.
struct YAMLPrescan {
    struct Alias: Sendable, Hashable {
        var name: String
        var location: SourceLocation
    }

    /// The alias tokens, in order; only the first `aliasCap` are kept, enough for messages.
    private(set) var aliases: [Alias] = []
    private(set) var aliasCount = 0
    /// Where the estimated nesting first passed `maxDepth`, when it went on to pass the bound.
    private(set) var tooDeep: SourceLocation?
    /// The first complex key, and a phrase for it.
    private(set) var complexKey: (location: SourceLocation, what: String)?

    private let bytes: [UInt8]
    private let maxDepth: Int
    private let bound: Int
    private let aliasCap: Int
    private var pastMaxDepth: SourceLocation?
    private var i = 0
    private var line = 1
    private var column = 1
    /// Open brackets, innermost last: whether each is a mapping (`{`).
    private var brackets: [Bool] = []
    private var flow: Int { brackets.count }
    /// Inside a `{...}`, whether the next node is a key: there a key needs no ':' (`{a, *b}`).
    private var atFlowKey = false
    /// Block indentation levels open at this line (0-based columns).
    private var indents: [Int] = []
    /// `-`, `?` and `:` indicators met on this line in block context.
    private var compact = 0
    /// The block estimate when the outermost bracket opened.
    private var blockAtFlow = 0
    /// The 0-based column of the key or entry that owns what follows: libyaml's current block
    /// indentation, or more (at a line start, the line's own indentation), never less; so the scan
    /// never takes for scalar text a line that libyaml reads as structure.
    private var owner = -1
    /// The 0-based column where the last token started.
    private var tokenStart = 0
    private enum Last { case other, alias, closer }
    private var last = Last.other
    private var lastAt = SourceLocation.start

    init(_ text: String, maxDepth: Int, bound: Int, aliasCap: Int = 10_000) {
        bytes = Array(text.utf8)
        self.maxDepth = maxDepth
        self.bound = max(bound, maxDepth)
        self.aliasCap = aliasCap
        run()
    }

    private var here: SourceLocation { SourceLocation(line: line, column: column) }

    private func byte(at j: Int) -> UInt8? { j < bytes.count ? bytes[j] : nil }
    private func isBreak(_ b: UInt8?) -> Bool { b == 0x0A || b == 0x0D }
    private func isBlankOrEnd(_ j: Int) -> Bool {
        guard let b = byte(at: j) else { return true }
        return b == 0x20 || b == 0x09 || isBreak(b)
    }
    private func isFlowIndicator(_ j: Int) -> Bool {
        guard let b = byte(at: j) else { return false }
        return b == UInt8(ascii: ",") || b == UInt8(ascii: "[") || b == UInt8(ascii: "]") || b == UInt8(ascii: "{") || b == UInt8(ascii: "}")
    }
    private func isNameByte(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
    }

    /// Consumes one byte, keeping line and column (CRLF is one break; columns count Unicode scalars).
    private mutating func advance() {
        let b = bytes[i]
        i += 1
        if b == 0x0A || (b == 0x0D && byte(at: i) != 0x0A) {
            line += 1
            column = 1
        } else if b != 0x0D && b & 0xC0 != 0x80 {
            column += 1
        }
    }

    private mutating func skipToLineEnd() { while i < bytes.count, !isBreak(bytes[i]) { advance() } }

    /// Block collections open here: indentation levels below the first, and indicators on this line.
    private var blockDepth: Int { max(0, indents.count - 1) + compact }

    /// Notes the estimate for a collection that starts at `at` (the cursor by default).
    private mutating func check(_ estimate: Int, at: SourceLocation? = nil) {
        if estimate > maxDepth, pastMaxDepth == nil { pastMaxDepth = at ?? here }
        if estimate > bound { tooDeep = pastMaxDepth ?? at ?? here }
    }

    private mutating func noteComplexKey(_ at: SourceLocation, _ what: String) {
        if complexKey == nil { complexKey = (at, what) }
    }

    private mutating func run() {
        var atLineStart = true
        while i < bytes.count, tooDeep == nil {
            if atLineStart {
                atLineStart = false
                startLine()
                continue
            }
            let b = bytes[i]
            switch b {
            case 0x20, 0x09:
                advance()
            case 0x0A, 0x0D:
                advance()
                atLineStart = true
                // Outside brackets a key is on the line of its ':'.
                if flow == 0 { last = .other }
            case UInt8(ascii: "#"):
                skipToLineEnd()
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                if flow == 0 { blockAtFlow = blockDepth }
                if atFlowKey { noteComplexKey(here, "a list or mapping used as a mapping key") }
                brackets.append(b == UInt8(ascii: "{"))
                atFlowKey = b == UInt8(ascii: "{")
                check(blockAtFlow + flow)
                tokenStart = column - 1
                last = .other
                advance()
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                _ = brackets.popLast()
                atFlowKey = false
                last = .closer
                lastAt = here
                advance()
            case UInt8(ascii: ","):
                atFlowKey = brackets.last == true
                last = .other
                advance()
            case UInt8(ascii: "-") where flow == 0 && isBlankOrEnd(i + 1):
                owner = column - 1
                compact += 1
                check(blockDepth)
                last = .other
                advance()
            // Inside brackets, libyaml takes any '?' or ':' that starts a token as the indicator.
            case UInt8(ascii: "?") where isBlankOrEnd(i + 1) || flow > 0:
                noteComplexKey(here, "an explicit key ('? ')")
                owner = column - 1
                if flow == 0 { compact += 1; check(blockDepth) }
                last = .other
                advance()
            case UInt8(ascii: ":") where isBlankOrEnd(i + 1) || flow > 0:
                switch last {
                case .alias: noteComplexKey(lastAt, "an alias used as a mapping key")
                case .closer: noteComplexKey(lastAt, "a list or mapping used as a mapping key")
                case .other: break
                }
                if flow == 0 {
                    owner = tokenStart
                    compact += 1
                    // The mapping starts at its first key.
                    check(blockDepth, at: SourceLocation(line: line, column: tokenStart + 1))
                }
                atFlowKey = false
                last = .other
                advance()
            case UInt8(ascii: "&"):
                advance()
                while i < bytes.count, isNameByte(bytes[i]) { advance() }
                last = .other
            case UInt8(ascii: "!"):
                while i < bytes.count, !isBlankOrEnd(i), !(flow > 0 && isFlowIndicator(i)) { advance() }
                last = .other
            case UInt8(ascii: "*"):
                let at = here
                advance()
                let start = i
                while i < bytes.count, isNameByte(bytes[i]) { advance() }
                if i > start {
                    aliasCount += 1
                    if aliases.count < aliasCap { aliases.append(Alias(name: String(decoding: bytes[start..<i], as: UTF8.self), location: at)) }
                }
                if atFlowKey { noteComplexKey(at, "an alias used as a mapping key") }
                atFlowKey = false
                tokenStart = at.column - 1
                last = .alias
                lastAt = at
            case UInt8(ascii: "\""):
                tokenStart = column - 1
                advance()
                while i < bytes.count {
                    let c = bytes[i]
                    advance()
                    if c == UInt8(ascii: "\\"), i < bytes.count { advance() } else if c == UInt8(ascii: "\"") { break }
                }
                atFlowKey = false
                last = .other
            case UInt8(ascii: "'"):
                tokenStart = column - 1
                advance()
                while i < bytes.count {
                    let c = bytes[i]
                    advance()
                    if c == UInt8(ascii: "'") {
                        if byte(at: i) == UInt8(ascii: "'") { advance() } else { break }
                    }
                }
                atFlowKey = false
                last = .other
            case UInt8(ascii: "|") where flow == 0, UInt8(ascii: ">") where flow == 0:
                skipBlockScalar()
                atLineStart = i < bytes.count
                last = .other
            default:
                tokenStart = column - 1
                plainScalar()
                atFlowKey = false
                last = .other
            }
        }
    }

    /// At the start of a line: its indentation, document markers and directives.
    private mutating func startLine() {
        var indent = 0
        while i < bytes.count, bytes[i] == 0x20 { advance(); indent += 1 }
        guard let b = byte(at: i), !isBreak(b), b != UInt8(ascii: "#"), b != 0x09, flow == 0 else { return }
        if indent == 0, b == UInt8(ascii: "%") { skipToLineEnd(); return }
        compact = 0
        owner = indent
        if isDocumentMarker(at: i) {
            indents = []
            for _ in 0..<3 { advance() }
            return
        }
        while let top = indents.last, top > indent { indents.removeLast() }
        if (indents.last ?? -1) < indent { indents.append(indent) }
    }

    private func isDocumentMarker(at j: Int) -> Bool {
        guard j == 0 || isBreak(bytes[j - 1]), bytes.count >= j + 3, isBlankOrEnd(j + 3) else { return false }
        return bytes[j..<j + 3].elementsEqual("---".utf8) || bytes[j..<j + 3].elementsEqual("...".utf8)
    }

    /// A plain scalar: to `: `, ` #`, or (inside brackets) a flow indicator; outside brackets it goes on
    /// over lines indented more than ``owner`` (libyaml's rule, with ``owner`` never lower than its).
    private mutating func plainScalar() {
        while i < bytes.count {
            let c = bytes[i]
            if isBreak(c) {
                guard flow == 0, let next = continuation() else { return }
                while i < next { advance() }
                continue
            }
            if c == UInt8(ascii: ":"), isBlankOrEnd(i + 1) || (flow > 0 && isFlowIndicator(i + 1)) { return }
            if (c == 0x20 || c == 0x09), byte(at: i + 1) == UInt8(ascii: "#") { return }
            if flow > 0, isFlowIndicator(i) { return }
            advance()
        }
    }

    /// With the cursor on a line break inside a plain scalar: where its text goes on, past blank lines,
    /// or `nil` when the next line with text is not indented more than ``owner``, is a comment, or a
    /// document marker.
    private func continuation() -> Int? {
        var k = i
        while k < bytes.count, isBreak(bytes[k]) {
            k += 1
            let start = k
            while k < bytes.count, bytes[k] == 0x20 { k += 1 }
            guard k < bytes.count else { return nil }
            if isBreak(bytes[k]) { continue }
            guard k - start > owner, bytes[k] != UInt8(ascii: "#"), bytes[k] != 0x09, !isDocumentMarker(at: start) else { return nil }
            return k
        }
        return nil
    }

    /// A block scalar: its header line, then every line indented at least as much as its first
    /// non-blank line (and more than the owning key or entry), or by the explicit indentation indicator.
    private mutating func skipBlockScalar() {
        var increment: Int?
        advance()
        while i < bytes.count, !isBreak(bytes[i]) {
            if increment == nil, (0x31...0x39).contains(bytes[i]) { increment = Int(bytes[i] - 0x30) }
            if bytes[i] == UInt8(ascii: "#") { skipToLineEnd(); break }
            advance()
        }
        var content = increment.map { owner >= 0 ? owner + $0 : $0 }
        // libyaml's indentation is the deepest of the leading blank lines and the first line with text.
        var blankIndent = 0
        while i < bytes.count {
            // At a line break: look at the next line before consuming it.
            advance()
            if bytes[i - 1] == 0x0D, byte(at: i) == 0x0A { advance() }
            var j = i
            while j < bytes.count, bytes[j] == 0x20 { j += 1 }
            let indent = j - i
            if j == bytes.count || isBreak(bytes[j]) {
                if content == nil { blankIndent = max(blankIndent, indent) }
                while i < j { advance() }
                continue
            }
            let needed = content ?? max(indent, blankIndent, owner + 1, 1)
            content = needed
            guard indent >= needed else { return }
            skipToLineEnd()
        }
    }
}
