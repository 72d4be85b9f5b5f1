/// The one error type chaos reports to users: a stable `code` for scripts (`--output json`) and a
/// `message` for people that says what failed, on what, why and what to do.
///
/// Codes are dotted and stable across versions: `target.noMatch`, `fault.resourceBusy`,
/// `host.permissionDenied`, `ledger.corrupt`... The exit status of a command follows from `exit`.
public struct ChaosError: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// What the process exit status should be when this error ends a command.
    public var exit: ExitKind

    /// How an error maps to the exit codes of design.md.
    public enum ExitKind: String, Hashable, Sendable, Codable {
        /// 1: the command was understood but could not do what was asked.
        case failed
        /// 64: usage or validation.
        case usage
        /// 70: a bug or an unexpected state of chaos itself.
        case internalError
        /// 78 (EX_CONFIG): not configured yet; a service manager should not restart it until someone acts
        /// (an agent waiting for its certificate).
        case notConfigured
        public var status: Int32 {
            switch self {
            case .failed: return 1
            case .usage: return 64
            case .internalError: return 70
            case .notConfigured: return 78
            }
        }
    }

    public init(_ code: String, _ message: String, exit: ExitKind = .failed) {
        self.code = code
        self.message = message
        self.exit = exit
    }

    public var description: String { message }

    /// A usage error (exit 64).
    public static func usage(_ code: String, _ message: String) -> ChaosError { .init(code, message, exit: .usage) }
    /// An internal error (exit 70).
    public static func internalError(_ code: String, _ message: String) -> ChaosError { .init(code, message, exit: .internalError) }
}
