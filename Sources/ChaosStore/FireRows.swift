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

    private func fireRows(_ sql: String, _ arguments: StatementArguments) throws(ChaosError) -> [FireRecord] {
        let rows = try read("list fires from") { db in try Row.fetchAll(db, sql: sql, arguments: arguments) }
        var out: [FireRecord] = []
        for row in rows {
            let groupsText: String = row["groups"]
            guard let trigger = PlannedFire.Trigger(rawValue: row["trigger"]), let state = FireRecord.State(rawValue: row["state"]),
                  let groups = StoredRun.groups(from: groupsText) else {
                throw ChaosError("store.corrupt", "A fire record of '\(row["experiment"] as String? ?? "?")' in '\(databasePath)' cannot be read.")
            }
            out.append(FireRecord(experiment: row["experiment"], scheduledMs: row["scheduledMs"], target: row["target"], groups: groups,
                                  trigger: trigger, state: state, reason: row["reason"], runID: row["runID"], decidedMs: row["decidedMs"]))
        }
        return out
    }
}
