/// A POSIX signal on Linux, named as users write it: `KILL`, `SIGTERM`, `term` or `15`.
public struct SignalName: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The Linux signal number.
    public let number: Int32

    /// Linux x86_64/arm64 numbering (asm-generic), which is what this tool supports.
    public static let table: [(name: String, number: Int32)] = [
        ("HUP", 1), ("INT", 2), ("QUIT", 3), ("ILL", 4), ("TRAP", 5), ("ABRT", 6), ("BUS", 7), ("FPE", 8),
        ("KILL", 9), ("USR1", 10), ("SEGV", 11), ("USR2", 12), ("PIPE", 13), ("ALRM", 14), ("TERM", 15),
        ("STKFLT", 16), ("CHLD", 17), ("CONT", 18), ("STOP", 19), ("TSTP", 20), ("TTIN", 21), ("TTOU", 22),
        ("URG", 23), ("XCPU", 24), ("XFSZ", 25), ("VTALRM", 26), ("PROF", 27), ("WINCH", 28), ("IO", 29),
        ("PWR", 30), ("SYS", 31),
    ]

    public static let kill = SignalName(unchecked: 9)
    public static let term = SignalName(unchecked: 15)
    public static let stop = SignalName(unchecked: 19)
    public static let cont = SignalName(unchecked: 18)

    init(unchecked number: Int32) { self.number = number }

    /// Parses a signal name or number: `KILL`, `SIGKILL`, `kill`, `9`, `SIG9`, `RTMIN+3`.
    /// - Returns: `nil` when `text` names no signal.
    public init?(_ text: String) {
        let t = text.trimmingWhitespace().uppercased()
        let bare = t.hasPrefix("SIG") ? String(t.dropFirst(3)) : t
        // '15', and 'SIG34' as `description` writes unnamed real-time signals.
        if let n = plainInteger(bare, maxDigits: 2) {
            guard (1...64).contains(n) else { return nil }
            self.number = Int32(n)
            return
        }
        if let hit = SignalName.table.first(where: { $0.name == bare }) { self.number = hit.number; return }
        if bare.hasPrefix("RTMIN+"), let k = Int32(bare.dropFirst(6)), (0...30).contains(k) { self.number = 34 + k; return }
        return nil
    }

    /// `SIGKILL`, or `SIG34` for unnamed real-time signals.
    public var description: String {
        SignalName.table.first(where: { $0.number == number }).map { "SIG\($0.name)" } ?? "SIG\(number)"
    }

    /// Every accepted name, for hints.
    public static var knownNames: String { table.map(\.name).joined(separator: ", ") }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int32.self), let s = SignalName(String(n)) { self = s; return }
        let text = try c.decode(String.self)
        guard let s = SignalName(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "Unknown signal '\(text)'.")
        }
        self = s
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
