import ArgumentParser
import ChaosCore
import Foundation

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema of a file kind (experiment, inventory, controller-config, agent-config), or the fault tables of the docs.",
        discussion: """
        The fault parts of both come from the fault descriptors (Sources/ChaosCore/Faults/Descriptors), \
        so they cannot drift from what 'chaos validate' accepts. The committed copies are checked by a \
        test; regenerate them with scripts/generate-docs.sh.

        Examples:
          chaos schema experiment > docs/schema/experiment.schema.json
          chaos schema inventory
          chaos schema controller-config
          chaos schema agent-config
          chaos schema fault-tables
          chaos schema fault-tables --into docs/formats.md
        """,
        subcommands: [Experiment.self, InventorySchema.self, ControllerConfigSchema.self, AgentConfigSchema.self, FaultTablesCommand.self]
    )

    struct Experiment: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "experiment", abstract: "Print the JSON Schema of experiment files.")
        func run() { Console.out(ExperimentSchema.text().trimmingWhitespace()) }
    }

    struct InventorySchema: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "inventory", abstract: "Print the JSON Schema of inventory files.")
        func run() { Console.out(WrittenSchemas.inventory) }
    }

    struct ControllerConfigSchema: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "controller-config", abstract: "Print the JSON Schema of the controller's configuration (controller.yaml).")
        func run() { Console.out(WrittenSchemas.controllerConfig) }
    }

    struct AgentConfigSchema: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "agent-config", abstract: "Print the JSON Schema of the agent's configuration (agent.yaml).")
        func run() { Console.out(WrittenSchemas.agentConfig) }
    }

    struct FaultTablesCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fault-tables", abstract: "Print the fault kinds and parameter tables (Markdown), or update them in a document.")
        @Option(help: ArgumentHelp("Replace the generated tables in this Markdown file (between its '<!-- generated: fault-tables' and '<!-- end generated -->' lines).", valueName: "file"))
        var into: String?

        func run() throws {
            guard let into else { Console.out(FaultTables.markdown().trimmingWhitespace()); return }
            guard let text = try? String(contentsOfFile: into, encoding: .utf8) else {
                throw ValidationError("Cannot read '\(into)'.")
            }
            guard let updated = FaultTables.replacing(in: text) else {
                throw ValidationError("'\(into)' has no '\(FaultTables.begin)' ... '\(FaultTables.end)' block to replace.")
            }
            do { try updated.write(toFile: into, atomically: true, encoding: .utf8) } catch {
                throw ValidationError("Cannot write '\(into)': \(error.localizedDescription)")
            }
        }
    }
}
