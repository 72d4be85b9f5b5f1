import ChaosCore
import ChaosPOSIX

/// The errors of `ChaosPKI`, as `ChaosError`s with stable codes (`pki.*`).
///
/// Every message says what failed, on what, and what to do next.
enum PKIError {
    /// A file that would be written exists already, and `force` was not given (exit 1).
    static func exists(_ path: String, hint: String) -> ChaosError {
        ChaosError("pki.exists", "'\(path)' already exists. \(hint)")
    }
    /// A file could not be read, written or created (exit 1).
    static func io(_ operation: String, _ path: String, errno code: Int32, hint: String = "") -> ChaosError {
        let reason = Errno.text(code)
        return ChaosError("pki.io", "Cannot \(operation) '\(path)': \(reason).\(hint.isEmpty ? "" : " " + hint)")
    }
    /// A file is not what it should be: not PEM, not a certificate, not a P-256 key (exit 1).
    static func invalid(_ path: String, _ reason: String) -> ChaosError {
        ChaosError("pki.invalid", "'\(path)' \(reason)")
    }
    /// An argument is wrong: a name, a SAN, a number of days (exit 64).
    static func usage(_ message: String) -> ChaosError {
        .usage("pki.usage", message)
    }
    /// A certificate is outside its validity period (exit 1).
    static func notValid(_ message: String) -> ChaosError {
        ChaosError("pki.notValid", message)
    }
    /// A certificate does not carry a chaos identity (exit 1).
    static func noIdentity(_ message: String) -> ChaosError {
        ChaosError("pki.noIdentity", message)
    }
    /// Signing or encoding failed inside the libraries: a bug, not the operator's doing (exit 70).
    static func crypto(_ what: String, _ error: any Error) -> ChaosError {
        .internalError("pki.crypto", "Cannot \(what): \(error). This is a bug in chaos; please report it.")
    }
}
