import CLibevent
import Glibc

/// A view of a libevent `evbuffer` owned by a `Connection`. Loop-confined.
public struct Buffer {
    let raw: OpaquePointer

    public var count: Int { evbuffer_get_length(raw) }
    public var isEmpty: Bool { count == 0 }

    /// The first `n` bytes (at most `count`) as one contiguous region, valid until the buffer changes.
    public func contiguous(_ n: Int) -> UnsafeRawBufferPointer {
        let len = Swift.min(n, count)
        if len == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: evbuffer_pullup(raw, len), count: len)
    }

    /// Calls `body` with each stored segment covering the first `limit` bytes, without copying.
    public func forEachSegment(limit: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        let len = Swift.min(limit, count)
        guard len > 0 else { return }
        let n = Int(evbuffer_peek(raw, len, nil, nil, 0))
        withUnsafeTemporaryAllocation(of: iovec.self, capacity: n) { vecs in
            let got = Int(evbuffer_peek(raw, len, nil, vecs.baseAddress, Int32(n)))
            var left = len
            for i in 0..<got where left > 0 {
                let take = Swift.min(left, vecs[i].iov_len)
                body(UnsafeRawBufferPointer(start: vecs[i].iov_base, count: take))
                left -= take
            }
        }
    }

    public func drain(_ n: Int) { evbuffer_drain(raw, n) }

    /// Moves the first `n` bytes into `other` without copying the data.
    public func move(_ n: Int, to other: Buffer) { evbuffer_remove_buffer(raw, other.raw, n) }

    public func moveAll(to other: Buffer) { evbuffer_add_buffer(other.raw, raw) }

    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        evbuffer_add(raw, base, bytes.count)
    }

    public func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    public func append(_ string: String) {
        var s = string
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Copies out the first `n` bytes (tests, small heads).
    public func peekBytes(_ n: Int) -> [UInt8] { Array(contiguous(n)) }
}
