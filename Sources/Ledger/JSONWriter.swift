/// A hand-written JSON object writer for ledger records: one pass, no Foundation, keys in the order
/// written. Records are written on the proxy's loop thread for every event, so this stays cheap.
struct JSONWriter {
    private(set) var out: String
    private var first = true

    init(capacity: Int = 160) {
        out = ""
        out.reserveCapacity(capacity)
        out.append("{")
    }

    private mutating func key(_ k: StaticString) {
        if first { first = false } else { out.append(",") }
        out.append("\"")
        out.append(k.description)
        out.append("\":")
    }

    mutating func string(_ k: StaticString, _ v: String) {
        key(k)
        JSONWriter.appendQuoted(v, to: &out)
    }

    mutating func string(_ k: StaticString, _ v: String?) {
        key(k)
        if let v { JSONWriter.appendQuoted(v, to: &out) } else { out.append("null") }
    }

    /// Omits the key when `v` is nil.
    mutating func optString(_ k: StaticString, _ v: String?) {
        if let v { string(k, v) }
    }

    mutating func int(_ k: StaticString, _ v: Int) {
        key(k)
        out.append(String(v))
    }

    mutating func uint(_ k: StaticString, _ v: UInt64) {
        key(k)
        out.append(String(v))
    }

    mutating func int(_ k: StaticString, _ v: Int?) {
        key(k)
        if let v { out.append(String(v)) } else { out.append("null") }
    }

    mutating func optUInt(_ k: StaticString, _ v: UInt64?) {
        if let v { uint(k, v) }
    }

    mutating func bool(_ k: StaticString, _ v: Bool) {
        key(k)
        out.append(v ? "true" : "false")
    }

    mutating func strings(_ k: StaticString, _ v: [String]) {
        key(k)
        out.append("[")
        for (i, s) in v.enumerated() {
            if i > 0 { out.append(",") }
            JSONWriter.appendQuoted(s, to: &out)
        }
        out.append("]")
    }

    /// A value that is already JSON text.
    mutating func raw(_ k: StaticString, _ json: String) {
        key(k)
        out.append(json)
    }

    /// A value that is already JSON text, or `null`.
    mutating func rawOrNull(_ k: StaticString, _ json: String?) {
        raw(k, json ?? "null")
    }

    /// The fields of an upstream frame, as `frame` records and the control API write them.
    mutating func frameFields(_ f: FrameInfo) {
        int("index", f.index)
        string("kind", f.kind)
        string("id", f.id)
        string("event", f.eventType)
        optUInt("retry", f.retry)
        int("size", f.size)
        string("digest", Digest64.hex(f.digest))
    }

    mutating func finish() -> String {
        out.append("}")
        return out
    }

    static func quoted(_ s: String) -> String {
        var o = ""
        appendQuoted(s, to: &o)
        return o
    }

    /// RFC 8259 string: `"` and `\` escaped, control characters as `\n`, `\r`, `\t` or `\u00XX`.
    /// Everything else is copied as UTF-8 (a `String` is always valid Unicode).
    static func appendQuoted(_ s: String, to out: inout String) {
        out.append("\"")
        var clean = true
        for b in s.utf8 where b < 0x20 || b == 0x22 || b == 0x5C {
            clean = false
            break
        }
        if clean {
            out.append(s)
        } else {
            for u in s.unicodeScalars {
                switch u {
                case "\"": out.append("\\\"")
                case "\\": out.append("\\\\")
                case "\n": out.append("\\n")
                case "\r": out.append("\\r")
                case "\t": out.append("\\t")
                default:
                    if u.value < 0x20 {
                        let h = String(u.value, radix: 16)
                        out.append("\\u" + String(repeating: "0", count: 4 - h.count) + h)
                    } else {
                        out.unicodeScalars.append(u)
                    }
                }
            }
        }
        out.append("\"")
    }
}
