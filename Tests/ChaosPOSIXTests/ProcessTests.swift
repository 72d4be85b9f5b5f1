import ChaosPOSIX
import Glibc
import Testing

@Suite("Errno, Epoch, ResourceLimits, ThisProcess, POSIXPath")
struct ProcessTests {
    @Test("errno text is strerror's, and a SyscallError says what, where and why")
    func errnoText() {
        #expect(Errno.text(ENOENT) == "No such file or directory")
        #expect(Errno.text(EACCES) == "Permission denied")
        let e = SyscallError(.replace, "/etc/chaos/pki/ca.pem", code: EROFS)
        #expect(e.description == "cannot replace '/etc/chaos/pki/ca.pem': Read-only file system")
        #expect(e.reason == "Read-only file system")
        #expect(SyscallError(.open, "x", code: EMFILE).tooManyOpenFiles)
        #expect(SyscallError(.open, "x", code: ENFILE).tooManyOpenFiles)
        #expect(!SyscallError(.open, "x", code: ENOENT).tooManyOpenFiles)
        errno = EPERM
        #expect(SyscallError(.lock, "x").code == EPERM)  // errno by default
        #expect(Errno.current == EPERM)
    }

    @Test("epoch milliseconds agree with time(2)")
    func epoch() {
        // time(2) reads the coarse clock, which may lag by a tick: a second of slack either side.
        let before = Int64(time(nil)) * 1000 - 1000
        let now = Epoch.milliseconds()
        let after = Int64(time(nil)) * 1000 + 2000
        #expect(before <= now && now < after)
        #expect(Epoch.milliseconds() >= now)
    }

    @Test("the open-files limit is raised to the hard limit, once")
    func openFiles() throws {
        // Not lowered first: tests run in parallel in this process and need their descriptors.
        var limit = rlimit()
        try #require(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0)
        let raised = ResourceLimits.raiseOpenFiles()
        if limit.rlim_cur < limit.rlim_max {
            #expect(raised?.before == UInt64(limit.rlim_cur))
            #expect(raised?.after == UInt64(limit.rlim_max))
        }
        #expect(ResourceLimits.openFiles == UInt64(limit.rlim_max))
        #expect(ResourceLimits.raiseOpenFiles() == nil)  // already at the hard limit
    }

    @Test("this process: its id, its executable and the ones beside it")
    func thisProcess() {
        #expect(ThisProcess.id == getpid())
        #expect(ThisProcess.executable.hasPrefix("/"))
        #expect(POSIXFiles.isExecutable(ThisProcess.executable))
        #expect(ThisProcess.sibling("chaos-remote") == POSIXPath.directory(of: ThisProcess.executable) + "/chaos-remote")
        #expect(ThisProcess.userName() != nil)
    }

    @Test("exec of a missing executable returns why, and the process goes on")
    func execFailure() {
        let error = ThisProcess.replace(with: "/nonexistent/chaos-remote", arguments: ["version"])
        #expect(error.operation == .execute)
        #expect(error.notFound)
        #expect(error.description == "cannot start '/nonexistent/chaos-remote': No such file or directory")
    }

    @Test("paths are joined and split as the kernel reads them")
    func paths() {
        #expect(POSIXPath.join("/etc/chaos/pki", "ca.pem") == "/etc/chaos/pki/ca.pem")
        #expect(POSIXPath.join("/etc/chaos/pki/", "ca.pem") == "/etc/chaos/pki/ca.pem")
        #expect(POSIXPath.directory(of: "/etc/chaos/pki/ca.pem") == "/etc/chaos/pki")
        #expect(POSIXPath.directory(of: "/etc/chaos/pki/") == "/etc/chaos")
        #expect(POSIXPath.directory(of: "/ca.pem") == "/")
        #expect(POSIXPath.directory(of: "ca.pem") == ".")
        #expect(POSIXPath.baseName(of: "/etc/chaos/pki/ca.pem") == "ca.pem")
        #expect(POSIXPath.baseName(of: "/etc/chaos/pki/") == "pki")
    }
}
