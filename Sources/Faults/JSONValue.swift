/// A JSON value with ordered object members: what a fault declares of its schema (Profiles
/// renders it for `sputter profiles schema`). Literals make declarations short: `["type": "integer", "minimum": 1]`.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    case string(String)
    case array([JSONValue])
    /// Members in declaration order; keys are unique.
    case object([JSONMember])

    /// The object's member `key`, if this is an object that has one.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// This object with `members` added (replacing members of the same key in place).
    public func merging(_ members: [JSONMember]) -> JSONValue {
        guard case .object(var own) = self else { return self }
        for m in members {
            if let i = own.firstIndex(where: { $0.key == m.key }) { own[i] = m } else { own.append(m) }
        }
        return .object(own)
    }
}

/// One member of a JSON object.
public struct JSONMember: Sendable, Equatable {
    public var key: String
    public var value: JSONValue
    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

extension JSONValue: ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral, ExpressibleByStringLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral
{
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { JSONMember($0.0, $0.1) })
    }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
}

/// Building blocks of settings schemas, shared by the catalog.
public enum Schema {
    /// `$ref` to the profile schema's duration definition (`250ms`, `2s`, `0`).
    public static let duration: JSONValue = ["$ref": "#/$defs/duration"]
    /// A duration that may be negative (`-5ms`).
    public static let signedDuration: JSONValue = ["$ref": "#/$defs/signedDuration"]
    public static let boolean: JSONValue = ["type": "boolean"]
    public static let string: JSONValue = ["type": "string"]
    /// A flag whose absence is the other choice: only `true` is valid.
    public static let trueFlag: JSONValue = ["const": true]

    /// An integer in `min…max` (either bound optional).
    public static func integer(min: Int? = nil, max: Int? = nil) -> JSONValue {
        var m: [JSONMember] = [JSONMember("type", "integer")]
        if let min { m.append(JSONMember("minimum", .integer(Int64(min)))) }
        if let max { m.append(JSONMember("maximum", .integer(Int64(max)))) }
        return .object(m)
    }

    /// A number strictly above `exclusiveMin` (and strictly below `exclusiveMax` if given).
    public static func number(exclusiveMin: Int, exclusiveMax: Int? = nil) -> JSONValue {
        var m: [JSONMember] = [JSONMember("type", "number"), JSONMember("exclusiveMinimum", .integer(Int64(exclusiveMin)))]
        if let exclusiveMax { m.append(JSONMember("exclusiveMaximum", .integer(Int64(exclusiveMax)))) }
        return .object(m)
    }

    public static func oneOf(_ names: [String]) -> JSONValue { ["enum": .array(names.map { .string($0) })] }

    /// `oneOf` over sets of required keys: exactly one group is present.
    public static func exactlyOne(_ groups: [[String]]) -> JSONMember {
        JSONMember("oneOf", .array(groups.map { ["required": .array($0.map { .string($0) })] }))
    }

    /// `anyOf` over required keys: at least one is present.
    public static func atLeastOne(_ keys: [String]) -> JSONMember {
        JSONMember("anyOf", .array(keys.map { ["required": [.string($0)]] }))
    }
}
