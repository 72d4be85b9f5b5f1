public import ChaosCore
package import Foundation
internal import GRDB

/// The controller's fire decisions and values, in the same database as the runs.
extension SQLiteRunStore: FireStoring {
    static let fireColumns = "experiment, scheduledMs, target, groups, trigger, state, reason, runID, decidedMs"

    public func record(_ fire: FireRecord) throws(ChaosError) { try record(all: [fire]) }

    public func record(all fires: [FireRecord]) throws(ChaosError) {
        guard !fires.isEmpty else { return }
        let rows: [StatementArguments] = fires.map { fire in
            let groups = StoredRun.groups(fire.groups)
            return [fire.experiment, fire.scheduledMs, fire.target, groups, fire.trigger.rawValue,
                    fire.state.rawValue, fire.reason, fire.runID, fire.decidedMs]
        }
        try write("record \(fires.count == 1 ? "fire '\(fires[0].experiment)'" : "\(fires.count) fires") in") { db in
            let statement = try db.makeStatement(sql: "INSERT OR REPLACE INTO fires (\(Self.fireColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            for arguments in rows { try statement.execute(arguments: arguments) }
        }
    }

    public func fires(sinceMs: Int64) throws(ChaosError) -> [FireRecord] {
        try fireRows("SELECT \(Self.fireColumns) FROM fires WHERE scheduledMs >= ? ORDER BY scheduledMs, experiment", [sinceMs])
    }

    public func fires(in state: FireRecord.State) throws(ChaosError) -> [FireRecord] {
        try fireRows("SELECT \(Self.fireColumns) FROM fires WHERE state = ? ORDER BY scheduledMs, experiment", [state.rawValue])
    }

    public func value(_ key: String) throws(ChaosError) -> String? {
        try read("read '\(key)' from") { db in try String.fetchOne(db, sql: "SELECT value FROM controller_values WHERE key = ?", arguments: [key]) }
    }

    public func setValue(_ value: String, for key: String) throws(ChaosError) {
        try write("write '\(key)' in") { db in
            try db.execute(sql: "INSERT OR REPLACE INTO controller_values (key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }

    /// The fires `sql` selects (``fireColumns``, in their order). The controller reads a month of them
    /// at every look and for every dashboard page, hundreds of thousands when it fires often: rows are
    /// read from a cursor (not copied), their columns by position, and each distinct `groups` text is
    /// decoded once.
    private func fireRows(_ sql: String, _ arguments: StatementArguments) throws(ChaosError) -> [FireRecord] {
        let path = databasePath
        return try read("list fires from") { db in
            var out: [FireRecord] = []
            var decodedGroups: [String: [String]] = [:]
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() {
                let experiment: String = row[0]
                let groupsText: String = row[3]
                var groups = decodedGroups[groupsText]
                if groups == nil {
                    groups = StoredRun.groups(from: groupsText)
                    decodedGroups[groupsText] = groups
                }
                guard let groups, let trigger = PlannedFire.Trigger(rawValue: row[4] as String),
                      let state = FireRecord.State(rawValue: row[5] as String) else {
                    throw ChaosError("store.corrupt", "A fire record of '\(experiment)' in '\(path)' cannot be read.")
                }
                out.append(FireRecord(experiment: experiment, scheduledMs: row[1], target: row[2], groups: groups, trigger: trigger,
                                      state: state, reason: row[6] as String?, runID: row[7] as String?, decidedMs: row[8]))
            }
            return out
        }
    }
}
