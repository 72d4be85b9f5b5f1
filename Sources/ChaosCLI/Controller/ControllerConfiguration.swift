import ChaosCore
import Foundation

/// How the controller runs (`/etc/chaos/controller.yaml`). Every value but the inventory has a default.
///
/// ```yaml
/// apiVersion: chaos/v1
/// kind: ControllerConfig
/// experiments: /etc/chaos/experiments   # a directory, searched for *.yaml and *.json, reloaded on change
/// inventory: /etc/chaos/inventory.yaml  # the hosts, their agents, targets and groups
/// stateDir: /var/lib/chaos-controller   # the store (STATE_DIR/runs: runs, fires, verdict log)
/// identity: {name: controller, pkiDir: /etc/chaos/pki}   # its certificate for the agents
/// schedule:
///   seed: 20261129     # of the Chaos-Monkey draws (chaos schedule preview --seed shows them)
///   grace: 5m          # a fire missed by longer (controller down) is recorded as missed, not run late
///   tick: 10s          # how often the controller looks at the clock
/// gate: 5s             # steady state observed before each fault
/// ```
struct ControllerConfiguration: Sendable {
    var experiments = "/etc/chaos/experiments"
    var inventory = ""
    var stateDir = "/var/lib/chaos-controller"
    var identity = "controller"
    var pkiDir = "/etc/chaos/pki"
    var seed: UInt64 = 0
    var grace: ChaosDuration = .seconds(300)
    var tick: ChaosDuration = .seconds(10)
    var gate: ChaosDuration = .seconds(5)

    var storeDir: String { stateDir + "/runs" }

    /// Reads a configuration, reporting every problem with its line and column, like `chaos validate`.
    static func load(_ text: String, file: String) -> (ControllerConfiguration?, [Diagnostic]) {
        let sink = DiagnosticSink(file: file)
        let root: DocumentNode?
        do { root = try DocumentNode.parse(text) } catch {
            sink.report(error.location, "", error.message)
            return (nil, sink.diagnostics)
        }
        guard let root else {
            sink.report(.start, "", "the file is empty", hint: "give at least 'inventory: /etc/chaos/inventory.yaml'")
            return (nil, sink.diagnostics)
        }
        let r = FieldReader(sink: sink)
        guard let m = r.mapping(root, "") else { return (nil, sink.diagnostics) }
        var c = ControllerConfiguration()
        if let v = m.optional("apiVersion", { r.string($0, $1) }), v != chaosAPIVersion {
            sink.report(m.location(of: "apiVersion"), "apiVersion", "'\(v)' is not supported", hint: "use '\(chaosAPIVersion)'")
        }
        _ = m.optional("kind") { r.oneOf($0, $1, ["ControllerConfig"]) }
        c.experiments = m.optional("experiments") { r.string($0, $1) } ?? c.experiments
        c.inventory = m.required("inventory", hint: "add e.g. 'inventory: /etc/chaos/inventory.yaml'") { r.string($0, $1) } ?? ""
        c.stateDir = m.optional("stateDir") { r.string($0, $1) } ?? c.stateDir
        if let i = m.optional("identity", { r.mapping($0, $1) }) {
            c.identity = i.optional("name") { r.string($0, $1) } ?? c.identity
            c.pkiDir = i.optional("pkiDir") { r.string($0, $1) } ?? c.pkiDir
            i.finish()
        }
        if let s = m.optional("schedule", { r.mapping($0, $1) }) {
            c.seed = s.optional("seed") { r.int($0, $1, in: 0...Int.max) }.map { UInt64($0) } ?? c.seed
            c.grace = s.optional("grace") { r.duration($0, $1, atLeast: .seconds(1)) } ?? c.grace
            c.tick = s.optional("tick") { r.duration($0, $1, atLeast: .milliseconds(200)) } ?? c.tick
            s.finish()
        }
        c.gate = m.optional("gate") { r.duration($0, $1, atLeast: .milliseconds(500)) } ?? c.gate
        m.finish()
        return (sink.isEmpty ? c : nil, sink.diagnostics)
    }
}
