import Faults
import SSE

/// What the ledger holds for one connection attempt (internal; `ConnectionReport` is the public view).
/// The counters the ledger updates on every frame and write are `@exclusivity(unchecked)`: the ledger is
/// used under one lock, and none of them is lent out across a call (the run-time checks cost more than
/// the counting).
final class ConnectionLedger {
    /// Owned by the client (its `connections`), which the ledger owns: unowned here, no cycle.
    unowned let client: ClientLedger
    let id: UInt64
    let clientKey: String
    /// 1-based position in the client's `connections`.
    var ordinal: UInt32 = 0
    let attempt: Int
    let openedAt: UInt64
    let wallMs: UInt64
    let method: String
    let path: String
    let lastEventIDSent: String?
    let profile: String
    let seed: UInt64
    /// The spec-exact client's state when this connection opened (carried over from the previous one).
    /// Changed only when a reset's outcome is chosen before this connection's response opened its model.
    var startState: SSEClientState

    var status: Int?
    var contentType: String?
    var synthetic = false
    var responseAt: UInt64?
    /// nil while no response or when a spec-exact client opens the stream.
    var failReason: String?

    @exclusivity(unchecked) var frameCount = 0
    @exclusivity(unchecked) var eventCount = 0
    @exclusivity(unchecked) var upstreamBytes = 0
    @exclusivity(unchecked) var firstID: String?
    @exclusivity(unchecked) var lastID: String?
    /// `.events`: every frame, the first `maxKeptEventFrames`; `.summary`: only frames a fault acted on (at most `maxKeptFrames`).
    var frames: [FrameInfo] = []
    /// `.summary`: the last frames seen, to find the one a fault record names.
    var recent: [FrameInfo] = []
    var recentHead = 0
    var faulted = Set<Int>()
    var faults: [FaultRecord] = []
    var faultCount = 0

    @exclusivity(unchecked) var deliveredBytes = 0
    @exclusivity(unchecked) var deliveredWrites = 0
    /// The spec-exact client, fed the delivered bytes (nil until a response it opens, and after close).
    @exclusivity(unchecked) var model: SSEClientModel?
    @exclusivity(unchecked) var dispatched = 0
    @exclusivity(unchecked) var intact = 0
    @exclusivity(unchecked) var unexpected = 0
    /// A few of the unexpected messages, for the finding's detail.
    var unexpectedSamples: [SSEMessage] = []
    /// `.events` only: the messages the spec-exact client dispatched, in order (the first
    /// `maxKeptMessages`, and no more once `maxKeptMessageBytes` of data are held).
    var messages: [DispatchedMessage] = []
    var messageBytes = 0
    /// Events without id on this connection, by (type, data) digest: how many the upstream sent and how
    /// many the client dispatched. Freed at close (only totals are kept).
    @exclusivity(unchecked) var anonymous: [UInt64: (sent: Int, dispatched: Int)] = [:]

    /// A cut (a fault's, or a live one) ended the stream to the client at this point: frames read from the
    /// upstream after it are counted here, never as expected (see "After a cut" on `Ledger`).
    var cutAt: Int?
    @exclusivity(unchecked) var framesAfterCut = 0
    @exclusivity(unchecked) var eventsAfterCut = 0
    /// The client's state before the current write, and what each message dispatched from that write counted
    /// as: after a reset, these are the outcomes the client may have seen (see "After a reset" on `Ledger`).
    @exclusivity(unchecked) var writeStart: SSEClientState?
    @exclusivity(unchecked) var writeDispatches: [TailDispatch] = []
    /// Set at close by a reset: the last write's dispatches, the one an outcome was chosen by the next attempt.
    var resetTail: [TailDispatch]?
    var resetTailStart: SSEClientState?
    /// Index of the first message of `resetTail` among the connection's dispatched messages.
    var resetTailFirst: Int?
    /// The outcome the next attempt's `Last-Event-ID` fits: how many of `resetTail` the client dispatched.
    var resetChosen: Int?
    /// The attempt whose `Last-Event-ID` chose `resetChosen`.
    var resetDecidedBy = 0

    var end: ConnectionEnd?
    var closedAt: UInt64?
    var discardedTail = false
    var finalState: SSEClientState?

    /// Reconnect checks against the previous attempt (attempt > 1): done when both are known.
    var checked = false
    var expectedLastEventID: String?
    var waitedNs: Int64?
    var requiredWaitMs: UInt64?
    var previousFailed: String?

    /// The contract the client is judged by on this connection (see `ClientContract`).
    var contract = ClientContract.eventsource
    /// `once`: the message that ends the stream cleanly, and whether the client got it.
    var terminator: StreamTerminator?
    var terminated = false
    /// `resume`: the answer was not an event stream (JSON, 202): not a stream attempt, never judged.
    var notStream = false
    /// `resume`: a stream of its own (no `Last-Event-ID`, and no reconnect was owed), not a reconnect.
    var newStream = false
    /// `resume`: a later connection was checked as this stream's reconnect: its `Last-Event-ID` no longer names it.
    var resumed = false

    static let maxKeptFrames = 256
    static let maxKeptFaults = 256
    /// What one connection holds in memory at `.events` level, whatever its length (every frame and write
    /// still goes to the sink, the `--ledger` file): the first `maxKeptEventFrames` frames (about 100 bytes
    /// each) and the first `maxKeptMessages` dispatched messages while their text is under
    /// `maxKeptMessageBytes`. With these, a connection's share of the ledger stays under about 0.2 MB at
    /// `.events` (the id table's 8 bytes an event aside, see `IDTable`); its counts are always exact.
    static let maxKeptEventFrames = 500
    static let maxKeptMessages = 500
    static let maxKeptMessageBytes = 64 << 10
    /// The most bytes the connection's client model holds of one unfinished line or one message's data
    /// (`SSEClientModel.maxHeldBytes`): a larger message is matched by the digest of its bytes as they passed.
    static let maxHeldEventBytes = 64 << 10
    static let recentFrames = 64
    /// How many of the last write's messages a reset leaves uncertain, at most (the ones before are certain).
    static let maxTailDispatches = 256

    init(client: ClientLedger, id: UInt64, clientKey: String, attempt: Int, openedAt: UInt64, wallMs: UInt64, method: String, path: String,
         lastEventIDSent: String?, profile: String, seed: UInt64, startState: SSEClientState) {
        self.client = client
        self.id = id
        self.clientKey = clientKey
        self.attempt = attempt
        self.openedAt = openedAt
        self.wallMs = wallMs
        self.method = method
        self.path = path
        self.lastEventIDSent = lastEventIDSent
        self.profile = profile
        self.seed = seed
        self.startState = startState
    }

    /// Passthrough (`Ledger.relayed`): the bytes of the unfinished block the stream's parser holds, which
    /// the model has not been fed yet (they can complete lines, never dispatch). Shares the parser's storage.
    var unparsedTail: [UInt8] = []
    /// Passthrough: a block too long for the stream's parser, as its pieces pass (`Ledger.relayed`).
    var longBlock = SSELongBlock()

    /// Passthrough: feeds `model` the bytes delivered that it has not taken yet (a long block's held byte,
    /// then the parser's unfinished block): they can complete lines, never dispatch.
    func feedUnfed(_ model: inout SSEClientModel, _ onDispatch: (SSEDispatch) -> Void) {
        longBlock.feedUnfed(into: &model, onDispatch: onDispatch)
        if !unparsedTail.isEmpty { unparsedTail.withUnsafeBytes { model.feed($0, onDispatch: onDispatch) } }
    }

    /// The model as of every byte delivered (`unparsedTail` fed to a copy).
    private var currentModel: SSEClientModel? {
        guard var m = model else { return nil }
        feedUnfed(&m) { _ in }
        return m
    }

    /// The client's state now: at the end when closed, else as of the bytes delivered so far.
    var state: SSEClientState { finalState ?? currentModel?.state ?? startState }

    /// `state.lastEventID`, without feeding the tail (only a dispatch changes it).
    var lastEventID: String { finalState?.lastEventID ?? model?.state.lastEventID ?? startState.lastEventID }

    var isOpen: Bool { closedAt == nil }

    /// What this connection holds that depends on its stream's content: the client model's buffers (at most
    /// `maxHeldEventBytes` of a line or message), the kept messages' text and the kept frames. Not
    /// `unparsedTail`: it shares the stream's parser's storage, which the proxy counts as the parser's.
    var heldBytes: Int {
        (model?.heldBytes ?? 0) + messageBytes
            + (frames.count + recent.count) * MemoryLayout<FrameInfo>.stride
    }

    /// Keeps a dispatched message while under both limits (`.events` only; the caller checks the level).
    /// The limits are checked on the received bytes first: a message over them is never made into Strings.
    func keep(_ d: SSEDispatch, intact: Bool) {
        guard messages.count < Self.maxKeptMessages,
              messageBytes + d.dataLength + d.typeBytes.count + d.lastEventId.utf8.count <= Self.maxKeptMessageBytes else { return }
        let m = d.message
        let size = m.data.utf8.count + m.type.utf8.count + m.lastEventId.utf8.count  // decoded: U+FFFD may be longer
        guard messageBytes + size <= Self.maxKeptMessageBytes else { return }
        messageBytes += size
        messages.append(DispatchedMessage(index: dispatched - 1, message: m, intact: intact))
    }

    func remember(_ f: FrameInfo) {
        if recent.count < Self.recentFrames {
            recent.append(f)
        } else {
            recent[recentHead] = f
            recentHead = (recentHead + 1) % Self.recentFrames
        }
    }

    func recentFrame(_ index: Int) -> FrameInfo? {
        recent.first { $0.index == index }
    }

    /// Totals of the events without id: sent, dispatched intact, missing, dispatched more than sent.
    var anonymousTotals: (sent: Int, intact: Int, missing: Int, duplicated: Int) {
        var t = (sent: 0, intact: 0, missing: 0, duplicated: 0)
        for (_, v) in anonymous {
            t.sent += v.sent
            t.intact += min(v.sent, v.dispatched)
            t.missing += max(0, v.sent - v.dispatched)
            t.duplicated += max(0, v.dispatched - v.sent)
        }
        return t
    }

    var prediction: Prediction {
        Prediction(attempt: attempt, dispatched: dispatched, intact: intact, unexpected: unexpected,
                   lastEventID: state.lastEventID, reconnectionTimeMs: state.reconnectionTimeMs,
                   discardedTail: closedAt == nil ? (currentModel?.hasPendingTail ?? false) : discardedTail,
                   failReason: failReason, possibleLastEventIDs: possibleLastEventIDs,
                   resetOutcome: resetChosen.map { Prediction.ResetOutcome(messagesRead: $0, decidedByAttempt: resetDecidedBy) })
    }

    /// After a reset: every last event ID the client may hold (the last write's event-boundary prefixes,
    /// shortest first); empty otherwise.
    var possibleLastEventIDs: [String] {
        guard let tail = resetTail, let start = resetTailStart else { return [] }
        var out = [start.lastEventID]
        for d in tail where d.lastEventID != out.last { out.append(d.lastEventID) }
        return out
    }
}

/// One message dispatched from a connection's last write, and how it was counted.
struct TailDispatch {
    enum Counted { case id(IDTable.Slot), anonIntact, anonDuplicate, unexpected }
    /// The last event ID after it.
    var lastEventID: String
    var counted: Counted
}

/// What the ledger holds for one client key, across its attempts.
final class ClientLedger {
    let key: String
    var connections: [ConnectionLedger] = []
    /// Events with an id, in the order the upstream first sent them.
    let ids = IDTable()
    /// Totals of events without id, over closed connections.
    var anonSent = 0
    var anonIntact = 0
    var anonMissing = 0
    var anonDuplicated = 0
    /// Reconnect findings and unexpected messages, in the order found.
    var findings: [Finding] = []
    /// A `retry` field reached the client (a `resume` client then owes the reconnection time).
    var retrySeen = false
    /// The ordinal of the last connection judged for `gaveUp` (0: none).
    var judgedGaveUp: UInt32 = 0

    init(key: String) { self.key = key }
}
