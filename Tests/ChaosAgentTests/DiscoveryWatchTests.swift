import ChaosAgent
import ChaosCore
import Foundation
import Testing

/// The on-demand discovery watch: off until asked, keeps what it saw after it ends, bounded in time
/// and rate.
@Suite("Discovery watch")
struct DiscoveryWatchTests {
    /// Snapshots that each show one new short-lived connection (remote port 1000 + n).
    final class Source: @unchecked Sendable {
        var n = 0
        func next() -> HostDiscovery {
            n += 1
            let now = Int64(n) * 1000
            return HostDiscovery(at: now, windowMs: 0, listeners: [], connections: [
                .init(proto: "tcp", direction: .outgoing, localAddress: "10.0.0.1", localPort: 40000 + n, remoteAddress: "10.0.0.2",
                      remotePort: 1000 + n, owner: .init(process: "cron"), firstSeen: now, lastSeen: now),
            ])
        }
    }

    @Test("without a watch the view is a plain snapshot; a watch gathers every sample's connections and keeps them after it ends")
    func watch() async throws {
        let source = Source()
        let watch = DiscoveryWatch(snapshot: { source.next() })
        let plain = await watch.view()
        #expect(plain.windowMs == 0 && plain.connections.count == 1)
        let status = try await watch.watch(for: .milliseconds(1000), every: .milliseconds(1000))
        #expect(status.everyMs == 1000 && status.watchingUntil > status.watchingSince)
        // Waits for the second sample rather than a fixed time: a loaded machine may be late.
        var samples = await watch.samples
        for _ in 0..<200 where samples < 2 {
            try await Task.sleep(for: .milliseconds(50))
            samples = await watch.samples
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(await watch.samples == 2, "one at the start, one at the end, no more")
        let view = await watch.view()
        #expect(Set(view.connections.map(\.remotePort)).isSuperset(of: [1002, 1003]), "short-lived connections seen by the watch: \(view.connections.map(\.remotePort))")
        let again = await watch.view()
        #expect(again.connections.count == view.connections.count, "kept after the watch ended, and not added to any more")
    }

    @Test("a watch longer than an hour, or sampling faster than once a second, is refused", arguments: [(3_600_001, 1000), (10_000, 999), (1000, 2000)])
    func bounds(duration: Int64, every: Int64) async {
        let watch = DiscoveryWatch(snapshot: { HostDiscovery(at: 0, windowMs: 0, listeners: [], connections: []) })
        await #expect(throws: ChaosError.self) { _ = try await watch.watch(for: .milliseconds(duration), every: .milliseconds(every)) }
    }

    @Test("readers asking at once share one snapshot, taken off the concurrency pool; a second later there is a new one")
    func shared() async throws {
        let source = Source()
        let watch = DiscoveryWatch(snapshot: { Thread.sleep(forTimeInterval: 0.2); return source.next() })
        let views = await withTaskGroup(of: HostDiscovery.self) { group in
            for _ in 0..<10 { group.addTask { await watch.view() } }
            var all: [HostDiscovery] = []
            for await v in group { all.append(v) }
            return all
        }
        #expect(views.count == 10 && Set(views.map(\.at)).count == 1, "one snapshot for ten readers")
        #expect(await watch.snapshots == 1)
        try await Task.sleep(for: .milliseconds(1100))
        _ = await watch.view()
        #expect(await watch.snapshots == 2)
    }
}
