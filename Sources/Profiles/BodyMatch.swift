import Faults
import Foundation

/// What a `match: json:` entry expects of one field of a JSON request body.
public enum JSONFieldValue: Sendable, Equatable, CustomStringConvertible {
    /// A string field matching this glob (`gpt-*`; a plain string matches only itself).
    case string(Glob)
    case bool(Bool)
    /// A number field equal to this one (compared as doubles: 1 and 1.0 are equal).
    case number(Double)
    /// The field is present and `null`.
    case null

    public var description: String {
        switch self {
        case .string(let g): return "\"\(g.pattern)\""
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .null: return "null"
        }
    }
}

/// One `match: json:` entry: a dotted path into a JSON object body (`model`, `params.name`) and its value.
public struct JSONFieldMatch: Sendable, Equatable {
    /// The member names from the top-level object down (`params.name` → ["params", "name"]).
    public var path: [String]
    public var value: JSONFieldValue

    public init(path: [String], value: JSONFieldValue) {
        self.path = path
        self.value = value
    }

    /// `params.name` → ["params", "name"].
    public init(dotted: String, value: JSONFieldValue) {
        self.init(path: dotted.split(separator: ".", omittingEmptySubsequences: false).map(String.init), value: value)
    }

    func matches(_ root: RequestJSON) -> Bool {
        var node = root
        for name in path {
            guard case .object(let members) = node, let next = members[name] else { return false }
            node = next
        }
        switch (value, node) {
        case (.string(let glob), .string(let s)): return glob.matches(s)
        case (.bool(let want), .bool(let b)): return want == b
        case (.number(let want), .number(let n)): return want == n
        case (.null, .null): return true
        default: return false
        }
    }
}

/// A request body parsed as JSON, for body matchers. Parsed with Foundation's `JSONDecoder` (which limits
/// nesting depth and rejects invalid UTF-8); booleans and numbers stay apart.
indirect enum RequestJSON: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([RequestJSON])
    case object([String: RequestJSON])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([RequestJSON].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: RequestJSON].self))
        }
    }

    /// The body as JSON, or nil when it is not UTF-8 JSON.
    static func parse(_ body: [UInt8]) -> RequestJSON? {
        guard String(validating: body, as: UTF8.self) != nil else { return nil }
        return try? JSONDecoder().decode(RequestJSON.self, from: Data(body))
    }

    /// The JSON-RPC `method` of this message, or of each message of a batch.
    var jsonrpcMethods: [String] {
        switch self {
        case .object(let members):
            if case .string(let m)? = members["method"] { return [m] }
            return []
        case .array(let items):
            return items.flatMap { item -> [String] in
                if case .object = item { return item.jsonrpcMethods }
                return []
            }
        default:
            return []
        }
    }
}

extension ProfileMatch {
    /// Whether the profile looks into request bodies (`jsonrpc_method` or `json`): the proxy then reads
    /// the body (up to its bound) before selecting.
    public var matchesBody: Bool { jsonrpcMethod != nil || !json.isEmpty }

    /// The head criteria and the body criteria. `body` is the request's payload (de-chunked), nil when it
    /// was not read (no body, over the bound, `Expect: 100-continue`): body criteria then do not hold.
    /// A body that is not UTF-8 JSON matches no body criterion; `json` needs an object body.
    public func matches(method: String, path: String, body: [UInt8]?) -> Bool {
        guard matches(method: method, path: path) else { return false }
        guard matchesBody else { return true }
        guard let body, let root = RequestJSON.parse(body) else { return false }
        if let glob = jsonrpcMethod, !root.jsonrpcMethods.contains(where: glob.matches) { return false }
        return json.allSatisfy { $0.matches(root) }
    }
}
