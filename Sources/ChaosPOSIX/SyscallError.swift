import Glibc

/// A system call that failed: what was being done, on which path, and `errno`.
///
/// The primitives of this module throw it; each caller turns it into its own `ChaosError` (with its
/// own code and advice), so this module depends on nothing but the C library.
public struct SyscallError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The step that failed.
    public enum Operation: String, Hashable, Sendable {
        case open, createTemporary, setMode, write, flush, replace, link, lock, inspect, read, makeDirectory, execute
    }

    public var operation: Operation
    /// The file or directory the call was about.
    public var path: String
    /// `errno` at the failure.
    public var code: Int32

    /// - Parameter code: defaults to the calling thread's `errno`, read before anything else can change it.
    public init(_ operation: Operation, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// The text of ``code`` (`No such file or directory`).
    public var reason: String { Errno.text(code) }

    /// The operation as a verb, for messages of the form `Cannot VERB 'PATH': REASON`.
    public var verb: String {
        switch operation {
        case .open: return "open"
        case .createTemporary: return "create"
        case .setMode: return "set the mode of"
        case .write: return "write"
        case .flush: return "flush"
        case .replace: return "replace"
        case .link: return "create"
        case .lock: return "lock"
        case .inspect: return "inspect"
        case .read: return "read"
        case .makeDirectory: return "create the directory"
        case .execute: return "start"
        }
    }

    public var description: String { "cannot \(verb) '\(path)': \(reason)" }

    /// The file exists (`EEXIST`): a file placed with `replacing: false` was there already.
    public var alreadyExists: Bool { code == EEXIST }
    /// Nothing is at the path (`ENOENT`).
    public var notFound: Bool { code == ENOENT }
    /// A path that must be a directory is something else (`ENOTDIR`).
    public var notADirectory: Bool { code == ENOTDIR }
    /// The process or the system is out of file descriptors (`EMFILE`, `ENFILE`).
    public var tooManyOpenFiles: Bool { code == EMFILE || code == ENFILE }
}

/// `errno` and its text.
public enum Errno {
    /// The calling thread's `errno` now.
    public static var current: Int32 { errno }

    /// The message for `errno` value `code` (`strerror`).
    public static func text(_ code: Int32) -> String { String(cString: strerror(code)) }
}
