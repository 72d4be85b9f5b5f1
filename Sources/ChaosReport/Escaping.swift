/// Making user strings (experiment names, reasons, probe names, details) safe for each format.
enum Escape {
    /// Text for HTML content and attribute values (also inline SVG).
    static func html(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\n", "\t": out.unicodeScalars.append(u)
            default: out.unicodeScalars.append(isControl(u) ? replacement : u)
            }
        }
        return out
    }

    /// Text for XML attribute values (or, with `content`, element text): the five entities, line breaks
    /// and tabs as character references in attributes (so parsers keep them), characters XML 1.0
    /// forbids replaced.
    static func xml(_ s: String, content: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += content ? "\n" : "&#10;"
            case "\r": out += "&#13;"
            case "\t": out += content ? "\t" : "&#9;"
            default:
                let forbidden = u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF
                out.unicodeScalars.append(forbidden ? replacement : u)
            }
        }
        return out
    }

    /// One line for a terminal: control characters (escape sequences) and bidirectional overrides
    /// replaced, line breaks and tabs made spaces.
    static func line(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            if u == "\n" || u == "\t" || u == "\r" { out += " " } else { out.unicodeScalars.append(isControl(u) ? replacement : u) }
        }
        return out
    }

    /// Markdown inline text (table cells, headings, list items): one line, with markup characters
    /// backslash-escaped and HTML characters as entities.
    static func markdown(_ s: String) -> String {
        var out = ""
        for ch in line(s).unicodeScalars {
            switch ch {
            case "\\", "|", "*", "_", "`", "[", "]", "#", "~": out += "\\"; out.unicodeScalars.append(ch)
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    static let replacement: Unicode.Scalar = "\u{FFFD}"

    /// C0 and C1 controls, DEL, and the bidirectional embedding/override/isolate characters.
    static func isControl(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        return v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }
}
