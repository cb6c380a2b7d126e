// libFuzzer target: the chunked decoder. The input is decoded in one piece, in seeded random pieces
// (with empty feeds between) and one byte at a time. Traps when
// - the three disagree on acceptance, error, consumed count (before an error too: the bytes a relay passes
//   on before acting on it), completion or payload;
// - a payload slice is not inside the piece it came from (the decoder must not copy);
// - the decoder consumed less than it was given without being done, or more than the input;
// - after `done`, feeding more consumes nothing;
// - a decoded payload, re-encoded with ChunkedEncoder and decoded again, differs (round trip);
// - an error carries a status other than 400/431.

struct Decoded: Equatable {
    var payload: [UInt8] = []
    var consumed = 0
    var done = false
    var error: HTTPParseError?
}

func decode(_ pieces: [[UInt8]], limits: HTTPLimits, emptyFeeds: Bool = false) -> Decoded {
    var decoder = ChunkedDecoder(limits: limits)
    var out = Decoded()
    for piece in pieces {
        let feeds = emptyFeeds ? [[], piece] : [piece]
        for bytes in feeds {
            bytes.withUnsafeBytes { buffer in
                let (consumed, done, failure) = decoder.feedUntilError(buffer) { slice in
                    if !slice.isEmpty {
                        check(slice.baseAddress! >= buffer.baseAddress! && slice.baseAddress! + slice.count <= buffer.baseAddress! + buffer.count,
                              "payload slice outside the input")
                    }
                    out.payload += slice
                }
                check(consumed <= buffer.count, "consumed more than given")
                check(done || failure != nil || consumed == buffer.count, "consumed less than given without being done or failing")
                check(failure == nil || consumed < buffer.count, "an error consumed the byte that broke the framing")
                check(done == decoder.isDone, "done disagrees with isDone")
                out.consumed += consumed
                out.done = done
                out.error = failure
            }
            if out.done || out.error != nil { break }
        }
        if out.done || out.error != nil { break }
    }
    if out.done {
        var again = decoder
        let extra: [UInt8] = [0x30, 0x0D, 0x0A]
        let r = extra.withUnsafeBytes { buffer in Result { () throws(HTTPParseError) in try again.feed(buffer) { _ in fatalError("payload after done") } } }
        check((try? r.get())?.consumed == 0, "feeding after done consumed bytes: \(r)")
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard var input = FuzzInput(data, size) else { return 0 }
    let whole = decode([input.bytes], limits: input.limits)
    let split = decode(input.pieces(), limits: input.limits, emptyFeeds: true)
    let bytewise = decode(input.bytes.map { [$0] }, limits: input.limits)
    check(whole == split, "split feeding differs: \(whole) vs \(split)")
    check(whole == bytewise, "byte-at-a-time feeding differs: \(whole) vs \(bytewise)")
    if let e = whole.error { check([400, 431].contains(e.status), "error status \(e.status)") }
    if whole.done {
        // Round trip: the payload re-encoded (in chunks of seeded sizes) decodes to the same payload.
        var encoded: [UInt8] = []
        var i = 0
        while i < whole.payload.count {
            let n = Swift.min(whole.payload.count - i, Int(input.next() % 300) + 1)
            encoded += ChunkedEncoder.chunk(Array(whole.payload[i..<(i + n)]))
            i += n
        }
        encoded += ChunkedEncoder.lastChunk
        let again = decode([encoded], limits: HTTPLimits())
        check(again == Decoded(payload: whole.payload, consumed: encoded.count, done: true, error: nil), "re-encoded payload decodes differently")
    }
    return 0
}
