import ChaosCore
import Foundation

/// Turns experiment files into what the scheduler needs: their calendars (with the holiday calendar
/// file beside them), target, groups and how long a run lasts. Shared by `chaos schedule preview` and
/// the controller, so both see the same schedule.
public enum ScheduleLoader {
    /// nil for an experiment without a schedule.
    public static func scheduled(_ e: Experiment, file: String, inventory: Inventory?, through: String) throws(ChaosError) -> ScheduledExperiment? {
        guard let s = e.schedule else { return nil }
        var extra: [String] = []
        if let ics = s.holidayCalendar {
            let path = calendarPath(ics, file: file)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ChaosError("schedule.noCalendar", "\(file): holidayCalendar '\(ics)' cannot be read (looked at '\(path)').")
            }
            extra = try HolidayCalendar.dates(text, file: path, through: through)
        }
        let calendar = try WorkCalendar(s, extraHolidays: extra)
        return ScheduledExperiment(name: e.name, target: targetKey(e), groups: groups(e, inventory), schedule: s, calendar: calendar,
                                   runSeconds: runSeconds(e, gate: .seconds(5)))
    }

    /// A holiday calendar's path: as written if absolute, else beside the experiment file.
    public static func calendarPath(_ ics: String, file: String) -> String {
        ics.hasPrefix("/") ? ics : URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(ics).path
    }

    /// Spacing and "one run per target" key: the inventory target's name, or the inline host and experiment.
    public static func targetKey(_ e: Experiment) -> String {
        e.target.ref ?? e.target.host.map { "\($0):\(e.name)" } ?? e.target.domain.map { "\($0):\(e.name)" } ?? e.name
    }

    /// Inventory groups holding a host the target may land on.
    public static func groups(_ e: Experiment, _ inventory: Inventory?) -> [String] {
        let hosts = e.target.ref.flatMap { inventory?.candidateHosts(forTarget: $0) } ?? e.target.host.map { [$0] }
            ?? e.target.domain.flatMap(FailureDomain.init(parsing:)).map { d in inventory?.hosts(in: d).map(\.name) ?? [] } ?? []
        return inventory?.groups.filter { !Set($0.members).isDisjoint(with: hosts) }.map(\.name) ?? []
    }

    /// The longest a run lasts: gate, fault, recovery window.
    public static func runSeconds(_ e: Experiment, gate: ChaosDuration) -> Double {
        Double(gate.milliseconds + (e.fault.duration?.milliseconds ?? 0) + e.expect.recoverWithin.milliseconds) / 1000
    }

    /// Files as given; directories expanded to their *.yaml, *.yml and *.json files (subdirectories
    /// included), by path.
    public static func files(_ paths: [String]) throws(ChaosError) -> [String] {
        var out: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else {
                throw .usage("schedule.noPath", "'\(p)' does not exist. Give experiment files or directories.")
            }
            if isDir.boolValue {
                let names = (FileManager.default.enumerator(atPath: p)?.allObjects as? [String] ?? [])
                    .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }.sorted()
                out += names.map { "\(p)/\($0)" }
            } else {
                out.append(p)
            }
        }
        return out
    }
}
