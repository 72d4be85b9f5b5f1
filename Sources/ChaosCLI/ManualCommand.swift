import ArgumentParser
import ChaosCore
import Foundation

/// `chaos manual`: a man page (roff) written from the same help texts as `--help`, so the two never
/// disagree.
struct ManualCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manual",
        abstract: "Print chaos's man page (roff), written from the same help as --help.",
        discussion: """
        Install it, and the shell completions, with:
          chaos manual > /usr/local/share/man/man1/chaos.1
          chaos --generate-completion-script bash > /etc/bash_completion.d/chaos
          chaos --generate-completion-script zsh > "${fpath[1]}/_chaos"
        """
    )

    func run() { Console.out(Self.page()) }

    /// Every visible command, depth first, with its path.
    static func commands(_ command: any ParsableCommand.Type = ChaosCommand.self, path: [String] = ["chaos"]) -> [(path: [String], type: any ParsableCommand.Type)] {
        var out: [([String], any ParsableCommand.Type)] = [(path, command)]
        for sub in command.configuration.subcommands where sub.configuration.shouldDisplay {
            out += commands(sub, path: path + [sub._commandName])
        }
        return out
    }

    static func page() -> String {
        var lines = [
            ".TH CHAOS 1 \"\" \"chaos \(ChaosCommand.configuration.version)\" \"User Commands\"",
            ".SH NAME", "chaos \\- \(escape(ChaosCommand.configuration.abstract))",
            ".SH SYNOPSIS", ".B chaos", ".I command", "[options]",
            ".SH DESCRIPTION", ".nf", escape(ChaosCommand.configuration.discussion), ".fi",
            ".SH EXIT STATUS",
            "0 done or passed; 1 could not do what was asked, or a verdict failed; 2 inconclusive verdict; 64 usage or validation error; 70 internal error; 130 interrupted (the fault was reverted first).",
            ".SH COMMANDS",
        ]
        for (path, type) in commands().dropFirst() {
            lines += [".SS \(escape(path.joined(separator: " ")))", ".nf", escape(ChaosCommand.helpMessage(for: type, columns: 100)), ".fi"]
        }
        lines += [".SH SEE ALSO", "chaos-agent(8); docs/ in the source tree: architecture, faults, formats, operations, security."]
        return lines.joined(separator: "\n")
    }

    /// Text safe in roff: backslashes doubled, a leading dot or quote escaped.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\e").components(separatedBy: "\n").map { line in
            line.hasPrefix(".") || line.hasPrefix("'") ? "\\&" + line : line
        }.joined(separator: "\n")
    }
}
