import ChaosCore
@testable import ChaosLinux
import Foundation
import Glibc
import Logging
import Testing

/// `JournalLogHandler`'s mapping from swift-log to journal fields (pure), the handler itself with a
/// capturing sink, `LoggingBootstrap`'s choice, and, with `CHAOS_INTEGRATION=1` as root, real entries
/// sent with `sd_journal_sendv` to a standalone `systemd-journald` and read back with `journalctl`.
@Suite("JournalLogHandler")
struct JournalLogHandlerTests {
    // MARK: Field mapping

    @Test("swift-log levels map to syslog priorities", arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func priorities(level: Logger.Level, priority: Int) {
        #expect(JournalField.priority(level) == priority)
    }

    @Test("metadata keys become upper-case names of A-Z, 0-9 and _", arguments: [
        ("fault.id", "FAULT_ID"), ("faultId", "FAULT_ID"), ("runID", "RUN_ID"), ("http-status code", "HTTP_STATUS_CODE"),
        ("__x__", "X"), ("ipv6Address", "IPV6_ADDRESS"), ("HTTPStatus", "HTTPSTATUS"), ("größe", "GR_E"),
        ("9lives", "9LIVES"), ("a..b", "A_B"), ("", ""), ("...", ""), ("ALREADY_GOOD", "ALREADY_GOOD"),
    ])
    func sanitise(key: String, expected: String) {
        #expect(JournalField.sanitize(key) == expected)
    }

    @Test("field names get the CHAOS_ prefix, join nested keys with _ and stay within 64 characters")
    func fieldNames() {
        #expect(JournalField.fieldName(path: ["fault.id"]) == "CHAOS_FAULT_ID")
        #expect(JournalField.fieldName(path: ["fault", "target", "0"]) == "CHAOS_FAULT_TARGET_0")
        #expect(JournalField.fieldName(path: ["..."]) == "CHAOS_UNNAMED")
        #expect(JournalField.fieldName(path: ["9lives"]) == "CHAOS_9LIVES")
        let long = JournalField.fieldName(path: [String(repeating: "abc.", count: 30)])
        #expect(long.utf8.count <= 64)
        #expect(long.hasPrefix("CHAOS_ABC_ABC"))
        #expect(!long.hasSuffix("_"))
    }

    @Test("every name made from any key is one journald accepts")
    func namesAreValid() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("aZ09._-é ß/:@xyzXYZ_") + ["\u{1F600}", "\n"]
        var keys = ["", "_", "_PID", "__REALTIME", "1", "MESSAGE", String(repeating: "x", count: 200)]
        for _ in 0..<500 {
            let length = Int.random(in: 0...40, using: &generator)
            keys.append(String((0..<length).map { _ in alphabet.randomElement(using: &generator) ?? "a" }))
        }
        for key in keys {
            let name = JournalField.fieldName(path: [key])
            #expect(JournalField.isValidName(name), "'\(key)' became '\(name)'")
        }
    }

    @Test("journald's name rules", arguments: [
        ("MESSAGE", true), ("CHAOS_FAULT_ID", true), ("A1_", true), (String(repeating: "A", count: 64), true),
        (String(repeating: "A", count: 65), false), ("_PID", false), ("1A", false), ("a", false), ("", false),
        ("A-B", false), ("Ä", false),
    ])
    func validNames(name: String, valid: Bool) {
        #expect(JournalField.isValidName(name) == valid)
    }

    @Test("nested metadata is flattened with _, in key order; empty containers add nothing")
    func flatten() {
        let metadata: Logger.Metadata = [
            "run.id": "r-7",
            "fault": ["kind": "network.delay", "targets": ["db1", "db2"], "params": ["ms": .stringConvertible(250)]],
            "empty": [:],
            "none": [],
            "attempt": .stringConvertible(3),
        ]
        #expect(JournalField.flatten(metadata) == [
            JournalField("CHAOS_ATTEMPT", "3"),
            JournalField("CHAOS_FAULT_KIND", "network.delay"),
            JournalField("CHAOS_FAULT_PARAMS_MS", "250"),
            JournalField("CHAOS_FAULT_TARGETS_0", "db1"),
            JournalField("CHAOS_FAULT_TARGETS_1", "db2"),
            JournalField("CHAOS_RUN_ID", "r-7"),
        ])
    }

    @Test("an entry has MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_*, the logger, then metadata")
    func entry() {
        let event = LogEvent(level: .warning, message: "lease ran out\nreverting", metadata: nil, source: "ChaosAgent",
                             file: "ChaosAgent/Leases.swift", function: "expire(_:)", line: 42)
        let fields = JournalField.entry(for: event, metadata: ["fault.id": "f-1"], identifier: "chaos-agent", label: "chaos.lease")
        #expect(fields == [
            JournalField("MESSAGE", "lease ran out\nreverting"),
            JournalField("PRIORITY", "4"),
            JournalField("SYSLOG_IDENTIFIER", "chaos-agent"),
            JournalField("CODE_FILE", "ChaosAgent/Leases.swift"),
            JournalField("CODE_LINE", "42"),
            JournalField("CODE_FUNC", "expire(_:)"),
            JournalField("CHAOS_LOGGER", "chaos.lease"),
            JournalField("CHAOS_SOURCE", "ChaosAgent"),
            JournalField("CHAOS_FAULT_ID", "f-1"),
        ])
        #expect(fields.allSatisfy { JournalField.isValidName($0.name) })
    }

    @Test("metadata merges as StreamLogHandler merges it: handler, provider, call site; an error adds two keys")
    func merge() {
        struct Broken: Error, CustomStringConvertible { var description: String { "disk gone" } }
        let merged = JournalField.merge(base: ["a": "base", "b": "base", "c": "base"], provided: ["b": "provider", "c": "provider"],
                                        explicit: ["c": "call"], error: Broken())
        #expect(merged["a"] == "base")
        #expect(merged["b"] == "provider")
        #expect(merged["c"] == "call")
        #expect(merged["error.message"] == "disk gone")
        #expect(merged["error.type"]?.description.hasSuffix("Broken") == true)
    }

    // MARK: The handler

    @Test("a Logger over the handler sends one entry per call, with levels and metadata applied")
    func handlerSends() throws {
        let sink = CapturedEntries()
        let provider = Logger.MetadataProvider { ["task": "t-1"] }
        var handler = JournalLogHandler(label: "chaos.test", identifier: "chaos-test", metadataProvider: provider,
                                        sink: { sink.append($0); return 0 },
                                        fallback: StreamLogHandler(label: "chaos.test", stream: CapturedStream(), metadataProvider: nil))
        handler.logLevel = .info
        let configured = handler
        var logger = Logger(label: "chaos.test") { _ in configured }
        logger[metadataKey: "host"] = "db1"

        logger.debug("not sent")
        logger.info("injected", metadata: ["fault.id": "f-9"])
        logger.critical("revert failed")

        let entries = sink.entries
        try #require(entries.count == 2)
        let first = Dictionary(entries[0].map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(first["MESSAGE"] == "injected")
        #expect(first["PRIORITY"] == "6")
        #expect(first["SYSLOG_IDENTIFIER"] == "chaos-test")
        #expect(first["CHAOS_HOST"] == "db1")
        #expect(first["CHAOS_TASK"] == "t-1")
        #expect(first["CHAOS_FAULT_ID"] == "f-9")
        #expect(first["CODE_FILE"]?.hasSuffix("JournalLogHandlerTests.swift") == true)
        #expect(first["CODE_FUNC"] == "handlerSends()")
        #expect(entries[1].first == JournalField("MESSAGE", "revert failed"))
        #expect(entries[1].contains(JournalField("PRIORITY", "2")))
    }

    @Test("when journald cannot be reached the entry goes to the fallback stream, metadata included")
    func handlerFallsBack() {
        let stream = CapturedStream()
        let handler = JournalLogHandler(label: "chaos.test", identifier: "chaos-test", metadataProvider: nil,
                                        sink: { _ in -ENOENT },
                                        fallback: StreamLogHandler(label: "chaos.test", stream: stream, metadataProvider: nil))
        let logger = Logger(label: "chaos.test") { _ in handler }
        logger.error("lease expired", metadata: ["fault.id": "f-3"])
        let text = stream.text
        #expect(text.contains("error chaos.test: fault.id=f-3"))
        #expect(text.contains("lease expired"))
    }

    @Test("sd_journal_sendv itself: an empty entry is refused; a missing journal socket is not an error to libsystemd")
    func realSendWithoutJournald() {
        #expect(JournalField.send([]) == -EINVAL)
        if access(LoggingBootstrap.journalSocket, F_OK) != 0 {
            // libsystemd "fails silently if the journal is not available" (ENOENT counts as sent), which
            // is why LoggingBootstrap picks the journal only when the socket exists.
            #expect(JournalField.send([JournalField("MESSAGE", "nobody listens")]) == 0)
        }
    }

    // MARK: Choosing a target

    @Test("the journal only when systemd gave us one", arguments: [
        // JOURNAL_STREAM names our stderr: systemd connected it to the journal.
        (LoggingBootstrap.Facts(journalStream: "8:1234", standardErrorIdentity: "8:1234"), LoggingBootstrap.Target.journal),
        // JOURNAL_STREAM inherited, stderr redirected elsewhere (or an interactive shell).
        (.init(journalStream: "8:1234", invocationID: "abc", standardErrorIdentity: "8:999", journalSocketExists: true), .standardError),
        (.init(journalStream: "garbage", standardErrorIdentity: "8:1234"), .standardError),
        (.init(journalStream: "8:1234", standardErrorIdentity: nil), .standardError),
        // A service with stderr not on the journal (StandardError=null), journald present.
        (.init(invocationID: "abc", journalSocketExists: true), .journal),
        (.init(notifySocket: "/run/systemd/notify", journalSocketExists: true), .journal),
        // A service on a host without journald.
        (.init(invocationID: "abc", journalSocketExists: false), .standardError),
        // A service whose stderr is a terminal (StandardError=tty): someone reads it.
        (.init(invocationID: "abc", standardErrorIsTerminal: true, journalSocketExists: true), .standardError),
        // A shell on a systemd host.
        (.init(standardErrorIsTerminal: true, journalSocketExists: true), .standardError),
        (.init(journalSocketExists: true), .standardError),
        (.init(), .standardError),
    ])
    func target(facts: LoggingBootstrap.Facts, expected: LoggingBootstrap.Target) {
        #expect(LoggingBootstrap.target(for: facts) == expected)
    }

    @Test("this process's facts describe its stderr, and the handler matches the target asked for")
    func currentFactsAndHandlers() {
        let facts = LoggingBootstrap.Facts.current()
        var status = stat()
        if fstat(2, &status) == 0 {
            #expect(facts.standardErrorIdentity == "\(status.st_dev):\(status.st_ino)")
        }
        #expect(LoggingBootstrap.handler(label: "x", target: .journal) is JournalLogHandler)
        #expect(LoggingBootstrap.handler(label: "x", target: .standardError) is StreamLogHandler)
    }

    // MARK: A real journald

    /// `systemd-journald` started in a private mount namespace (`unshare --mount`) by a child process:
    /// this test binary again, running only ``JournalChildEntry``. The child mounts a tmpfs on /run there
    /// (so journald's sockets and its volatile journal exist only in that namespace), starts journald
    /// with `Storage=volatile`, `ReadKMsg=no`, `Audit=no` and no forwarding, logs through
    /// ``JournalLogHandler`` (so `sd_journal_sendv` reaches that journald), waits until `journalctl`
    /// sees the entries, stops journald and copies the journal files out. This test then reads them
    /// with `journalctl --directory -o json`.
    @Test("entries sent with sd_journal_sendv come back from journalctl with every field",
          .integration, .enabled(if: JournalTestChild.toolsPresent, "needs systemd-journald, journalctl and unshare"))
    func realJournald() throws {
        var template = Array("/tmp/chaos-journal-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw NotifyReceiver.Failure("mkdtemp failed") }
        let directory = String(cString: created)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let nonce = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let child = try JournalTestChild.start(directory: directory, nonce: nonce)
        let status = child.wait(timeout: .seconds(90))
        let journaldLog = (try? String(contentsOfFile: directory + "/journald.log", encoding: .utf8)) ?? ""
        try #require(status == 0, "the child failed: \(child.output)\njournald: \(journaldLog)")

        let machines = try FileManager.default.contentsOfDirectory(atPath: directory + "/journal")
        let machine = try #require(machines.first, "no journal directory was copied out")
        let entries = try JournalTestChild.read(directory: directory + "/journal/" + machine, nonce: nonce)
        try #require(entries.count == 3, "entries: \(entries)")

        let info = entries[0], error = entries[1], debug = entries[2]
        #expect(info["MESSAGE"] == "fault injected")
        #expect(info["PRIORITY"] == "6")
        #expect(info["SYSLOG_IDENTIFIER"] == "chaos-journal-test")
        #expect(info["CHAOS_FAULT_ID"] == "f-42")
        #expect(info["CHAOS_FAULT_KIND"] == "process.kill")
        #expect(info["CHAOS_FAULT_TARGETS_0"] == "db1")
        #expect(info["CHAOS_FAULT_TARGETS_1"] == "db2")
        #expect(info["CHAOS_RUN_ID"] == "7")
        #expect(info["CHAOS_LOGGER"] == "chaos.journal.test")
        #expect(info["CODE_FILE"]?.hasSuffix("JournalLogHandlerTests.swift") == true)
        #expect(info["CODE_FUNC"] == "journaldChildEntryPoint()")
        #expect(info["CODE_LINE"].flatMap { Int($0) } != nil)
        // Trusted fields journald adds itself: the entry came over the native socket from the child.
        #expect(info["_TRANSPORT"] == "journal")
        #expect(info["_PID"] == String(child.pid))

        #expect(error["MESSAGE"] == "revert failed\nsecond line")
        #expect(error["PRIORITY"] == "3")
        #expect(error["CHAOS_DETAIL"] == "multi\nline value with = and \u{00e9}")
        #expect(error["CHAOS_ERROR_MESSAGE"] == "tc exited 2")

        #expect(debug["PRIORITY"] == "7")
        let long = JournalField.fieldName(path: [String(repeating: "very.long.key.", count: 8)])
        #expect(long.utf8.count <= 64 && long.utf8.count > 60)
        #expect(debug[long] == "kept under a cut name")
    }

    /// What the child process runs; skipped unless `CHAOS_JOURNAL_TEST_DIR` is set.
    @Suite("journald child entry point (runs only in a child process)")
    struct JournalChildEntry {
        @Test("journaldChildEntryPoint", .enabled(if: JournalTestChild.directory != nil, "runs only as a child process"))
        func journaldChildEntryPoint() throws {
            let directory = try #require(JournalTestChild.directory)
            let nonce = try #require(getenv("CHAOS_JOURNAL_TEST_NONCE").map { String(cString: $0) })
            // Never touch the host's /run: only go on in a mount namespace other than the parent test's.
            let ours = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
            let parents = try #require(getenv("CHAOS_JOURNAL_TEST_PARENT_MNT").map { String(cString: $0) })
            try #require(ours != parents, "not in a private mount namespace; refusing to mount on /run")

            try JournalTestChild.run(["/bin/mount", "-t", "tmpfs", "-o", "mode=0755,size=64m", "chaos-journal-test", "/run"])
            try FileManager.default.createDirectory(atPath: "/run/systemd/journald.conf.d", withIntermediateDirectories: true)
            try """
                [Journal]
                Storage=volatile
                ReadKMsg=no
                Audit=no
                ForwardToSyslog=no
                ForwardToKMsg=no
                ForwardToConsole=no
                ForwardToWall=no
                RuntimeMaxUse=16M
                """.write(toFile: "/run/systemd/journald.conf.d/chaos-test.conf", atomically: true, encoding: .utf8)

            let journald = Process()
            journald.executableURL = URL(fileURLWithPath: JournalTestChild.journald)
            var environment = ProcessInfo.processInfo.environment
            environment["SYSTEMD_LOG_TARGET"] = "console"
            environment["CHAOS_JOURNAL_TEST_DIR"] = nil
            journald.environment = environment
            _ = FileManager.default.createFile(atPath: directory + "/journald.log", contents: nil)
            let log = FileHandle(forWritingAtPath: directory + "/journald.log")
            journald.standardOutput = log
            journald.standardError = log
            try journald.run()
            defer {
                if journald.isRunning {
                    journald.terminate()
                    journald.waitUntilExit()
                }
            }
            let up = SystemdManagerTests.Poll.until(.seconds(10)) { access(LoggingBootstrap.journalSocket, F_OK) == 0 }
            try #require(up, "journald did not create \(LoggingBootstrap.journalSocket)")

            var handler = JournalLogHandler(label: "chaos.journal.test", identifier: "chaos-journal-test")
            handler.logLevel = .trace
            let configured = handler
            var logger = Logger(label: "chaos.journal.test") { _ in configured }
            logger[metadataKey: "test.nonce"] = .string(nonce)
            logger.info("fault injected", metadata: [
                "fault.id": "f-42", "fault": ["kind": "process.kill", "targets": ["db1", "db2"]], "run.id": .stringConvertible(7),
            ])
            struct TCFailed: Error, CustomStringConvertible { var description: String { "tc exited 2" } }
            logger.error("revert failed\nsecond line", metadata: [
                "detail": "multi\nline value with = and \u{00e9}",
                "error.message": .string(String(describing: TCFailed())),
            ])
            logger.debug("long key", metadata: [String(repeating: "very.long.key.", count: 8): "kept under a cut name"])

            // journald reads datagrams asynchronously: wait until all three are in its files.
            let seen = try SystemdManagerTests.Poll.value(.seconds(10)) { () throws -> Int? in
                let count = try JournalTestChild.read(directory: "/run/log/journal", nonce: nonce).count
                return count >= 3 ? count : nil
            }
            #expect(seen == 3)

            journald.terminate()
            journald.waitUntilExit()
            try FileManager.default.copyItem(atPath: "/run/log/journal", toPath: directory + "/journal")
        }
    }
}

// MARK: - Helpers

/// Entries captured by a test sink.
final class CapturedEntries: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [[JournalField]] = []
    func append(_ entry: [JournalField]) { lock.withLock { items.append(entry) } }
    var entries: [[JournalField]] { lock.withLock { items } }
}

/// A TextOutputStream that keeps what is written, for StreamLogHandler.
final class CapturedStream: TextOutputStream, @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""
    func write(_ string: String) { lock.withLock { buffer += string } }
    var text: String { lock.withLock { buffer } }
}

/// The child process of ``JournalLogHandlerTests/realJournald()``: this test binary under
/// `unshare --mount --propagation private`, running only `journaldChildEntryPoint`.
enum JournalTestChild {
    static let journald = "/lib/systemd/systemd-journald"

    /// The directory shared with the parent, set only in the child.
    static let directory: String? = getenv("CHAOS_JOURNAL_TEST_DIR").map { String(cString: $0) }

    static var toolsPresent: Bool {
        access(journald, X_OK) == 0 && access("/usr/bin/journalctl", X_OK) == 0
            && access("/usr/bin/unshare", X_OK) == 0 && access("/bin/mount", X_OK) == 0
    }

    static func start(directory: String, nonce: String) throws -> NotifyTestChild.Child {
        var environment = ProcessInfo.processInfo.environment
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "INVOCATION_ID", "JOURNAL_STREAM", "CHAOS_NOTIFY_TEST_CHILD"] {
            environment[name] = nil
        }
        environment["CHAOS_JOURNAL_TEST_DIR"] = directory
        environment["CHAOS_JOURNAL_TEST_NONCE"] = nonce
        environment["CHAOS_JOURNAL_TEST_PARENT_MNT"] = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
        let outputPath = directory + "/child.log"
        guard FileManager.default.createFile(atPath: outputPath, contents: nil),
              let output = FileHandle(forWritingAtPath: outputPath) else {
            throw NotifyReceiver.Failure("cannot create '\(outputPath)'")
        }
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        // unshare execs the test binary: the child's pid is the one journald records as _PID.
        process.arguments = ["--mount", "--propagation", "private", "--", NotifyTestChild.executable,
                             "--testing-library", "swift-testing", "--filter", "journaldChildEntryPoint"]
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return NotifyTestChild.Child(process: process, outputPath: outputPath)
    }

    /// Runs a command (argv) and throws unless it exits 0.
    static func run(_ argv: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NotifyReceiver.Failure("\(argv) exited \(process.terminationStatus): \(String(decoding: err, as: UTF8.self))")
        }
    }

    /// The entries of the test (`CHAOS_TEST_NONCE=nonce`) in the journal files under `directory`,
    /// oldest first, each as field → value (byte-array values decoded as UTF-8).
    static func read(directory: String, nonce: String) throws -> [[String: String]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/journalctl")
        process.arguments = ["--directory", directory, "--output", "json", "--all", "--no-pager", "CHAOS_TEST_NONCE=" + nonce]
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        _ = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var entries: [[String: String]] = []
        for line in out.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { continue }
            var entry: [String: String] = [:]
            for (key, value) in object {
                if let text = value as? String {
                    entry[key] = text
                } else if let bytes = value as? [Int] {
                    entry[key] = String(decoding: bytes.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
                }
            }
            entries.append(entry)
        }
        return entries
    }
}
