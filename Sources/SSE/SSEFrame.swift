/// One block of a `text/event-stream`, exactly as it crossed the wire, with its meaning.
///
/// A frame ends at the empty line that terminates a block (or is an empty line on its own).
/// Concatenating the `raw` bytes of every frame a parser yields, followed by the parser's
/// unfinished tail, gives back the input byte for byte.
///
/// Storage: `kind`, `eventType`, `id`, `retry` and `index` are decided while parsing (cheap, read on
/// every frame). `data` and `comments` are decoded from `raw` only when read, unless they were set
/// explicitly (through `init` or the setter), in which case the stored value wins.
///
/// Not handled: a frame does not know the client's state (last event ID, reconnection time) before it;
/// see `SSEClientModel` for that.
public struct SSEFrame: Sendable, Equatable {
    /// What a spec-exact client does with the block.
    public enum Kind: Sendable, Equatable, Hashable {
        /// Has at least one `data` field: a client dispatches a message.
        case event
        /// No `data`, but other fields (`id`, `retry`, `event`, unknown): sets state, dispatches nothing.
        case fieldsOnly
        /// Only comment lines (`:` heartbeats).
        case commentOnly
        /// An empty line with nothing before it.
        case blank
    }

    /// The exact bytes of the block, line ends and terminating empty line included
    /// (and the stream's leading BOM, for the first frame of a stream that has one).
    ///
    /// One more prefix can occur: when a block's terminating empty line ends in a CR that was the last
    /// byte fed, the parser emits the frame at once; if the next byte is an LF it belongs to that CR's line
    /// end, and it is kept as the first byte of the *next* frame's `raw` (see `bodyStart`).
    public var raw: [UInt8] {
        get { storedRaw }
        // In place (no copy of the bytes); a frame whose bytes change forgets where its data lay.
        _modify {
            singleData = nil
            yield &storedRaw
        }
        set {
            singleData = nil
            storedRaw = newValue
        }
    }
    @usableFromInline var storedRaw: [UInt8]
    /// Set by the parser: where the value of the block's only `data` line lies in `raw`, so the
    /// ledger's digest of a frame needs no second scan of its lines. nil with no or several data lines,
    /// and once `raw` changes.
    @usableFromInline var singleData: (start: Int32, end: Int32)?
    public var kind: Kind
    /// Value of the last `event` field, or nil when the block has none.
    public var eventType: String?
    /// Value of the last `id` field that a client would accept (one containing NUL is ignored).
    /// `""` is a real value: it resets the client's last event ID.
    public var id: String?
    /// Value of the last `retry` field made only of ASCII digits.
    public var retry: UInt64?
    /// 0-based position of this frame in its stream.
    public var index: Int
    /// Number of bytes at the start of `raw` that are not part of any line: 3 for the stream's BOM,
    /// 1 for an LF that completes the previous frame's final CR, else 0.
    public var bodyStart: Int

    @usableFromInline var storedData: [String]?
    @usableFromInline var storedComments: [String]?

    /// Values of the `data` fields, one per line, in order (invalid UTF-8 decoded as U+FFFD).
    public var data: [String] {
        get { storedData ?? SSELines.fieldValues(of: raw, from: bodyStart, wantComments: false) }
        set { storedData = newValue }
    }

    /// Comment lines, without the leading colon.
    public var comments: [String] {
        get { storedComments ?? SSELines.fieldValues(of: raw, from: bodyStart, wantComments: true) }
        set { storedComments = newValue }
    }

    /// Hands each `data` value to `body` as UTF-8 bytes, in order, without building Strings (the bytes as
    /// they crossed the wire, so possibly invalid UTF-8; `data` is their decoding). The buffer is valid
    /// only during the call.
    public func forEachDataValue(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        if let storedData {
            for var line in storedData { line.withUTF8(body) }
        } else if let (start, end) = singleData {
            storedRaw.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[Int(start)..<Int(end)])) }
        } else {
            SSELines.visitFieldValues(of: raw, from: bodyStart, wantComments: false, body)
        }
    }

    public init(
        raw: [UInt8], kind: Kind, eventType: String? = nil, data: [String] = [], id: String? = nil,
        retry: UInt64? = nil, comments: [String] = [], index: Int = 0
    ) {
        self.storedRaw = raw
        self.singleData = nil
        self.kind = kind
        self.eventType = eventType
        self.id = id
        self.retry = retry
        self.index = index
        self.bodyStart = 0
        self.storedData = data
        self.storedComments = comments
    }

    /// Frame whose `data` and `comments` are decoded lazily from `raw`.
    @inlinable
    init(lazyRaw raw: [UInt8], bodyStart: Int, kind: Kind, eventType: String?, id: String?, retry: UInt64?, index: Int,
         singleData: (start: Int32, end: Int32)? = nil) {
        self.storedRaw = raw
        self.singleData = singleData
        self.kind = kind
        self.eventType = eventType
        self.id = id
        self.retry = retry
        self.index = index
        self.bodyStart = bodyStart
        self.storedData = nil
        self.storedComments = nil
    }

    /// Equal when the bytes and every meaning agree (`data` and `comments` compared by value,
    /// however they are stored; `bodyStart` is a detail of `raw` and is not compared).
    public static func == (lhs: SSEFrame, rhs: SSEFrame) -> Bool {
        lhs.raw == rhs.raw && lhs.kind == rhs.kind && lhs.eventType == rhs.eventType && lhs.id == rhs.id
            && lhs.retry == rhs.retry && lhs.index == rhs.index && lhs.data == rhs.data
            && lhs.comments == rhs.comments
    }
}
