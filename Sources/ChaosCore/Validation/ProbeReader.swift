/// Reads one probe (`probes[i]`, or a group's `health`).
struct ProbeReader {
    let r: FieldReader
    init(_ r: FieldReader) { self.r = r }

    func read(_ node: DocumentNode, _ path: String, requireName: Bool = true) -> ProbeSpec? {
        guard let m = r.mapping(node, path) else { return nil }
        let name = requireName ? m.required("name", hint: "add e.g. 'name: web'") { NameRule.read(r, $0, $1) } : (m.optional("name") { NameRule.read(r, $0, $1) } ?? "health")
        let type = m.required("type", hint: "add 'type: http', 'tcp', 'command' or 'prometheus'") {
            r.oneOf($0, $1, ProbeSpec.Kind.allCases.map(\.rawValue))
        }.flatMap(ProbeSpec.Kind.init(rawValue:))
        let readInterval = m.optional("interval") { r.duration($0, $1, atLeast: .milliseconds(50)) }
        let interval = readInterval ?? .seconds(1)
        let readTimeout = m.optional("timeout") { r.duration($0, $1, atLeast: .milliseconds(10)) }
        let timeout = readTimeout ?? min(.seconds(1), interval)
        // Compared only when both read cleanly: a bad interval is reported once, as itself.
        if let readTimeout, readInterval != nil || !m.has("interval"), readTimeout > interval {
            r.sink.report(m.location(of: "timeout"), m.child("timeout"), "timeout \(timeout) is longer than the interval \(interval)",
                          hint: "keep the timeout at most the interval, or observations overlap")
        }
        var spec = ProbeSpec(name: name ?? "probe", type: type ?? .http, interval: interval, timeout: timeout)
        func httpURL(_ n: DocumentNode, _ p: String) -> String? {
            guard let u = r.string(n, p) else { return nil }
            guard u.hasPrefix("http://") || u.hasPrefix("https://") else {
                r.sink.report(n.location, p, "'\(u)' is not an http or https URL", hint: "start it with 'http://' or 'https://'")
                return nil
            }
            return u
        }
        // Fields by kind; the rest stay unknown and are reported.
        switch type {
        case .http:
            spec.url = m.required("url", hint: "add e.g. 'url: http://10.0.0.10/health'", httpURL)
            spec.method = m.optional("method") { r.oneOf($0, $1, ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) }
            spec.headers = m.optional("headers") { n, p in
                guard let hm = r.mapping(n, p) else { return nil }
                var out: [String: String] = [:]
                for key in hm.keys { if let v = hm.optional(key, { r.string($0, $1, allowEmpty: true) }) { out[key] = v } }
                hm.finish()
                return out
            }
            spec.body = m.optional("body") { r.string($0, $1, allowEmpty: true) }
            spec.insecure = m.optional("insecure", r.bool)
            spec.caFile = m.optional("caFile") { r.string($0, $1) }
        case .tcp:
            spec.address = m.required("address", hint: "add e.g. 'address: 10.0.0.21:6379'") { n, p in
                guard let a = r.string(n, p) else { return nil }
                guard let colon = a.lastIndex(of: ":"), let port = plainInteger(a[a.index(after: colon)...]),
                      (1...65535).contains(port), colon != a.startIndex else {
                    r.sink.report(n.location, p, "'\(a)' is not host:port", hint: "write e.g. '10.0.0.21:6379' or '[::1]:6379'")
                    return nil
                }
                return a
            }
        case .command:
            spec.command = m.required("command", hint: "add the argv, e.g. 'command: [redis-cli, ping]'") { r.stringList($0, $1) }
        case .prometheus:
            spec.url = m.required("url", hint: "add the Prometheus base URL, e.g. 'url: http://10.0.0.5:9090'", httpURL)
            spec.query = m.required("query", hint: "add an instant query, e.g. 'query: up{job=\"redis\"}'") { r.string($0, $1) }
        case nil: break
        }
        if let type { spec.tolerance = m.optional("tolerance") { readTolerance($0, $1, kind: type) } ?? Tolerance() }
        spec.successThreshold = m.optional("successThreshold") { r.int($0, $1, in: 1...100) } ?? 1
        spec.failureThreshold = m.optional("failureThreshold") { r.int($0, $1, in: 1...100) } ?? 1
        // With no valid type, nobody knows which fields belong: report the type alone.
        if type != nil { m.finish() }
        guard name != nil || !requireName, type != nil else { return nil }
        return spec
    }

    func readTolerance(_ node: DocumentNode, _ path: String, kind: ProbeSpec.Kind) -> Tolerance? {
        guard let m = r.mapping(node, path) else { return nil }
        var t = Tolerance()
        func regex(_ n: DocumentNode, _ p: String) -> String? {
            guard let v = r.string(n, p) else { return nil }
            if let problem = BoundedRegex.validate(v) { r.sink.report(n.location, p, "'\(v)' is not a valid regular expression: \(problem)", hint: "check brackets and escapes"); return nil }
            return v
        }
        switch kind {
        case .http:
            t.status = m.optional("status") { n, p in
                if case .scalar = n {
                    guard let s = r.string(n, p) else { return nil }
                    guard let range = StatusRange(s) else {
                        r.sink.report(n.location, p, "'\(s)' is not an HTTP status or range", hint: "use e.g. 200, '200-299' or [200, 204] (100-599)"); return nil
                    }
                    return [range]
                }
                return r.list(n, p) { item, ip in
                    guard let s = r.string(item, ip) else { return nil }
                    guard let range = StatusRange(s) else {
                        r.sink.report(item.location, ip, "'\(s)' is not an HTTP status or range", hint: "use e.g. 200 or '200-299' (100-599)"); return nil
                    }
                    return range
                }
            }
            t.bodyMatches = m.optional("bodyMatches", regex)
            t.jsonPath = m.optional("jsonPath") { n, p in
                guard let v = r.string(n, p) else { return nil }
                guard v.hasPrefix("$") else { r.sink.report(n.location, p, "'\(v)' is not a JSONPath", hint: "start it with '$', e.g. '$.status'"); return nil }
                return v
            }
            t.equals = m.optional("equals") { r.string($0, $1, allowEmpty: true) }
            if (t.jsonPath == nil) != (t.equals == nil) {
                r.sink.report(m.location, path, "'jsonPath' and 'equals' go together", hint: "give both, e.g. 'jsonPath: $.status' and 'equals: ok'")
            }
            t.latencyBelow = m.optional("latencyBelow") { r.duration($0, $1) }
        case .tcp:
            t.latencyBelow = m.optional("latencyBelow") { r.duration($0, $1) }
        case .command:
            t.exitCode = m.optional("exitCode") { r.int($0, $1, in: 0...255) }
            t.bodyMatches = m.optional("stdoutMatches", regex)
            t.latencyBelow = m.optional("latencyBelow") { r.duration($0, $1) }
        case .prometheus:
            t.valueBelow = m.optional("valueBelow") { r.number($0, $1, in: -1e300...1e300) }
            t.valueAbove = m.optional("valueAbove") { r.number($0, $1, in: -1e300...1e300) }
            t.valueEquals = m.optional("valueEquals") { r.number($0, $1, in: -1e300...1e300) }
        }
        m.finish()
        return t
    }
}
