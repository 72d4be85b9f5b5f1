import ChaosPOSIX
import Dispatch
import Glibc
import Synchronization
import Testing

/// A fresh directory under /tmp, removed after `body`.
func withScratch<T>(_ body: (String) throws -> T) throws -> T {
    var template = Array("/tmp/chaos-posix-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { removeTree(dir) }
    return try body(dir)
}

func removeTree(_ path: String) {
    if POSIXFiles.isDirectory(path), POSIXFiles.readLink(path) == nil {
        for name in POSIXFiles.list(path) { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// The permission bits of `path` (following links).
func modeBits(_ path: String) -> mode_t? {
    var info = Glibc.stat()
    return stat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
}

func text(_ path: String) throws -> String { String(decoding: try POSIXFiles.read(path), as: UTF8.self) }

/// The process's umask, read without changing it (tests run in parallel in one process, and some
/// set it for a moment: these never do).
func currentUmask() -> mode_t {
    let line = POSIXFiles.readText("/proc/self/status")?.split(separator: "\n").first { $0.hasPrefix("Umask:") }
    return line.flatMap { mode_t($0.dropFirst("Umask:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" }), radix: 8) } ?? 0o022
}

@Suite("POSIXFiles: durable writes, locked appends, mkdir -p, reads", .serialized)
struct POSIXFilesTests {
    @Test("a durable write leaves only the file, with exactly the mode asked, whatever the umask")
    func durableWrite() throws {
        try withScratch { dir in
            // 0666 and 0777 are what the umask (022 or 077, never 0) would cut: exact, they prove it did not apply.
            try POSIXFiles.writeDurably(Array("one\n".utf8), to: dir + "/f", mode: 0o666)
            #expect(modeBits(dir + "/f") == 0o666)
            try POSIXFiles.writeDurably(Array("two\n".utf8), to: dir + "/f", mode: 0o600)
            #expect(modeBits(dir + "/f") == 0o600)
            try POSIXFiles.writeDurably(Array("three\n".utf8), to: dir + "/g", mode: 0o777)
            #expect(modeBits(dir + "/g") == 0o777)
            #expect(try text(dir + "/f") == "two\n")
            #expect(POSIXFiles.list(dir).sorted() == ["f", "g"])
        }
    }

    @Test("without replacing, an existing file is untouched and nothing is left behind")
    func createOnly() throws {
        try withScratch { dir in
            try POSIXFiles.writeDurably(Array("first".utf8), to: dir + "/k", mode: 0o600, replacing: false)
            let error = #expect(throws: SyscallError.self) {
                try POSIXFiles.writeDurably(Array("second".utf8), to: dir + "/k", mode: 0o600, replacing: false)
            }
            #expect(error?.operation == .link)
            #expect(error?.alreadyExists == true)
            #expect(error?.path == dir + "/k")
            #expect(try text(dir + "/k") == "first")
            #expect(POSIXFiles.list(dir) == ["k"])
        }
    }

    @Test("a durable write into a missing directory fails naming the temporary file, and leaves nothing")
    func missingDirectory() throws {
        try withScratch { dir in
            let error = #expect(throws: SyscallError.self) {
                try POSIXFiles.writeDurably(Array("x".utf8), to: dir + "/absent/f", mode: 0o600)
            }
            #expect(error?.operation == .createTemporary)
            #expect(error?.notFound == true)
            #expect(error?.path.hasPrefix(dir + "/absent/.f.tmp-") == true)
            #expect(POSIXFiles.list(dir).isEmpty)
        }
    }

    @Test("a durable write replaces a symbolic link, never the file it points to")
    func replacesLink() throws {
        try withScratch { dir in
            try POSIXFiles.writeDurably(Array("target".utf8), to: dir + "/target", mode: 0o600)
            symlink(dir + "/target", dir + "/link")
            try POSIXFiles.writeDurably(Array("new".utf8), to: dir + "/link", mode: 0o600)
            #expect(POSIXFiles.readLink(dir + "/link") == nil)
            #expect(try text(dir + "/link") == "new")
            #expect(try text(dir + "/target") == "target")
        }
    }

    @Test("appends from many threads, each with its own descriptor as a process has, never interleave")
    func appendsDoNotInterleave() throws {
        try withScratch { dir in
            let path = dir + "/log"
            let writers = 8, lines = 40
            let failures = Mutex<[SyscallError]>([])
            // Long lines: an interleaved write would show as a line of mixed letters or of the wrong length.
            DispatchQueue.concurrentPerform(iterations: writers) { w in
                let line = [UInt8](repeating: UInt8(ascii: "a") + UInt8(w), count: 64 * 1024) + [0x0A]
                for _ in 0..<lines {
                    do throws(SyscallError) { try POSIXFiles.appendLocked(line, to: path, mode: 0o644) } catch { failures.withLock { $0.append(error) } }
                }
            }
            #expect(failures.withLock { $0 } == [])
            let split = try POSIXFiles.read(path).split(separator: 0x0A, omittingEmptySubsequences: false)
            #expect(split.count == writers * lines + 1 && split.last?.isEmpty == true)
            #expect(split.dropLast().allSatisfy { $0.count == 64 * 1024 && Set($0).count == 1 })
            for w in 0..<writers {
                #expect(split.filter { $0.first == UInt8(ascii: "a") + UInt8(w) }.count == lines)
            }
        }
    }

    @Test("an append waits for a lock held by another process (flock(1)), then writes whole")
    func appendWaitsForOtherProcess() throws {
        try withScratch { dir in
            let path = dir + "/log"
            try POSIXFiles.appendLocked(Array("first\n".utf8), to: path, mode: 0o644)
            var pid: pid_t = 0
            let words: [String] = ["/usr/bin/flock", "-x", path, "/bin/sleep", "1.5"]
            let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
            defer { for p in argv { free(p) } }
            guard posix_spawn(&pid, words[0], nil, nil, argv, environ) == 0 else { return }  // no flock(1): nothing to test against
            let lock = try POSIXFiles.LockFile(path: path)
            defer { lock.close() }
            var held = false
            for _ in 0..<600 {  // wait until the other process holds it
                if try lock.tryLock() { lock.unlock(); usleep(5_000) } else { held = true; break }
            }
            #expect(held)
            let start = Epoch.milliseconds()
            try POSIXFiles.appendLocked(Array("second\n".utf8), to: path, mode: 0o644)
            #expect(Epoch.milliseconds() - start >= 100)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            #expect(try text(path) == "first\nsecond\n")
        }
    }

    @Test("an append after a torn last line starts on a new line when asked")
    func tornLine() throws {
        try withScratch { dir in
            let path = dir + "/log"
            try POSIXFiles.appendLocked(Array("whole\ntor".utf8), to: path, mode: 0o644)
            try POSIXFiles.appendLocked(Array("next\n".utf8), to: path, mode: 0o644, startOnNewLine: true)
            try POSIXFiles.appendLocked(Array("last\n".utf8), to: path, mode: 0o644, startOnNewLine: true)
            #expect(try text(path) == "whole\ntor\nnext\nlast\n")
        }
    }

    @Test("mkdir -p makes missing parents with their mode, leaves an existing path, names a file in the way")
    func makeDirectories() throws {
        try withScratch { dir in
            try POSIXFiles.makeDirectories(dir + "/a/b/c", mode: 0o700, parentMode: 0o755)
            let mask = currentUmask()  // mkdir's modes are less the umask, as `mkdir -p -m` does
            #expect(modeBits(dir + "/a") == 0o755 & ~mask)
            #expect(modeBits(dir + "/a/b") == 0o755 & ~mask)
            #expect(modeBits(dir + "/a/b/c") == 0o700 & ~mask)
            try POSIXFiles.makeDirectories(dir + "/a/b/c", mode: 0o700)  // exists: nothing to do
            try POSIXFiles.makeDirectories(dir + "/a/b/c/", mode: 0o700)
            try POSIXFiles.makeDirectories(dir + "/a/b", mode: 0o700)
            #expect(modeBits(dir + "/a/b") == 0o755 & ~mask)  // left as it was
            symlink(dir + "/a", dir + "/to-a")
            try POSIXFiles.makeDirectories(dir + "/to-a/b/d", mode: 0o700)  // through a link to a directory
            #expect(POSIXFiles.isDirectory(dir + "/a/b/d"))

            try POSIXFiles.writeDurably(Array("x".utf8), to: dir + "/file", mode: 0o600)
            let inTheWay = #expect(throws: SyscallError.self) { try POSIXFiles.makeDirectories(dir + "/file/sub", mode: 0o700) }
            #expect(inTheWay?.notADirectory == true)
            #expect(inTheWay?.path == dir + "/file")
            #expect(inTheWay?.operation == .makeDirectory)
            let itself = #expect(throws: SyscallError.self) { try POSIXFiles.makeDirectories(dir + "/file", mode: 0o700) }
            #expect(itself?.notADirectory == true)
        }
    }

    @Test("mkdir -p of a relative path (without chdir: tests share the process's working directory)")
    func relativeDirectories() throws {
        try withScratch { dir in
            var buffer = [CChar](repeating: 0, count: 4096)
            let cwd = String(cString: getcwd(&buffer, buffer.count))
            let up = String(repeating: "../", count: cwd.split(separator: "/").count)
            let relative = up + dir.dropFirst() + "/x/y"  // e.g. ../../tmp/chaos-posix-…/x/y
            try POSIXFiles.makeDirectories(relative, mode: 0o755)
            #expect(POSIXFiles.isDirectory(dir + "/x/y"))
            let long = relative + "/z/" + String(repeating: "n", count: 300)
            let error = #expect(throws: SyscallError.self) { try POSIXFiles.makeDirectories(long, mode: 0o755) }
            #expect(error?.path == long)
            #expect(POSIXFiles.isDirectory(dir + "/x/y/z"))
        }
    }

    @Test("reads: whole files, a limit, and a missing file that says so")
    func reads() throws {
        try withScratch { dir in
            let big = [UInt8](repeating: 7, count: 200_000)
            try POSIXFiles.writeDurably(big, to: dir + "/big", mode: 0o600)
            #expect(try POSIXFiles.read(dir + "/big") == big)
            #expect(try POSIXFiles.read(dir + "/big", limit: 10) == [UInt8](repeating: 7, count: 10))
            #expect(try POSIXFiles.read(dir + "/big", limit: 100_001).count == 100_001)
            let missing = #expect(throws: SyscallError.self) { try POSIXFiles.read(dir + "/none") }
            #expect(missing?.notFound == true && missing?.operation == .open)
            #expect(POSIXFiles.readText(dir + "/none") == nil)
            #expect(POSIXFiles.readText("/proc/self/stat")?.hasPrefix("\(ThisProcess.id) (") == true)
        }
    }

    @Test("existence, directories, executables and readability")
    func inspection() throws {
        try withScratch { dir in
            symlink(dir + "/nowhere", dir + "/dangling")
            #expect(POSIXFiles.exists(dir + "/dangling"))
            #expect(!POSIXFiles.isDirectory(dir + "/dangling"))
            #expect(!POSIXFiles.exists(dir + "/nowhere"))
            #expect(POSIXFiles.isExecutable("/bin/sh"))
            #expect(!POSIXFiles.isExecutable("/bin"))
            try POSIXFiles.writeDurably(Array("#!/bin/sh\n".utf8), to: dir + "/script", mode: 0o644)
            #expect(!POSIXFiles.isExecutable(dir + "/script"))
            chmod(dir + "/script", 0o755)
            #expect(POSIXFiles.isExecutable(dir + "/script"))
            try POSIXFiles.checkReadable(dir + "/script")
            let missing = #expect(throws: SyscallError.self) { try POSIXFiles.checkReadable(dir + "/none") }
            #expect(missing?.notFound == true)
            #expect(POSIXFiles.remove(dir + "/script"))
            #expect(!POSIXFiles.remove(dir + "/script"))
        }
    }

    @Test("a lock file: one holder at a time across descriptors, free again after unlock or close")
    func lockFile() throws {
        try withScratch { dir in
            let a = try POSIXFiles.LockFile(path: dir + "/.lock")
            let b = try POSIXFiles.LockFile(path: dir + "/.lock")
            defer { b.close() }
            #expect(try a.tryLock())
            #expect(try !b.tryLock())
            a.unlock()
            #expect(try b.tryLock())
            b.unlock()
            #expect(try a.tryLock())
            a.close()
            #expect(try b.tryLock())
            let error = #expect(throws: SyscallError.self) { try POSIXFiles.LockFile(path: dir + "/none/.lock") }
            #expect(error?.operation == .open)
        }
    }
}
