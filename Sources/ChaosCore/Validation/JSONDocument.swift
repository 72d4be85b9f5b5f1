/// Strict JSON (RFC 8259) into ``DocumentNode``, for the bodies of the HTTP APIs.
///
/// Bodies are JSON only: YAML's anchors and aliases (`&a`, `*a`), tags, comments, single quotes and
/// bare words are refused as invalid JSON, so a small body can never grow into a large tree. The parser
/// is iterative (nesting costs heap, never stack) and checks ``DocumentLimits`` as it goes: the size
/// before it starts, the depth at each `[` or `{`, the count at each value and key.
///
/// - Positions: 1-based line and column of the first character of each value and key (the `"` of a
///   string, the `[` or `{` of a collection); columns count Unicode scalars, as libyaml's do, so the
///   same text gives the same positions through ``DocumentNode/parse(_:limits:)``. Lines end at LF,
///   CRLF or CR (JSON allows no other breaks outside strings). A leading byte order mark is ignored and
///   takes no column.
/// - Numbers keep their text exactly as written, never converted here: `.int` when written without a
///   fraction or exponent (`-0`, `9223372036854775808`, 400 digits), `.float` otherwise (`1e400`). The
///   readers convert, with range checks.
/// - Strings: escapes are decoded; a lone surrogate (`\uD800` without its pair) is refused, not
///   replaced, so what the agent acts on is what was sent.
/// - Duplicate keys in one object are refused (RFC 8259 leaves their meaning open).
extension DocumentNode {
    /// Parses strict JSON; empty or whitespace-only text is `nil`, as for ``parse(_:limits:)``.
    /// - Parameters:
    ///   - text: the JSON text; any value may be at the top, callers check for an object.
    ///   - limits: the bounds; ``DocumentLimits/api`` by default (`maxAliases` does not apply).
    /// - Returns: the document, or `nil` when there is nothing but whitespace.
    /// - Throws: ``SyntaxError`` at the exact line and column of the first problem, with a hint when one
    ///   is known; messages show control characters as `U+XXXX`.
    public static func parseJSON(_ text: String, limits: DocumentLimits = .api) throws(SyntaxError) -> DocumentNode? {
        try limits.checkSize(of: text)
        var parser = JSONParser(text, limits: limits)
        return try parser.document()
    }
}

/// The state of one ``DocumentNode/parseJSON(_:limits:)`` call: a byte cursor with its position, and a
/// stack of the collections still open (instead of recursion).
struct JSONParser {
    typealias SyntaxError = DocumentNode.SyntaxError

    /// A collection still open, with what it holds so far.
    private struct Frame {
        var open: SourceLocation
        var isObject: Bool
        var items: [DocumentNode] = []
        var entries: [(key: String, keyLocation: SourceLocation, value: DocumentNode)] = []
        /// Keys met so far, with where (objects only).
        var seen: [String: SourceLocation] = [:]
        /// The key whose value comes next (objects only).
        var key = ""
        var keyLocation = SourceLocation.start
        var closer: UInt8 { isObject ? UInt8(ascii: "}") : UInt8(ascii: "]") }
    }

    private let bytes: [UInt8]
    private let limits: DocumentLimits
    private var i = 0
    private var line = 1
    private var column = 1
    /// Just past the last token, where "never closed" is reported (not past trailing blank lines).
    private var end = SourceLocation.start
    private var nodes = 0
    private var stack: [Frame] = []

    init(_ text: String, limits: DocumentLimits) {
        bytes = Array(text.utf8)
        self.limits = limits
    }

    private var here: SourceLocation { SourceLocation(line: line, column: column) }
    private var atEnd: Bool { i >= bytes.count }
    private func peek(_ offset: Int = 0) -> UInt8? { i + offset < bytes.count ? bytes[i + offset] : nil }

    // MARK: Document

    /// The whole text: one value, then only whitespace.
    mutating func document() throws(SyntaxError) -> DocumentNode? {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        skipWhitespace()
        guard !atEnd else { return nil }
        var value = try valueOrOpen()
        while true {
            guard let complete = value else {
                value = try valueOrOpen()
                continue
            }
            guard !stack.isEmpty else {
                skipWhitespace()
                guard atEnd else {
                    throw invalid(here, "text after the JSON value", hint: "send one JSON value; remove what follows it")
                }
                return complete
            }
            value = try attach(complete)
        }
    }

    /// A value at the cursor: a complete scalar or empty collection, or `nil` after opening a collection
    /// (whose first value comes next).
    private mutating func valueOrOpen() throws(SyntaxError) -> DocumentNode? {
        guard let b = peek() else { throw unexpectedEnd() }
        let at = here
        switch b {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard stack.count < limits.maxDepth else {
                throw SyntaxError(location: at, message: "not accepted: nesting deeper than \(limits.maxDepth) levels",
                                  hint: "send a flatter document")
            }
            try count(at)
            advance()
            stack.append(Frame(open: at, isObject: b == UInt8(ascii: "{")))
            skipWhitespace()
            if peek() == stack[stack.count - 1].closer {
                advance()
                let frame = stack.removeLast()
                return frame.isObject ? .mapping([], at) : .sequence([], at)
            }
            if frame(isObject: true) { try readKey() }
            return nil
        case UInt8(ascii: "\""):
            try count(at)
            return .scalar(try string(), .string, at)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try count(at)
            return try number(at)
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
            try count(at)
            return try literal(at)
        default:
            throw unexpected(at)
        }
    }

    /// Adds a complete value to the innermost open collection, then reads what follows it: `,` (and,
    /// in an object, the next key) or the closing bracket.
    /// - Returns: the collection when this closed it, `nil` when another value comes next.
    private mutating func attach(_ value: DocumentNode) throws(SyntaxError) -> DocumentNode? {
        let top = stack.count - 1
        if stack[top].isObject {
            stack[top].entries.append((key: stack[top].key, keyLocation: stack[top].keyLocation, value: value))
        } else {
            stack[top].items.append(value)
        }
        skipWhitespace()
        guard let b = peek() else { throw neverClosed(stack[top]) }
        let closer = stack[top].closer
        if b == UInt8(ascii: ",") {
            let comma = here
            advance()
            skipWhitespace()
            if let next = peek(), next == UInt8(ascii: "]") || next == UInt8(ascii: "}") {
                throw invalid(comma, "trailing comma before '\(Character(Unicode.Scalar(next)))'", hint: "remove the ','; JSON allows no comma after the last item")
            }
            if stack[top].isObject { try readKey() }
            return nil
        }
        if b == closer {
            advance()
            let frame = stack.removeLast()
            return frame.isObject ? .mapping(frame.entries, frame.open) : .sequence(frame.items, frame.open)
        }
        let open = stack[top].open
        if b == UInt8(ascii: "]") || b == UInt8(ascii: "}") {
            throw invalid(here, "'\(Character(Unicode.Scalar(b)))' closes the '\(stack[top].isObject ? "{" : "[")' at line \(open.line), column \(open.column)",
                          hint: "write '\(Character(Unicode.Scalar(closer)))'")
        }
        let missingComma = b == UInt8(ascii: "\"") || b == UInt8(ascii: "{") || b == UInt8(ascii: "[")
        throw invalid(here, "expected ',' or '\(Character(Unicode.Scalar(closer)))' after a value, found \(describe(at: i))",
                      hint: missingComma ? "add the missing ','" : nil)
    }

    private func frame(isObject: Bool) -> Bool { stack.last?.isObject == isObject }

    // MARK: Keys and values

    /// An object's key and its `:`, leaving the cursor on the value.
    private mutating func readKey() throws(SyntaxError) {
        let top = stack.count - 1
        guard let b = peek() else { throw neverClosed(stack[top]) }
        let at = here
        guard b == UInt8(ascii: "\"") else {
            let found = describe(at: i)
            let word = isWordByte(b) ? wordText(from: i) : nil
            throw invalid(at, "expected a key in double quotes, found \(found)",
                          hint: word.map { "write \"\(DocumentNode.visible($0, limit: 40))\"" } ?? "JSON keys are written in double quotes")
        }
        try count(at)
        let key = try string()
        if let first = stack[top].seen[key] {
            throw SyntaxError(location: at, message: "duplicate key '\(DocumentNode.visible(key, limit: 60))'",
                              hint: "remove one of them; the first is at line \(first.line), column \(first.column)")
        }
        stack[top].seen[key] = at
        stack[top].key = key
        stack[top].keyLocation = at
        skipWhitespace()
        guard let colon = peek() else { throw neverClosed(stack[top]) }
        guard colon == UInt8(ascii: ":") else {
            throw invalid(here, "expected ':' after the key '\(DocumentNode.visible(key, limit: 60))', found \(describe(at: i))")
        }
        advance()
        skipWhitespace()
    }

    /// A string, with the cursor on its opening quote; returns its decoded text.
    private mutating func string() throws(SyntaxError) -> String {
        let open = here
        advance()
        var decoded: [UInt8] = []
        var run = i
        var escaped = false
        while true {
            guard let b = peek() else {
                throw invalid(open, "unterminated string", hint: "add the closing '\"'")
            }
            if b == UInt8(ascii: "\"") { break }
            if b == UInt8(ascii: "\\") {
                decoded.append(contentsOf: bytes[run..<i])
                try escape(into: &decoded, open: open)
                escaped = true
                run = i
                continue
            }
            if b < 0x20 {
                let name = DocumentNode.codePoint(UInt32(b))
                let escape = [0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x08: "\\b", 0x0C: "\\f"][b] ?? "\\u" + name.dropFirst(2)
                throw invalid(here, "a control character (\(name)) in a string must be escaped",
                              hint: "write it as '\(escape)'" + (b == 0x0A ? ", or add the missing closing '\"'" : ""))
            }
            advance()
        }
        let text = escaped ? String(decoding: decoded + bytes[run..<i], as: UTF8.self) : String(decoding: bytes[run..<i], as: UTF8.self)
        advance()
        return text
    }

    /// One escape, with the cursor on its backslash; appends its UTF-8 to `decoded`.
    private mutating func escape(into decoded: inout [UInt8], open: SourceLocation) throws(SyntaxError) {
        let at = here
        advance()
        guard let e = peek() else { throw invalid(open, "unterminated string", hint: "add the closing '\"'") }
        let simple: UInt8?
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): simple = e
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        default: simple = nil
        }
        if let simple {
            advance()
            decoded.append(simple)
            return
        }
        guard e == UInt8(ascii: "u") else {
            throw invalid(at, "invalid escape '\\\(describe(at: i, quoted: false))' in a string",
                          hint: "the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX; write a backslash as '\\\\'")
        }
        advance()
        var value = try hex4(at)
        if (0xDC00...0xDFFF).contains(value) { throw loneSurrogate(at, value) }
        if (0xD800...0xDBFF).contains(value) {
            guard peek() == UInt8(ascii: "\\"), peek(1) == UInt8(ascii: "u") else { throw loneSurrogate(at, value) }
            let lowAt = here
            advance()
            advance()
            let low = try hex4(lowAt)
            guard (0xDC00...0xDFFF).contains(low) else { throw loneSurrogate(at, value) }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        }
        // Every value left is a scalar: surrogates were paired or refused above.
        guard let scalar = Unicode.Scalar(value) else { throw loneSurrogate(at, value) }
        UTF8.encode(scalar) { decoded.append($0) }
    }

    /// The four hex digits of a `\u` escape that starts at `at`.
    private mutating func hex4(_ at: SourceLocation) throws(SyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let b = peek(), let digit = hexValue(b) else {
                throw invalid(at, "invalid \\u escape", hint: "write '\\u' and four hex digits, e.g. '\\u00e9'")
            }
            value = value << 4 | digit
            advance()
        }
        return value
    }

    private func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(b - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    private func loneSurrogate(_ at: SourceLocation, _ value: UInt32) -> SyntaxError {
        invalid(at, "'\\u\(String(value, radix: 16, uppercase: true))' is half of a surrogate pair without its other half",
                hint: "write a character beyond U+FFFF as the character itself or as a pair, e.g. '\\uD83D\\uDE00'")
    }

    /// A number, kept as written: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func number(_ at: SourceLocation) throws(SyntaxError) -> DocumentNode {
        let start = i
        var isInteger = true
        if peek() == UInt8(ascii: "-") {
            advance()
            guard let d = peek(), isDigit(d) else {
                throw invalid(at, "'-' must be followed by a digit", hint: peek() == UInt8(ascii: "I") ? "JSON has no Infinity" : "write e.g. '-1'")
            }
        }
        if peek() == UInt8(ascii: "0") {
            advance()
            if let d = peek(), isDigit(d) {
                throw invalid(at, "leading zeros in '\(wordText(from: start))'", hint: "remove the leading zeros, or put the value in double quotes")
            }
        } else {
            skipDigits()
        }
        if peek() == UInt8(ascii: ".") {
            advance()
            isInteger = false
            guard let d = peek(), isDigit(d) else {
                throw invalid(at, "expected a digit after '.' in '\(wordText(from: start))'", hint: "write e.g. '1.0'")
            }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            advance()
            isInteger = false
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { advance() }
            guard let d = peek(), isDigit(d) else {
                throw invalid(at, "expected a digit in the exponent of '\(wordText(from: start))'", hint: "write e.g. '1e3'")
            }
            skipDigits()
        }
        if let b = peek(), isWordByte(b) || b == UInt8(ascii: ".") {
            let word = wordText(from: start)
            throw invalid(at, "'\(word)' is not a number", hint: "put text in double quotes: \"\(word)\"")
        }
        return .scalar(String(decoding: bytes[start..<i], as: UTF8.self), isInteger ? .int : .float, at)
    }

    /// `true`, `false` or `null`; any other bare word is refused.
    private mutating func literal(_ at: SourceLocation) throws(SyntaxError) -> DocumentNode {
        let start = i
        while let b = peek(), isWordByte(b) { advance() }
        let word = String(decoding: bytes[start..<i], as: UTF8.self)
        switch word {
        case "true", "false": return .scalar(word, .bool, at)
        case "null": return .scalar(word, .null, at)
        default: break
        }
        let shown = DocumentNode.visible(word, limit: 40)
        let hint: String?
        switch word.lowercased() {
        case "true", "false", "null": hint = "write it in lowercase: '\(word.lowercased())'"
        case "nan", "infinity", "inf": hint = "JSON has no NaN or Infinity"
        case "none", "nil", "undefined": hint = "write null"
        default: hint = stack.isEmpty ? nil : "put text in double quotes: \"\(shown)\""
        }
        throw invalid(at, "'\(shown)' is not a value", hint: hint)
    }

    // MARK: Errors

    private func invalid(_ at: SourceLocation, _ what: String, hint: String? = nil) -> SyntaxError {
        SyntaxError(location: at, message: "not valid JSON: \(what)", hint: hint)
    }

    private func neverClosed(_ frame: Frame) -> SyntaxError {
        invalid(end, "the '\(frame.isObject ? "{" : "[")' at line \(frame.open.line), column \(frame.open.column) is never closed",
                hint: "add the missing '\(Character(Unicode.Scalar(frame.closer)))'")
    }

    /// The text ended where a value was expected.
    private func unexpectedEnd() -> SyntaxError {
        if let top = stack.last { return neverClosed(top) }
        return invalid(end, "expected a value")
    }

    /// A character that cannot start a value.
    private func unexpected(_ at: SourceLocation) -> SyntaxError {
        guard let b = peek() else { return unexpectedEnd() }
        let found = describe(at: i)
        switch b {
        case UInt8(ascii: "]"), UInt8(ascii: "}"):
            if frame(isObject: true) { return invalid(at, "expected a value after ':', found \(found)", hint: "write the value, e.g. null") }
            return invalid(at, "unexpected \(found)")
        case UInt8(ascii: "'"):
            return invalid(at, "strings must be in double quotes, found \(found)", hint: "write \"...\" instead of '...'")
        case UInt8(ascii: "."):
            return invalid(at, "a number must start with a digit, found \(found)", hint: "write e.g. '0.5'")
        case UInt8(ascii: "+"):
            return invalid(at, "a number must not start with '+'", hint: "remove the '+'")
        case UInt8(ascii: "&"), UInt8(ascii: "*"):
            return invalid(at, "unexpected \(found)", hint: "JSON has no anchors or aliases; write the values out")
        case UInt8(ascii: "#"), UInt8(ascii: "/"):
            return invalid(at, "unexpected \(found)", hint: "JSON has no comments")
        case 0xE2 where peek(1) == 0x80 && (peek(2) == 0x9C || peek(2) == 0x9D):
            return invalid(at, "unexpected \(found)", hint: "use straight double quotes '\"'")
        default:
            if b < 0x20 || b == 0x7F { return invalid(at, "unexpected control character \(DocumentNode.codePoint(UInt32(b)))", hint: "remove it") }
            return invalid(at, "unexpected \(found)")
        }
    }

    /// The character at byte `j`, for a message: `'x'` (control characters as `U+XXXX`), or "the end".
    private func describe(at j: Int, quoted: Bool = true) -> String {
        guard j < bytes.count else { return "the end of the text" }
        var k = j + 1
        while k < bytes.count, bytes[k] & 0xC0 == 0x80 { k += 1 }
        let text = DocumentNode.visible(String(decoding: bytes[j..<k], as: UTF8.self))
        return quoted ? "'\(text)'" : text
    }

    /// The run of word characters (and `.`, `+`, `-`) from byte `j`, for messages; at most 40 characters.
    private func wordText(from j: Int) -> String {
        var k = j
        while k < bytes.count, k - j < 40,
              isWordByte(bytes[k]) || bytes[k] == UInt8(ascii: ".") || bytes[k] == UInt8(ascii: "+") || bytes[k] == UInt8(ascii: "-") { k += 1 }
        return DocumentNode.visible(String(decoding: bytes[j..<max(k, min(j + 1, bytes.count))], as: UTF8.self))
    }

    // MARK: Cursor

    private mutating func count(_ at: SourceLocation) throws(SyntaxError) {
        nodes += 1
        guard nodes <= limits.maxNodes else {
            throw SyntaxError(location: at, message: "not accepted: more than \(limits.maxNodes) values", hint: "send a smaller document")
        }
    }

    /// Consumes one byte, keeping line and column (columns count Unicode scalars; CRLF is one break).
    private mutating func advance() {
        let b = bytes[i]
        i += 1
        if b == 0x0A || (b == 0x0D && peek() != 0x0A) {
            line += 1
            column = 1
        } else if b != 0x0D && b & 0xC0 != 0x80 {
            column += 1
        }
    }

    /// Skips JSON whitespace (space, tab, LF, CR), first noting the end of the last token.
    private mutating func skipWhitespace() {
        end = here
        while let b = peek(), b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { advance() }
    }

    private mutating func skipDigits() { while let b = peek(), isDigit(b) { advance() } }
    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    private func isWordByte(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) || b == UInt8(ascii: "_")
    }
}
