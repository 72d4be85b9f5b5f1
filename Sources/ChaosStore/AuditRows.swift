public import ChaosCore
internal import GRDB

/// The controller's audit log (halts, resumes: who, when, why), in the same database as the runs.
extension SQLiteRunStore: AuditStoring {
    public func append(_ entry: AuditEntry) throws(ChaosError) {
        try write("append to the audit log of") { db in
            try db.execute(sql: "INSERT INTO audit (at, who, action, detail) VALUES (?, ?, ?, ?)",
                           arguments: [entry.at, entry.who, entry.action, entry.detail])
        }
    }

    public func auditEntries(limit: Int) throws(ChaosError) -> [AuditEntry] {
        let rows = try read("read the audit log of") { db in
            try Row.fetchAll(db, sql: "SELECT at, who, action, detail FROM audit ORDER BY id DESC LIMIT ?", arguments: [limit])
        }
        return rows.map { AuditEntry(at: $0["at"], who: $0["who"], action: $0["action"], detail: $0["detail"]) }
    }
}
