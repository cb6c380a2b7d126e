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
    /// The data as received (lines joined by LF), possibly invalid UTF-8.
    public let dataBytes: UnsafeBufferPointer<UInt8>
    public let lastEventId: String
    /// Set by `feed(frame:onDispatch:)` when the type and data are the frame's own fields (`eventType`, its
    /// only `data` value): a digest of the frame's type and data is then this message's too.
    public var isFramesOwn = false

    public var type: String { typeBytes.isEmpty ? "message" : String(decoding: typeBytes, as: UTF8.self) }
    public var data: String { String(decoding: dataBytes, as: UTF8.self) }
    public var message: SSEMessage { SSEMessage(type: type, data: data, lastEventId: lastEventId) }
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
    private var skipLF = false
    /// A non-empty, non-comment line was processed since the last dispatch.
    private var blockOpen = false
    private var bomBytesSeen = 0
    private var bomDecided = false
    private var ended = false

    /// As of now: the last event ID string (changed only by a dispatch, i.e. an empty line, even one ending a
    /// block without data) and the reconnection time (changed by each valid `retry` line once its line end
    /// has arrived, per the spec, even inside a block that is later discarded).
    public var state: SSEClientState {
        SSEClientState(lastEventID: lastEventIDString, reconnectionTimeMs: reconnectionTimeMs)
    }

    public init(state: SSEClientState = SSEClientState(), lastEventIDBufferStartsEmpty: Bool = false) {
        lastEventIDString = state.lastEventID
        reconnectionTimeMs = state.reconnectionTimeMs
        lastEventIDBuffer = lastEventIDBufferStartsEmpty ? "" : state.lastEventID
    }

    /// An unfinished line or block is pending: it would be discarded if the stream ended now.
    public var hasPendingTail: Bool {
        blockOpen || (!partialLine.isEmpty && partialLine[0] != SSELines.colon)
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
                dataBuffer.append(contentsOf: UnsafeBufferPointer(start: base + p, count: e - p))
                if e == n { return }
                streamingData = false
                dataBuffer.append(SSELines.lf)
                hasData = true
            } else if e == n {
                partialLine.append(contentsOf: UnsafeBufferPointer(start: base + p, count: n - p))
                if partialLine.count >= Self.streamDataAfter { startStreamingData() }
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
        let atBoundary = !ended && bomDecided && partialLine.isEmpty && !streamingData && !hasData && !blockOpen
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
            dataBuffer.append(contentsOf: UnsafeBufferPointer(start: base + v, count: line.count - v))
            streamingData = true
        }
        if streamingData {
            partialLine = []
            blockOpen = true
        }
    }

    /// The stream ended: the partial line and the unfinished block are discarded (its id too).
    public mutating func end() {
        ended = true
        streamingData = false
        partialLine = []
        dataBuffer = []
        hasData = false
        blockOpen = false
        eventTypeBuffer = []
    }

    private mutating func processLine(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int,
                                      _ onDispatch: (SSEDispatch) -> Void) {
        if from == end {
            dispatch(onDispatch)
            return
        }
        if base[from] == SSELines.colon { return }
        blockOpen = true
        let c = SSELines.findColon(base, from, end)
        let v = SSELines.valueStart(base, colonAt: c, end)
        switch SSELines.field(base, from, c) {
        case .data:
            dataBuffer.append(contentsOf: UnsafeBufferPointer(start: base + v, count: end - v))
            dataBuffer.append(SSELines.lf)
            hasData = true
        case .event:
            eventTypeBuffer.removeAll(keepingCapacity: true)  // reuse its storage: no allocation per event
            eventTypeBuffer.append(contentsOf: UnsafeBufferPointer(start: base + v, count: end - v))
        case .id:
            if !SSELines.containsNUL(base, v, end) { lastEventIDBuffer = SSELines.decode(base, v, end) }
        case .retry:
            if let r = SSELines.parseRetry(base, v, end) { reconnectionTimeMs = r }
        case .other:
            break
        }
    }

    private mutating func dispatch(_ onDispatch: (SSEDispatch) -> Void) {
        lastEventIDString = lastEventIDBuffer
        blockOpen = false
        if !hasData {
            eventTypeBuffer.removeAll(keepingCapacity: true)
            return
        }
        dataBuffer.removeLast()  // the LF after the last data line
        let id = lastEventIDString
        eventTypeBuffer.withUnsafeBufferPointer { type in
            dataBuffer.withUnsafeBufferPointer { data in
                onDispatch(SSEDispatch(typeBytes: type, dataBytes: data, lastEventId: id))
            }
        }
        dataBuffer.removeAll(keepingCapacity: true)
        hasData = false
        eventTypeBuffer.removeAll(keepingCapacity: true)
    }
}
