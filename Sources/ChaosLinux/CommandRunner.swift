import ChaosCore
import Glibc
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs argv arrays (never a shell line) with a timeout, in their own session so that a timeout ends
/// the command and every process it started (SIGTERM to the group, SIGKILL 500 ms later).
public enum CommandRunner {
    /// Runs `argv` for at most `timeout`.
    /// - Throws: `command.notFound` when the executable cannot be started.
    public static func run(_ argv: [String], input: String? = nil, timeout: Duration) async throws(ChaosError) -> CommandResult {
        guard let program = argv.first, !program.isEmpty else {
            throw .usage("command.empty", "The command is empty. Give the program and its arguments as a list, e.g. ['redis-cli', 'ping'].")
        }
        do {
            return try await withThrowingTaskGroup(of: CommandResult?.self) { group in
                group.addTask {
                    var options = PlatformOptions()
                    options.createSession = true
                    options.teardownSequence = [.send(signal: .terminate, toProcessGroup: true, allowedDurationToNextStep: .milliseconds(500))]
                    // Resolve the program here: letting the child search PATH costs a failed exec per entry.
                    let executable: Executable = .path(FilePath(program.contains("/") ? program : (ExecutableSearch.find(program) ?? program)))
                    let r = try await Subprocess.run(executable, arguments: Arguments(Array(argv.dropFirst())), platformOptions: options,
                                                     input: .string(input ?? ""), output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
                    let status: Int32
                    switch r.terminationStatus {
                    case .exited(let code): status = Int32(code)
                    case .signaled(let sig): status = 128 + Int32(sig)
                    }
                    let err = r.standardError ?? ""
                    return CommandResult(argv: argv, status: status, stdout: r.standardOutput ?? "", stderrTail: String(err.suffix(2000)))
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first ?? CommandResult(argv: argv, status: nil, stdout: "", stderrTail: "")
            }
        } catch {
            throw ChaosError("command.failed", "Could not run '\(argv.joined(separator: " "))': \(error). Check that '\(program)' is installed and on PATH.")
        }
    }
}

/// Finds a program on PATH (or the usual sbin directories, which a non-login root shell may lack).
enum ExecutableSearch {
    static func find(_ name: String) -> String? {
        let path = (getenv("PATH").map { String(cString: $0) } ?? "") + ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
