import Foundation

/// The JSON Schema of experiment files (docs/schema/experiment.schema.json), printed by
/// `chaos schema experiment`. The fault parts come from the ``FaultDescriptor``s, so the schema cannot
/// drift from the validator for faults; the rest is ``ExperimentSchemaBase``. A test compares the
/// committed file with this output.
public enum ExperimentSchema {
    /// The schema as pretty-printed JSON with sorted keys, ending in a newline.
    public static func text() -> String {
        guard case .object(var root) = base else { return "" }
        var defs: [String: JSONValue] = [:]
        if case .object(let d) = root["$defs"] { defs = d }
        defs["fault"] = fault()
        for d in FaultDescriptor.all { defs["with.\(d.kind)"] = with(d) }
        root["$defs"] = .object(defs)
        root["allOf"] = .array(subjectRules())
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        // Encoding a JSONValue built here cannot fail.
        let data = (try? e.encode(JSONValue.object(root))) ?? Data()
        return (String(data: data, encoding: .utf8) ?? "") + "\n"
    }

    static let base: JSONValue = (try? JSONDecoder().decode(JSONValue.self, from: Data(ExperimentSchemaBase.text.utf8))) ?? .null

    static func fault() -> JSONValue {
        let kinds = FaultDescriptor.all
        let list = kinds.map { "- \($0.kind): \(plain($0.summary))." + ($0.isReversible ? "" : " Cannot be undone: no duration.") }
        var rules: [JSONValue] = []
        for d in kinds {
            var then: [String: JSONValue] = ["properties": .object(["with": ref("with.\(d.kind)")])]
            // `with` is required when something in it is.
            let needsWith = d.parameters.contains(where: \.isRequired) || d.rules.contains { if case .exactlyOne = $0 { return true } else { return false } }
            let required = (d.isReversible ? ["duration"] : []) + (needsWith ? ["with"] : [])
            if !required.isEmpty { then["required"] = .array(required.map { .string($0) }) }
            if !d.isReversible {
                then["properties"] = .object(["with": ref("with.\(d.kind)"),
                                              "duration": .object(["not": .object([:]), "description": .string("\(d.kind) cannot be undone, so it has no duration; recovery is measured from the moment of the fault.")])])
            }
            rules.append(.object(["if": .object(["properties": .object(["type": .object(["const": .string(d.kind.rawValue)])]), "required": .array([.string("type")])]),
                                  "then": .object(then)]))
        }
        let irreversible = kinds.filter { !$0.isReversible }.map(\.kind.rawValue).joined(separator: ", ")
        return .object([
            "description": "The fault to inject.",
            "type": "object",
            "additionalProperties": .bool(false),
            "required": .array(["type"]),
            "properties": .object([
                "type": .object(["description": .string("The kind of fault.\n" + list.joined(separator: "\n")),
                                 "enum": .array(kinds.map { .string($0.kind.rawValue) })]),
                "duration": .object(["description": .string("How long a reversible fault stays in place (at least 100ms). Required for every kind except \(irreversible), which must not have one."),
                                     "$ref": "#/$defs/duration"]),
                "with": .object(["description": "The fault's parameters; which ones depend on 'type'.", "type": "object"]),
            ]),
            "allOf": .array(rules),
        ])
    }

    static func with(_ d: FaultDescriptor) -> JSONValue {
        var o: [String: JSONValue] = [
            "description": .string(d.parameters.isEmpty ? "Parameters of \(d.kind). It takes none."
                                   : "Parameters of \(d.kind). Allowed: \(d.parameters.map(\.name).joined(separator: ", ")).")
            ,
            "type": "object",
            "additionalProperties": .bool(false),
            "properties": .object(Dictionary(uniqueKeysWithValues: d.parameters.map { ($0.name, property($0, d)) })),
        ]
        let required = d.parameters.filter(\.isRequired).map { JSONValue.string($0.name) }
        if !required.isEmpty { o["required"] = .array(required) }
        for rule in d.rules {
            if case .exactlyOne(let names, _) = rule {
                o["oneOf"] = .array(names.map { .object(["required": .array([.string($0)])]) })
            }
        }
        return .object(o)
    }

    static func property(_ p: FaultParameter, _ d: FaultDescriptor) -> JSONValue {
        var o: [String: JSONValue]
        switch p.type {
        case .signal:
            let names = SignalName.table.map(\.name)
            o = ["anyOf": .array([
                .object(["type": "integer", "minimum": .number(1), "maximum": .number(64)]),
                .object(["type": "string", "enum": .array((names + names.map { "SIG" + $0 }).map { .string($0) })]),
                .object(["type": "string", "pattern": #"^(SIG)?RTMIN\+([0-9]|[12][0-9]|30)$"#]),
                .object(["type": "string", "pattern": "^(SIG)?([1-9]|[1-5][0-9]|6[0-4])$"]),
            ])]
        case .word(let words, _, _, _):
            o = words.count == 1 ? ["const": .string(words[0])] : ["enum": .array(words.map { .string($0) })]
        case .absolutePath:
            o = ["title": "an absolute path", "type": "string", "pattern": "^/", "examples": .array([.string(p.example)])]
        case .percent(let r):
            o = ["title": "a percentage such as 95 or '99.9%'", "type": .array(["number", "string"]),
                 "minimum": .number(r.lowerBound), "maximum": .number(r.upperBound),
                 "pattern": #"^\s*(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)\s*%?\s*$"#]
        case .size: o = ["$ref": "#/$defs/size"]
        case .integer(let r): o = ["type": "integer", "minimum": .number(Double(r.lowerBound)), "maximum": .number(Double(r.upperBound))]
        case .duration: o = ["$ref": "#/$defs/duration"]
        case .hosts:
            o = ["type": "array", "minItems": .number(1), "items": .object(["title": "a non-empty string", "type": "string", "pattern": #"\S"#])]
        case .ports:
            let port = "([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
            o = ["type": "array", "items": .object(["anyOf": .array([
                .object(["type": "integer", "minimum": .number(1), "maximum": .number(65535)]),
                .object(["title": "a port or port range such as 6379 or '8000-8100'", "type": "string", "pattern": .string(#"^\s*"# + port + "(-" + port + #")?\s*$"#)]),
            ])])]
        case .text: o = ["$ref": "#/$defs/text"]
        case .rate:
            o = ["title": "a rate such as '1mbit' or '512kbit'", "type": "string",
                 "pattern": #"^\s*(?=[0-9.]*[1-9])[0-9]+(\.[0-9]+)?([bB][iI][tT]|[kKmMgG][bB][iI][tT]|[kKmMgG]?[bB][pP][sS])\s*$"#,
                 "examples": .array([.string(p.example)])]
        case .bool: o = ["type": "boolean"]
        }
        o["description"] = .string(plain(FaultArguments.help(d.kind, p.name)))
        if let value = defaultValue(p, d) { o["default"] = value }
        return .object(o)
    }

    /// The default as a schema value, when the default text is a value of the parameter's type
    /// ("one per online CPU" is not).
    static func defaultValue(_ p: FaultParameter, _ d: FaultDescriptor) -> JSONValue? {
        guard let text = p.defaultText else { return nil }
        let sink = DiagnosticSink(file: "default")
        let kind: DocumentNode.ScalarKind = p.type.isBool ? .bool : .string
        guard let value = FaultParameterReader(FieldReader(sink: sink), d).value(.scalar(text, kind, .start), "default", p), sink.isEmpty else { return nil }
        switch value {
        case .number, .bool: return value
        default: return .string(text)
        }
    }

    /// Faults act on processes, a unit or the whole host, and the target must say the same.
    static func subjectRules() -> [JSONValue] {
        func kinds(_ s: FaultKind.Subject) -> JSONValue { .array(FaultDescriptor.all.filter { $0.subject == s }.map { .string($0.kind.rawValue) }) }
        func when(_ s: FaultKind.Subject, _ target: JSONValue) -> JSONValue {
            .object(["if": .object(["properties": .object(["fault": .object(["properties": .object(["type": .object(["enum": kinds(s)])]),
                                                                             "required": .array(["type"])])]),
                                    "required": .array(["fault"])]),
                     "then": .object(["properties": .object(["target": target])])])
        }
        let string: JSONValue = .object(["type": "string"])
        let ref: JSONValue = .object(["required": .array(["ref"])])
        return [
            when(.processes, .object(["anyOf": .array([string, ref, .object(["required": .array(["process"])])]),
                                      "description": "process.* faults need processes: an inventory target, or 'process'."])),
            when(.unit, .object(["anyOf": .array([string, ref, .object(["required": .array(["process"]),
                                                                         "properties": .object(["process": .object(["required": .array(["unit"])])])])]),
                                 "description": "systemd.* faults need a unit: an inventory target, or 'process: {unit: ...}'."])),
            when(.host, .object(["anyOf": .array([string, .object(["properties": .object(["process": .object(["not": .object([:]),
                                                                                                          "description": "Host faults act on the whole host, not on processes; remove 'process'."])])])]),
                                 "description": "Host faults act on the whole host: no 'process'."])),
        ]
    }

    static func ref(_ name: String) -> JSONValue { .object(["$ref": .string("#/$defs/\(name)")]) }
    static func plain(_ markdown: String) -> String { markdown.replacing("`", with: "'") }
}

extension ParameterType {
    var isBool: Bool { if case .bool = self { return true } else { return false } }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}
