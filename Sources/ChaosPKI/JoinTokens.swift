import ChaosCore
import ChaosPOSIX
import Crypto
import Foundation

/// A one-time join token: `chaos1.<id>.<secret>.<CA pin>`.
///
/// - `id` (16 hex) names the token in the store and in logs;
/// - `secret` (64 hex, 256 random bits) is what proves the holder may enrol; the store keeps only its SHA-256;
/// - the CA pin (64 hex, SHA-256 of the CA certificate) lets a host that has nothing yet trust the CA it is
///   handed by the enrolment server: it accepts that CA only if its hash is the pin.
public struct JoinToken: Hashable, Sendable {
    public let id: String
    public let secret: String
    public let caPin: String

    static let prefix = "chaos1"

    /// A new random token for the CA with `caPin`.
    public static func make(caPin: String) -> JoinToken {
        JoinToken(id: randomHex(8), secret: randomHex(32), caPin: caPin)
    }

    init(id: String, secret: String, caPin: String) { self.id = id; self.secret = secret; self.caPin = caPin }

    /// Parses a token as `chaos certs token` printed it.
    /// - Throws: `pki.usage` without echoing the secret.
    public init(parsing text: String) throws(ChaosError) {
        let parts = text.trimmedOfBlanks().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, parts[0] == Self.prefix,
              Self.isHex(parts[1], count: 16), Self.isHex(parts[2], count: 64), Self.isHex(parts[3], count: 64) else {
            throw PKIError.usage("The join token is not one 'chaos certs token' makes (chaos1.<id>.<secret>.<CA pin>); copy it whole, without quotes or line breaks.")
        }
        self.init(id: parts[1], secret: parts[2], caPin: parts[3])
    }

    public var text: String { "\(Self.prefix).\(id).\(secret).\(caPin)" }

    /// SHA-256 of the secret, in hex: what the store keeps.
    public static func hash(secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map { PKIFormat.hex($0) }.joined().lowercased()
    }

    static func isHex(_ s: String, count: Int) -> Bool {
        s.utf8.count == count && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    static func randomHex(_ bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in PKIFormat.hex(UInt8.random(in: .min ... .max, using: &rng)).lowercased() }.joined()
    }
}

/// The join tokens of a CA: `join-tokens.json` in its directory (mode 0600), changed only under an exclusive
/// lock (`join-tokens.lock`), so two enrolments racing for one token cannot both win.
///
/// Each entry holds the host the token is for, the SANs its certificate gets, when it expires, the SHA-256 of
/// its secret (never the secret) and, once redeemed, when. Entries expired or used more than a week ago are
/// dropped at the next change.
public struct JoinTokenStore: Sendable {
    public struct Entry: Codable, Hashable, Sendable {
        public var id: String
        public var host: String
        public var sans: [String]
        public var secretSHA256: String
        /// Seconds since the epoch.
        public var created: Int64
        public var expires: Int64
        public var used: Int64?
        /// Failed redemption attempts; the token is burned at ``JoinTokenStore/maxFailures``.
        public var failures: Int
        public var days: Int
    }

    struct File: Codable { var tokens: [Entry] }

    public let directory: String
    public var path: String { PKIFiles.join(directory, "join-tokens.json") }
    var lockPath: String { PKIFiles.join(directory, "join-tokens.lock") }
    public static let maxFailures = 5
    public static let maxTTL: Int64 = 7 * 86_400

    public init(directory: String) { self.directory = directory }

    /// Stores a new token for `host` and returns it (the only time its secret exists outside the holder).
    public func mint(host: String, sans: [String], ttlSeconds: Int64, days: Int, caPin: String, now: Date = Date()) throws(ChaosError) -> (JoinToken, Entry) {
        // The certificate it will get must be valid: check the name and SANs now, not at enrolment.
        _ = try CertificateRequest(role: .agent, name: host, subjectAlternativeNames: sans)
        guard (60...Self.maxTTL).contains(ttlSeconds) else { throw PKIError.usage("--ttl must be 1m to 7d; got \(ttlSeconds) s.") }
        let token = JoinToken.make(caPin: caPin)
        let t = Int64(now.timeIntervalSince1970)
        let entry = Entry(id: token.id, host: host, sans: sans, secretSHA256: JoinToken.hash(secret: token.secret), created: t,
                          expires: t + ttlSeconds, used: nil, failures: 0, days: days)
        try change(now: now) { file throws(ChaosError) in file.tokens.append(entry) }
        return (token, entry)
    }

    /// Redeems `token`: checks it and marks it used, in one locked change.
    /// - Returns: The entry (host, SANs, days) to issue for.
    /// - Throws: `pki.token` with a message that never says whether the id exists (the same for unknown,
    ///   expired, used and wrong secret), and a different `detail` for the server's log.
    public func redeem(_ token: JoinToken, now: Date = Date()) throws(TokenRefusal) -> Entry {
        let t = Int64(now.timeIntervalSince1970)
        var outcome: Result<Entry, TokenRefusal> = .failure(TokenRefusal(detail: "unknown token id \(token.id)"))
        do {
            try change(now: now) { file throws(ChaosError) in
                guard let i = file.tokens.firstIndex(where: { $0.id == token.id }) else { return }
                var e = file.tokens[i]
                if e.used != nil { outcome = .failure(TokenRefusal(detail: "token \(e.id) for \(e.host) was already used")) }
                else if e.expires <= t { outcome = .failure(TokenRefusal(detail: "token \(e.id) for \(e.host) expired")) }
                else if e.failures >= Self.maxFailures { outcome = .failure(TokenRefusal(detail: "token \(e.id) for \(e.host) is burned after \(e.failures) failed attempts")) }
                else if !Self.constantTimeEqual(JoinToken.hash(secret: token.secret), e.secretSHA256) {
                    e.failures += 1
                    outcome = .failure(TokenRefusal(detail: "wrong secret for token \(e.id) for \(e.host) (attempt \(e.failures))"))
                } else {
                    e.used = t
                    outcome = .success(e)
                }
                file.tokens[i] = e
            }
        } catch {
            throw TokenRefusal(detail: error.message)
        }
        return try outcome.get()
    }

    /// Every stored entry.
    public func list() throws(ChaosError) -> [Entry] { try read().tokens }

    func read() throws(ChaosError) -> File {
        guard PKIFiles.exists(path) else { return File(tokens: []) }
        let text = try PKIFiles.readText(path)
        do { return try JSONDecoder().decode(File.self, from: Data(text.utf8)) } catch {
            throw PKIError.invalid(path, "is not a join token store (\(error)). Move it away; outstanding tokens are then lost.")
        }
    }

    func change(now: Date, _ body: (inout File) throws(ChaosError) -> Void) throws(ChaosError) {
        try PKIFiles.makeDirectories(directory)
        let lock: POSIXFiles.LockFile
        do { lock = try POSIXFiles.LockFile(path: lockPath) } catch { throw PKIError.io("open", lockPath, errno: error.code) }
        defer { lock.close() }
        var waited = 0
        while true {
            let got: Bool
            do { got = try lock.tryLock() } catch { throw PKIError.io("lock", lockPath, errno: error.code) }
            if got { break }
            waited += 1
            if waited > 500 { throw ChaosError("pki.busy", "'\(lockPath)' stayed locked for 5 s; another 'chaos certs' command is changing the join tokens. Try again.") }
            usleep(10_000)
        }
        var file = try read()
        try body(&file)
        let horizon = Int64(now.timeIntervalSince1970) - 7 * 86_400
        file.tokens.removeAll { ($0.used ?? $0.expires) < horizon }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(file) } catch { throw PKIError.crypto("encode the join token store", error) }
        try PKIFiles.write(String(decoding: data, as: UTF8.self) + "\n", to: path, mode: PKIFiles.privateKeyMode, force: true)
    }

    /// Whether two secrets' texts are equal, in a time that does not depend on where they differ (token
    /// hashes; the controller's API tokens use it too).
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

/// A token was refused. What the caller hears is always the same; `detail` is for the server's log.
public struct TokenRefusal: Error, Sendable {
    public let detail: String
    public static let publicMessage = "The join token is unknown, expired, already used or wrong. Make a new one on the CA host: chaos certs token --host NAME."
}
