import Foundation
import Glibc

/// Where the application layer writes for people: progress and warnings on stderr.
enum Terminal {
    static func err(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Whether stderr is a terminal (progress lines are drawn only then).
    static var interactive: Bool { isatty(2) == 1 }

    /// Redraws the one-line progress indicator on stderr.
    static func progress(_ text: String) {
        let line = "\r\u{1B}[2K" + text
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}

enum Environment {
    static func value(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        let s = String(cString: v)
        return s.isEmpty ? nil : s
    }
}
