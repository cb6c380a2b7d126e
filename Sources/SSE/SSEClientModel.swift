/// A message a spec-exact `EventSource` dispatches (`MessageEvent` type, data, lastEventId).
public struct SSEMessage: Sendable, Equatable {
    public var type: String
    public var data: String
    public var lastEventId: String
    public init(type: String, data: String, lastEventId: String) {
        self.type = type
        self.data = data
        self.lastEventId = lastEventId
    }
}

/// What an `EventSource` carries from one connection to the next.
public struct SSEClientState: Sendable, Equatable {
    /// Default reconnection time: 3000 ms, Chromium's and Firefox's value (the spec leaves it to the UA).
    public static let defaultReconnectionTimeMs: UInt64 = 3000

    /// Sent as `Last-Event-ID` on reconnection when not empty.
    public var lastEventID: String
    public var reconnectionTimeMs: UInt64

    public init(lastEventID: String = "", reconnectionTimeMs: UInt64 = SSEClientState.defaultReconnectionTimeMs) {
        self.lastEventID = lastEventID
        self.reconnectionTimeMs = reconnectionTimeMs
    }
}

/// A message at the moment the model dispatches it, before any String is built. The bytes are the
/// model's own buffers: valid only during the `onDispatch` call that receives the value, never to be kept.
public struct SSEDispatch {
    /// The event type as received; empty means `message`.
    public let typeBytes: UnsafeBufferPointer<UInt8>
    /// The data as received (lines joined by LF), possibly invalid UTF-8. When the model holds data only up
    /// to a limit (`maxHeldBytes`) and this message's data went past it: only its first bytes.
    public let dataBytes: UnsafeBufferPointer<UInt8>
    public let lastEventId: String
    /// The length of the whole data (more than `dataBytes.count` when only its start was held).
    public let dataLength: Int
    /// When only the start of the data was held: `Digest64.event(type:data:)` of the whole message, computed
    /// as its bytes passed (nil when `dataBytes` is the whole data).
    public let eventDigest: UInt64?

    init(typeBytes: UnsafeBufferPointer<UInt8>, dataBytes: UnsafeBufferPointer<UInt8>, lastEventId: String,
         dataLength: Int? = nil, eventDigest: UInt64? = nil, isFramesOwn: Bool = false) {
        self.typeBytes = typeBytes
        self.isFramesOwn = isFramesOwn
        self.dataBytes = dataBytes
        self.lastEventId = lastEventId
        self.dataLength = dataLength ?? dataBytes.count
        self.eventDigest = eventDigest
    }

    /// Whether `dataBytes` is the whole data.
    public var isWhole: Bool { eventDigest == nil }

    /// Set by `feed(frame:onDispatch:)` when the type and data are the frame's own fields (`eventType`, its
    /// only `data` value): a digest of the frame's type and data is then this message's too.
    public var isFramesOwn: Bool

    public var type: String { typeBytes.isEmpty ? "message" : String(decoding: typeBytes, as: UTF8.self) }
    public var data: String { String(decoding: dataBytes, as: UTF8.self) }
    public var message: SSEMessage { SSEMessage(type: type, data: data, lastEventId: lastEventId) }
}

/// The fields of one block as a client applies them (`SSEClientModel.openBlock`): its kind, its own `id`
/// (the last one applied; nil without one) and its last valid `retry`, as `SSEFrame` reports them.
public struct SSEBlockFields: Sendable, Equatable {
    public var kind: SSEFrame.Kind
    public var id: String?
    public var retry: UInt64?
    public init(kind: SSEFrame.Kind, id: String?, retry: UInt64?) {
        self.kind = kind
        self.id = id
        self.retry = retry
    }
}

public enum SSEConnectionOutcome: Sendable, Equatable {
    case open
    /// The `EventSource` fails the connection and does not reconnect.
    case fail(reason: String)
}

/// A model of a spec-exact `EventSource` on one connection (WHATWG HTML, "Server-sent events").
///
/// Independent of `SSEParser` on purpose (no size limit, its own line splitter), so each checks the other;
/// only `feed(frame:onDispatch:)`, for passthrough bytes the parser has already split, takes its fields.
///
/// Order of effects, from the spec text:
/// - field `id` (no NUL): sets the *last event ID buffer* at once;
/// - field `retry` (only ASCII digits): sets the *reconnection time at once*, when its line is processed,
///   not at dispatch — so a `retry` line inside a block that never ends still counts;
/// - empty line, "dispatch the event": (1) set the *last event ID string* to the buffer (even if no data);
///   (2) if the data buffer is empty, clear data and event type buffers and stop; (3) drop one trailing
///   LF from data; (5–6) type is the event type buffer, or "message" when empty; lastEventId is the
///   last event ID string; then clear data and event type buffers (the ID buffer is never cleared).
/// - end of stream: a partial line and an unfinished block are discarded; an `id` seen in that block
///   never reached the last event ID string.
///
/// Deviation, documented: the spec initialises the last event ID buffer of each new stream to "", which
/// would reset the last event ID at the first dispatch of a reconnected stream that sends no `id`.
/// Browsers (Chromium's `EventSourceParser` is built with the source's last event ID) start the buffer at
/// the last event ID; this model does too, unless `lastEventIDBufferStartsEmpty` is set.
public struct SSEClientModel: Sendable {
    /// Whether a spec-exact EventSource opens the stream or fails (no reconnect): status must be 200 and
    /// the MIME type essence `text/event-stream` (parameters allowed, case-insensitive); anything else fails.
    public static func outcome(status: Int, contentType: String?) -> SSEConnectionOutcome {
        guard status == 200 else { return .fail(reason: "status \(status) is not 200") }
        guard let contentType else { return .fail(reason: "no Content-Type") }
        let essence = mimeEssence(contentType)
        guard essence == "text/event-stream" else {
            return .fail(reason: "Content-Type essence \"\(essence)\" is not text/event-stream")
        }
        return .open
    }

    /// type/subtype before any `;`, HTTP whitespace trimmed, ASCII-lowercased.
    static func mimeEssence(_ s: String) -> String {
        let head = s.utf8.prefix { $0 != 0x3B }
        let isWS: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let trimmed = head.drop(while: isWS).reversed().drop(while: isWS).reversed()
        return String(decoding: trimmed.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// Every message dispatched through `feed(_:)` (`feed(_:onDispatch:)` keeps none).
    public private(set) var dispatched: [SSEMessage] = []
    private var lastEventIDString: String
    private var reconnectionTimeMs: UInt64
    private var lastEventIDBuffer: String
    private var dataBuffer: [UInt8] = []
    private var hasData = false
    private var eventTypeBuffer: [UInt8] = []
    /// Bytes of a line whose end has not arrived yet.
    private var partialLine: [UInt8] = []
    /// The unfinished line is a `data` line longer than `streamDataAfter`: its value goes straight to
    /// `dataBuffer` as it arrives, so a huge event is held once (in `dataBuffer`), not also as its line.
    private var streamingData = false
    /// A `data` line is streamed once this many of its bytes wait in `partialLine`.
    static let streamDataAfter = 16 << 10

    /// Bytes held for the unfinished line (tests).
    var partialLineBytes: Int { partialLine.count }

    /// When set, the most bytes of one line or of one message's data the model holds (see `init`).
    public let maxHeldBytes: Int?
    /// The data went past `maxHeldBytes`: `dataBuffer` keeps its start, this digests the whole message.
    private var dataDigest: StreamingEventDigest?
    /// The unfinished line went past `maxHeldBytes` and is not a `data` line: its bytes are dropped up to its end.
    private var discardingLine = false

    /// Bytes the model holds now for unfinished lines and data (its buffers' sizes, not their capacity).
    public var heldBytes: Int { partialLine.count + dataBuffer.count + eventTypeBuffer.count }
    private var skipLF = false
    /// A non-empty, non-comment line was processed since the last dispatch.
    private var blockOpen = false
    /// Since the last empty line: a comment line came; an `id` was applied; the last `retry` applied.
    private var blockHasComment = false
    private var blockHasID = false
    private var blockRetry: UInt64?
    private var bomBytesSeen = 0
    private var bomDecided = false
    private var ended = false

    /// As of now: the last event ID string (changed only by a dispatch, i.e. an empty line, even one ending a
    /// block without data) and the reconnection time (changed by each valid `retry` line once its line end
    /// has arrived, per the spec, even inside a block that is later discarded).
    public var state: SSEClientState {
        SSEClientState(lastEventID: lastEventIDString, reconnectionTimeMs: reconnectionTimeMs)
    }

    /// - Parameter maxHeldBytes: nil (the default): every line and message is held whole. Else (at least 64) the most bytes
    ///   held of one message's data or of one unfinished line, so memory does not grow with one event: a
    ///   message whose data goes past it is dispatched with its first `maxHeldBytes` bytes, its `dataLength`
    ///   and its `eventDigest` (digested as the bytes pass, with the event type in effect when the data went
    ///   past the limit: an `event` line after that in the same block does not change the digest, a
    ///   documented deviation); a longer line that is not `data` is dropped as it arrives (a comment, or a
    ///   field whose value is then ignored: an `id`, `event` or `retry` value that long is not applied,
    ///   another documented deviation; no real server sends one).
    public init(state: SSEClientState = SSEClientState(), lastEventIDBufferStartsEmpty: Bool = false, maxHeldBytes: Int? = nil) {
        self.maxHeldBytes = maxHeldBytes.map { max(64, $0) }  // a field name and its colon always fit
        lastEventIDString = state.lastEventID
        reconnectionTimeMs = state.reconnectionTimeMs
        lastEventIDBuffer = lastEventIDBufferStartsEmpty ? "" : state.lastEventID
    }

    /// An unfinished line or block is pending: it would be discarded if the stream ended now.
    public var hasPendingTail: Bool {
        blockOpen || (!partialLine.isEmpty && partialLine[0] != SSELines.colon)
    }

    /// The fields of the block in progress, from its complete lines (each applied as the model applies it):
    /// what a frame of the block would say (`SSEFrame.kind`, `id`, `retry`), for a caller that records a
    /// block it did not parse (the ledger, for a passthrough block too long for the parser to hold). Read
    /// it when every line but the block's final empty one has been fed.
    public var openBlock: SSEBlockFields {
        SSEBlockFields(kind: hasData ? .event : blockOpen ? .fieldsOnly : blockHasComment ? .commentOnly : .blank,
                       id: blockHasID ? lastEventIDBuffer : nil, retry: blockRetry)
    }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Bytes the client received on this connection (payload), keeping each message in `dispatched`.
    /// Ignored after `end()`.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        var out: [SSEMessage] = []
        feed(bytes) { out.append($0.message) }
        dispatched.append(contentsOf: out)
    }

    /// Bytes the client received on this connection (payload); `onDispatch` gets each message as it is
    /// dispatched, and nothing is kept, so memory stays bounded however long the stream runs.
    /// Ignored after `end()`.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, onDispatch: (SSEDispatch) -> Void) {
        guard !ended, let raw = bytes.baseAddress, bytes.count > 0 else { return }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let n = bytes.count
        var p = 0
        if !bomDecided {
            let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
            while p < n && bomBytesSeen < 3 && base[p] == bom[bomBytesSeen] {
                bomBytesSeen += 1
                p += 1
            }
            if bomBytesSeen == 3 {
                bomDecided = true
            } else if p < n {
                bomDecided = true
                partialLine.append(contentsOf: bom[0..<bomBytesSeen])  // not a BOM: content
            } else {
                return
            }
        }
        if skipLF && p < n {
            skipLF = false
            if base[p] == SSELines.lf { p += 1 }
        }
        while p < n {
            let e = SSELines.findLineEnd(base, p, n)
            if streamingData {
                appendData(UnsafeBufferPointer(start: base + p, count: e - p))
                if e == n { return }
                streamingData = false
                endDataLine()
                hasData = true
            } else if discardingLine {
                if e == n { return }
                discardingLine = false
            } else if e == n {
                partialLine.append(contentsOf: UnsafeBufferPointer(start: base + p, count: n - p))
                let overLimit = maxHeldBytes.map { partialLine.count > $0 } ?? false
                if partialLine.count >= Self.streamDataAfter || overLimit { startStreamingData() }
                if overLimit && !streamingData { discardLine() }
                return
            } else if partialLine.isEmpty {
                processLine(base, p, e, onDispatch)
            } else {
                partialLine.append(contentsOf: UnsafeBufferPointer(start: base + p, count: e - p))
                let line = partialLine
                partialLine.removeAll(keepingCapacity: true)
                line.withUnsafeBufferPointer { processLine($0.baseAddress!, 0, $0.count, onDispatch) }
            }
            p = e + 1
            if base[e] == SSELines.cr {
                if p < n {
                    if base[p] == SSELines.lf { p += 1 }
                } else {
                    skipLF = true
                }
            }
        }
    }

    /// The bytes of one whole block the parser made into `frame` (its `raw`), with the same effect as
    /// `feed(frame.raw, onDispatch:)`, which the model is split-independent for. Used when the bytes the
    /// client receives are the upstream's (passthrough), so they are parsed once: when the model stands
    /// between blocks, a frame with at most one `data` line and a type that decoded losslessly is applied
    /// from the parser's fields (`id`, `retry`, `eventType`, `singleData` use the same rules and helpers,
    /// `SSELines`); any other frame (the stream's first, with its BOM decision; several data lines; a
    /// type with invalid UTF-8) is fed its bytes. Feed an oversized block's pieces with `feed(_:onDispatch:)`.
    public mutating func feed(frame: SSEFrame, onDispatch: (SSEDispatch) -> Void) {
        let raw = frame.storedRaw
        let atBoundary = !ended && bomDecided && partialLine.isEmpty && !streamingData && !discardingLine && !hasData && !blockOpen
            && eventTypeBuffer.isEmpty
        // The prefix is the LF completing the previous block's final CR, exactly when the model waits for one.
        let prefixOK = frame.bodyStart == 0 ? !(skipLF && raw.first == SSELines.lf) : (frame.bodyStart == 1 && skipLF)
        let singleOrNone = frame.storedData == nil && (frame.kind != .event || frame.singleData != nil)
        let typeOK = frame.eventType.map { !$0.unicodeScalars.contains("\u{FFFD}") } ?? true
        guard atBoundary, prefixOK, singleOrNone, typeOK, !raw.isEmpty else {
            raw.withUnsafeBytes { feed($0, onDispatch: onDispatch) }
            return
        }
        if let id = frame.id { lastEventIDBuffer = id }
        if let retry = frame.retry { reconnectionTimeMs = retry }
        lastEventIDString = lastEventIDBuffer
        blockHasComment = false  // a comment line fed as bytes before this frame
        skipLF = raw[raw.count - 1] == SSELines.cr
        guard frame.kind == .event, let (start, end) = frame.singleData else { return }
        let id = lastEventIDString
        raw.withUnsafeBufferPointer { bytes in
            let data = UnsafeBufferPointer(rebasing: bytes[Int(start)..<Int(end)])
            if var type = frame.eventType, !type.isEmpty {
                type.withUTF8 { onDispatch(SSEDispatch(typeBytes: $0, dataBytes: data, lastEventId: id, isFramesOwn: true)) }
            } else {
                onDispatch(SSEDispatch(typeBytes: UnsafeBufferPointer(start: nil, count: 0), dataBytes: data, lastEventId: id,
                                       isFramesOwn: true))
            }
        }
    }

    /// The unfinished line in `partialLine` is long: when it is a `data` line whose value has begun (the
    /// byte after the colon is here, so the optional space is known), its value moves to `dataBuffer` and
    /// the rest of the line follows it there. Same effect as appending the value at the line's end: only an
    /// empty line dispatches, and it comes after this line ends; a stream ending first discards both.
    private mutating func startStreamingData() {
        guard partialLine[0] != SSELines.colon else { return }
        partialLine.withUnsafeBufferPointer { line in
            let base = line.baseAddress!
            let c = SSELines.findColon(base, 0, line.count)
            guard c + 1 < line.count, SSELines.field(base, 0, c) == .data else { return }
            let v = SSELines.valueStart(base, colonAt: c, line.count)
            beginDataLine()
            appendData(UnsafeBufferPointer(start: base + v, count: line.count - v))
            streamingData = true
        }
        if streamingData {
            partialLine = []
            blockOpen = true
        }
    }

    /// The unfinished line is longer than `maxHeldBytes` and not a `data` line being streamed: drop it (a
    /// field line still opens the block; its value is not applied).
    private mutating func discardLine() {
        if partialLine[0] != SSELines.colon { blockOpen = true } else { blockHasComment = true }
        partialLine = []
        discardingLine = true
    }

    /// A `data` line begins: with the data past the limit, the LF that joins it to the previous line is digested now.
    private mutating func beginDataLine() {
        guard dataDigest != nil else { return }
        dataDigest!.beginLine()
    }

    /// Bytes of a `data` value: held, or (past `maxHeldBytes`) digested.
    private mutating func appendData(_ bytes: UnsafeBufferPointer<UInt8>) {
        if dataDigest != nil {
            dataDigest!.add(bytes)
            return
        }
        dataBuffer.append(contentsOf: bytes)
        guard let limit = maxHeldBytes, dataBuffer.count > limit else { return }
        // Every byte held so far is data for sure (a data line's LF is held only once a later line begins).
        var digest = StreamingEventDigest(type: eventTypeBuffer)
        dataBuffer.withUnsafeBufferPointer { digest.add($0) }
        dataDigest = digest
        dataBuffer = Array(dataBuffer.prefix(limit))
    }

    /// A `data` line ended.
    private mutating func endDataLine() {
        if dataDigest != nil { dataDigest!.endLine() } else { dataBuffer.append(SSELines.lf) }
    }

    /// The stream ended: the partial line and the unfinished block are discarded (its id too).
    public mutating func end() {
        ended = true
        streamingData = false
        discardingLine = false
        dataDigest = nil
        partialLine = []
        dataBuffer = []
        hasData = false
        blockOpen = false
        blockHasComment = false
        blockHasID = false
        blockRetry = nil
        eventTypeBuffer = []
    }

    private mutating func processLine(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int,
                                      _ onDispatch: (SSEDispatch) -> Void) {
        if from == end {
            dispatch(onDispatch)
            return
        }
        if base[from] == SSELines.colon {
            blockHasComment = true
            return
        }
        blockOpen = true
        let c = SSELines.findColon(base, from, end)
        let v = SSELines.valueStart(base, colonAt: c, end)
        let field = SSELines.field(base, from, c)
        // A line over the limit that is not data: not applied, however it arrived (as `discardLine`).
        if let limit = maxHeldBytes, end - from > limit, field != .data { return }
        switch field {
        case .data:
            beginDataLine()
            appendData(UnsafeBufferPointer(start: base + v, count: end - v))
            endDataLine()
            hasData = true
        case .event:
            eventTypeBuffer.removeAll(keepingCapacity: true)  // reuse its storage: no allocation per event
            eventTypeBuffer.append(contentsOf: UnsafeBufferPointer(start: base + v, count: end - v))
        case .id:
            if !SSELines.containsNUL(base, v, end) {
                lastEventIDBuffer = SSELines.decode(base, v, end)
                blockHasID = true
            }
        case .retry:
            if let r = SSELines.parseRetry(base, v, end) {
                reconnectionTimeMs = r
                blockRetry = r
            }
        case .other:
            break
        }
    }

    private mutating func dispatch(_ onDispatch: (SSEDispatch) -> Void) {
        lastEventIDString = lastEventIDBuffer
        blockOpen = false
        blockHasComment = false
        blockHasID = false
        blockRetry = nil
        if !hasData {
            eventTypeBuffer.removeAll(keepingCapacity: true)
            return
        }
        let id = lastEventIDString
        if var digest = dataDigest {
            // The LF after the last data line is pending in the digest, never added.
            let (length, value) = digest.finish()
            dataDigest = nil
            eventTypeBuffer.withUnsafeBufferPointer { type in
                dataBuffer.withUnsafeBufferPointer { data in
                    onDispatch(SSEDispatch(typeBytes: type, dataBytes: data, lastEventId: id, dataLength: length, eventDigest: value))
                }
            }
            dataBuffer = []
        } else {
            dataBuffer.removeLast()  // the LF after the last data line
            eventTypeBuffer.withUnsafeBufferPointer { type in
                dataBuffer.withUnsafeBufferPointer { data in
                    onDispatch(SSEDispatch(typeBytes: type, dataBytes: data, lastEventId: id))
                }
            }
            // Keep the storage for the next message, unless a limit says how much may be held.
            dataBuffer.removeAll(keepingCapacity: maxHeldBytes.map { dataBuffer.capacity <= 2 * $0 } ?? true)
        }
        hasData = false
        eventTypeBuffer.removeAll(keepingCapacity: true)
    }
}

/// `Digest64.event(type:data:)` of a message whose data arrives in pieces, holding nothing of it: the
/// type first, then the data as it passes (decoded as `String(decoding:as:)` would: a UTF-8 sequence cut
/// between two pieces waits, at most 3 bytes, for the rest), with the LF after each data line added only
/// once another data line begins (the last one is not part of the data).
struct StreamingEventDigest: Sendable {
    private var digest = Digest64()
    private var carry: [UInt8] = []
    private var lfPending = false
    private(set) var length = 0

    init(type: [UInt8]) {
        if type.isEmpty { digest.add("message") } else { type.withUnsafeBufferPointer { digest.addDecoded($0) } }
        digest.add(0xFF)
    }

    mutating func beginLine() {
        guard lfPending else { return }
        lfPending = false
        var lf = SSELines.lf
        withUnsafePointer(to: &lf) { add(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    mutating func endLine() { lfPending = true }

    mutating func add(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard !bytes.isEmpty else { return }
        length += bytes.count
        if carry.isEmpty {
            let cut = Self.decodableEnd(bytes)
            digest.addDecoded(UnsafeBufferPointer(rebasing: bytes[..<cut]))
            carry = Array(bytes[cut...])
        } else {
            let joined = carry + bytes
            carry = []
            joined.withUnsafeBufferPointer { joined in
                let cut = Self.decodableEnd(joined)
                digest.addDecoded(UnsafeBufferPointer(rebasing: joined[..<cut]))
                carry = Array(joined[cut...])
            }
        }
    }

    /// The data's length and the event's digest (the last line's LF is not data).
    mutating func finish() -> (length: Int, digest: UInt64) {
        if !carry.isEmpty { carry.withUnsafeBufferPointer { digest.addDecoded($0) } }
        carry = []
        return (length, digest.value)
    }

    /// Where the bytes stop decoding the same whatever follows: before a sequence that begins in the last
    /// 3 bytes and is not complete yet (the byte it starts at is not a continuation byte, so no sequence
    /// before it reaches past it).
    static func decodableEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let n = bytes.count
        var i = n - 1
        while i >= max(0, n - 3) {
            let b = bytes[i]
            if b & 0xC0 != 0x80 {
                let needed = b >= 0xF0 && b <= 0xF7 ? 4 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xC0 && b <= 0xDF ? 2 : 1
                return n - i < needed ? i : n
            }
            i -= 1
        }
        return n
    }
}
