/// Byte-level helpers shared by the parser, the client model and lazy field decoding.
///
/// Why splitting bytes first and decoding afterwards is spec-exact: the spec decodes the whole stream
/// with UTF-8 decode (U+FFFD for invalid sequences) and then splits code points at CR, LF and `:`.
/// Those are ASCII, and the WHATWG UTF-8 decoder never folds an ASCII byte into an invalid sequence
/// (it emits U+FFFD and reprocesses the byte), so splitting the bytes at CR/LF/`:` first and decoding
/// each piece gives the same code points. Swift's `String(decoding:as: UTF8.self)` replaces maximal
/// subparts with U+FFFD, the same policy as the WHATWG decoder.
@usableFromInline
enum SSELines {
    @usableFromInline static let lf: UInt8 = 0x0A
    @usableFromInline static let cr: UInt8 = 0x0D
    @usableFromInline static let colon: UInt8 = 0x3A
    @usableFromInline static let space: UInt8 = 0x20

    /// Index of the first CR or LF in `base[from..<end]`, or `end`.
    /// Scans eight bytes at a time (a word is skipped when no byte in it is 0x0A or 0x0D).
    @inlinable @inline(__always)
    static func findLineEnd(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        var i = from
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while i &+ 8 <= end {
            let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            let a = w ^ 0x0A0A_0A0A_0A0A_0A0A
            let b = w ^ 0x0D0D_0D0D_0D0D_0D0D
            let t = ((a &- ones) & ~a) | ((b &- ones) & ~b)
            if t & highs != 0 { break }
            i &+= 8
        }
        while i < end {
            let c = base[i]
            if c == lf || c == cr { return i }
            i &+= 1
        }
        return end
    }

    /// Index of the first `:` in `base[from..<end]`, or `end`.
    @inlinable @inline(__always)
    static func findColon(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        var i = from
        while i < end {
            if base[i] == colon { return i }
            i &+= 1
        }
        return end
    }

    @inlinable @inline(__always)
    static func decode(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + from, count: end &- from), as: UTF8.self)
    }

    /// The known field names, by bytes (case-sensitive).
    @usableFromInline
    enum Field { case data, event, id, retry, other }

    @inlinable @inline(__always)
    static func field(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Field {
        switch end &- from {
        case 2:
            return base[from] == 0x69 && base[from + 1] == 0x64 ? .id : .other  // "id"
        case 4:
            let w = UnsafeRawPointer(base + from).loadUnaligned(as: UInt32.self)
            return w == UInt32(littleEndian: 0x6174_6164) ? .data : .other  // "data"
        case 5:
            let w = UnsafeRawPointer(base + from).loadUnaligned(as: UInt32.self)
            let last = base[from + 4]
            if w == UInt32(littleEndian: 0x6E65_7665) && last == 0x74 { return .event }  // "even" + "t"
            if w == UInt32(littleEndian: 0x7274_6572) && last == 0x79 { return .retry }  // "retr" + "y"
            return .other
        default:
            return .other
        }
    }

    /// `retry` value: only if non-empty, all ASCII digits, and it fits in UInt64 (Chromium ignores
    /// values that overflow; the spec does not say). Otherwise nil (the field is ignored).
    @inlinable
    static func parseRetry(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> UInt64? {
        if from >= end { return nil }
        var v: UInt64 = 0
        var i = from
        while i < end {
            let d = base[i] &- 0x30
            if d > 9 { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            v = s
            i &+= 1
        }
        return v
    }

    @inlinable
    static func containsNUL(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Bool {
        var i = from
        while i < end {
            if base[i] == 0 { return true }
            i &+= 1
        }
        return false
    }

    /// Start of a field's value: after the first colon, minus one leading space; `end` when no colon.
    @inlinable @inline(__always)
    static func valueStart(_ base: UnsafePointer<UInt8>, colonAt c: Int, _ end: Int) -> Int {
        if c >= end { return end }
        var v = c &+ 1
        if v < end && base[v] == space { v &+= 1 }
        return v
    }

    /// Decodes the `data` values (or the comment texts) of one complete block, in order.
    /// `raw[from...]` is split into lines at CRLF, LF or CR.
    static func fieldValues(of raw: [UInt8], from: Int, wantComments: Bool) -> [String] {
        var out: [String] = []
        visitFieldValues(of: raw, from: from, wantComments: wantComments) { out.append(String(decoding: $0, as: UTF8.self)) }
        return out
    }

    /// Hands each `data` value (or comment text) of one complete block to `body` as raw bytes, in order,
    /// without copying; the buffer is valid only during the call.
    static func visitFieldValues(of raw: [UInt8], from: Int, wantComments: Bool, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        raw.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            var i = from
            let n = buf.count
            while i < n {
                let e = findLineEnd(base, i, n)
                if e > i {
                    if base[i] == colon {
                        if wantComments { body(UnsafeBufferPointer(start: base + i + 1, count: e - i - 1)) }
                    } else if !wantComments {
                        let c = findColon(base, i, e)
                        if field(base, i, c) == .data {
                            let v = valueStart(base, colonAt: c, e)
                            body(UnsafeBufferPointer(start: base + v, count: e - v))
                        }
                    }
                }
                if e >= n { break }
                i = e + 1
                if base[e] == cr && i < n && base[i] == lf { i += 1 }
            }
        }
    }
}
