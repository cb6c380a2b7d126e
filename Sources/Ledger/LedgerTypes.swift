import Faults
import SSE

/// How much the ledger keeps and writes.
public enum LedgerLevel: String, Sendable {
    /// One record per upstream frame, per fault action and per write to the client; every frame kept
    /// in memory for `connection(_:)`.
    case events
    /// Counts, first/last id and only the frames a fault acted on; no per-frame or per-write records.
    /// Per-client predictions and findings are the same as at `.events` (they need only ids and
    /// (type, data) digests). Memory per connection stays bounded; per client it is O(distinct events).
    case summary
}

/// How a connection between the client and Sputter ended.
public enum ConnectionEnd: Sendable, Equatable {
    /// The upstream body ended and everything was passed on.
    case upstreamEnd
    /// The client closed (or reset) its side.
    case clientClose
    /// A fault ended it (`rst`, `fin` or `half_close`), after `atByte` payload bytes.
    case fault(kind: CloseKind, atByte: Int)
    /// The upstream failed (connect error, reset, malformed response).
    case upstreamError(String)
    /// A fault refused the connection (accept, then RST) before any response.
    case refused
    /// Sputter is shutting down.
    case shutdown

    /// The value of the `end` field in records.
    public var name: String {
        switch self {
        case .upstreamEnd: return "upstream_end"
        case .clientClose: return "client_close"
        case .fault: return "fault"
        case .upstreamError: return "upstream_error"
        case .refused: return "refused"
        case .shutdown: return "shutdown"
        }
    }

    /// A few words for reports: `upstream ended`, `rst by fault after 120 bytes`, …
    public var summary: String {
        switch self {
        case .upstreamEnd: return "upstream ended"
        case .clientClose: return "client closed"
        case .fault(let kind, let atByte): return "\(kind.rawValue) by fault after \(atByte) bytes"
        case .upstreamError(let e): return "upstream error: \(e)"
        case .refused: return "refused (RST)"
        case .shutdown: return "Sputter shut down"
        }
    }
}

/// Something the ledger found about a client (or about what reached it).
public struct Finding: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Events the upstream emitted that a spec-exact client never dispatched intact, in any attempt.
        case missing
        /// Events a spec-exact client dispatched intact more than once.
        case duplicated
        /// Messages a spec-exact client dispatched that the upstream never sent (a corrupted or
        /// injected event, or an event whose id a fault rewrote or stripped).
        case unexpected
        /// The client under test sent a `Last-Event-ID` other than the one a spec-exact client would.
        case wrongLastEventID
        /// The client under test reconnected before the reconnection time had passed.
        case reconnectTooEarly
        /// The client under test reconnected after a response that makes `EventSource` fail for good.
        case reconnectAfterFailure
        /// `once`: a stream that opened and never ended cleanly (no upstream end, no terminator).
        case truncated
        /// `eventsource`/`resume`: the client should have come back after a stream ended and did not
        /// within its reconnection time (or `Retry-After`) plus the grace.
        case gaveUp
    }

    public var kind: Kind
    public var clientKey: String
    /// The attempt the finding is about (the reconnect, for reconnect findings); nil for findings about
    /// the client's whole history (missing, duplicated).
    public var attempt: Int?
    /// The connection it is about, when there is one.
    public var connection: UInt64?
    /// What was expected and what happened, in words.
    public var detail: String
    /// For `wrongLastEventID`: what a spec-exact client sends ("" = no header) and what was sent.
    public var expected: String?
    public var actual: String?
    /// Ids involved (missing, duplicated), at most `Finding.maxIDs` of them.
    public var ids: [String]

    public static let maxIDs = 100

    public init(kind: Kind, clientKey: String, attempt: Int? = nil, connection: UInt64? = nil, detail: String,
                expected: String? = nil, actual: String? = nil, ids: [String] = []) {
        self.kind = kind
        self.clientKey = clientKey
        self.attempt = attempt
        self.connection = connection
        self.detail = detail
        self.expected = expected
        self.actual = actual
        self.ids = ids
    }

    /// `wrongLastEventID (attempt 3): expected "7", sent "5"`.
    public var line: String {
        "\(kind.rawValue)\(attempt.map { " (attempt \($0))" } ?? ""): \(detail)"
    }
}

/// One upstream frame as the ledger keeps it.
public struct FrameInfo: Sendable, Equatable {
    /// 0-based position in the upstream stream.
    public var index: Int
    /// `event`, `fieldsOnly`, `commentOnly` or `blank` (see `SSEFrame.Kind`).
    public var kind: String
    /// The frame's own `id` field (the last valid one), nil when it has none.
    public var id: String?
    /// The type a client dispatches it as (`message` when there is no `event` field); nil when it is not an event.
    public var eventType: String?
    public var retry: UInt64?
    /// Raw bytes, as the upstream sent them.
    public var size: Int
    /// `Digest64` of the raw bytes.
    public var digest: UInt64
    public var at: UInt64

    public init(index: Int, kind: String, id: String?, eventType: String?, retry: UInt64?, size: Int, digest: UInt64, at: UInt64) {
        self.index = index
        self.kind = kind
        self.id = id
        self.eventType = eventType
        self.retry = retry
        self.size = size
        self.digest = digest
        self.at = at
    }

    static func kindName(_ k: SSEFrame.Kind) -> String {
        switch k {
        case .event: return "event"
        case .fieldsOnly: return "fieldsOnly"
        case .commentOnly: return "commentOnly"
        case .blank: return "blank"
        }
    }
}

/// What a spec-exact `EventSource` did with one connection, from the bytes actually delivered.
public struct Prediction: Sendable, Equatable {
    public var attempt: Int
    /// Messages dispatched.
    public var dispatched: Int
    /// Of those, how many match an event the upstream sent (same id, type and data; or, without id,
    /// the same type and data on this connection).
    public var intact: Int
    /// Of those, how many match nothing the upstream sent on this connection.
    public var unexpected: Int
    /// The last event ID at the end (sent as `Last-Event-ID` on the next attempt when not empty).
    public var lastEventID: String
    /// The reconnection time at the end, in ms.
    public var reconnectionTimeMs: UInt64
    /// An unfinished line or block was discarded at the end (a torn event is never dispatched).
    public var discardedTail: Bool
    /// nil: the client reconnects after `reconnectionTimeMs`. Else why it fails and stops for good.
    public var failReason: String?

    /// After a reset (RST): the bytes of the last write may not all have been read, so the client may hold
    /// any of these last event IDs (an event-boundary prefix of that write; shortest first). Empty when the
    /// end is certain.
    public var possibleLastEventIDs: [String] = []
    /// After a reset, once the next attempt's `Last-Event-ID` showed which prefix the client read: that
    /// outcome. The ledger writes the prediction again then, with the counts and last event ID of that outcome.
    public var resetOutcome: ResetOutcome?

    /// Which event-boundary prefix of a reset connection's last write the client dispatched, as its next attempt showed.
    public struct ResetOutcome: Sendable, Equatable {
        /// Messages of the last write the client dispatched (0 … the write's messages).
        public var messagesRead: Int
        /// The attempt whose `Last-Event-ID` decided it.
        public var decidedByAttempt: Int

        public init(messagesRead: Int, decidedByAttempt: Int) {
            self.messagesRead = messagesRead
            self.decidedByAttempt = decidedByAttempt
        }
    }

    public init(attempt: Int, dispatched: Int, intact: Int, unexpected: Int, lastEventID: String,
                reconnectionTimeMs: UInt64, discardedTail: Bool, failReason: String?, possibleLastEventIDs: [String] = [],
                resetOutcome: ResetOutcome? = nil) {
        self.possibleLastEventIDs = possibleLastEventIDs
        self.resetOutcome = resetOutcome
        self.attempt = attempt
        self.dispatched = dispatched
        self.intact = intact
        self.unexpected = unexpected
        self.lastEventID = lastEventID
        self.reconnectionTimeMs = reconnectionTimeMs
        self.discardedTail = discardedTail
        self.failReason = failReason
    }

    public var reconnects: Bool { failReason == nil }

    /// `reconnect after 3000ms with Last-Event-ID "7"` or `fail: status 503 is not 200`.
    public var next: String {
        if let failReason { return "fail: \(failReason)" }
        let header = lastEventID.isEmpty ? "no Last-Event-ID" : "Last-Event-ID \(JSONWriter.quoted(lastEventID))"
        return "reconnect after \(reconnectionTimeMs)ms with \(header)"
    }
}

/// A message the spec-exact client model dispatched on a connection (kept at `.events` level), so a test
/// can compare a real client with the model message by message.
public struct DispatchedMessage: Sendable, Equatable {
    /// 0-based position among the connection's dispatched messages.
    public var index: Int
    /// Event type (`message` when the block named none), data, and the last event ID at dispatch.
    public var message: SSEMessage
    /// It matches an event the upstream sent (see the counting rules on `Ledger`); false: unexpected.
    public var intact: Bool

    public init(index: Int, message: SSEMessage, intact: Bool) {
        self.index = index
        self.message = message
        self.intact = intact
    }
}
