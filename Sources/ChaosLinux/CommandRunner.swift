import ChaosCore
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
                    let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
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
