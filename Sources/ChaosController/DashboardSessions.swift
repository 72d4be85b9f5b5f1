import ChaosCore
import Foundation
import Synchronization

/// The dashboard's sign-ins, kept in memory on the server: the browser's cookie holds only a random
/// session id, never the token. A session remembers who signed in (the token's name and role) and ends
/// after the session lifetime or at its token's expiry, whichever comes first, or at sign-out. Beyond
/// `capacity` sessions, a new sign-in ends the oldest. A restart ends every session (sign in again).
///
/// Pure: time is passed in (milliseconds since the epoch), ids come from the caller.
struct DashboardSessions: Sendable {
    struct Session: Hashable, Sendable {
        var name: String
        var role: ControllerRole
        var createdAt: Int64
        var expiresAt: Int64
        /// Order of creation, for evicting the oldest.
        var serial: UInt64
    }

    let lifetimeMs: Int64
    let capacity: Int
    private(set) var sessions: [String: Session] = [:]
    private var serial: UInt64 = 0

    init(lifetime: ChaosDuration, capacity: Int) {
        lifetimeMs = max(1, lifetime.milliseconds)
        self.capacity = max(1, capacity)
    }

    var count: Int { sessions.count }

    /// Starts a session under `id` for the token `name` with `role`, ending at the lifetime from `now` or at
    /// `tokenExpiresAt`, whichever is first. Expired sessions are dropped first, then the oldest while full.
    @discardableResult
    mutating func open(id: String, name: String, role: ControllerRole, tokenExpiresAt: Int64?, now: Int64) -> Session {
        sweep(now: now)
        while sessions.count >= capacity, let oldest = sessions.min(by: { $0.value.serial < $1.value.serial })?.key {
            sessions[oldest] = nil
        }
        serial += 1
        let end = min(now + lifetimeMs, tokenExpiresAt ?? Int64.max)
        let session = Session(name: name, role: role, createdAt: now, expiresAt: end, serial: serial)
        sessions[id] = session
        return session
    }

    /// The session `id`, unless unknown or ended (an ended one is forgotten).
    mutating func find(_ id: String, now: Int64) -> Session? {
        guard let s = sessions[id] else { return nil }
        guard now < s.expiresAt else {
            sessions[id] = nil
            return nil
        }
        return s
    }

    /// Ends the session `id` (sign-out); nothing when unknown.
    mutating func close(_ id: String) { sessions[id] = nil }

    /// Forgets every ended session.
    mutating func sweep(now: Int64) { sessions = sessions.filter { now < $0.value.expiresAt } }

    /// A new session id: 32 random bytes, base64url without padding (43 characters).
    static func newID(using rng: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Whether `text` has the shape of an id (so a forged cookie of any size is turned away unread).
    static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 43 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }
    }
}

/// The server's ``DashboardSessions`` behind a lock, with ids from the system's random generator.
final class SessionStore: Sendable {
    private let state: Mutex<DashboardSessions>
    init(lifetime: ChaosDuration, capacity: Int) { state = Mutex(DashboardSessions(lifetime: lifetime, capacity: capacity)) }

    /// A new session for the token `name`; returns its id and when it ends.
    func open(name: String, role: ControllerRole, tokenExpiresAt: Int64?, now: Int64) -> (id: String, expiresAt: Int64) {
        var rng = SystemRandomNumberGenerator()
        let id = DashboardSessions.newID(using: &rng)
        let s = state.withLock { $0.open(id: id, name: name, role: role, tokenExpiresAt: tokenExpiresAt, now: now) }
        return (id, s.expiresAt)
    }

    func find(_ id: String, now: Int64) -> DashboardSessions.Session? {
        guard DashboardSessions.isWellFormed(id) else { return nil }
        return state.withLock { $0.find(id, now: now) }
    }

    func close(_ id: String) { state.withLock { $0.close(id) } }

    var count: Int { state.withLock { $0.count } }
}
