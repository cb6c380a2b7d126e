// Byte classes and small helpers shared by the parsers. Internal: the public API speaks Strings and bytes.

enum ASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let comma: UInt8 = 0x2C
    static let slash: UInt8 = 0x2F
    static let dot: UInt8 = 0x2E
    static let question: UInt8 = 0x3F
    static let equals: UInt8 = 0x3D
    static let quote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C

    /// tchar (RFC 9110 5.6.2): "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    @inline(__always)
    static func isTokenChar(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
        default: return false
        }
    }

    /// SP or HTAB (OWS / BWS).
    @inline(__always)
    static func isWhitespace(_ b: UInt8) -> Bool { b == sp || b == htab }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    /// The value of a hexadecimal digit, or nil.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt64? {
        switch b {
        case 0x30...0x39: return UInt64(b &- 0x30)
        case 0x41...0x46: return UInt64(b &- 0x41 &+ 10)
        case 0x61...0x66: return UInt64(b &- 0x61 &+ 10)
        default: return nil
        }
    }

    /// A control character other than HTAB (0x00–0x1F except 0x09, and DEL).
    @inline(__always)
    static func isForbiddenInFieldValue(_ b: UInt8) -> Bool { (b < 0x20 && b != htab) || b == 0x7F }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { (b &- 0x41) < 26 ? b | 0x20 : b }

    /// ASCII case-insensitive equality of two strings, without allocating.
    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        let a = a.utf8, b = b.utf8
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where lower(x) != lower(y) { return false }
        return true
    }

    /// ASCII case-insensitive equality of a UTF-8 slice and a string.
    static func equalsIgnoringCase(_ a: Substring.UTF8View, _ b: String) -> Bool {
        let b = b.utf8
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where lower(x) != lower(y) { return false }
        return true
    }

    /// Calls `body` with each element of a comma-separated list (RFC 9110 5.6.1), OWS trimmed.
    /// Empty elements are passed too (as empty substrings); callers decide whether they are allowed.
    static func forEachListElement<E: Error>(_ value: String, _ body: (Substring) throws(E) -> Void) throws(E) {
        var rest = Substring(value)
        while true {
            let element: Substring
            if let comma = rest.utf8.firstIndex(of: comma) {
                element = rest[..<comma]
                rest = rest[rest.utf8.index(after: comma)...]
                try body(trimmingOWS(element))
            } else {
                element = rest
                try body(trimmingOWS(element))
                return
            }
        }
    }

    static func trimmingOWS(_ s: Substring) -> Substring {
        var s = s
        while let f = s.utf8.first, isWhitespace(f) { s = s.dropFirst() }
        while let l = s.utf8.last, isWhitespace(l) { s = s.dropLast() }
        return s
    }
}

extension UnsafeRawBufferPointer {
    /// Makes a String from bytes already known to be ASCII or required to be valid UTF-8.
    /// Returns nil when `mayBeNonASCII` and the bytes are not valid UTF-8.
    @inline(__always)
    func string(_ start: Int, _ end: Int, mayBeNonASCII: Bool = false) -> String? {
        let slice = UnsafeRawBufferPointer(rebasing: self[start..<end])
        if mayBeNonASCII {
            return String(validating: slice, as: UTF8.self)
        }
        return String(decoding: slice, as: UTF8.self)
    }
}
