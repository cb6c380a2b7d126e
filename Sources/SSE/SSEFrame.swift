/// One block of a `text/event-stream`, exactly as it crossed the wire, with its meaning.
///
/// A frame ends at the empty line that terminates a block (or is an empty line on its own).
/// Concatenating the `raw` bytes of every frame a parser yields, followed by the parser's
/// unfinished tail, gives back the input byte for byte.
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
    public var raw: [UInt8]
    public var kind: Kind
    /// Value of the last `event` field, or nil when the block has none.
    public var eventType: String?
    /// Values of the `data` fields, one per line, in order (invalid UTF-8 decoded as U+FFFD).
    public var data: [String]
    /// Value of the last `id` field that a client would accept (one containing NUL is ignored).
    /// `""` is a real value: it resets the client's last event ID.
    public var id: String?
    /// Value of the last `retry` field made only of ASCII digits.
    public var retry: UInt64?
    /// Comment lines, without the leading colon.
    public var comments: [String]
    /// 0-based position of this frame in its stream.
    public var index: Int

    public init(
        raw: [UInt8], kind: Kind, eventType: String? = nil, data: [String] = [], id: String? = nil,
        retry: UInt64? = nil, comments: [String] = [], index: Int = 0
    ) {
        self.raw = raw
        self.kind = kind
        self.eventType = eventType
        self.data = data
        self.id = id
        self.retry = retry
        self.comments = comments
        self.index = index
    }
}
