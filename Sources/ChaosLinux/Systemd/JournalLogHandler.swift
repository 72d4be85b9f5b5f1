// Structured logging to systemd-journald through libsystemd's native protocol (`sd_journal_sendv(3)`).
//
// `sd_journal_send` is variadic and cannot be called from Swift; `sd_journal_sendv` takes an array of
// iovecs, one `FIELD=value` per iovec, and is what this handler uses. Values may hold any bytes,
// line breaks included (libsystemd switches to the binary field encoding by itself).
//
// One entry per log call:
//
//   MESSAGE=<message>              PRIORITY=<syslog level>        SYSLOG_IDENTIFIER=<identifier>
//   CODE_FILE=<#fileID>            CODE_LINE=<line>               CODE_FUNC=<function>
//   CHAOS_LOGGER=<logger label>    CHAOS_SOURCE=<module>
//   CHAOS_<METADATA KEY>=<value>   for each metadata entry (handler, provider, then call site, the
//                                  later winning), nested dictionaries and arrays flattened with '_'
//
// so `journalctl -t chaos-agent CHAOS_FAULT_ID=f-42` finds every line about one fault.
//
// `LoggingBootstrap` chooses between this handler and swift-log's `StreamLogHandler` on stderr.
internal import CSystemd
public import Logging
import Glibc

/// A swift-log handler that writes each log call as one structured journal entry.
///
/// When sending fails (journald stopped reading, the entry is refused), the entry is written to standard
/// error instead, in `StreamLogHandler`'s format. A missing journal socket is not a failure to
/// libsystemd (`sd_journal_sendv` returns 0 on ENOENT), which is why ``LoggingBootstrap`` picks this
/// handler only when the socket exists or systemd connected stderr to the journal.
public struct JournalLogHandler: LogHandler {
    /// The logger's label (`CHAOS_LOGGER=`).
    public let label: String
    /// `SYSLOG_IDENTIFIER=`: what `journalctl -t` selects on, e.g. `chaos-agent`.
    public let identifier: String
    /// Handler-level metadata (`logger[metadataKey:]`).
    public var metadata: Logger.Metadata = [:]
    /// The lowest level this handler logs.
    public var logLevel: Logger.Level = .info
    /// Metadata added to every entry at log time (e.g. task-local context).
    public var metadataProvider: Logger.MetadataProvider?

    /// Sends one entry's fields; returns 0 or a negative errno (`sd_journal_sendv`'s convention).
    let sink: @Sendable ([JournalField]) -> Int32
    /// Where entries go when the sink fails.
    let fallback: StreamLogHandler

    /// A handler that sends to the system journal.
    /// - Parameters:
    ///   - label: the logger's label.
    ///   - identifier: `SYSLOG_IDENTIFIER`, `chaos-agent` by default.
    ///   - metadataProvider: the provider; swift-log's global one by default.
    public init(label: String, identifier: String = "chaos-agent",
                metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.init(label: label, identifier: identifier, metadataProvider: metadataProvider,
                  sink: JournalField.send,
                  fallback: StreamLogHandler.standardError(label: label, metadataProvider: nil))
    }

    /// A handler with its own sink and fallback, for tests.
    init(label: String, identifier: String, metadataProvider: Logger.MetadataProvider?,
         sink: @escaping @Sendable ([JournalField]) -> Int32, fallback: StreamLogHandler) {
        self.label = label
        self.identifier = identifier
        self.metadataProvider = metadataProvider
        self.sink = sink
        self.fallback = fallback
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = JournalField.merge(base: metadata, provided: metadataProvider?.get() ?? [:],
                                        explicit: event.metadata ?? [:], error: event.error)
        let fields = JournalField.entry(for: event, metadata: merged, identifier: identifier, label: label)
        guard sink(fields) < 0 else { return }
        var plain = event
        plain.metadata = merged
        plain.error = nil
        fallback.log(event: plain)
    }
}

/// One journal field, `NAME=value`, and the pure mapping from swift-log to journal fields.
public struct JournalField: Sendable, Hashable, CustomStringConvertible {
    /// The field name: `A-Z`, `0-9` and `_`, not starting with `_` or a digit, at most 64 bytes.
    public var name: String
    /// The value: any text, line breaks included.
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { name + "=" + value }

    /// The longest field name journald accepts; longer ones are dropped by journald, so they are cut.
    public static let maximumNameLength = 64

    /// The prefix of fields made from metadata, keeping them apart from journald's own fields.
    public static let metadataPrefix = "CHAOS_"

    // MARK: Entries

    /// The fields of one entry, in a fixed order: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_FILE,
    /// CODE_LINE, CODE_FUNC, CHAOS_LOGGER, CHAOS_SOURCE, then `metadata` flattened and sorted by key.
    public static func entry(for event: LogEvent, metadata: Logger.Metadata, identifier: String,
                             label: String) -> [JournalField] {
        var fields = [
            JournalField("MESSAGE", event.message.description),
            JournalField("PRIORITY", String(priority(event.level))),
            JournalField("SYSLOG_IDENTIFIER", identifier),
            JournalField("CODE_FILE", event.file),
            JournalField("CODE_LINE", String(event.line)),
            JournalField("CODE_FUNC", event.function),
            JournalField(metadataPrefix + "LOGGER", label),
            JournalField(metadataPrefix + "SOURCE", event.source),
        ]
        fields += flatten(metadata)
        return fields
    }

    /// The syslog priority of a swift-log level (`PRIORITY=`, as `journalctl -p` filters): trace and
    /// debug 7, info 6, notice 5, warning 4, error 3, critical 2.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// Merges metadata the way swift-log's `StreamLogHandler` does: the handler's, then the provider's,
    /// then the call site's, each overriding the one before; an error adds `error.message` and
    /// `error.type`.
    public static func merge(base: Logger.Metadata, provided: Logger.Metadata, explicit: Logger.Metadata,
                             error: (any Error)?) -> Logger.Metadata {
        var metadata = base
        metadata.merge(provided) { _, new in new }
        metadata.merge(explicit) { _, new in new }
        if let error {
            metadata["error.message"] = "\(error)"
            metadata["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        return metadata
    }

    /// `metadata` as journal fields, sorted by key: `fault.id` → `CHAOS_FAULT_ID`; a dictionary value
    /// adds its keys (`fault: [kind: x]` → `CHAOS_FAULT_KIND`), an array value its indices
    /// (`ports: [80, 443]` → `CHAOS_PORTS_0`, `CHAOS_PORTS_1`). Empty dictionaries and arrays add
    /// nothing. Two keys that map to the same name (`fault.id`, `faultId`) both appear: the journal
    /// keeps every value of a repeated field.
    public static func flatten(_ metadata: Logger.Metadata) -> [JournalField] {
        var fields: [JournalField] = []
        for key in metadata.keys.sorted() {
            if let value = metadata[key] { append(value, path: [key], to: &fields) }
        }
        return fields
    }

    static func append(_ value: Logger.Metadata.Value, path: [String], to fields: inout [JournalField]) {
        switch value {
        case .string(let text):
            fields.append(JournalField(fieldName(path: path), text))
        case .stringConvertible(let item):
            fields.append(JournalField(fieldName(path: path), item.description))
        case .dictionary(let dictionary):
            for key in dictionary.keys.sorted() {
                if let nested = dictionary[key] { append(nested, path: path + [key], to: &fields) }
            }
        case .array(let items):
            for (index, item) in items.enumerated() { append(item, path: path + [String(index)], to: &fields) }
        }
    }

    // MARK: Names

    /// The journal field name for a metadata key path: each key sanitised by ``sanitize(_:)``, joined
    /// with '_', after ``metadataPrefix``, cut to ``maximumNameLength``.
    public static func fieldName(path: [String]) -> String {
        let body = path.map(sanitize).filter { !$0.isEmpty }.joined(separator: "_")
        var name = metadataPrefix + (body.isEmpty ? "UNNAMED" : body)
        if name.utf8.count > maximumNameLength {
            name = String(name.prefix(maximumNameLength))   // all ASCII here: characters are bytes
            while name.hasSuffix("_") { name.removeLast() }
        }
        return name
    }

    /// One key as a name fragment: ASCII letters upper-cased, digits kept, a '_' before an upper-case
    /// letter that follows a lower-case letter or digit (`faultId` → `FAULT_ID`), every other character
    /// (`.`, `-`, space, non-ASCII) a '_'; runs of '_' collapsed, leading and trailing ones dropped.
    public static func sanitize(_ key: String) -> String {
        var out: [UInt8] = []
        var afterLowerOrDigit = false
        func underscore() {
            if let last = out.last, last != UInt8(ascii: "_") { out.append(UInt8(ascii: "_")) }
        }
        for scalar in key.unicodeScalars {
            switch scalar {
            case "a"..."z":
                out.append(UInt8(scalar.value) - 32)
                afterLowerOrDigit = true
            case "A"..."Z":
                if afterLowerOrDigit { underscore() }
                out.append(UInt8(scalar.value))
                afterLowerOrDigit = false
            case "0"..."9":
                out.append(UInt8(scalar.value))
                afterLowerOrDigit = true
            default:
                underscore()
                afterLowerOrDigit = false
            }
        }
        while out.last == UInt8(ascii: "_") { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `name` is a field name journald accepts from a client (`journal_field_valid`):
    /// 1 to 64 characters of `A-Z`, `0-9` and `_`, not starting with `_` or a digit.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= maximumNameLength,
              first != UInt8(ascii: "_"), !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }

    // MARK: Sending

    /// Sends `fields` as one entry with `sd_journal_sendv` to /run/systemd/journal/socket.
    /// - Returns: 0 on success, a negative errno otherwise (e.g. `-ECONNREFUSED` when journald is gone
    ///   but its socket file is left). libsystemd returns 0 when the socket does not exist at all.
    public static func send(_ fields: [JournalField]) -> Int32 {
        guard !fields.isEmpty else { return -EINVAL }
        var buffer: [UInt8] = []
        var ranges: [(offset: Int, length: Int)] = []
        buffer.reserveCapacity(fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 1 })
        for field in fields {
            let start = buffer.count
            buffer += field.name.utf8
            buffer.append(UInt8(ascii: "="))
            buffer += field.value.utf8
            ranges.append((start, buffer.count - start))
        }
        return buffer.withUnsafeMutableBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -EINVAL }
            let vectors = ranges.map { iovec(iov_base: base + $0.offset, iov_len: $0.length) }
            return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }
}

/// Chooses where the process logs: the journal when systemd runs it with a journal, standard error
/// otherwise.
///
/// ```swift
/// LoggingBootstrap.bootstrap(identifier: "chaos-agent")
/// ```
public enum LoggingBootstrap {
    /// Where log entries go.
    public enum Target: String, Sendable, Hashable, CaseIterable {
        /// Structured entries to journald (``JournalLogHandler``).
        case journal
        /// Lines on standard error (swift-log's `StreamLogHandler`).
        case standardError
    }

    /// What the choice depends on, gathered by ``Facts/current()``.
    public struct Facts: Sendable, Hashable {
        /// `JOURNAL_STREAM`: `device:inode` of the journal stream systemd connected stdout/stderr to.
        public var journalStream: String?
        /// `INVOCATION_ID`: set by systemd for every service it starts.
        public var invocationID: String?
        /// `NOTIFY_SOCKET`: set by systemd for `Type=notify` services.
        public var notifySocket: String?
        /// `device:inode` of file descriptor 2, `nil` when it is closed.
        public var standardErrorIdentity: String?
        /// Whether file descriptor 2 is a terminal (someone is watching).
        public var standardErrorIsTerminal: Bool
        /// Whether journald's native socket, /run/systemd/journal/socket, exists.
        public var journalSocketExists: Bool

        public init(journalStream: String? = nil, invocationID: String? = nil, notifySocket: String? = nil,
                    standardErrorIdentity: String? = nil, standardErrorIsTerminal: Bool = false,
                    journalSocketExists: Bool = false) {
            self.journalStream = journalStream
            self.invocationID = invocationID
            self.notifySocket = notifySocket
            self.standardErrorIdentity = standardErrorIdentity
            self.standardErrorIsTerminal = standardErrorIsTerminal
            self.journalSocketExists = journalSocketExists
        }

        /// The facts of this process now.
        public static func current() -> Facts {
            func variable(_ name: String) -> String? {
                getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
            }
            var status = stat()
            let identity = fstat(2, &status) == 0 ? "\(status.st_dev):\(status.st_ino)" : nil
            return Facts(journalStream: variable("JOURNAL_STREAM"), invocationID: variable("INVOCATION_ID"),
                         notifySocket: variable("NOTIFY_SOCKET"), standardErrorIdentity: identity,
                         standardErrorIsTerminal: isatty(2) == 1,
                         journalSocketExists: access(LoggingBootstrap.journalSocket, F_OK) == 0)
        }
    }

    /// journald's native protocol socket, where `sd_journal_sendv` sends.
    public static let journalSocket = "/run/systemd/journal/socket"

    /// The target for `facts`:
    /// 1. `JOURNAL_STREAM` names our stderr: systemd connected it to the journal → journal.
    /// 2. `JOURNAL_STREAM` is set but names something else: stderr was redirected (`2>file`), or the
    ///    variable was inherited from a service by an interactive shell → standard error, as asked.
    /// 3. No `JOURNAL_STREAM`, but systemd started us (`INVOCATION_ID` or `NOTIFY_SOCKET`), the journal
    ///    socket exists and stderr is no terminal (e.g. `StandardError=null`) → journal.
    /// 4. Otherwise (a shell, a container without journald) → standard error.
    public static func target(for facts: Facts) -> Target {
        if let stream = facts.journalStream {
            return sameIdentity(stream, facts.standardErrorIdentity) ? .journal : .standardError
        }
        let underSystemd = facts.invocationID != nil || facts.notifySocket != nil
        if underSystemd && facts.journalSocketExists && !facts.standardErrorIsTerminal { return .journal }
        return .standardError
    }

    /// Whether two `device:inode` texts name the same file.
    static func sameIdentity(_ a: String, _ b: String?) -> Bool {
        guard let b else { return false }
        func parse(_ text: String) -> (UInt64, UInt64)? {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
            return (device, inode)
        }
        guard let left = parse(a), let right = parse(b) else { return false }
        return left == right
    }

    /// The target for this process now.
    public static func currentTarget() -> Target { target(for: .current()) }

    /// A handler for `label` that logs to `target` (chosen from this process's facts by default).
    /// - Parameters:
    ///   - label: the logger's label.
    ///   - identifier: `SYSLOG_IDENTIFIER` of journal entries.
    ///   - target: where to log; `nil` to choose with ``currentTarget()``.
    public static func handler(label: String, identifier: String = "chaos-agent", target: Target? = nil) -> any LogHandler {
        switch target ?? currentTarget() {
        case .journal: return JournalLogHandler(label: label, identifier: identifier)
        case .standardError: return StreamLogHandler.standardError(label: label)
        }
    }

    /// Bootstraps swift-log once for the whole process (`LoggingSystem.bootstrap`), choosing the target
    /// now. Call it once, first thing in `main`.
    /// - Parameters:
    ///   - identifier: `SYSLOG_IDENTIFIER` of journal entries.
    ///   - target: where to log; `nil` to choose with ``currentTarget()``.
    ///   - logLevel: the level of every handler made.
    ///   - metadataProvider: metadata added to every entry (swift-log's global provider).
    /// - Returns: the target chosen.
    @discardableResult
    public static func bootstrap(identifier: String = "chaos-agent", target: Target? = nil,
                                 logLevel: Logger.Level = .info,
                                 metadataProvider: Logger.MetadataProvider? = nil) -> Target {
        let chosen = target ?? currentTarget()
        LoggingSystem.bootstrap({ label, provider in
            switch chosen {
            case .journal:
                var handler = JournalLogHandler(label: label, identifier: identifier, metadataProvider: provider)
                handler.logLevel = logLevel
                return handler
            case .standardError:
                var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                handler.logLevel = logLevel
                return handler
            }
        }, metadataProvider: metadataProvider)
        return chosen
    }
}
