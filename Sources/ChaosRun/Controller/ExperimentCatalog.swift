import ChaosCore
import Foundation

/// The experiments of the controller's directory, reloaded when a file changes. A file that does not
/// validate is reported with its errors and skipped whole, never half-loaded; the others stay.
public final class ExperimentCatalog {
    public let directory: String
    public private(set) var experiments: [(file: String, experiment: Experiment)] = []
    private var signature: [String] = []
    /// Bumped at each reload: what is derived from the experiments can be cached by it.
    public private(set) var generation = 0

    public init(directory: String) { self.directory = directory }

    /// Reloads if any file was added, removed or changed since the last load. Returns what to log.
    public func reloadIfChanged() -> [String] {
        let files = (try? ScheduleLoader.files([directory])) ?? []
        let now = files.map { f -> String in
            let a = try? FileManager.default.attributesOfItem(atPath: f)
            let m = (a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(f)|\(m)|\((a?[.size] as? NSNumber)?.intValue ?? -1)"
        }
        guard now != signature else { return [] }
        signature = now
        var loaded: [(String, Experiment)] = []
        var log: [String] = []
        var names: [String: String] = [:]
        for f in files {
            do {
                let e = try DocumentFiles.experiment(f)
                if let other = names[e.name] {
                    log.append("skipped \(f): the name '\(e.name)' is already used by \(other)")
                    continue
                }
                names[e.name] = f
                loaded.append((f, e))
            } catch {
                log.append("skipped \(f) (invalid, not loaded):\n" + error.message)
            }
        }
        if !FileManager.default.fileExists(atPath: directory) { log.append("the experiment directory '\(directory)' does not exist") }
        experiments = loaded
        generation += 1
        let scheduled = loaded.filter { $0.1.schedule != nil }.count
        log.insert("loaded \(loaded.count) experiment\(loaded.count == 1 ? "" : "s") from \(directory) (\(scheduled) scheduled)", at: 0)
        return log
    }

    public func experiment(named name: String) -> (file: String, experiment: Experiment)? { experiments.first { $0.experiment.name == name } }
}
