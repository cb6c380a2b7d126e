import SSE

/// FNV-1a, 64 bits: the digest of a frame's raw bytes and of an event's (type, data).
///
/// Not cryptographic: it tells two byte strings apart for a report, nothing more.
public struct FNV1a64: Sendable, Equatable {
    public static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01B3

    public private(set) var value: UInt64 = FNV1a64.offsetBasis

    public init() {}

    public mutating func add(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* FNV1a64.prime
    }

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* FNV1a64.prime }
        value = h
    }

    public mutating func add(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { add($0) }
    }

    public mutating func add(_ s: String) {
        var s = s
        s.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }

    /// Adds the bytes as `String(decoding: bytes, as: UTF8.self)` would hold them: the same bytes when
    /// they are ASCII (the common case, no copy), else their decoding, with U+FFFD for invalid sequences.
    /// So a digest of received bytes equals the digest of the Strings a client decodes from them.
    public mutating func addDecoded(_ bytes: UnsafeBufferPointer<UInt8>) {
        var high: UInt8 = 0
        for b in bytes { high |= b }
        if high < 0x80 {
            add(UnsafeRawBufferPointer(bytes))
        } else {
            add(String(decoding: bytes, as: UTF8.self))
        }
    }

    public static func digest(_ bytes: [UInt8]) -> UInt64 {
        var h = FNV1a64()
        h.add(bytes)
        return h.value
    }

    /// Digest of an event as a client sees it: its type, a 0xFF byte (never in UTF-8), then its data
    /// (data lines joined by LF, as `MessageEvent.data`).
    public static func event(type: String, data: String) -> UInt64 {
        var h = FNV1a64()
        h.add(type)
        h.add(0xFF)
        h.add(data)
        return h.value
    }

    /// Same as `event(type:data:)` for data still split in lines, without joining them.
    public static func event(type: String, dataLines: [String]) -> UInt64 {
        var h = FNV1a64()
        h.add(type)
        h.add(0xFF)
        for (i, line) in dataLines.enumerated() {
            if i > 0 { h.add(0x0A) }
            h.add(line)
        }
        return h.value
    }

    /// `event(type:data:)` of a message as the client model dispatches it, from its bytes.
    public static func event(_ m: SSEDispatch) -> UInt64 {
        var h = FNV1a64()
        if m.typeBytes.isEmpty { h.add("message") } else { h.addDecoded(m.typeBytes) }
        h.add(0xFF)
        h.addDecoded(m.dataBytes)
        return h.value
    }

    /// `event(type:dataLines:)` of an upstream frame, from its raw bytes (no String per data line).
    public static func event(type: String, frame: SSEFrame) -> UInt64 {
        var h = FNV1a64()
        h.add(type)
        h.add(0xFF)
        var first = true
        frame.forEachDataValue { line in
            if !first { h.add(0x0A) }
            first = false
            h.addDecoded(line)
        }
        return h.value
    }

    /// 16 lowercase hex digits.
    public static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
