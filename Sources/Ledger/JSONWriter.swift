/// A hand-written JSON object writer for ledger records: one pass, no Foundation, keys in the order
/// written. Records are written on the proxy's loop thread for every event (at `--ledger-level events`,
/// two records an event), so this stays cheap: the text is built as UTF-8 bytes and made a String once,
/// in `finish` (appending to a String piece by piece cost about 300 instructions an append).
struct JSONWriter {
    private var bytes: Bytes
    private var first = true

    init(capacity: Int = 160) {
        bytes = Bytes(capacity: capacity)
        bytes.append(0x7B)  // {
    }

    /// The text so far.
    var out: String { bytes.string }

    @inline(__always)
    private mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append($0) }
    }

    @inline(__always)
    private mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append($0) }
    }

    private mutating func appendDecimal(_ v: UInt64) {
        if v < 10 {
            bytes.append(0x30 &+ UInt8(v))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for UInt64.max's 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var i = buffer.count
            var n = v
            while n > 0 {
                i -= 1
                buffer[i] = 0x30 &+ UInt8(n % 10)
                n /= 10
            }
            bytes.append(UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + i, count: buffer.count - i))
        }
    }

    private mutating func appendDecimal(_ v: Int) {
        if v < 0 {
            bytes.append(0x2D)  // -
            appendDecimal(v.magnitude.asUInt64)
        } else {
            appendDecimal(UInt64(v))
        }
    }

    private mutating func key(_ k: StaticString) {
        if first { first = false } else { bytes.append(0x2C) }  // ,
        bytes.append(0x22)
        append(k)
        bytes.append(0x22)
        bytes.append(0x3A)  // :
    }

    mutating func string(_ k: StaticString, _ v: String) {
        key(k)
        JSONWriter.appendQuoted(v, to: &bytes)
    }

    mutating func string(_ k: StaticString, _ v: String?) {
        key(k)
        if let v { JSONWriter.appendQuoted(v, to: &bytes) } else { append("null") }
    }

    /// Omits the key when `v` is nil.
    mutating func optString(_ k: StaticString, _ v: String?) {
        if let v { string(k, v) }
    }

    mutating func int(_ k: StaticString, _ v: Int) {
        key(k)
        appendDecimal(v)
    }

    mutating func uint(_ k: StaticString, _ v: UInt64) {
        key(k)
        appendDecimal(v)
    }

    mutating func int(_ k: StaticString, _ v: Int?) {
        key(k)
        if let v { appendDecimal(v) } else { append("null") }
    }

    mutating func optUInt(_ k: StaticString, _ v: UInt64?) {
        if let v { uint(k, v) }
    }

    mutating func bool(_ k: StaticString, _ v: Bool) {
        key(k)
        append(v ? "true" : "false")
    }

    mutating func strings(_ k: StaticString, _ v: [String]) {
        key(k)
        bytes.append(0x5B)  // [
        for (i, s) in v.enumerated() {
            if i > 0 { bytes.append(0x2C) }
            JSONWriter.appendQuoted(s, to: &bytes)
        }
        bytes.append(0x5D)  // ]
    }

    /// A value that is already JSON text.
    mutating func raw(_ k: StaticString, _ json: String) {
        key(k)
        append(json)
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
        bytes.append(0x7D)  // }
        return bytes.string
    }

    static func quoted(_ s: String) -> String {
        var o = Bytes(capacity: s.utf8.count + 2)
        appendQuoted(s, to: &o)
        return o.string
    }

    static func appendQuoted(_ s: String, to out: inout String) {
        out.append(quoted(s))
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// RFC 8259 string: `"` and `\` escaped, control characters as `\n`, `\r`, `\t` or `\u00XX`.
    /// Everything else is copied as UTF-8 (a `String` is always valid Unicode, and every byte of a
    /// multi-byte sequence is ≥ 0x80, so escaping byte by byte is escaping scalar by scalar).
    static func appendQuoted(_ s: String, to out: inout Bytes) {
        out.append(0x22)
        var s = s
        s.withUTF8 { u in
            var clean = true
            for b in u where b < 0x20 || b == 0x22 || b == 0x5C {
                clean = false
                break
            }
            if clean {
                out.append(u)
                return
            }
            for b in u {
                switch b {
                case 0x22: out.append(0x5C); out.append(0x22)
                case 0x5C: out.append(0x5C); out.append(0x5C)
                case 0x0A: out.append(0x5C); out.append(0x6E)  // \n
                case 0x0D: out.append(0x5C); out.append(0x72)  // \r
                case 0x09: out.append(0x5C); out.append(0x74)  // \t
                case 0..<0x20:
                    out.append(0x5C)
                    out.append(0x75)
                    out.append(0x30)
                    out.append(0x30)  // \u00
                    hexDigits.withUTF8Buffer { h in
                        out.append(h[Int(b >> 4)])
                        out.append(h[Int(b & 0xF)])
                    }
                default:
                    out.append(b)
                }
            }
        }
        out.append(0x22)
    }
}

/// A growable byte buffer with a plain `memcpy` append (Array's `append(contentsOf:)` costs about 130
/// instructions for the few bytes of a key).
final class Bytes {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = Swift.max(16, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    private func grow(to needed: Int) {
        var c = capacity * 2
        while c < needed { c *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        bigger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = c
    }

    @inline(__always)
    func append(_ b: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = b
        count += 1
    }

    @inline(__always)
    func append(_ p: UnsafeBufferPointer<UInt8>) {
        guard let src = p.baseAddress, p.count > 0 else { return }
        if count + p.count > capacity { grow(to: count + p.count) }
        (base + count).update(from: src, count: p.count)
        count += p.count
    }

    var string: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }
}

private extension UInt {
    var asUInt64: UInt64 { UInt64(self) }
}
