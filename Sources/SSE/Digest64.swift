/// The ledger's 64-bit digest: of a frame's raw bytes, and of an event's (type, data).
///
/// Not cryptographic: it tells two byte strings apart for a report, nothing more. Computed eight bytes
/// at a time (the ledger digests every event twice, once as sent and once as dispatched, so this is on
/// the hot path), and independent of how the bytes are split between `add` calls: adding `ab` then `c`
/// gives the digest of `abc`. Each word is folded in with a multiply and a shift; the length and a
/// final avalanche (MurmurHash3's fmix64) close it.
public struct Digest64: Sendable, Equatable {
    private static let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15

    private var state: UInt64 = 0xCBF2_9CE4_8422_2325
    /// Bytes not yet folded in (fewer than eight), little-endian.
    private var pending: UInt64 = 0
    private var pendingCount = 0
    private var length: UInt64 = 0

    public init() {}

    /// The digest of everything added so far.
    public var value: UInt64 {
        var h = state
        if pendingCount > 0 { h = Self.fold(h, pending) }
        h ^= length
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }

    @inline(__always)
    private static func fold(_ h: UInt64, _ word: UInt64) -> UInt64 {
        let m = (h ^ word) &* multiplier
        return m ^ (m >> 29)
    }

    public mutating func add(_ byte: UInt8) {
        pending |= UInt64(byte) << (8 * UInt64(pendingCount))
        pendingCount += 1
        length &+= 1
        if pendingCount == 8 {
            state = Self.fold(state, pending)
            pending = 0
            pendingCount = 0
        }
    }

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        _ = absorb(bytes)
    }

    /// Folds `bytes` in, a word at a time whatever the bytes pending from earlier calls (a word is then
    /// assembled from two loads by shifts); returns the OR of every byte added (its high bit tells
    /// whether all were ASCII), so `addDecoded` needs one pass, not two.
    @inline(__always)
    private mutating func absorb(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let n = bytes.count
        guard n > 0, let base = bytes.baseAddress else { return 0 }
        length &+= UInt64(n)
        var h = state
        var p = pending
        var k = pendingCount
        var seen: UInt64 = 0
        var i = 0
        if k == 0 {
            while i &+ 8 <= n {
                let w = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                seen |= w
                h = Self.fold(h, w)
                i &+= 8
            }
        } else {
            let shift = UInt64(8 &* k)
            while i &+ 8 <= n {
                let w = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                seen |= w
                h = Self.fold(h, p | (w << shift))
                p = w >> (64 &- shift)
                i &+= 8
            }
        }
        while i < n {
            let byte = UInt64(base.load(fromByteOffset: i, as: UInt8.self))
            seen |= byte
            p |= byte << (8 &* UInt64(k))
            k &+= 1
            if k == 8 {
                h = Self.fold(h, p)
                p = 0
                k = 0
            }
            i &+= 1
        }
        state = h
        pending = p
        pendingCount = k
        return seen
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
        let before = self
        if absorb(UnsafeRawBufferPointer(bytes)) & 0x8080_8080_8080_8080 == 0 { return }  // all ASCII: done in one pass
        self = before
        add(String(decoding: bytes, as: UTF8.self))
    }

    public static func digest(_ bytes: [UInt8]) -> UInt64 {
        var h = Digest64()
        h.add(bytes)
        return h.value
    }

    /// Digest of an event as a client sees it: its type, a 0xFF byte (never in UTF-8), then its data
    /// (data lines joined by LF, as `MessageEvent.data`).
    public static func event(type: String, data: String) -> UInt64 {
        var h = Digest64()
        h.add(type)
        h.add(0xFF)
        h.add(data)
        return h.value
    }

    /// Same as `event(type:data:)` for data still split in lines, without joining them.
    public static func event(type: String, dataLines: [String]) -> UInt64 {
        var h = Digest64()
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
        if let digest = m.eventDigest { return digest }  // digested as its bytes passed
        var h = Digest64()
        if m.typeBytes.isEmpty { h.add("message") } else { h.addDecoded(m.typeBytes) }
        h.add(0xFF)
        h.addDecoded(m.dataBytes)
        return h.value
    }

    /// `event(type:dataLines:)` of an upstream frame, from its raw bytes (no String per data line).
    public static func event(type: String, frame: SSEFrame) -> UInt64 {
        var h = Digest64()
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
