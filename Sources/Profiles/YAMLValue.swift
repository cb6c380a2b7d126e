import Faults
import Yams

/// A YAML node with the dotted path that led to it, for precise errors.
struct YAMLValue {
    let node: Node
    let path: String
    let file: String

    var line: Int { node.mark?.line ?? 0 }

    func error(_ message: String, field: String? = nil) -> ProfileError {
        ProfileError(file: file, line: line, field: field ?? path, message: message)
    }

    func child(_ node: Node, _ component: String) -> YAMLValue {
        YAMLValue(node: node, path: path.isEmpty ? component : "\(path).\(component)", file: file)
    }

    /// How the value reads in an error message.
    var found: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let s):
            if isNull { return "nothing" }
            return "'\(s.string)'"
        }
    }

    var isNull: Bool {
        guard case .scalar(let s) = node else { return false }
        return s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    func map(_ what: String) throws(ProfileError) -> YAMLMap {
        if isNull { return YAMLMap(value: self, entries: []) }
        guard case .mapping(let m) = node else { throw error("expected a mapping for \(what), found \(found)") }
        var entries: [(key: String, keyLine: Int, value: YAMLValue)] = []
        for (k, v) in m {
            guard case .scalar(let ks) = k else {
                throw ProfileError(file: file, line: k.mark?.line ?? line, field: path.isEmpty ? "(key)" : path, message: "expected a plain key in \(what), found \(YAMLValue(node: k, path: path, file: file).found)")
            }
            if entries.contains(where: { $0.key == ks.string }) {
                throw ProfileError(file: file, line: k.mark?.line ?? line, field: keyField(ks.string, child(v, ks.string)),
                                   message: "duplicate key '\(ks.string)' in \(what)")
            }
            entries.append((ks.string, k.mark?.line ?? line, child(v, ks.string)))
        }
        return YAMLMap(value: self, what: what, entries: entries)
    }

    /// The field an error about `key` of this mapping names: the child's path, or `(empty key)` under this path.
    func keyField(_ key: String, _ child: YAMLValue) -> String {
        key.isEmpty ? "\(path.isEmpty ? "" : path + ".")(empty key)" : child.path
    }

    func list(_ what: String) throws(ProfileError) -> [YAMLValue] {
        if isNull { return [] }
        guard case .sequence(let s) = node else { throw error("expected a list of \(what), found \(found)") }
        return s.enumerated().map { YAMLValue(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    func string(_ what: String = "a string") throws(ProfileError) -> String {
        guard case .scalar(let s) = node, !isNull else { throw error("expected \(what), found \(found)") }
        return s.string
    }

    func int(in range: ClosedRange<Int>) throws(ProfileError) -> Int {
        let expected = YAMLValue.describe(range)
        guard case .scalar(let s) = node, !isNull, let n = Int(s.string.replacingUnderscores) else {
            throw error("expected \(expected), found \(found)")
        }
        guard range.contains(n) else { throw error("expected \(expected), found \(n)") }
        return n
    }

    func uint64() throws(ProfileError) -> UInt64 {
        guard case .scalar(let s) = node, !isNull, let n = UInt64(s.string.replacingUnderscores) else {
            throw error("expected an integer from 0 to \(UInt64.max), found \(found)")
        }
        return n
    }

    func double(_ what: String, _ ok: (Double) -> Bool) throws(ProfileError) -> Double {
        guard case .scalar(let s) = node, !isNull, let d = Double(s.string.replacingUnderscores), d.isFinite else {
            throw error("expected \(what), found \(found)")
        }
        guard ok(d) else { throw error("expected \(what), found \(s.string)") }
        return d
    }

    func bool() throws(ProfileError) -> Bool {
        guard case .scalar(let s) = node, !isNull else { throw error("expected true or false, found \(found)") }
        switch s.string {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw error("expected true or false, found \(found)")
        }
    }

    /// `true` only: for flags such as `until_end: true` whose absence is the other choice.
    func trueFlag() throws(ProfileError) -> Void {
        guard try bool() else { throw error("expected true (leave the key out instead of false), found false") }
    }

    /// A duration with a unit: `250ms`, `2s`, `1.5s`, `500us`, `100ns`, `1m`; `0` alone is allowed.
    func duration(allowNegative: Bool = false) throws(ProfileError) -> Double {
        let example = "expected a duration such as '250ms' or '2s'"
        guard case .scalar(let s) = node, !isNull else { throw error("\(example), found \(found)") }
        var text = Substring(s.string.trimmingCharacters)
        var sign = 1.0
        if allowNegative, text.first == "-" {
            sign = -1
            text = text.dropFirst()
        }
        if text == "0" { return 0 }
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        for (unit, scale) in units where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count)
            if let d = Double(number), d.isFinite, d >= 0, !number.isEmpty, number.first != "+" {
                let n = d * scale
                guard n < 1e18 else { throw error("expected a duration shorter than 1000000000s, found '\(s.string)'") }
                return sign * n
            }
        }
        throw error("\(example), found \(found)")
    }

    /// A scalar a JSON field is compared with: a string (a glob), true/false, a number or null.
    /// Quoted scalars are strings (`"true"` is the string).
    func jsonFieldValue() throws(ProfileError) -> JSONFieldValue {
        guard case .scalar(let s) = node else {
            throw error("expected a string, number, true/false or null to compare the field with, found \(found)")
        }
        guard s.style == .plain else { return .string(Glob(s.string)) }
        if isNull { return .null }
        switch node.tag.rawValue {
        case Tag.Name.bool.rawValue: if let b = node.bool { return .bool(b) }
        case Tag.Name.int.rawValue: if let n = node.int { return .number(Double(n)) }
        case Tag.Name.float.rawValue: if let d = node.float, d.isFinite { return .number(d) }
        default: break
        }
        return .string(Glob(s.string))
    }

    func nanos() throws(ProfileError) -> Nanos { Nanos(try duration().rounded()) }

    static func describe(_ r: ClosedRange<Int>) -> String {
        if r.upperBound == Int.max { return r.lowerBound == 0 ? "a non-negative integer" : "an integer ≥ \(r.lowerBound)" }
        return "an integer from \(r.lowerBound) to \(r.upperBound)"
    }
}

/// Fault settings decode through these (see `SettingsValue` in Faults).
extension YAMLValue: SettingsValue {
    func error(_ message: String) -> ProfileError { error(message, field: nil) }
}

extension YAMLMap: SettingsMap {}

/// A mapping whose keys are checked against the allowed ones.
struct YAMLMap {
    let value: YAMLValue
    var what: String = ""
    let entries: [(key: String, keyLine: Int, value: YAMLValue)]

    init(value: YAMLValue, what: String = "", entries: [(key: String, keyLine: Int, value: YAMLValue)]) {
        self.value = value
        self.what = what
        self.entries = entries
    }

    var keys: [String] { entries.map(\.key) }

    subscript(_ key: String) -> YAMLValue? { entries.first { $0.key == key }?.value }

    func check(allowed: [String]) throws(ProfileError) {
        if let first = unknownKeys(allowed: allowed).first { throw first }
    }

    /// One error per key not in `allowed`, in document order.
    func unknownKeys(allowed: [String]) -> [ProfileError] {
        entries.filter { !allowed.contains($0.key) }.map {
            ProfileError(
                file: value.file, line: $0.keyLine, field: value.keyField($0.key, $0.value),
                message: "unknown key '\($0.key)' in \(what); expected one of: \(allowed.joined(separator: ", "))")
        }
    }

    func required(_ key: String) throws(ProfileError) -> YAMLValue {
        guard let v = self[key] else {
            throw value.error("missing key '\(key)' in \(what)", field: value.path.isEmpty ? key : "\(value.path).\(key)")
        }
        return v
    }

    /// Exactly one of `keys` must be present.
    func exactlyOne(of options: [String]) throws(ProfileError) -> (key: String, value: YAMLValue) {
        let present = entries.filter { options.contains($0.key) }
        guard present.count == 1 else {
            let list = options.joined(separator: ", ")
            if present.isEmpty { throw value.error("\(what) needs exactly one of: \(list); found none") }
            throw ProfileError(
                file: value.file, line: present[1].keyLine, field: present[1].value.path,
                message: "\(what) needs exactly one of: \(list); found \(present.map(\.key).joined(separator: " and "))")
        }
        return (present[0].key, present[0].value)
    }
}

extension String {
    var replacingUnderscores: String { String(filter { $0 != "_" }) }
    var trimmingCharacters: String {
        String(Substring(self).trimmingSpaces2)
    }
}

extension Substring {
    fileprivate var trimmingSpaces2: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
