// libFuzzer target for the SSE module. Built by scripts/fuzz-sse.sh together with Sources/SSE/*.swift and
// Tests/SSETests/FrameChecks.swift (one module, so no import). Input: byte 0 picks maxFrameBytes, byte 1 seeds the split points, the rest
// is the stream. Traps when:
// - the outputs' bytes + unfinishedTail differ from the input (fed whole or in pieces);
// - frames' meanings, or the oversized count, differ between whole and split feeding;
// - the client model's messages or state differ between whole and split feeding;
// - without oversized blocks, the messages replayed from the frames differ from the client model's;
// - the fields the client model applied to a block (`openBlock`, read before its final empty line) differ
//   from the frame a parser that holds every block makes of it, for every block, oversized ones included
//   (the ledger records a long passthrough block from them).

func run(_ chunks: [[UInt8]], max: Int) -> (bytes: [UInt8], frames: [FrameMeaning], oversized: Int, raw: [SSEFrame]) {
    var parser = SSEParser(maxFrameBytes: max)
    var bytes: [UInt8] = []
    var frames: [FrameMeaning] = []
    var raw: [SSEFrame] = []
    for c in chunks {
        parser.feed(c) { out in
            bytes += out.bytes
            if case .oversized(let piece, _, _) = out, piece.count > max + 2 || piece.isEmpty { fatalError("piece size") }
            if case .frame(let f) = out {
                frames.append(FrameMeaning(f))
                raw.append(f)
            }
        }
    }
    if parser.unfinishedTail.count > max + 2 { fatalError("tail exceeds the limit") }
    return (bytes + parser.unfinishedTail, frames, parser.oversizedBlocks, raw)
}

func model(_ chunks: [[UInt8]]) -> SSEClientModel {
    var m = SSEClientModel(state: SSEClientState())
    for c in chunks { m.feed(c) }
    m.end()
    return m
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let limits = [1, 2, 3, 5, 8, 16, 64, 4 << 20]
    let max = limits[Int(data[0]) % limits.count]
    var seed = UInt64(data[1]) &* 0x9E37_79B9_7F4A_7C15 | 1
    let input = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))

    var chunks: [[UInt8]] = []
    var i = 0
    while i < input.count {
        seed ^= seed << 13
        seed ^= seed >> 7
        seed ^= seed << 17
        let n = Swift.min(input.count - i, Int(seed % 17) + 1)
        chunks.append(Array(input[i..<(i + n)]))
        i += n
    }

    let whole = run([input], max: max)
    let split = run(chunks, max: max)
    let bytewise = run(input.map { [$0] }, max: max)
    if whole.bytes != input || split.bytes != input || bytewise.bytes != input { fatalError("not lossless") }
    if whole.frames != split.frames || whole.frames != bytewise.frames { fatalError("frames depend on the split") }
    if whole.oversized != split.oversized || whole.oversized != bytewise.oversized { fatalError("oversized count") }

    let m1 = model([input])
    let m2 = model(chunks)
    if m1.dispatched != m2.dispatched || m1.state != m2.state { fatalError("client model depends on the split") }
    if whole.oversized == 0 && replay(whole.raw).0 != m1.dispatched { fatalError("frames and client model disagree") }

    // Every block as its frame, or as an oversized block followed through a model (`SSELongBlock`): the
    // same fields as a parser that holds every block makes, and the same messages as the model fed whole.
    var reference: [Int: SSEFrame] = [:]
    for f in run(chunks, max: 4 << 20).raw { reference[f.index] = f }  // the same pieces: where a split CRLF's LF goes
    var m = SSEClientModel()
    var long = SSELongBlock()
    var messages: [SSEMessage] = []
    func check(_ index: Int, _ fields: SSEBlockFields) {
        guard let f = reference[index], fields == SSEBlockFields(kind: f.kind, id: f.id, retry: f.retry) else {
            fatalError("openBlock differs from frame \(index)")
        }
    }
    var parser = SSEParser(maxFrameBytes: max)
    for c in chunks {
        parser.feed(c) { out in
            switch out {
            case .frame(let f):
                f.raw.withUnsafeBytes { raw in
                    let head = raw.count - SSEParser.finalEmptyLineLength(raw)
                    m.feed(UnsafeRawBufferPointer(rebasing: raw[..<head])) { _ in fatalError("dispatch before the empty line") }
                    check(f.index, m.openBlock)
                    m.feed(UnsafeRawBufferPointer(rebasing: raw[head...])) { messages.append($0.message) }
                }
            case .oversized(let piece, let index, let isEnd):
                piece.withUnsafeBytes { piece in
                    long.feed(piece, isEnd: isEnd, model: &m) { end, message in
                        check(index, end.fields)
                        guard end.size == reference[index]!.raw.count, end.rawDigest == Digest64.digest(reference[index]!.raw) else {
                            fatalError("long block size or digest")
                        }
                        if let message { messages.append(message.message) }
                    }
                }
            }
        }
    }
    if messages != m1.dispatched { fatalError("messages of blocks fed in pieces") }
    return 0
}
