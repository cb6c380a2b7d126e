/// Writes the chunked transfer coding (RFC 9112 7.1): `hex-size CRLF payload CRLF`, lowercase hex, no extensions.
public enum ChunkedEncoder {
    /// One chunk holding `payload`. An empty payload gives no bytes at all, because a zero-size chunk
    /// would end the message; use `lastChunk` for that.
    public static func chunk(_ payload: UnsafeRawBufferPointer) -> [UInt8] {
        guard !payload.isEmpty else { return [] }
        let size = String(payload.count, radix: 16).utf8
        var out: [UInt8] = []
        out.reserveCapacity(size.count + payload.count + 4)
        out.append(contentsOf: size)
        out.append(ASCII.cr)
        out.append(ASCII.lf)
        out.append(contentsOf: payload)
        out.append(ASCII.cr)
        out.append(ASCII.lf)
        return out
    }

    public static func chunk(_ payload: [UInt8]) -> [UInt8] {
        payload.withUnsafeBytes { chunk($0) }
    }

    /// The chunk-size line of a chunk of `count` bytes (`"1a\r\n"`), for callers that write the payload themselves
    /// and then `crlf`.
    public static func chunkHeader(count: Int) -> [UInt8] {
        Array(String(count, radix: 16).utf8) + [ASCII.cr, ASCII.lf]
    }

    public static let crlf: [UInt8] = [ASCII.cr, ASCII.lf]

    /// `0 CRLF CRLF`: the last chunk with no trailers.
    public static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
}
