/// A kind of fault, named `area.action` (`process.kill`, `network.loss`).
///
/// A kind is declared once, with everything chaos knows about it, by its ``FaultDescriptor`` (one file
/// per area in `Sources/ChaosCore/Faults/Descriptors/`); the kind's name is a static constant beside
/// it. Only names with a descriptor in ``FaultDescriptor/all`` exist: `FaultKind(rawValue:)` refuses
/// every other text, so a ledger or store naming a kind this build does not know fails loudly.
public struct FaultKind: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// The kind named `rawValue`, if this build knows it.
    public init?(rawValue: String) {
        guard FaultDescriptor.byName[rawValue] != nil else { return nil }
        self.rawValue = rawValue
    }

    /// Declares a kind; only for the descriptor files.
    init(declaring name: String) { rawValue = name }

    /// Every kind, in the order of ``FaultDescriptor/all``.
    public static var allCases: [FaultKind] { FaultDescriptor.all.map(\.kind) }

    public var description: String { rawValue }
    public static func < (a: FaultKind, b: FaultKind) -> Bool { a.rawValue < b.rawValue }

    /// Everything chaos knows about this kind.
    public var descriptor: FaultDescriptor {
        // `init?(rawValue:)` only makes listed kinds; a kind declared with `FaultKind(declaring:)` and
        // left out of `FaultDescriptor.all` is a programming error, said plainly.
        guard let d = FaultDescriptor.byName[rawValue] else {
            preconditionFailure("fault kind '\(rawValue)' is declared but its descriptor is missing from FaultDescriptor.all")
        }
        return d
    }

    /// Whether the fault is undone by revert. A kill cannot be undone: recovery is the system's job.
    public var isReversible: Bool { descriptor.isReversible }

    /// Whether the fault acts on each packet (tc netem, or the packet engine through NFQUEUE).
    public var shapesPackets: Bool { descriptor.needs.contains(.packets) }

    /// What a fault acts on, which decides the target fields it needs.
    public enum Subject: String, Sendable { case processes, unit, host }
    /// What the fault acts on.
    public var subject: Subject { descriptor.subject }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let kind = FaultKind(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "Unknown fault kind '\(text)'; this build knows \(FaultKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        self = kind
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
