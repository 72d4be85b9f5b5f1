import ChaosCore
import Dispatch

/// Where CPU-bound selection runs (a regex against every command line): one serial queue of its own,
/// never Swift's cooperative threads, which serve the agent's health checks and its lease reaper.
/// However many hostile previews arrive at once, they take at most one core, one after another, each
/// bounded by ``ProcessMatcher/matchBudget``.
enum MatchingQueue {
    static let queue = DispatchQueue(label: "chaos.matching", qos: .utility)

    static func run<T: Sendable>(_ work: @escaping @Sendable () throws(ChaosError) -> T) async throws(ChaosError) -> T {
        let result: Result<T, ChaosError> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Result { () throws(ChaosError) -> T in try work() }) }
        }
        return try result.get()
    }
}
