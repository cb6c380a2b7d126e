import EventLoop
import HTTP1

// Byte movement for the session driver: a body from one connection's input to the other's output,
// without copies (evbuffer to evbuffer, or straight to the socket).

/// Moves the bytes of one message body from `source.input` into `destination` unchanged.
/// `observe` sees the payload (de-chunked) slices as they pass. Returns the bytes moved.
/// With `direct` (the connection `destination` belongs to), bytes go straight to its socket when
/// its output is empty; only what the socket does not take is queued.
func relay(_ tracker: inout BodyTracker, from source: Connection, to destination: Buffer,
           sendingDirectlyTo direct: Connection? = nil,
           observe: (UnsafeRawBufferPointer) -> Void = { _ in }) throws(HTTPParseError) -> Int {
    let input = source.input
    let (consumed, failure) = consumeBody(&tracker, in: input, onPayload: observe)
    if consumed > 0 {
        let sent = direct?.sendDirect(consumed, from: input) ?? 0
        if consumed > sent { input.move(consumed - sent, to: destination) }
    }
    if let failure { throw failure }
    return consumed
}

/// As `relay`, with `observe` called once the bytes are on their way (sent, or queued behind others): the
/// observer's work (the SSE parse, the ledger) stays off the event's path. The payload is copied into
/// `scratch` first (the input's bytes are gone once sent); `scratch` is the caller's, reused between calls.
func relay(_ tracker: inout BodyTracker, from source: Connection, to destination: Buffer, sendingDirectlyTo direct: Connection?,
           observingAfter observe: (UnsafeRawBufferPointer) -> Void, scratch: inout [UInt8]) throws(HTTPParseError) -> Int {
    scratch.removeAll(keepingCapacity: scratch.capacity <= 1 << 20)
    defer { scratch.withUnsafeBytes(observe) }
    return try relay(&tracker, from: source, to: destination, sendingDirectlyTo: direct) { scratch.append(contentsOf: $0) }
}

/// Like `relay`, but writes only the payload (a chunked body to an HTTP/1.0 client).
func relayPayload(_ tracker: inout BodyTracker, from source: Connection, to destination: Buffer) throws(HTTPParseError) -> Int {
    let input = source.input
    let (consumed, failure) = consumeBody(&tracker, in: input) { payload in destination.append(payload) }
    if consumed > 0 { input.drain(consumed) }
    if let failure { throw failure }
    return consumed
}

/// Runs `tracker` over `input`'s segments up to the end of the body or the first framing error, without
/// draining: the bytes of the body before the error (up to the byte that broke the framing, so chunk data
/// that arrived before it is relayed), and the error.
private func consumeBody(_ tracker: inout BodyTracker, in input: Buffer,
                         onPayload: (UnsafeRawBufferPointer) -> Void) -> (consumed: Int, failure: HTTPParseError?) {
    var consumed = 0
    var failure: HTTPParseError?
    input.forEachSegment(limit: input.count) { segment in
        guard failure == nil, !tracker.isDone else { return }
        let result = tracker.consumeUntilError(segment, onPayload: onPayload)
        consumed += result.consumed
        failure = result.failure
    }
    return (consumed, failure)
}
