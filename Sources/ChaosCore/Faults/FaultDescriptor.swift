/// Everything chaos knows about one fault kind, in one place: what it acts on, whether it can be undone,
/// what the host needs, and each parameter with its type, range, default, requirement and help.
///
/// From the descriptors come: the validation of experiment files and agent requests
/// (``FaultParameterReader``), the one-off commands' checks and option help (ChaosCLI's
/// `FaultArguments`), the JSON Schema (``ExperimentSchema``, `chaos schema experiment`) and the
/// parameter tables of docs/formats.md (``FaultTables``). What a kind *does* on a host is its `Fault` in
/// ChaosFaults; `FaultCatalog` pairs the two and a test checks that every descriptor has one.
public struct FaultDescriptor: Sendable {
    public let kind: FaultKind
    /// What it does, in a few words ("drop a share of matching packets").
    public let summary: String
    public let subject: FaultKind.Subject
    public let isReversible: Bool
    /// What the host must have.
    public let needs: [HostNeed]
    /// The parameters under `with`, in the order documentation shows them.
    public let parameters: [FaultParameter]
    /// Rules between parameters.
    public let rules: [ParameterRule]
    /// A `fault:` written out, for documentation (`{type: network.loss, duration: 1m, with: {lossPercent: 30}}`).
    public let example: String

    public init(_ kind: FaultKind, summary: String, subject: FaultKind.Subject, reversible: Bool, needs: [HostNeed] = [],
                parameters: [FaultParameter] = [], rules: [ParameterRule] = [], example: String) {
        self.kind = kind; self.summary = summary; self.subject = subject; self.isReversible = reversible
        self.needs = needs; self.parameters = parameters; self.rules = rules; self.example = example
    }

    /// The parameter named `name`, if the kind takes it.
    public func parameter(_ name: String) -> FaultParameter? { parameters.first { $0.name == name } }

    /// What a host must have for a fault.
    public enum HostNeed: String, Sendable, CaseIterable {
        /// kill(2) on processes of other users: root or CAP_KILL.
        case signals
        /// The service manager over D-Bus.
        case systemd
        /// A filesystem that supports fallocate.
        case fallocate
        /// A helper process of chaos's own (`chaos _stress`, `chaos _netqueue`, `chaos _relay`).
        case helper
        /// nftables (`nft`) and CAP_NET_ADMIN.
        case nftables
        /// tc (iproute2) and CAP_NET_ADMIN.
        case tc
        /// Per-packet shaping: tc netem (egress, where the kernel has it), else the kernel's packet
        /// queue (NFQUEUE) for chaos's packet engine; `chaos capabilities` names the one a host uses.
        case packets
    }
}

/// One parameter of a fault kind.
public struct FaultParameter: Sendable {
    public let name: String
    public let type: ParameterType
    /// `nil` when optional; otherwise why it is needed ("" when it goes without saying).
    public let requiredBecause: String?
    /// The default, as written in a file, when absent means a value (`KILL`, `100`).
    public let defaultText: String?
    /// What it means for this kind.
    public let help: String
    /// A value as written in a file, for hints ("add e.g. 'lossPercent: 30'") and docs.
    public let example: String

    public var isRequired: Bool { requiredBecause != nil }

    public init(_ name: String, _ type: ParameterType, required: Bool = false, because reason: String? = nil,
                default defaultText: String? = nil, help: String, example: String) {
        self.name = name; self.type = type; self.requiredBecause = required ? (reason ?? "") : nil
        self.defaultText = defaultText; self.help = help; self.example = example
    }
}

/// The type of a parameter's value, with its bounds.
public enum ParameterType: Sendable {
    /// A signal name or number: `KILL`, `SIGTERM`, `15`, `RTMIN+3`.
    case signal
    /// One of fixed words. `impossible` lists words that are refused for this kind with the reason
    /// (tc shapes only egress) and a hint, so the user learns why rather than "not allowed".
    case word([String], impossible: [String] = [], because: String = "", hint: String = "")
    /// An absolute path.
    case absolutePath
    /// A percentage (`95`, `'95%'`) within the range.
    case percent(ClosedRange<Double>)
    /// A size with a unit (`100MiB`).
    case size
    /// A whole number within the range.
    case integer(ClosedRange<Int>)
    /// A duration with a unit (`200ms`), at least the minimum.
    case duration(atLeast: ChaosDuration?)
    /// A non-empty list of host names, addresses or CIDRs.
    case hosts
    /// A list of ports or port ranges (`6379`, `'8000-8100'`).
    case ports
    /// A non-empty text.
    case text
    /// A bandwidth rate (`1mbit`).
    case rate
    case bool

    /// How documentation and `--help` name the type.
    public var summary: String {
        switch self {
        case .signal: return "signal name or number"
        case .word(let words, _, _, _): return words.map { "`\($0)`" }.joined(separator: ", ")
        case .absolutePath: return "absolute path"
        case .percent(let r): return "percentage \(NumberText.format(r.lowerBound))–\(NumberText.format(r.upperBound))"
        case .size: return "size"
        case .integer(let r): return "whole number \(r.lowerBound)–\(r.upperBound)"
        case .duration(let min): return min.map { "duration, at least `\($0)`" } ?? "duration"
        case .hosts: return "non-empty list of host names, addresses or CIDRs"
        case .ports: return "list of ports or ranges"
        case .text: return "text"
        case .rate: return "rate"
        case .bool: return "boolean"
        }
    }

    /// The value name in `--help` (`--delay <duration>`).
    public var valueName: String {
        switch self {
        case .signal: return "signal"
        case .word: return "word"
        case .absolutePath: return "path"
        case .percent: return "percent"
        case .size: return "size"
        case .integer: return "n"
        case .duration: return "duration"
        case .hosts: return "hosts"
        case .ports: return "ports"
        case .text: return "text"
        case .rate: return "rate"
        case .bool: return "bool"
        }
    }
}

/// A rule between a kind's parameters.
public enum ParameterRule: Sendable {
    /// Exactly one of the names must be given; `what` says what they decide ("how much to fill").
    case exactlyOne([String], what: String)
    /// The first duration must not exceed the second (`jitter` at most `delay`).
    case notAbove(String, String)
}
