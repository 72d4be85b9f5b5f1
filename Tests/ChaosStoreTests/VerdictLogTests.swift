import ChaosCore
import ChaosStore
import Foundation
import Testing

@Suite("VerdictLog: append-only JSONL that survives torn lines")
struct VerdictLogTests {
    @Test("lines are JSON with sorted keys, one per line, each ending with a newline")
    func format() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let log = VerdictLog(path: dir + "/verdicts.jsonl")
            #expect(try log.read() == VerdictLog.Contents(lines: [], skipped: 0))  // no file yet
            try log.append(VerdictLine(makeRun("r-1")))
            try log.append(VerdictLine(makeRun("r-2", shape: .failing)))
            let text = String(decoding: fileBytes(log.path), as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 3 && lines[2].isEmpty)
            #expect(lines[0].hasPrefix("{\"endedAt\":"))
            #expect(lines[0].contains("\"runID\":\"r-1\""))
            #expect(try log.read().lines.map(\.outcome) == [.passed, .failed])
        }
    }

    @Test("a torn last line is skipped, the next line starts clean, earlier lines are untouched")
    func tornLine() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let log = VerdictLog(path: dir + "/verdicts.jsonl")
            let lines = (1...3).map { VerdictLine(makeRun("r-\($0)")) }
            try log.append(lines[0])
            try log.append(lines[1])
            let before = fileBytes(log.path)
            try appendRaw("{\"endedAt\":17000,\"experiment\":\"web-k", to: log.path)  // a crash mid-write
            #expect(try log.read() == VerdictLog.Contents(lines: Array(lines[0...1]), skipped: 1))
            try log.append(lines[2])
            #expect(try log.read() == VerdictLog.Contents(lines: lines, skipped: 1))
            #expect(Array(fileBytes(log.path).prefix(before.count)) == before)
        }
    }

    @Test("garbage lines in the middle are counted and skipped")
    func garbage() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let log = VerdictLog(path: dir + "/verdicts.jsonl")
            let line = VerdictLine(makeRun("r-1"))
            try appendRaw("not json\n{\"runID\":\"x\"}\n\n", to: log.path.creatingFile())
            try log.append(line)
            #expect(try log.read() == VerdictLog.Contents(lines: [line], skipped: 2))
        }
    }

    @Test("a process killed mid-write leaves a torn line that the next append and read survive",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")))
    func killedWriter() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let log = VerdictLog(path: dir + "/verdicts.jsonl")
            let lines = (1...3).map { VerdictLine(makeRun("r-\($0)")) }
            try log.append(lines[0])
            try log.append(lines[1])
            let before = fileBytes(log.path)
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            child.arguments = ["-c", """
                import os, sys
                fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
                os.write(fd, b'{"endedAt":17000,"experiment":"web')
                os.fsync(fd)
                os.kill(os.getpid(), 9)
                """, log.path]
            try child.run()
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal && child.terminationStatus == 9)
            try log.append(lines[2])
            #expect(try log.read() == VerdictLog.Contents(lines: lines, skipped: 1))
            #expect(Array(fileBytes(log.path).prefix(before.count)) == before)
        }
    }
}

extension String {
    /// Creates an empty file at this path and returns the path.
    func creatingFile() -> String {
        _ = FileManager.default.createFile(atPath: self, contents: Data())
        return self
    }
}
