import ChaosCore
import ChaosRun
import ChaosStore
import Foundation
import Glibc
import Synchronization

/// A controller's world in a temporary directory: experiment files, an inventory of two app hosts
/// (with agents) in one group, a store, and a PKI directory with the files the agents' session
/// needs to exist. Controllers started in it run in process on a ``FakeClock``, with
/// ``FakeAgents``, ``FakeProbes`` and the real SQLite store; restarts reuse the same store.
struct ControllerLab {
    let dir: String
    var experiments: String { dir + "/experiments" }
    var storeDir: String { dir + "/state/runs" }

    init() throws {
        dir = NSTemporaryDirectory() + "chaos-run-\(UUID().uuidString.prefix(8))"
        let fm = FileManager.default
        for d in [experiments, dir + "/pki", dir + "/state", dir + "/ledger"] { try fm.createDirectory(atPath: d, withIntermediateDirectories: true) }
        for f in ["controller.pem", "controller-key.pem", "ca.pem"] { _ = fm.createFile(atPath: dir + "/pki/" + f, contents: Data()) }
        try """
        apiVersion: chaos/v1
        kind: Inventory
        hosts:
          - {name: app1, address: 192.0.2.11, agent: "https://192.0.2.11:7433", tags: [app]}
          - {name: app2, address: 192.0.2.12, agent: "https://192.0.2.12:7433", tags: [app]}
        targets:
          - {name: app, tags: [app], process: {name: app}}
        groups:
          - name: apps
            members: [app]
            minHealthy: 1
            health: {type: http, url: "http://{address}:8080/health", timeout: 500ms}

        """.write(toFile: dir + "/inventory.yaml", atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    /// Writes an experiment file into the controller's directory.
    func experiment(_ file: String, _ yaml: String) throws {
        try yaml.write(toFile: experiments + "/" + file, atomically: true, encoding: .utf8)
    }

    /// An experiment that pauses the `app` target for `duration` (kills it without one), watched by one probe.
    static func pause(_ name: String, cron: String, duration: String? = "5s", extra: String = "", calendar: String = "workdays: [mon, tue, wed, thu, fri, sat, sun]\n  hours: \"00:00-24:00\"") -> String {
        """
        apiVersion: chaos/v1
        kind: Experiment
        name: \(name)
        target: app
        fault: {type: \(duration == nil ? "process.kill" : "process.pause")\(duration.map { ", duration: \($0)" } ?? "")}
        probes:
          - {name: site, type: http, url: "http://192.0.2.10/health", interval: 500ms, timeout: 500ms}
        schedule:
          cron: "\(cron)"
          \(calendar)
        \(extra)

        """
    }

    func settings(tick: ChaosDuration = .seconds(1), grace: ChaosDuration = .seconds(300), gate: ChaosDuration = .seconds(1)) -> ControllerSettings {
        var s = ControllerSettings(experiments: experiments, inventory: dir + "/inventory.yaml", storeDir: storeDir, grace: grace, tick: tick, gate: gate)
        // A "killed" controller here is abandoned in process, its lock still held.
        s.lockStore = false
        return s
    }

    /// A store of its own on the lab's directory (to write what an earlier controller would have).
    func openStore() throws -> SQLiteRunStore { try SQLiteRunStore(directory: storeDir) }

    /// Starts a controller at `now` and waits until its first look is done.
    func start(at now: Int64, _ settings: ControllerSettings? = nil) async throws -> RunningController {
        let c = RunningController(lab: self, now: now, settings: settings ?? self.settings())
        guard await eventually(10, { (try? c.store?.value("lastLookMs")) == String(now) }) else {
            throw LabError("the controller did not look at the clock: \(c.logText)")
        }
        await c.clock.settle()
        return c
    }
}

struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// One controller of a lab, in process.
final class RunningController: Sendable {
    let clock: FakeClock
    let agents: FakeAgents
    let probes: FakeProbes
    let signals: ManualSignals
    let controller: Controller
    let task: Task<Int32, any Error>
    private let lines: Locked<[String]>
    private let opened: Locked<SQLiteRunStore?>

    init(lab: ControllerLab, now: Int64, settings: ControllerSettings) {
        let clock = FakeClock(now)
        let agents = FakeAgents(clock: clock)
        let probes = FakeProbes(clock: clock)
        let signals = ManualSignals()
        let lines = Locked<[String]>([])
        let opened = Locked<SQLiteRunStore?>(nil)
        let services = RunServices.Installed(
            probes: { probes },
            store: { (dir: String) throws(ChaosError) -> any RunStoring in
                let s = try SQLiteRunStore(directory: dir)
                opened.withLock { $0 = s }
                return s
            },
            render: { _, _, _ in "" }, renderSPOF: { _, _, _, _ in "" })
        let environment = RunEnvironment(settings: RunSettings(output: .json, stateDir: lab.dir, identity: "controller", pkiDir: lab.dir + "/pki"),
                                         services: services, agents: { () throws(ChaosError) -> any AgentConnector in agents },
                                         clock: clock, signals: signals)
        let controller = Controller(settings: settings, environment: environment, log: { line in lines.withLock { $0.append(line) } })
        self.clock = clock; self.agents = agents; self.probes = probes; self.signals = signals
        self.lines = lines; self.opened = opened; self.controller = controller
        task = Task { try await controller.run() }
    }

    /// The store the controller opened.
    var store: SQLiteRunStore? { opened.withLock { $0 } }
    var logText: String { lines.withLock { $0.joined(separator: "\n") } }

    /// Every fire record, oldest first.
    var fires: [FireRecord] { (try? store?.fires(sinceMs: 0)) ?? [] }
    func fire(_ experiment: String, at ms: Int64) -> FireRecord? { fires.first { $0.experiment == experiment && $0.scheduledMs == ms } }

    /// SIGTERM: the loop stops, runs in progress revert and are stored; the exit status.
    func terminate() async throws -> Int32 {
        signals.send(SIGTERM)
        return try await task.value
    }
}

/// Waits in real time (up to `seconds`) until `condition` holds.
func eventually(_ seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let end = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while !condition() {
        if ContinuousClock.now > end { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return true
}

/// Epoch milliseconds of an ISO 8601 instant (`2026-03-02T10:00:30Z`).
func ms(_ iso: String) -> Int64 {
    Int64((ISO8601DateFormatter().date(from: iso)!.timeIntervalSince1970 * 1000).rounded())
}

/// A value behind a lock, in a class so escaping closures can share it.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    var value: Value { mutex.withLock { $0 } }
}
