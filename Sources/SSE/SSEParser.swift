/// Incremental, lossless parser for a `text/event-stream` payload (WHATWG HTML, "Server-sent events",
/// "Event stream interpretation").
///
/// Feed it the de-chunked response payload in any pieces. It yields one `SSEFrame` per block as soon
/// as the block's terminating empty line has arrived, and keeps every byte: concatenating the bytes of
/// every output (`.frame` raw, `.oversized` bytes), in order, followed by `unfinishedTail`, gives back
/// the input byte for byte, however the input was split.
///
/// Rules applied (each tested):
/// - One leading BOM (EF BB BF) is skipped only at stream start; it is kept in the first frame's `raw`.
/// - Lines end at CRLF, LF or a lone CR. A CR at the end of one feed and an LF at the start of the next
///   are one line end.
/// - An empty line ends the block. `:` starts a comment. The field name is everything before the first
///   colon (case-sensitive); one leading space of the value is dropped; a line with no colon is a field
///   with an empty value. `id` with NUL is ignored; `retry` only if all ASCII digits.
///
/// CR at the end of a feed (the choice, and why): a block whose final empty line ends in a CR is
/// emitted at that CR, at once (the proxy must not wait for a byte that may come much later). If the
/// next byte is an LF it completes that CR's line end; it is not an empty line. It becomes the first
/// byte of the next block (its `raw`, or `unfinishedTail`), recorded as `bodyStart == 1`. When the LF
/// is already in the same feed, it stays in the frame that it ends. So the meaning of every frame is
/// the same however the input is split, and the bytes are always lossless; only that one LF may sit at
/// the end of one frame or at the start of the next.
///
/// Oversized blocks: a block longer than `maxFrameBytes` is not made into a frame. (Its size counts a
/// BOM and its line ends, but not the two bytes whose place depends on the split: a continuation LF at
/// its start and the LF of a final CRLF; so the decision is the same however the input is split.)
/// Its bytes are handed on as `.oversized` pieces, emitted as soon as the byte after them arrives, and
/// a last piece with `isEnd: true` when the block ends. All pieces carry the frame index the block
/// takes. Pieces hold `maxFrameBytes` bytes (the first may hold up to 2 more: the uncounted LFs, or a
/// BOM when `maxFrameBytes` < 3), the last one 1...maxFrameBytes + 1. The parser holds at most
/// `maxFrameBytes + 2` bytes of a block. The fields of an oversized block are not reported
/// (a spec-exact client still processes them: see `SSEClientModel`).
///
/// Not handled: HTTP framing (feed de-chunked payload), content-type checks (`SSEClientModel.outcome`),
/// client state across blocks (`SSEClientModel`).
public struct SSEParser: Sendable {
    public enum Output: Sendable, Equatable {
        case frame(SSEFrame)
        /// A piece of a block that grew past `maxFrameBytes`; `isEnd` on the last piece of the block.
        case oversized(bytes: [UInt8], frameIndex: Int, isEnd: Bool)

        /// The input bytes this output stands for.
        public var bytes: [UInt8] {
            switch self {
            case .frame(let f): return f.raw
            case .oversized(let b, _, _): return b
            }
        }
    }

    /// Fields of the block in progress, from its completed lines.
    @usableFromInline
    struct BlockFields: Sendable {
        @usableFromInline var eventType: String?
        @usableFromInline var id: String?
        @usableFromInline var retry: UInt64?
        @usableFromInline var hasData = false
        @usableFromInline var hasField = false
        @usableFromInline var hasComment = false
        /// The `data` lines so far, and where the first one's value lies (offsets in the buffer its line
        /// was processed in; rebased to the block's start when the block moves to `pending`).
        @usableFromInline var dataLines = 0
        @usableFromInline var dataStart = 0
        @usableFromInline var dataEnd = 0
        @usableFromInline init() {}

        /// The value of the block's only `data` line, relative to the block's first byte (nil with
        /// none or several, or past Int32).
        @inlinable func singleData(blockStart: Int) -> (start: Int32, end: Int32)? {
            guard dataLines == 1, dataEnd - blockStart <= Int(Int32.max) else { return nil }
            return (Int32(dataStart - blockStart), Int32(dataEnd - blockStart))
        }

        @inlinable var kind: SSEFrame.Kind {
            hasData ? .event : hasField ? .fieldsOnly : hasComment ? .commentOnly : .blank
        }
    }

    public private(set) var maxFrameBytes: Int
    /// Number of blocks that grew past `maxFrameBytes`.
    public private(set) var oversizedBlocks: Int = 0
    /// Index the next frame (or oversized block) gets.
    public private(set) var nextFrameIndex: Int = 0

    /// Bytes of the block in progress (or, when `oversized`, of its current piece).
    @usableFromInline var pending: [UInt8] = []
    /// Offset in `pending` where the partial line begins.
    @usableFromInline var lineStart = 0
    /// Prefix bytes of the block in progress (BOM or continuation LF).
    @usableFromInline var prefix = 0
    @usableFromInline var block = BlockFields()
    /// The last byte consumed was a CR ending a line: an LF next is part of that line end.
    @usableFromInline var skipLF = false
    @usableFromInline var bomDecided = false
    @usableFromInline var oversized = false
    /// Oversized mode: the current line has no bytes yet.
    @usableFromInline var lineEmpty = true

    /// - Parameter maxFrameBytes: largest block kept as a frame (at least 1). Default 4 MiB.
    public init(maxFrameBytes: Int = 4 << 20) {
        self.maxFrameBytes = max(1, maxFrameBytes)
    }

    /// Raises `maxFrameBytes` from the next block on (a passthrough stream's parser, which holds little,
    /// taken over by a stream under faults, which needs whole blocks). Call it between blocks.
    public mutating func raiseLimit(to limit: Int) {
        maxFrameBytes = max(maxFrameBytes, limit)
    }

    /// The length of the empty line that ends the block whose last bytes are `end` (an `.oversized` piece
    /// with `isEnd`, or a frame's `raw`): 2 when it is a CRLF (a CRLF is always one line end, and the line
    /// it ends is the empty one), else 1 (an LF or a lone CR).
    public static func finalEmptyLineLength(_ end: UnsafeRawBufferPointer) -> Int {
        end.count >= 2 && end[end.count - 2] == SSELines.cr && end[end.count - 1] == SSELines.lf ? 2 : 1
    }

    /// Bytes of the unfinished block at the end (what a client discards at end of stream). When the
    /// block is oversized, only its last, not yet handed-on piece.
    public var unfinishedTail: [UInt8] { pending }

    public mutating func feed(_ bytes: [UInt8], _ onOutput: (SSEParser.Output) -> Void) {
        bytes.withUnsafeBytes { feed($0, onOutput) }
    }

    /// Feeds the next bytes of the payload. Calls `onOutput` for each complete frame, in order, as soon
    /// as its terminating empty line has arrived.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ onOutput: (SSEParser.Output) -> Void) {
        guard let raw = bytes.baseAddress, bytes.count > 0 else { return }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let n = bytes.count
        var p = 0
        if !bomDecided {
            let bom: (UInt8, UInt8, UInt8) = (0xEF, 0xBB, 0xBF)
            while p < n && pending.count < 3 {
                let want = pending.count == 0 ? bom.0 : pending.count == 1 ? bom.1 : bom.2
                if base[p] != want { break }
                pending.append(base[p])
                p += 1
            }
            if pending.count == 3 {
                bomDecided = true
                prefix = 3
                lineStart = 3
            } else if p < n {
                bomDecided = true  // not a BOM: any bytes held are content of the first line
            } else {
                return
            }
        }
        while p < n {
            if oversized {
                p = feedOversized(base, p, n, onOutput)
            } else if !pending.isEmpty {
                p = feedPending(base, p, n, onOutput)
            } else {
                p = feedInBuffer(base, p, n, onOutput)
            }
        }
    }

    // MARK: - Modes

    /// No block in progress: parse blocks directly in the caller's buffer; copy only what is left over.
    mutating func feedInBuffer(
        _ base: UnsafePointer<UInt8>, _ start: Int, _ n: Int, _ out: (Output) -> Void
    ) -> Int {
        var blockStart = start
        var ls = start
        if skipLF {
            skipLF = false
            if base[ls] == SSELines.lf { ls += 1 }
        }
        var pre = ls - blockStart
        block = BlockFields()
        while ls < n {
            let e = SSELines.findLineEnd(base, ls, n)
            if e == n { break }
            var next = e + 1
            var endsInCR = false
            if base[e] == SSELines.cr {
                if next < n {
                    if base[next] == SSELines.lf { next += 1 }
                } else {
                    endsInCR = true
                }
            }
            if e == ls {
                // Empty line: the block ends.
                // Size as the limit sees it: without a continuation LF at the start or the LF of a final
                // CRLF, so the decision does not depend on where the input was split.
                let size = next - blockStart - (pre == 1 ? 1 : 0) - (next - e == 2 ? 1 : 0)
                if size <= maxFrameBytes {
                    let frame = SSEFrame(
                        lazyRaw: Self.copy(base, blockStart, next), bodyStart: pre, kind: block.kind,
                        eventType: block.eventType, id: block.id, retry: block.retry, index: nextFrameIndex,
                        singleData: block.singleData(blockStart: blockStart))
                    nextFrameIndex += 1
                    out(.frame(frame))
                } else {
                    beginOversized(lineIsEmpty: true)
                    appendOversized(base, blockStart, next, out)
                    endOversized(out)
                }
                skipLF = endsInCR
                block = BlockFields()
                blockStart = next
                pre = 0
            } else {
                processLine(base, ls, e)
                skipLF = endsInCR
            }
            ls = next
        }
        // Left over: a block in progress (complete lines already processed, maybe a partial line).
        if blockStart < n {
            if n - blockStart - (pre == 1 ? 1 : 0) <= maxFrameBytes {
                pending = Self.copy(base, blockStart, n)
                lineStart = ls - blockStart
                block.dataStart -= blockStart  // from now on, offsets in `pending`
                block.dataEnd -= blockStart
                prefix = pre
            } else {
                beginOversized(lineIsEmpty: ls == n)
                appendOversized(base, blockStart, n, out)
            }
        }
        return n
    }

    /// A block is in progress in `pending`: extend it line by line until it ends or the feed runs out.
    mutating func feedPending(
        _ base: UnsafePointer<UInt8>, _ start: Int, _ n: Int, _ out: (Output) -> Void
    ) -> Int {
        var p = start
        if skipLF {
            if base[p] == SSELines.lf {
                if pending.count + 1 - continuationLF > maxFrameBytes {
                    beginOversized(lineIsEmpty: true)
                    return p
                }
                pending.append(SSELines.lf)
                lineStart = pending.count
                p += 1
            }
            skipLF = false
        }
        while p < n {
            let e = SSELines.findLineEnd(base, p, n)
            if e == n {
                if pending.count + (n - p) - continuationLF > maxFrameBytes {
                    beginOversized(lineIsEmpty: lineStart == pending.count)
                    return p
                }
                pending.append(contentsOf: UnsafeBufferPointer(start: base + p, count: n - p))
                return n
            }
            var next = e + 1
            var endsInCR = false
            if base[e] == SSELines.cr {
                if next < n {
                    if base[next] == SSELines.lf { next += 1 }
                } else {
                    endsInCR = true
                }
            }
            let lineEnd = pending.count + (e - p)
            let finalLF = lineEnd == lineStart && next - e == 2 ? 1 : 0
            if pending.count + (next - p) - continuationLF - finalLF > maxFrameBytes {
                beginOversized(lineIsEmpty: lineStart == pending.count)
                return p
            }
            pending.append(contentsOf: UnsafeBufferPointer(start: base + p, count: next - p))
            skipLF = endsInCR
            if lineEnd == lineStart {
                let raw = pending
                pending = []
                let frame = SSEFrame(
                    lazyRaw: raw, bodyStart: prefix, kind: block.kind, eventType: block.eventType, id: block.id,
                    retry: block.retry, index: nextFrameIndex, singleData: block.singleData(blockStart: 0))
                nextFrameIndex += 1
                block = BlockFields()
                prefix = 0
                lineStart = 0
                out(.frame(frame))
                return next
            }
            let ls = lineStart
            pending.withUnsafeBufferPointer { processLine($0.baseAddress!, ls, lineEnd) }
            lineStart = pending.count
            p = next
        }
        return n
    }

    /// The block in progress is oversized: follow only its line structure, hand its bytes on in pieces.
    mutating func feedOversized(
        _ base: UnsafePointer<UInt8>, _ start: Int, _ n: Int, _ out: (Output) -> Void
    ) -> Int {
        var i = start
        if skipLF {
            skipLF = false
            if base[i] == SSELines.lf { i += 1 }
        }
        while i < n {
            let e = SSELines.findLineEnd(base, i, n)
            if e == n {
                if e > i { lineEmpty = false }
                appendOversized(base, start, n, out)
                return n
            }
            var next = e + 1
            if base[e] == SSELines.cr {
                if next < n {
                    if base[next] == SSELines.lf { next += 1 }
                } else {
                    skipLF = true
                }
            }
            if lineEmpty && e == i {
                appendOversized(base, start, next, out)
                endOversized(out)
                return next
            }
            lineEmpty = true
            i = next
        }
        appendOversized(base, start, n, out)
        return n
    }

    // MARK: - Pieces

    /// 1 when the block in progress starts with the LF that completes the previous block's final CR.
    var continuationLF: Int { prefix == 1 ? 1 : 0 }

    @usableFromInline
    mutating func beginOversized(lineIsEmpty: Bool) {
        oversized = true
        oversizedBlocks += 1
        lineEmpty = lineIsEmpty
        block = BlockFields()
        prefix = 0
        lineStart = 0
    }

    /// Adds block bytes to the current piece; a full piece is handed on when more bytes follow it.
    @usableFromInline
    mutating func appendOversized(_ base: UnsafePointer<UInt8>, _ from: Int, _ to: Int, _ out: (Output) -> Void) {
        var i = from
        while i < to {
            if pending.count >= maxFrameBytes {
                let piece = pending
                pending = []
                out(.oversized(bytes: piece, frameIndex: nextFrameIndex, isEnd: false))
            }
            let take = min(to - i, maxFrameBytes - pending.count)
            pending.append(contentsOf: UnsafeBufferPointer(start: base + i, count: take))
            i += take
        }
    }

    @usableFromInline
    mutating func endOversized(_ out: (Output) -> Void) {
        let piece = pending
        pending = []
        oversized = false
        lineEmpty = true
        let index = nextFrameIndex
        nextFrameIndex += 1
        out(.oversized(bytes: piece, frameIndex: index, isEnd: true))
    }

    // MARK: - Lines

    /// Processes one complete, non-empty line `base[from..<end]` (line end excluded) into `block`.
    mutating func processLine(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) {
        if base[from] == SSELines.colon {
            block.hasComment = true
            return
        }
        block.hasField = true
        let c = SSELines.findColon(base, from, end)
        switch SSELines.field(base, from, c) {
        case .data:
            block.hasData = true
            block.dataLines += 1
            if block.dataLines == 1 {
                block.dataStart = SSELines.valueStart(base, colonAt: c, end)
                block.dataEnd = end
            }
        case .event:
            block.eventType = SSELines.decode(base, SSELines.valueStart(base, colonAt: c, end), end)
        case .id:
            let v = SSELines.valueStart(base, colonAt: c, end)
            if !SSELines.containsNUL(base, v, end) { block.id = SSELines.decode(base, v, end) }
        case .retry:
            if let r = SSELines.parseRetry(base, SSELines.valueStart(base, colonAt: c, end), end) { block.retry = r }
        case .other:
            break
        }
    }

    @inlinable @inline(__always)
    static func copy(_ base: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> [UInt8] {
        let count = to - from
        return [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            if count > 0 {
                UnsafeMutableRawPointer(buf.baseAddress!).copyMemory(from: base + from, byteCount: count)
            }
            initialized = count
        }
    }
}
