/// Turns a ``ProcessSelector`` into the matching live processes. Pure: what needs I/O (the pid in a
/// pidfile, the owners of a listening port, a unit's cgroup) is handed in as `resolvedPIDs`.
public enum ProcessMatcher {
    /// How many regex steps (about 10 ns each in a release build) one selection may spend.
    public static let matchBudget = 20_000_000

    /// The live (not zombie) processes the selector means, oldest first.
    /// - Parameters:
    ///   - selector: what to match.
    ///   - table: the process table.
    ///   - resolvedPIDs: for `pid`, `pidfile`, `port` and `unit`, the pids the host found.
    ///   - excluding: pids that pattern matches (`name`, `match`) skip silently, as `pkill` skips itself:
    ///     the caller and its ancestors, whose own command lines contain the pattern.
    /// - Throws: ``ChaosError`` for a regex that does not compile.
    ///   - budget: the regex steps the whole selection may spend (``matchBudget``).
    public static func match(_ selector: ProcessSelector, in table: ProcessTable, resolvedPIDs: [Int32] = [],
                             excluding: Set<Int32> = [], budget: Int = matchBudget) throws(ChaosError) -> [ProcessEntry] {
        let live = table.processes.filter { !$0.isDead && !$0.isKernelThread && !excluding.contains($0.pid) }
        if let name = selector.name {
            return live.filter { $0.name == name }
        }
        if let pattern = selector.match {
            let regex: BoundedRegex
            do { regex = try BoundedRegex(pattern) } catch {
                throw .usage("target.badRegex", "The pattern '\(pattern)' is not a valid regular expression: \(error).")
            }
            // Linear time per process, and one budget for the whole table: no pattern holds the caller long.
            var left = budget
            var out: [ProcessEntry] = []
            for p in live {
                guard let hit = regex.matches(in: p.commandLine, budget: &left) else {
                    throw .usage("target.regexTooCostly", "Matching '\(pattern)' against this host's \(live.count) command lines takes more than \(NumberText.format(Double(budget) / 1_000_000)) million steps. Use a simpler pattern, or select by name, port or unit.")
                }
                if hit { out.append(p) }
            }
            return out
        }
        let wanted = Set(resolvedPIDs)
        return table.processes.filter { wanted.contains($0.pid) && !$0.isKernelThread && !$0.isDead }
    }
}
