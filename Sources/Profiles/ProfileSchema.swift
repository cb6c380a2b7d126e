import Faults
import Foundation

/// The JSON Schema of a profile file (draft 2020-12), generated from the fault registry:
/// `sputter profiles schema` prints it and `Profiles/profile.schema.json` is its output.
public enum ProfileSchema {
    /// The schema text: pretty-printed JSON and a final newline.
    public static func text(registry: FaultRegistry = .standard) -> String {
        json(registry: registry).rendered() + "\n"
    }

    public static func json(registry: FaultRegistry = .standard) -> JSONValue {
        let faultList: JSONValue = ["type": ["array", "null"], "items": ["$ref": "#/$defs/fault"]]
        return [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://github.com/sputter/sputter/Profiles/profile.schema.json",
            "title": "Sputter fault profile",
            "description": "A named set of faults for Sputter, the fault-injecting SSE proxy. See docs/FAULTS.md.",
            "type": "object",
            "properties": [
                "name": [
                    "type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$",
                    "description": "Lowercase letters, digits, '-', '_' and '.'; unique across the directory.",
                ],
                "description": [
                    "type": "string",
                    "description": "What real-world failure it imitates and what a well-behaved client should do.",
                ],
                "seed": [
                    "type": "integer", "minimum": 0, "maximum": .unsigned(UInt64.max),
                    "description": "Default seed when neither --seed nor Sputter-Seed gives one.",
                ],
                "client": [
                    "type": "string", "enum": ["eventsource", "resume", "once"],
                    "description": "The client contract the ledger judges requests under this profile by (docs/LEDGER.md).",
                ],
                "terminator": [
                    "type": "string", "pattern": "^(data|event):",
                    "description": "Under client: once, the SSE field line that ends a stream cleanly (data: [DONE]).",
                ],
                "match": [
                    "type": "object",
                    "properties": [
                        "path": ["type": "string", "description": "Glob over the request path."],
                        "method": ["type": "string", "description": "Request method, case-sensitive (GET)."],
                        "jsonrpc_method": [
                            "type": "string", "minLength": 1,
                            "description": "Glob over the JSON-RPC method of the request body (or of any message of a batch): tools/call.",
                        ],
                        "json": [
                            "type": "object", "minProperties": 1,
                            "description": "Fields of a JSON object body by dotted path (model, params.name): equal, or a glob for strings.",
                            "propertyNames": ["pattern": "^[^.]+(\\.[^.]+)*$"],
                            "additionalProperties": ["type": ["string", "number", "boolean", "null"]],
                        ],
                    ],
                    "additionalProperties": false,
                ],
                "faults": ["$ref": "#/$defs/faultList"],
                "attempts": [
                    "type": "object",
                    "description": "Per-attempt overrides: keys 1, 2, … and default; an entry replaces faults for that attempt.",
                    "patternProperties": ["^([1-9][0-9]*|default)$": ["$ref": "#/$defs/faultList"]],
                    "additionalProperties": false,
                ],
            ],
            "required": ["name", "description"],
            "anyOf": [["required": ["faults"]], ["required": ["attempts"]]],
            "additionalProperties": false,
            "$defs": [
                "duration": [
                    "description": "A duration with a unit: ns, us, ms, s, m, h (e.g. 250ms, 1.5s); 0 alone is allowed.",
                    "anyOf": [
                        ["type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)$"], ["const": 0], ["const": "0"],
                    ],
                ],
                "signedDuration": [
                    "description": "A duration that may be negative (-5ms).",
                    "anyOf": [
                        ["type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)$"], ["const": 0], ["const": "0"],
                    ],
                ],
                "select": select,
                "faultList": faultList,
                "fault": fault(registry),
            ],
        ]
    }

    static let kinds: JSONValue = ["enum": ["event", "fields", "comment", "blank"]]

    static func range(minimum: Int?) -> JSONValue {
        let bound: JSONValue = minimum.map { ["type": "integer", "minimum": .integer(Int64($0))] } ?? ["type": "integer"]
        return ["type": "object", "properties": ["from": bound, "to": bound], "additionalProperties": false, "minProperties": 1]
    }

    static let select: JSONValue = [
        "type": "object",
        "description": "Which frames the fault applies to; every criterion given must hold.",
        "properties": [
            "kinds": ["oneOf": [kinds, ["type": "array", "items": kinds]]],
            "types": ["oneOf": [["type": "string"], ["type": "array", "items": ["type": "string"]]]],
            "id": ["type": "string", "description": "Glob over the event id."],
            "id_range": range(minimum: nil),
            "frame_index": range(minimum: 0),
            "event_index": range(minimum: 0),
        ],
        "additionalProperties": false,
    ]

    /// The properties every fault takes besides its own.
    static let common = [
        JSONMember("select", ["$ref": "#/$defs/select"]),
        JSONMember(
            "probability",
            [
                "type": "number", "minimum": 0, "maximum": 1,
                "description": "Chance the fault applies (per matching frame, or per connection for connection faults). Default 1.",
            ]),
    ]

    /// One alternative per fault (`{ NAME: settings }`), and the bare names of faults that need no settings.
    static func fault(_ registry: FaultRegistry) -> JSONValue {
        var alternatives: [JSONValue] = registry.faults.map { type in
            var settings = type.settingsSchema(common: common)
            if type.bareNameAllowed { settings = ["anyOf": [settings, ["type": "null"]]] }
            return [
                "type": "object", "properties": .object([JSONMember(type.name, settings)]),
                "required": [.string(type.name)], "additionalProperties": false,
            ]
        }
        alternatives += registry.faults.filter { $0.bareNameAllowed }.map { ["const": .string($0.name)] }
        return ["oneOf": .array(alternatives)]
    }
}

extension JSONValue {
    /// Pretty-printed with two-space indentation; arrays of scalars stay on one line.
    func rendered(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let n): return String(n)
        case .unsigned(let n): return String(n)
        case .string(let s): return Self.quoted(s)
        case .array(let items):
            if items.isEmpty { return "[]" }
            if items.allSatisfy(\.isScalar) { return "[" + items.map { $0.rendered() }.joined(separator: ", ") + "]" }
            return "[\n" + items.map { inner + $0.rendered(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let members):
            if members.isEmpty { return "{}" }
            let lines = members.map { inner + Self.quoted($0.key) + ": " + $0.value.rendered(indent: inner) }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + indent + "}"
        }
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }

    /// A JSON string literal (Foundation's escaping, slashes and non-ASCII left as they are).
    private static func quoted(_ s: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: s, options: [.fragmentsAllowed, .withoutEscapingSlashes])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }
}
