/// A request to an agent to inject one fault, as the agent API receives it (JSON).
///
/// ```json
/// {"runID": "r-42", "idempotencyKey": "r-42/kill-db", "lease": "15s",
///  "fault": {"type": "process.pause", "duration": "30s"},
///  "target": {"process": {"name": "redis-server"}, "count": 1},
///  "to": ["10.0.0.21"]}
/// ```
/// `fault` and `target` are read by the same code as an experiment file's, so the API accepts and
/// rejects exactly what `chaos validate` does, with the same messages; unknown fields are errors.
public struct InjectRequest: Hashable, Sendable, Codable {
    public var runID: String?
    /// The same key twice injects once (the second call returns the first fault).
    public var idempotencyKey: String
    /// How long until the caller must renew; the agent reverts when it runs out. Default: the
    /// agent's `lease.default`.
    public var lease: ChaosDuration?
    public var fault: FaultSpec
    public var target: TargetSpec
    /// Resolved addresses for network faults (the caller resolves inventory names).
    public var to: [String]?
    /// network.partition: the two sides, as addresses.
    public var between: [String]?
    public var and: [String]?

    public init(runID: String? = nil, idempotencyKey: String, lease: ChaosDuration?, fault: FaultSpec, target: TargetSpec,
                to: [String]? = nil, between: [String]? = nil, and: [String]? = nil) {
        self.runID = runID; self.idempotencyKey = idempotencyKey; self.lease = lease; self.fault = fault
        self.target = target; self.to = to; self.between = between; self.and = and
    }

    /// Reads and validates a request body: strict JSON (``DocumentNode/parseJSON(_:limits:)``), so a
    /// YAML body, with its anchors and aliases, is refused before anything is built.
    /// - Returns: the request, or every problem found (positions refer to the body).
    public static func read(_ text: String) -> (request: InjectRequest?, diagnostics: [Diagnostic]) {
        let sink = DiagnosticSink(file: "request")
        let root: DocumentNode?
        do { root = try DocumentNode.parseJSON(text) } catch {
            sink.report(error.location, "", error.message, hint: error.hint ?? "send a JSON object")
            return (nil, sink.diagnostics)
        }
        guard let root else {
            sink.report(.start, "", "the body is empty", hint: "send a JSON object with 'idempotencyKey', 'fault' and 'target' (and 'lease')")
            return (nil, sink.diagnostics)
        }
        let r = FieldReader(sink: sink)
        guard let m = r.mapping(root, "") else { return (nil, sink.diagnostics) }
        let reader = ExperimentReader(r)
        let runID = m.optional("runID") { r.string($0, $1) }
        let key = m.required("idempotencyKey", hint: "add a key unique to this injection, e.g. 'r-42/kill-db'") { n, p -> String? in
            guard let k = r.string(n, p) else { return nil }
            guard k.utf8.count <= 128 else { r.sink.report(n.location, p, "is longer than 128 bytes", hint: "use a shorter key, e.g. the run id and the fault's name"); return nil }
            return k
        }
        let lease = m.optional("lease") { r.duration($0, $1, atLeast: .milliseconds(500)) }
        let fault = m.required("fault", hint: "add e.g. 'fault: {type: process.kill}'", reader.readFault)
        let target = m.required("target", hint: "add the target, e.g. '{}' for host faults") { reader.readTarget($0, $1, fault: fault) }
        let to = m.optional("to") { r.stringList($0, $1) }
        let between = m.optional("between") { r.stringList($0, $1) }
        let and = m.optional("and") { r.stringList($0, $1) }
        m.finish()
        guard sink.isEmpty, let key, let fault, let target else { return (nil, sink.diagnostics) }
        return (InjectRequest(runID: runID, idempotencyKey: key, lease: lease, fault: fault, target: target, to: to, between: between, and: and), [])
    }
}
