import ChaosCore

/// One fault on every host of a failure domain at once (`target: {domain: zone:b}`): a driver per
/// host, injected together and reverted together. All or nothing: when one host cannot take the
/// fault, or cannot confirm it, the hosts that took it are reverted before the error is reported,
/// so a domain is never left half failed.
public final class FanOutFaultDriver: FaultDriver, @unchecked Sendable {
    public let domain: String
    let parts: [(host: String, driver: any FaultDriver)]

    public init(domain: String, parts: [(host: String, driver: any FaultDriver)]) {
        self.domain = domain
        self.parts = parts
    }

    public var target: String { "every host of \(domain) (\(parts.map(\.host).joined(separator: ", ")))" }
    public var actions: [String] { parts.flatMap { p in p.driver.actions.map { "\(p.host): \($0)" } } }
    public var host: String? { domain }
    public var reversible: Bool { parts.allSatisfy(\.driver.reversible) }
    public var blast: (victims: Int, matched: Int) {
        parts.reduce((0, 0)) { ($0.0 + $1.driver.blast.victims, $0.1 + $1.driver.blast.matched) }
    }
    public var endedElsewhere: Bool { parts.contains { $0.driver.endedElsewhere } }

    public func inject() async throws(ChaosError) -> Injected {
        let results = await withTaskGroup(of: (Int, Result<Injected, ChaosError>).self) { group in
            for (i, p) in parts.enumerated() {
                group.addTask {
                    do throws(ChaosError) { return (i, .success(try await p.driver.inject())) } catch { return (i, .failure(error)) }
                }
            }
            var out: [(Int, Result<Injected, ChaosError>)] = []
            for await r in group { out.append(r) }
            return out.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var injected: [Injected] = []
        var failed: [(String, ChaosError)] = []
        var unconfirmed: [String] = []
        for (p, r) in zip(parts, results) {
            switch r {
            case .success(let i):
                injected.append(i)
                if let why = i.notConfirmed { unconfirmed.append("\(p.host): \(why)") }
            case .failure(let e): failed.append((p.host, e))
            }
        }
        if let (host, first) = failed.first {
            await revertAll(reason: "another host of \(domain) could not take the fault")
            throw ChaosError(first.code, "On \(host) (of \(domain)): \(first.message)\(failed.count > 1 ? " (and \(failed.count - 1) more host\(failed.count == 2 ? "" : "s"))" : ""). The hosts that took the fault were reverted.", exit: first.exit)
        }
        if !unconfirmed.isEmpty { await revertAll(reason: "not confirmed on every host of \(domain)") }
        return Injected(id: injected.map(\.id).joined(separator: ","), at: injected.map(\.at).max() ?? 0,
                        notConfirmed: unconfirmed.isEmpty ? nil : unconfirmed.joined(separator: "; "),
                        actions: zip(parts, injected).flatMap { p, i in i.actions.map { "\(p.host): \($0)" } })
    }

    public func keepAlive() async {
        await withTaskGroup(of: Void.self) { group in
            for p in parts { group.addTask { await p.driver.keepAlive() } }
        }
    }

    /// Reverts on every host, even when one fails; the first failure is reported after all were tried.
    public func revert(reason: String) async throws(ChaosError) {
        let errors = await revertAll(reason: reason)
        if let (host, e) = errors.first {
            throw ChaosError(e.code, "Reverting on \(host) (of \(domain)): \(e.message)\(errors.count > 1 ? " (and \(errors.count - 1) more)" : "")", exit: e.exit)
        }
    }

    @discardableResult
    func revertAll(reason: String) async -> [(String, ChaosError)] {
        await withTaskGroup(of: (String, ChaosError)?.self) { group in
            for p in parts {
                group.addTask {
                    do throws(ChaosError) { try await p.driver.revert(reason: reason); return nil } catch { return (p.host, error) }
                }
            }
            var out: [(String, ChaosError)] = []
            for await r in group { if let r { out.append(r) } }
            return out.sorted { $0.0 < $1.0 }
        }
    }
}
