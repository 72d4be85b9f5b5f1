import ArgumentParser
import ChaosCore
import ChaosRun
import Foundation

struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "What the controller's schedule would do.",
        subcommands: [SchedulePreviewCommand.self]
    )
}

struct SchedulePreviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Show what would fire in the coming days, and what would not and why.",
        discussion: """
        Reads the experiments with a 'schedule' (files, or directories searched for *.yaml and *.json), their \
        holiday calendars (relative to each file), and with --inventory the redundancy groups of each \
        target. Lists every cron match and every Chaos-Monkey draw in the window, each either firing \
        or skipped: blackout, holiday, not_workday, outside_hours, spacing_target, spacing_group or \
        target_busy (an earlier run on the same target is not over). Times are shown in each \
        schedule's time zone.

        Monkey draws depend on --seed; the controller uses its own seed (controller.yaml), so give \
        the same one to see exactly what it will do. Runs already stored are not taken into account \
        here (the controller counts them for spacing).

        Examples:
          chaos schedule preview experiments --days 14
          chaos schedule preview experiments/db --inventory deploy/inventory.yaml --from 2026-12-21 --days 7
          chaos schedule preview experiments --output json | jq '.[] | select(.fires)'
        """
    )
    @Argument(help: ArgumentHelp("Experiment files or directories (default: experiments).", valueName: "path")) var paths: [String] = []
    @Option(help: ArgumentHelp("How many days to look ahead.", valueName: "n")) var days: Int = 14
    @Option(help: ArgumentHelp("Start of the window: a date (UTC midnight) or ISO 8601 date-time (default: now).", valueName: "when")) var from: String?
    @Option(help: ArgumentHelp("Inventory file: the redundancy groups of each target, for minSpacing.group.", valueName: "file")) var inventory: String?
    @Option(help: ArgumentHelp("Seed of the Chaos-Monkey draws.", valueName: "n")) var seed: UInt64 = 0
    @Flag(help: "Also list the skipped cron matches outside work days and hours (hidden by default: there are many).") var all = false
    @OptionGroup var local: LocalOptions
    var global: GlobalOptions { local.global }

    func validate() throws {
        guard (1...366).contains(days) else { throw ValidationError("--days must be 1 to 366.") }
        if let from, CalendarText.instant(from) == nil { throw ValidationError("--from '\(from)' is not a date (YYYY-MM-DD) or date-time (2026-12-21T09:00:00Z).") }
    }

    struct Line: Encodable {
        var at: String
        var local: String
        var timezone: String
        var experiment: String
        var target: String
        var trigger: String
        var fires: Bool
        var skip: String?
        var reason: String?
    }

    func run() async throws {
        let code: Int32
        do { code = try preview() } catch { code = Console.report(error, format: global.output) }
        try finish(code)
    }

    private func preview() throws(ChaosError) -> Int32 {
        let start = from.flatMap { CalendarText.instant($0) } ?? Date().timeIntervalSince1970
        let end = start + Double(days) * 86_400
        let through = ZoneClock.dateText(Int(end / 86_400) + 1)
        let inv = try Context(global: global).loadInventory(inventory)
        var scheduled: [ScheduledExperiment] = []
        var zones: [String: ZoneClock] = [:]
        for file in try ScheduleLoader.files(paths.isEmpty ? ["experiments"] : paths) {
            let e = try DocumentFiles.experiment(file)
            guard let one = try ScheduleLoader.scheduled(e, file: file, inventory: inv, through: through) else { continue }
            zones[e.name] = one.calendar.clock
            scheduled.append(one)
        }
        let plan = SchedulePlanner.plan(scheduled, from: start, to: end, seed: seed, history: [])
            .filter { all || $0.fires || !["not_workday", "outside_hours"].contains($0.skipCode ?? "") }
        let iso = ISO8601DateFormatter()
        let lines = plan.map { f in
            let clock = zones[f.experiment]!
            return Line(at: iso.string(from: Date(timeIntervalSince1970: f.at)), local: clock.text(f.at), timezone: clock.identifier,
                        experiment: f.experiment, target: f.target, trigger: f.trigger.rawValue, fires: f.fires, skip: f.skipCode, reason: f.skipReason)
        }
        if global.output == .json {
            Console.json(lines)
        } else if scheduled.isEmpty {
            Console.out("No experiment with a schedule in \((paths.isEmpty ? ["experiments"] : paths).joined(separator: ", ")).")
        } else {
            Console.out(Console.table(["WHEN", "ZONE", "EXPERIMENT", "TARGET", "TRIGGER", "DECISION"], lines.map { l in
                [l.local, l.timezone, l.experiment, l.target, l.trigger, l.fires ? "fires" : "skipped: \(l.reason ?? "")"]
            }))
            let fired = lines.filter(\.fires).count
            Console.out("\(fired) run\(fired == 1 ? "" : "s") in the next \(days) days from \(scheduled.count) scheduled experiment\(scheduled.count == 1 ? "" : "s"); \(lines.count - fired) skipped\(all ? "" : " (matches outside work days and hours hidden; --all shows them)").")
        }
        return 0
    }
}
