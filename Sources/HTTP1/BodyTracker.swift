/// Follows one message body through its framing without changing a byte: how many of the bytes
/// at hand belong to the message, which of them are payload, and whether the message has ended.
public struct BodyTracker: Sendable {
    private enum Mode {
        case length(UInt64)
        case chunked(ChunkedDecoder)
        case untilClose
        case done
    }

    private var mode: Mode
    /// Payload bytes seen so far.
    public private(set) var payloadBytes: UInt64 = 0

    public init(_ framing: BodyFraming, limits: HTTPLimits) {
        switch framing {
        case .none: mode = .done
        case .contentLength(0): mode = .done
        case .contentLength(let n): mode = .length(n)
        case .chunked: mode = .chunked(ChunkedDecoder(limits: limits))
        case .untilClose: mode = .untilClose
        }
    }

    public var isDone: Bool { if case .done = mode { return true } else { return false } }
    public var isUntilClose: Bool { if case .untilClose = mode { return true } else { return false } }
    /// Whether the bytes consumed so far end on a framing boundary (a chunked body: between chunks).
    public var isAtFramingBoundary: Bool { if case .chunked(let d) = mode { return d.isBetweenChunks } else { return true } }

    /// Consumes from `bytes` what belongs to this message; `onPayload` sees the payload slices.
    /// Returns the number of bytes consumed (the rest, if any, follows the message).
    public mutating func consume(_ bytes: UnsafeRawBufferPointer, onPayload: (UnsafeRawBufferPointer) -> Void) throws(HTTPParseError) -> Int {
        let result = consumeUntilError(bytes, onPayload: onPayload)
        if let failure = result.failure { throw failure }
        return result.consumed
    }

    /// As `consume`, without throwing: on a framing error (chunked bodies only), `consumed` counts the bytes
    /// that belong to the message before the byte that broke its framing (their payload was passed to
    /// `onPayload`, so a relay can pass them on before acting on the error), and `failure` is the error.
    public mutating func consumeUntilError(_ bytes: UnsafeRawBufferPointer,
                                           onPayload: (UnsafeRawBufferPointer) -> Void) -> (consumed: Int, failure: HTTPParseError?) {
        switch mode {
        case .done:
            return (0, nil)
        case .untilClose:
            payloadBytes &+= UInt64(bytes.count)
            onPayload(bytes)
            return (bytes.count, nil)
        case .length(let left):
            let take = Int(min(UInt64(bytes.count), left))
            let slice = UnsafeRawBufferPointer(rebasing: bytes[0..<take])
            payloadBytes &+= UInt64(take)
            onPayload(slice)
            mode = left == UInt64(take) ? .done : .length(left - UInt64(take))
            return (take, nil)
        case .chunked(var decoder):
            var seen: UInt64 = 0
            let (consumed, finished, failure) = decoder.feedUntilError(bytes) { slice in
                seen &+= UInt64(slice.count)
                onPayload(slice)
            }
            payloadBytes &+= seen
            mode = finished ? .done : .chunked(decoder)
            return (consumed, failure)
        }
    }
}
