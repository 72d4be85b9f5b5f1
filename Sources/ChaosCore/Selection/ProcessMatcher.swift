/// Turns a ``ProcessSelector`` into the matching live processes. Pure: what needs I/O (the pid in a
/// pidfile, the owners of a listening port, a unit's cgroup) is handed in as `resolvedPIDs`.
public enum ProcessMatcher {
    /// The live (not zombie) processes the selector means, oldest first.
    /// - Parameters:
    ///   - selector: what to match.
    ///   - table: the process table.
    ///   - resolvedPIDs: for `pid`, `pidfile`, `port` and `unit`, the pids the host found.
    ///   - excluding: pids that pattern matches (`name`, `match`) skip silently, as `pkill` skips itself:
    ///     the caller and its ancestors, whose own command lines contain the pattern.
    /// - Throws: ``ChaosError`` for a regex that does not compile.
    public static func match(_ selector: ProcessSelector, in table: ProcessTable, resolvedPIDs: [Int32] = [],
                             excluding: Set<Int32> = []) throws(ChaosError) -> [ProcessEntry] {
        let live = table.processes.filter { !$0.isDead && !$0.isKernelThread && !excluding.contains($0.pid) }
        if let name = selector.name {
            return live.filter { $0.name == name }
        }
        if let pattern = selector.match {
            let regex: Regex<AnyRegexOutput>
            do { regex = try Regex(pattern) } catch {
                throw .usage("target.badRegex", "The pattern '\(pattern)' is not a valid regular expression: \(error). Check brackets and escapes.")
            }
            return live.filter { $0.commandLine.contains(regex) }
        }
        let wanted = Set(resolvedPIDs)
        return table.processes.filter { wanted.contains($0.pid) && !$0.isKernelThread && !$0.isDead }
    }
}
