/// Reads a fault's `with:` mapping by its kind's ``FaultDescriptor``: each parameter by its type and
/// bounds, unknown names refused with the closest known one, then the requirements and rules. Every
/// problem goes to the sink; files, agent requests and the one-off commands all come through here.
public struct FaultParameterReader {
    let r: FieldReader
    let descriptor: FaultDescriptor
    let spelling: FieldSpelling

    public init(_ r: FieldReader, _ descriptor: FaultDescriptor, spelling: FieldSpelling = .file) {
        self.r = r; self.descriptor = descriptor; self.spelling = spelling
    }

    var kind: FaultKind { descriptor.kind }

    /// Reads `with` (a mapping node at `path`).
    public func read(_ node: DocumentNode, _ path: String) -> FaultParameters? {
        guard let m = r.mapping(node, path) else { return nil }
        var p = FaultParameters()
        for parameter in descriptor.parameters {
            p.set(parameter.name, m.optional(parameter.name) { value($0, $1, parameter) })
        }
        m.finish(nothingKnownHint: "\(kind) takes no parameters under 'with'; remove it")
        check(p, path: path, has: { descriptor.parameter($0) != nil && m.has($0) }, at: m.location, locationOf: m.location(of:))
        return p
    }

    /// The requirements and rules, when there is no `with` at all: what is required is missing.
    public func checkAbsent(path: String, at location: SourceLocation) {
        check(FaultParameters(), path: path, has: { _ in false }, at: location, locationOf: { _ in location })
    }

    /// The rules between parameters. A parameter counts as given when its key is written with a value
    /// (`has`), even a wrong one: that value is reported where it is, not again as missing.
    func check(_ p: FaultParameters, path: String, has: (String) -> Bool, at location: SourceLocation, locationOf: (String) -> SourceLocation) {
        for parameter in descriptor.parameters {
            guard let reason = parameter.requiredBecause, !has(parameter.name) else { continue }
            r.sink.report(location, "\(path).\(parameter.name)", "is required" + (reason.isEmpty ? "" : ": \(reason)"),
                          hint: "add e.g. \(spelling.assignment(parameter.name, parameter.example))")
        }
        for rule in descriptor.rules {
            switch rule {
            case .exactlyOne(let names, let what):
                let given = names.filter(has).count
                guard given != 1 else { continue }
                let spelled = names.map(spelling.name)
                let list = spelled.dropLast().joined(separator: ", ") + " and " + (spelled.last ?? "")
                let choices = names.compactMap { n in descriptor.parameter(n).map { spelling.assignment(n, $0.example) } }
                r.sink.report(location, path, given == 0 ? "says nothing about \(what)" : "gives more than one of \(list)",
                              hint: "give exactly one: " + choices.dropLast().joined(separator: ", ") + " or " + (choices.last ?? ""))
            case .notAbove(let small, let large):
                guard let a = p[ParameterKey<ChaosDuration>(small)], let b = p[ParameterKey<ChaosDuration>(large)], a > b else { continue }
                r.sink.report(locationOf(small), "\(path).\(small)", "\(small) \(a) is larger than the \(large) \(b)", hint: "keep \(small) at most the \(large)")
            }
        }
    }

    /// One value, read by its type; `nil` after reporting.
    func value(_ n: DocumentNode, _ path: String, _ parameter: FaultParameter) -> JSONValue? {
        switch parameter.type {
        case .signal:
            guard let text = r.string(n, path) else { return nil }
            guard let s = SignalName(text) else {
                r.sink.report(n.location, path, "'\(text)' is not a signal", hint: "use a name such as KILL, TERM, INT, HUP or a number 1-64")
                return nil
            }
            return s.parameter
        case .word(let words, let impossible, let because, let hint):
            if case .scalar(let text, _, let loc) = n, impossible.contains(text) {
                r.sink.report(loc, path, "'\(text)' is not possible for \(kind): \(because)", hint: hint)
                return nil
            }
            return r.oneOf(n, path, words)?.parameter
        case .absolutePath:
            guard let s = r.string(n, path) else { return nil }
            guard s.hasPrefix("/") else {
                r.sink.report(n.location, path, "'\(s)' is not an absolute path", hint: "write the full path, e.g. '\(parameter.example)'")
                return nil
            }
            return s.parameter
        case .percent(let range): return r.percent(n, path, in: range)?.parameter
        case .size: return r.byteSize(n, path)?.parameter
        case .integer(let range): return r.int(n, path, in: range)?.parameter
        case .duration(let minimum): return r.duration(n, path, atLeast: minimum)?.parameter
        case .hosts:
            guard let items = r.stringList(n, path) else { return nil }
            // A host name of the inventory, an address or a CIDR: nothing else (addresses are parsed for
            // real when the fault is planned).
            guard case .sequence(let nodes, _) = n else { return items.parameter }
            var ok = true
            for (i, (text, node)) in zip(items, nodes).enumerated() where !Self.isHostText(text) {
                r.sink.report(node.location, "\(path)[\(i)]", "'\(text)' is not a host name, address or CIDR",
                              hint: "use an inventory host name (db1), an address (10.0.0.5, fd00::5) or a CIDR (10.0.1.0/24)")
                ok = false
            }
            return ok ? items.parameter : nil
        case .ports:
            return r.list(n, path) { item, ipath -> String? in
                guard let s = r.string(item, ipath) else { return nil }
                guard PortRange(s) != nil else {
                    r.sink.report(item.location, ipath, "'\(s)' is not a port or port range", hint: "use e.g. '6379' or '8000-8100' (1-65535)")
                    return nil
                }
                return s
            }?.parameter
        case .text: return r.string(n, path)?.parameter
        case .rate:
            guard let s = r.string(n, path) else { return nil }
            guard BandwidthRate(s) != nil else {
                r.sink.report(n.location, path, "'\(s)' is not a rate", hint: "use a number with kbit, mbit, gbit, kbps or mbps, e.g. '1mbit'")
                return nil
            }
            return s.parameter
        case .bool: return r.bool(n, path)?.parameter
        }
    }

    /// Letters, digits and `._-:/`, 1-253 characters: the shape of an inventory host name, an IPv4 or
    /// IPv6 address, or a CIDR.
    static func isHostText(_ text: String) -> Bool {
        (1...253).contains(text.utf8.count) && text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-:/".unicodeScalars.contains($0)
        }
    }
}

/// How messages spell a parameter: as a file field (`'lossPercent'`, `'lossPercent: 30'`) or as a
/// command-line option (`--percent`, `--percent 30`).
public struct FieldSpelling: Sendable {
    public let name: @Sendable (String) -> String
    public let assignment: @Sendable (String, String) -> String

    public init(name: @escaping @Sendable (String) -> String, assignment: @escaping @Sendable (String, String) -> String) {
        self.name = name; self.assignment = assignment
    }

    /// As written in experiment files and request bodies.
    public static let file = FieldSpelling(name: { "'\($0)'" }, assignment: { "'\($0): \($1)'" })
}
