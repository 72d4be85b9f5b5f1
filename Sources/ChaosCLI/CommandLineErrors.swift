import ArgumentParser
import ChaosCore
import Foundation

/// What `chaos` says when its command line is wrong, beyond ArgumentParser's message: the closest
/// subcommand for a mistyped one, the fix for a duration without a unit, and with `--output json` /
/// `-o json` the error as JSON on stdout (as every other error of a command in that mode).
enum CommandLineErrors {
    /// The improved message for `error` raised while parsing or running `args`, or `nil` to leave it
    /// to ArgumentParser (help, version, a clean exit code).
    static func message(for error: any Error, args: [String]) -> String? {
        if error is ExitCode || error is CleanExit || ChaosCommand.exitCode(for: error) == .success { return nil }
        var message = ChaosCommand.message(for: error)
        if message.isEmpty { return nil }
        if let hint = subcommandHint(args) { message = hint }
        if let hint = durationHint(message) { message += ": " + hint }
        return message
    }

    /// "unknown command 'kil' for 'chaos'; did you mean 'kill'?" when a word where a subcommand belongs
    /// names none.
    static func subcommandHint(_ args: [String]) -> String? {
        var command: any ParsableCommand.Type = ChaosCommand.self
        var path = ["chaos"]
        for arg in args {
            let subs = command.configuration.subcommands
            guard !subs.isEmpty else { return nil }
            if arg.hasPrefix("-") { return nil }
            if let next = subs.first(where: { $0._commandName == arg }) {
                command = next
                path.append(arg)
                continue
            }
            let names = subs.map { $0._commandName }.filter { !$0.hasPrefix("_") }
            let close = Spelling.closest(to: arg, in: names).map { " Did you mean '\($0)'?" } ?? ""
            return "Unknown command '\(arg)' for '\(path.joined(separator: " "))'.\(close) Commands: \(names.joined(separator: ", "))."
        }
        return nil
    }

    /// For ArgumentParser's "The value '30' is invalid for '--for <duration>'": what is wrong with it.
    static func durationHint(_ message: String) -> String? {
        guard message.contains("<duration>"), let start = message.range(of: "The value '"),
              let end = message.range(of: "'", range: start.upperBound..<message.endIndex) else { return nil }
        let value = String(message[start.upperBound..<end.lowerBound])
        do { _ = try ChaosDuration.parse(value) } catch {
            if case .missingUnit = error, let n = Double(value.trimmingWhitespace()) {
                return "it \(error.description.dropFirst(value.count + 3)); did you mean '\(NumberText.format(n))s'?"
            }
            return "it \(error.description.dropFirst(value.count + 3)); \(error.hint)."
        }
        return nil
    }

    /// Whether the command line asks for JSON output.
    static func wantsJSON(_ args: [String]) -> Bool {
        for (i, a) in args.enumerated() {
            if a == "--output=json" || a == "-ojson" { return true }
            if (a == "--output" || a == "-o"), i + 1 < args.count, args[i + 1] == "json" { return true }
        }
        return false
    }

    /// Prints the error the way the command line asked and exits with ArgumentParser's code (64 for
    /// usage errors).
    static func exit(_ error: any Error, args: [String]) -> Never {
        guard let message = message(for: error, args: args) else { ChaosCommand.exit(withError: error) }
        let code = ChaosCommand.exitCode(for: error).rawValue
        if wantsJSON(args) {
            struct Wrapper: Encodable { var error: Body; struct Body: Encodable { var code: String; var message: String; var exit: Int32 } }
            Console.json(Wrapper(error: .init(code: "usage", message: message, exit: code)))
        } else {
            let usage = ChaosCommand.fullMessage(for: error).components(separatedBy: "\n").filter { $0.hasPrefix("Usage:") || $0.hasPrefix("  See '") }
            Console.err((["Error: " + message] + usage).joined(separator: "\n"))
        }
        Foundation.exit(code)
    }
}
