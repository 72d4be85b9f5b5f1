import ChaosCore
import ChaosLinux
import ChaosPOSIX
import Dispatch

/// Watches this host's connections for a while, on request, so `GET /v1/discovery` also shows the
/// short-lived ones (a cron job's connection, a health check's). Off unless asked
/// (`POST /v1/discovery/watch`): an idle agent does not wake for it. A watch samples every `every`
/// until `until`, keeping at most `ConnectionWindow.limit` conversations; asking again extends it.
/// What it gathered stays readable after it ends, until the next watch starts.
public actor DiscoveryWatch {
    public static let longest = ChaosDuration.milliseconds(3_600_000)
    public static let fastest = ChaosDuration.milliseconds(1000)

    private let snapshot: @Sendable () -> HostDiscovery
    private let clock: @Sendable () -> Int64
    private var window: ConnectionWindow?
    private var startedAt: Int64 = 0
    private var until: Int64 = 0
    private var every: ChaosDuration = .milliseconds(2000)
    private var sampler: Task<Void, Never>?
    public private(set) var samples = 0

    public init(snapshot: @escaping @Sendable () -> HostDiscovery = { DiscoveryProbe.snapshot() },
                clock: @escaping @Sendable () -> Int64 = { Epoch.milliseconds() }) {
        self.snapshot = snapshot
        self.clock = clock
    }

    /// What a watch request answers.
    public typealias Status = DiscoveryWatchStatus

    /// Starts a watch of `duration`, sampling every `every` (or extends the running one).
    /// - Throws: `discovery.badWatch` outside 1 s ≤ every ≤ duration ≤ 1 h.
    public func watch(for duration: ChaosDuration, every: ChaosDuration) throws(ChaosError) -> Status {
        guard every >= Self.fastest, duration >= every, duration <= Self.longest else {
            throw .usage("discovery.badWatch", "A discovery watch lasts at most 1h and samples at most once a second ('every' from 1s up to 'for'); got for \(duration), every \(every).")
        }
        let now = clock()
        if sampler == nil {
            window = ConnectionWindow(windowMs: duration.milliseconds)
            startedAt = now
            samples = 0
        }
        until = max(until, now + duration.milliseconds)
        self.every = every
        if sampler == nil {
            sampler = Task { await self.run() }
        }
        return Status(watchingSince: startedAt, watchingUntil: until, everyMs: every.milliseconds)
    }

    private func run() async {
        while !Task.isCancelled {
            await sample()
            let now = clock()
            guard now < until else { break }
            try? await Task.sleep(for: .milliseconds(min(every.milliseconds, until - now)))
        }
        sampler = nil
    }

    private func sample() async {
        let view = await freshSnapshot(maxAgeMs: 0)
        samples += 1
        if window == nil { window = ConnectionWindow(windowMs: max(1, until - startedAt)) }
        window?.add(view)
    }

    /// A snapshot at most `maxAgeMs` old. It is taken on a thread of its own, not on the concurrency
    /// pool that serves every request (on a host with 20,000 sockets a snapshot takes a third of a
    /// second), and readers asking at once share one: a client polling discovery cannot make the
    /// agent walk the socket tables more than about once a second, nor delay its health answers.
    func freshSnapshot(maxAgeMs: Int64 = DiscoveryWatch.reuseMs) async -> HostDiscovery {
        if let last, maxAgeMs > 0, clock() - lastTakenAt <= maxAgeMs { return last }
        if let running = taking { return await running.value }
        let take = snapshot
        let task = Task<HostDiscovery, Never> {
            await withCheckedContinuation { done in
                DispatchQueue.global(qos: .utility).async { done.resume(returning: take()) }
            }
        }
        taking = task
        let view = await task.value
        taking = nil
        last = view
        lastTakenAt = clock()
        snapshots += 1
        return view
    }

    /// How long a snapshot is shared with later readers.
    public static let reuseMs: Int64 = 1000
    private var last: HostDiscovery?
    private var lastTakenAt: Int64 = 0
    private var taking: Task<HostDiscovery, Never>?
    /// Snapshots taken (for tests and metrics).
    public private(set) var snapshots = 0

    /// The host's view: listeners now, with every conversation the latest watch saw; a plain snapshot
    /// when there has been no watch.
    public func view() async -> HostDiscovery {
        let now = await freshSnapshot()
        guard var window else { return now }
        // A shared snapshot is one sample: added to a running watch once, however many read it.
        if sampler != nil && addedSnapshot != snapshots {
            window.add(now)
            self.window = window
            addedSnapshot = snapshots
        }
        var view = window.view(latest: now)
        view.windowMs = max(0, min(now.at, until) - startedAt)
        return view
    }
    private var addedSnapshot = -1

    /// The view as the JSON the agent answers, encoded off the request pool and shared like the
    /// snapshot it comes from (at 10,000 conversations the encoding alone takes tens of ms).
    public func encodedView(_ encode: @escaping @Sendable (HostDiscovery) -> [UInt8]) async -> [UInt8] {
        let v = await view()
        let key = "\(snapshots)/\(samples)/\(window?.count ?? -1)/\(v.windowMs)"
        if let cached = encoded, cached.key == key { return cached.bytes }
        let bytes = await withCheckedContinuation { done in
            DispatchQueue.global(qos: .utility).async { done.resume(returning: encode(v)) }
        }
        encoded = (key, bytes)
        return bytes
    }
    private var encoded: (key: String, bytes: [UInt8])?

    /// Stops sampling (the agent's shutdown).
    public func stop() {
        sampler?.cancel()
        sampler = nil
    }
}
