import Faults
import SSE

/// The answer key of a Sputter run: for each client key, across its reconnects, what the upstream sent,
/// what each connection delivered and how, and what a spec-exact `EventSource` therefore dispatched and
/// will do next. Pure: every time is a parameter (monotonic ns), nothing here reads a clock or a socket.
///
/// Used on one thread (the proxy's loop); not `Sendable`. Records go to `sink` as they happen.
///
/// ## Counting rules
/// - **An event** is an upstream frame with at least one `data` field (`SSEFrame.Kind.event`). Comment,
///   blank and fields-only frames are counted as frames, never as events.
/// - **Events with an id** (the frame itself has a non-empty `id` field) are identified by
///   (id, digest of type and data), per client key, across attempts: a backend that replays id 7 after a
///   reconnect sends the *same* event again, not a new one. The same id with other content is another event.
/// - **Events without an id** (no `id` field, or `id:` empty) are identified by the digest of
///   (type, data) *within one connection only*, never matched across attempts: k copies sent and j
///   dispatched on a connection give min(k, j) received, k − j missing when k > j, j − k duplicated when j > k.
/// - **Received intact**: a message the spec-exact client model dispatched from the bytes actually
///   delivered, whose `lastEventId` is the event's id and whose type and data digest equal the upstream's
///   (or, without id, whose type and data equal an event without id sent on the same connection). A
///   message that matches nothing is **unexpected** (a corrupted or injected event, or one whose id a fault
///   rewrote or stripped, which a client cannot resume from).
/// - **Missing**: an event the upstream sent that was never received intact in any attempt (so an event
///   dropped on attempt 1 and received after the backend replayed it on attempt 2 is not missing).
///   **Duplicated**: received intact more than once over all attempts (a duplicate fault, or a replay the
///   client dispatches again). Both are evaluated as of now: an open connection may still deliver.
/// - The bytes of a response a spec-exact client fails on (status ≠ 200, or not `text/event-stream`)
///   are never parsed: a 503 body dispatches nothing.
///
/// ## Reconnect rules (attempt k > 1, against the connection the same client key opened before it)
/// - If that connection's response makes `EventSource` fail (any status but 200, e.g. 204 or 503, or a
///   wrong content type), no reconnect is expected: attempt k is a `reconnectAfterFailure` finding, and
///   its other checks are skipped. A `Retry-After` on a 503 does not change that, nor the reconnection time.
/// - Otherwise the client must send `Last-Event-ID` equal to the predicted last event ID at the end of
///   the previous connection, and no header when that is empty (an empty header counts as none); else
///   `wrongLastEventID`, with what was expected and what was sent.
/// - And it must wait at least the predicted reconnection time: open of k − close of k−1 ≥ reconnection
///   time − `reconnectSlackMs`; else `reconnectTooEarly`. Both times are the proxy's, so a client that
///   waits correctly always passes (it learns of the close after the proxy closes). When the client closed
///   the connection itself (`clientClose`) it knew first, so only a reconnect opened before that close
///   (a negative wait) is judged.
/// - Attempt 1 has no prediction to compare to: the `Last-Event-ID` it sends (a client resuming from a
///   stored id) seeds the model.
///
/// ## After a cut
/// When a fault's `cut` (or a live cut, `cut(id:)`) ends the stream to the client, the connection's expected
/// events are the upstream's frames up to the cut, in the upstream's order: frames Sputter had already read
/// past the cut (how many depends only on TCP timing) are counted as `events_after_cut`, never as expected or
/// missing. The client could not get them on that connection; a backend that resumes from `Last-Event-ID`
/// sends them again on the next one, where they count. So the same profile, seed, key and upstream give the
/// same expected, received and missing ids on every run. A live cut (`POST /clients/KEY/cut`) is marked when
/// it is asked (or, with `after_events`, when it lands): frames already read and queued by then stay expected.
///
/// ## After a reset
/// A reset (RST) can overtake bytes the client had not read yet: of the bytes of the connection's last write
/// (one delivery round; its last `ConnectionLedger.maxTailDispatches` messages at most), the client may have
/// dispatched any event-boundary prefix. The prediction lists the
/// last event IDs those outcomes leave (`possibleLastEventIDs`). The next attempt's `Last-Event-ID` picks
/// the longest outcome it fits: no finding, and the messages past it are taken back (not received there);
/// a `Last-Event-ID` that fits none is `wrongLastEventID`. A client that never reconnects is credited with
/// the whole write. The reconnection time is the one at the end of the write.
///
/// Not handled: a connection's frames are assumed to be reported (`upstreamFrame`) before the bytes that
/// carry them are delivered; bytes delivered before `responseStarted` are counted but not parsed.
public final class Ledger {
    public let level: LedgerLevel
    public let defaultReconnectionTimeMs: UInt64
    /// Tolerance for `reconnectTooEarly`, in ms (0: exact).
    public let reconnectSlackMs: UInt64
    /// How long past its reconnection time (or `Retry-After`) a client that should come back may take
    /// before it is judged to have given up (`gaveUp`), in ms.
    public let gaveUpGraceMs: UInt64
    private let sink: ((LedgerRecord) -> Void)?

    @exclusivity(unchecked) var connectionsByID: [UInt64: ConnectionLedger] = [:]
    var clientsByKey: [String: ClientLedger] = [:]
    var clientOrder: [String] = []

    /// - Parameters:
    ///   - level: `.events` (every frame and write) or `.summary` (counts and faulted frames only).
    ///   - defaultReconnectionTimeMs: the client's reconnection time before any `retry` field.
    ///   - reconnectSlackMs: how much earlier than the reconnection time a reconnect may come.
    ///   - sink: receives each record as it happens.
    ///   - gaveUpGraceMs: how late past its reconnection time a client may come back before it `gaveUp`.
    public init(level: LedgerLevel = .events, defaultReconnectionTimeMs: UInt64 = 3000, reconnectSlackMs: UInt64 = 0,
                gaveUpGraceMs: UInt64 = Ledger.defaultGaveUpGraceMs, sink: ((LedgerRecord) -> Void)? = nil) {
        self.gaveUpGraceMs = gaveUpGraceMs
        self.level = level
        self.defaultReconnectionTimeMs = defaultReconnectionTimeMs
        self.reconnectSlackMs = reconnectSlackMs
        self.sink = sink
    }

    private func emit(_ conn: UInt64?, _ key: String, _ at: UInt64, _ body: LedgerRecord.Body) {
        sink?(LedgerRecord(connection: conn, clientKey: key, at: at, body: body))
    }

    // MARK: - Feeding

    /// A client connected and its request was read. `contract`: the rules it is judged by (see
    /// `ClientContract` and docs/LEDGER.md); `terminator`: under `once`, the message that ends a stream cleanly.
    public func connectionOpened(id: UInt64, clientKey: String, attempt: Int, at: UInt64, wallMs: UInt64,
                                 method: String, path: String, lastEventIDSent: String?, profile: String, seed: UInt64,
                                 contract: ClientContract = .eventsource, terminator: StreamTerminator? = nil) {
        let client: ClientLedger
        if let c = clientsByKey[clientKey] {
            client = c
        } else {
            client = ClientLedger(key: clientKey)
            clientsByKey[clientKey] = client
            clientOrder.append(clientKey)
        }
        // `once`: every request is a new stream. Else the stream this one continues (JSON answers are not streams).
        let previous = contract == .once ? nil : client.connections.last { !$0.notStream && $0.contract != .once }
        let start = previous?.state
            ?? SSEClientState(lastEventID: lastEventIDSent ?? "", reconnectionTimeMs: defaultReconnectionTimeMs)
        let conn = ConnectionLedger(client: client, id: id, clientKey: clientKey, attempt: attempt, openedAt: at, wallMs: wallMs,
                                    method: method, path: path, lastEventIDSent: lastEventIDSent, profile: profile,
                                    seed: seed, startState: start)
        conn.contract = contract
        conn.terminator = contract == .once ? terminator : nil
        client.connections.append(conn)
        conn.ordinal = UInt32(truncatingIfNeeded: client.connections.count)
        connectionsByID[id] = conn
        emit(id, clientKey, at, .connectionOpen(.init(attempt: attempt, wallMs: wallMs, method: method, path: path,
                                                      lastEventIDSent: lastEventIDSent, profile: profile, seed: seed,
                                                      contract: contract)))
        // `resume`: checked once the response shows it is a stream (`responseStarted`).
        if let previous, contract == .eventsource {
            if !previous.isOpen { checkReconnect(conn, after: previous, client) }
        } else if previous == nil {
            conn.checked = true
        }
    }

    /// The status and content type the client received (relayed, or written by a fault).
    public func responseStarted(id: UInt64, status: Int, contentType: String?, synthetic: Bool, at: UInt64) {
        guard let conn = connectionsByID[id], conn.status == nil else { return }
        conn.status = status
        conn.contentType = contentType
        conn.synthetic = synthetic
        conn.responseAt = at
        switch SSEClientModel.outcome(status: status, contentType: contentType) {
        case .open:
            conn.model = SSEClientModel(state: conn.startState, maxHeldBytes: ConnectionLedger.maxHeldEventBytes)
        case .fail(let reason):
            conn.failReason = reason
        }
        emit(id, conn.clientKey, at, .response(.init(status: status, contentType: contentType, synthetic: synthetic,
                                                     failReason: conn.failReason)))
        if conn.contract == .resume { resumeResponse(conn, status: status) }
    }

    /// A frame the upstream sent (every one, whether a fault changes it or not). `shaped`: false when no
    /// fault can act on the stream's frames (passthrough), so no later `fault` call will name this one.
    /// Returns what an event frame was recorded as, for `delivered(id:frame:sent:at:)`.
    @discardableResult
    public func upstreamFrame(id: UInt64, frame: SSEFrame, at: UInt64, shaped: Bool = true) -> SentEvent? {
        guard let conn = connectionsByID[id] else { return nil }
        return record(frame, conn, at: at, shaped: shaped)
    }

    /// An event recorded as sent: its digest of (type, data), and the id table's slot when the frame
    /// carried a non-empty id (nil without one: a dispatch of it then has the previous last event ID).
    public struct SentEvent: Sendable {
        var digest: UInt64
        var slot: IDTable.Slot?
    }

    /// `upstreamFrame`'s work, the connection found. Returns what an event frame was recorded as (nil for
    /// other kinds and for frames read past a cut).
    @discardableResult
    func record(_ frame: SSEFrame, _ conn: ConnectionLedger, at: UInt64, shaped: Bool) -> SentEvent? {
        recordBlock(conn, at: at, shaped: shaped, index: frame.index, kind: frame.kind, id: frame.id,
                    eventType: frame.eventType, retry: frame.retry, size: frame.raw.count,
                    eventDigest: { Digest64.event(type: $0, frame: frame) }, rawDigest: { Digest64.digest(frame.raw) })
    }

    /// What `record` keeps of one block, whoever parsed it: the parser (a frame), or the client model for a
    /// passthrough block too long for the parser to hold (`relayed`). `eventType` as the block's last
    /// `event` field (nil or empty: `message`); `eventDigest(type)` is asked only for an event, `rawDigest`
    /// only when a frame record is kept.
    @inline(__always)
    func recordBlock(_ conn: ConnectionLedger, at: UInt64, shaped: Bool, index: Int, kind: SSEFrame.Kind, id: String?,
                     eventType: String?, retry: UInt64?, size: Int,
                     eventDigest: (String) -> UInt64, rawDigest: () -> UInt64) -> SentEvent? {
        if conn.cutAt != nil {
            // Read past a cut: the client could never get it on this connection (see "After a cut").
            conn.framesAfterCut += 1
            if kind == .event { conn.eventsAfterCut += 1 }
            return nil
        }
        var sent: SentEvent?
        let client = conn.client
        conn.frameCount += 1
        conn.upstreamBytes += size
        var type: String?
        if retry != nil { client.retrySeen = true }
        if kind == .event {
            conn.eventCount += 1
            let t = (eventType ?? "").isEmpty ? "message" : eventType!
            type = t
            let digest = eventDigest(t)
            if let eid = id, !eid.isEmpty {
                if conn.firstID == nil { conn.firstID = eid }
                conn.lastID = eid
                sent = SentEvent(digest: digest,
                                 slot: client.ids.sent(id: conn.contract == .once ? Self.onceID(eid, conn) : eid, digest: digest))
            } else {
                conn.anonymous[digest, default: (0, 0)].sent += 1
                sent = SentEvent(digest: digest, slot: nil)
            }
        }
        // At summary level a frame is kept only in case a fault names it, which cannot happen when unshaped.
        if level == .summary && !shaped { return sent }
        let info = FrameInfo(index: index, kind: FrameInfo.kindName(kind), id: id, eventType: type,
                             retry: retry, size: size, digest: rawDigest(), at: at)
        switch level {
        case .events:
            if conn.frames.count < ConnectionLedger.maxKeptEventFrames { conn.frames.append(info) }
            emit(conn.id, conn.clientKey, at, .frame(info))
        case .summary:
            conn.remember(info)
        }
        return sent
    }

    /// A decision of the connection's fault plan.
    public func fault(id: UInt64, record: FaultRecord) {
        guard let conn = connectionsByID[id] else { return }
        switch record.effect {
        case .cut: cut(id: id)
        case .controlled(let a) where a.verb == .cut && (a.afterEvents == nil || a.landed): cut(id: id)  // a live cut
        default: break
        }
        conn.faultCount += 1
        if level == .summary, let index = record.frameIndex, !conn.faulted.contains(index),
           conn.frames.count < ConnectionLedger.maxKeptFrames, let info = conn.recentFrame(index) {
            conn.faulted.insert(index)
            conn.frames.append(info)
            emit(id, conn.clientKey, info.at, .frame(info))
        }
        if level == .events || conn.faults.count < ConnectionLedger.maxKeptFaults {
            conn.faults.append(record)
        }
        emit(id, conn.clientKey, record.at, .fault(frameIndex: record.frameIndex, fault: record.fault, effect: record.effect))
    }

    /// The stream to the client was cut here (a fault's `cut`, or a live cut from the control API): every
    /// frame reported after this call is read past the cut, and not expected of the client. Idempotent.
    public func cut(id: UInt64) {
        guard let conn = connectionsByID[id], conn.cutAt == nil else { return }
        conn.cutAt = conn.frameCount
    }

    /// Payload bytes written to the client, in order, de-chunked.
    public func delivered(id: UInt64, bytes: UnsafeRawBufferPointer, at: UInt64) {
        guard let conn = connectionsByID[id] else { return }
        deliver(conn, bytes: bytes.count, at: at) { model, classify in
            model.feed(bytes) { classify($0, nil) }
        }
    }

    /// `delivered(id:bytes:at:)` of a write that is exactly the bytes of the upstream frame `frame` (`raw`),
    /// reported before with `upstreamFrame`, which returned `sent`: the client model takes the frame's fields
    /// instead of parsing its bytes again (`SSEClientModel.feed(frame:onDispatch:)`, exact for a whole block),
    /// and a message that is the frame's own is matched by what the frame was recorded as (no second digest,
    /// no second id lookup).
    public func delivered(id: UInt64, frame: SSEFrame, sent: SentEvent?, at: UInt64) {
        guard let conn = connectionsByID[id] else { return }
        deliver(conn, bytes: frame.raw.count, at: at) { model, classify in
            model.feed(frame: frame) { classify($0, $0.isFramesOwn ? sent : nil) }
        }
    }

    /// One write's bookkeeping; `feed` gives the model the write and each dispatch to `classify`.
    @inline(__always)
    private func deliver(_ conn: ConnectionLedger, bytes: Int, at: UInt64,
                         feed: (inout SSEClientModel, (SSEDispatch, SentEvent?) -> Void) -> Void) {
        conn.deliveredBytes += bytes
        conn.deliveredWrites += 1
        var count = 0
        if var model = conn.model {
            conn.model = nil  // keep the model uniquely referenced while it is fed
            conn.writeStart = model.state
            conn.writeDispatches.removeAll(keepingCapacity: true)
            let client = conn.client
            feed(&model) { message, sent in
                count += 1
                classify(message, conn, client, sent: sent)
            }
            conn.model = model
        }
        recordDelivery(conn, bytes: bytes, dispatched: count, at: at)
    }

    /// The `delivered` record (`.events`), once the model has taken the bytes.
    func recordDelivery(_ conn: ConnectionLedger, bytes: Int, dispatched count: Int, at: UInt64) {
        if level == .events {
            emit(conn.id, conn.clientKey, at, .delivered(.init(bytes: bytes, total: conn.deliveredBytes, dispatched: count,
                                                               lastEventID: conn.lastEventID)))
        }
    }

    /// Convenience for tests and callers holding an array.
    public func delivered(id: UInt64, bytes: [UInt8], at: UInt64) {
        bytes.withUnsafeBytes { delivered(id: id, bytes: $0, at: at) }
    }

    /// Strings are built from the message only to be kept (`.events`) or quoted in a finding. `sent`: what
    /// the frame `m` is made of was recorded as (`record`), when `m` is that frame's own (`SSEDispatch.isFramesOwn`):
    /// its digest is then `m`'s, and its slot the one `m`'s last event ID finds.
    func classify(_ m: SSEDispatch, _ conn: ConnectionLedger, _ client: ClientLedger, sent: SentEvent? = nil) {
        conn.dispatched += 1
        let counted = match(m, conn, client, sent: sent)
        if conn.writeDispatches.count == ConnectionLedger.maxTailDispatches {
            // A write of many small messages: only its last ones stay uncertain (a reset overtakes the end).
            let dropped = ConnectionLedger.maxTailDispatches / 2
            conn.writeStart?.lastEventID = conn.writeDispatches[dropped - 1].lastEventID
            conn.writeDispatches.removeFirst(dropped)
        }
        conn.writeDispatches.append(TailDispatch(lastEventID: m.lastEventId, counted: counted))
        let intact: Bool
        if case .unexpected = counted { intact = false } else { intact = true }
        if intact {
            conn.intact += 1
        } else {
            conn.unexpected += 1
            if conn.unexpectedSamples.count < 3 { conn.unexpectedSamples.append(Self.sample(m)) }
        }
        if level == .events { conn.keep(m, intact: intact) }
        if let t = conn.terminator, !conn.terminated, m.isWhole || t.field == .event {  // only the start of a huge data is held
            let message = m.message
            conn.terminated = t.matches(type: message.type, data: message.data)
        }
    }

    /// `m` for a finding's detail, which quotes only the start of the data (`clip`): a huge message is not
    /// copied whole into a String.
    static func sample(_ m: SSEDispatch) -> SSEMessage {
        let head = UnsafeBufferPointer(rebasing: m.dataBytes.prefix(4 * (clipLength + 1)))  // 41 code points at most
        return SSEMessage(type: m.type, data: String(decoding: head, as: UTF8.self), lastEventId: m.lastEventId)
    }

    static let clipLength = 40

    /// Counts `m` as received when it matches an event the upstream sent (how), `.unexpected` when it matches nothing.
    private func match(_ m: SSEDispatch, _ conn: ConnectionLedger, _ client: ClientLedger, sent: SentEvent?) -> TailDispatch.Counted {
        let digest = sent?.digest ?? Digest64.event(m)
        let anon = conn.anonymous.isEmpty ? nil : conn.anonymous[digest]
        if !m.lastEventId.isEmpty,
           let slot = sent?.slot
               ?? client.ids.slot(id: conn.contract == .once ? Self.onceID(m.lastEventId, conn) : m.lastEventId, digest: digest) {
            // An event without id that repeats the previous event's content: prefer it while it is owed.
            let repeatsHere = client.ids[slot].lastConnection == conn.ordinal
            if !(repeatsHere && anon.map { $0.dispatched < $0.sent } == true) {
                client.ids.received(slot, connection: conn.ordinal)
                return .id(slot)
            }
        }
        if anon != nil {
            conn.anonymous[digest]!.dispatched += 1
            let a = conn.anonymous[digest]!
            return a.dispatched <= a.sent ? .anonIntact : .anonDuplicate
        }
        return .unexpected
    }

    /// The connection to the client ended. `reset`: the client's socket was reset (RST), so the bytes of the
    /// last write may not all have been read; nil: a reset when a fault's `rst` ended it.
    public func connectionClosed(id: UInt64, end: ConnectionEnd, at: UInt64, reset: Bool? = nil) {
        guard let conn = connectionsByID[id], conn.isOpen else { return }
        let client = conn.client
        conn.end = end
        conn.closedAt = at
        var wasReset = false
        if case .fault(kind: .rst, _) = end { wasReset = true }
        if reset ?? wasReset, conn.model != nil, !conn.writeDispatches.isEmpty, let start = conn.writeStart {
            conn.resetTail = conn.writeDispatches
            conn.resetTailStart = start
            conn.resetTailFirst = conn.dispatched - conn.writeDispatches.count
        }
        conn.writeDispatches = []
        if var model = conn.model {
            conn.model = nil
            conn.feedUnfed(&model) { classify($0, conn, client) }  // passthrough: what the parser held (dispatches nothing)
            conn.unparsedTail = []
            conn.longBlock = SSELongBlock()
            conn.discardedTail = model.hasPendingTail
            model.end()
            conn.finalState = model.state
        } else {
            conn.finalState = conn.startState
        }
        conn.model = nil
        let anon = conn.anonymousTotals
        client.anonSent += anon.sent
        client.anonIntact += anon.intact
        client.anonMissing += anon.missing
        client.anonDuplicated += anon.duplicated
        conn.anonymous = [:]
        conn.recent = []

        emit(id, conn.clientKey, at, .connectionClose(.init(
            end: end, attempt: conn.attempt, frames: conn.frameCount, events: conn.eventCount,
            bytesDelivered: conn.deliveredBytes, firstID: conn.firstID, lastID: conn.lastID, faults: conn.faultCount)))
        emit(id, conn.clientKey, at, .prediction(conn.prediction))
        if conn.unexpected > 0 {
            let samples = conn.unexpectedSamples.map { m in
                "\(m.type) \(JSONWriter.quoted(clip(m.data)))\(m.lastEventId.isEmpty ? "" : " (last event ID \(JSONWriter.quoted(m.lastEventId)))")"
            }.joined(separator: "; ")
            let n = conn.unexpected
            add(Finding(kind: .unexpected, clientKey: client.key, attempt: conn.attempt, connection: id,
                        detail: "\(n) dispatched message\(n == 1 ? "" : "s") match\(n == 1 ? "es" : "") nothing the upstream sent: \(samples)"),
                client, at: at)
        }
        if conn.contract == .once { judgeOnce(conn, client, at: at) }
        // A reconnect that opened before this connection was seen to close is checked now.
        if conn.contract != .once, !conn.notStream, let next = nextStream(after: conn, client), !next.checked {
            checkReconnect(next, after: conn, client)
        }
        emit(nil, client.key, at, .client(summary(client)))
    }

    /// End of the run (shutdown): writes the findings that are only final now (missing, duplicated) and
    /// each client's standing. Connections still open are left as they are.
    public func finish(at: UInt64) {
        for key in clientOrder {
            guard let client = clientsByKey[key] else { continue }
            judgeGaveUp(client, at: at)
            for f in historyFindings(client) { emit(nil, key, at, .finding(f)) }
            emit(nil, key, at, .client(summary(client)))
        }
    }

    /// Forgets everything; writes a `reset` record so a file spanning resets reads as separate runs.
    public func reset(at: UInt64 = 0) {
        emit(nil, "", at, .reset)
        connectionsByID = [:]
        clientsByKey = [:]
        clientOrder = []
    }

    func add(_ f: Finding, _ client: ClientLedger, at: UInt64) {
        client.findings.append(f)
        emit(f.connection, client.key, at, .finding(f))
    }

    private func clip(_ s: String, _ n: Int = Ledger.clipLength) -> String {
        s.count <= n ? s : String(s.prefix(n)) + "…"
    }

    // MARK: - Reconnect checks

    func checkReconnect(_ k: ConnectionLedger, after p: ConnectionLedger, _ client: ClientLedger) {
        k.checked = true
        guard let closedAt = p.closedAt else { return }
        let waited = Int64(bitPattern: k.openedAt &- closedAt)
        k.waitedNs = waited
        if k.contract == .resume { return checkResume(k, after: p, client, waited: waited) }
        if let reason = p.failReason {
            k.previousFailed = reason
            let retryAfter = p.status == 503 || p.faults.contains { f in
                if case .responded(_, retryAfter: .some) = f.effect { return true } else { return false }
            }
            add(Finding(kind: .reconnectAfterFailure, clientKey: client.key, attempt: k.attempt, connection: k.id,
                        detail: "attempt \(p.attempt) got \(p.status.map { "status \($0)" } ?? "no response")"
                            + (p.status == 200 ? " with Content-Type \(p.contentType.map { JSONWriter.quoted($0) } ?? "(none)")" : "")
                            + " (\(reason)): a spec-exact EventSource fails and does not reconnect"
                            + (retryAfter ? " (a Retry-After header does not change that)" : "")
                            + ", yet the client reconnected \(formatMs(waited)) later"
                            + (k.lastEventIDSent.map { " with Last-Event-ID \(JSONWriter.quoted($0))" } ?? "")),
                client, at: k.openedAt)
            return
        }
        let state = p.state
        k.requiredWaitMs = state.reconnectionTimeMs
        checkLastEventID(k, after: p, client)
        if tooEarly(waited: waited, requiredMs: state.reconnectionTimeMs, after: p) {
            add(Finding(kind: .reconnectTooEarly, clientKey: client.key, attempt: k.attempt, connection: k.id,
                        detail: "reconnected \(formatMs(waited)) after attempt \(p.attempt) ended; the reconnection time was \(state.reconnectionTimeMs)ms"),
                client, at: k.openedAt)
        }
    }

    /// Whether a reconnect `waited` ns after `p` ended came before `requiredMs` (less `reconnectSlackMs`). A client
    /// that closed its own connection knew of the end before the proxy did: the wait measured from the proxy's
    /// close is short by the proxy's own latency, so then only a reconnect before that close is too early.
    func tooEarly(waited: Int64, requiredMs: UInt64, after p: ConnectionLedger) -> Bool {
        let slack = Int64(clamping: reconnectSlackMs) * 1_000_000
        guard waited < Int64(clamping: requiredMs) * 1_000_000 - slack else { return false }
        return p.end != .clientClose || waited < 0
    }

    /// `Last-Event-ID` of reconnect `k` against what a spec-exact client had at the end of `p`.
    func checkLastEventID(_ k: ConnectionLedger, after p: ConnectionLedger, _ client: ClientLedger) {
        var expected = p.state.lastEventID
        let sent = k.lastEventIDSent ?? ""
        var fits = sent == expected
        if let tail = p.resetTail, let start = p.resetTailStart {
            // After a reset: the longest event-boundary prefix of the last write whose last event ID was sent.
            var chosen: Int?
            for j in stride(from: tail.count, through: 0, by: -1) where (j == 0 ? start.lastEventID : tail[j - 1].lastEventID) == sent {
                chosen = j
                break
            }
            if let j = chosen {
                fits = true
                expected = sent
                choose(j, of: p, client, decidedBy: k)
                if k.model == nil, k.status == nil { k.startState.lastEventID = sent }
            }
        }
        k.expectedLastEventID = expected
        if !fits {
            let options = p.possibleLastEventIDs
            let want = expected.isEmpty ? "no Last-Event-ID" : "Last-Event-ID \(JSONWriter.quoted(expected))"
            let had = options.count > 1
                ? "one of " + options.map { $0.isEmpty ? "none" : JSONWriter.quoted($0) }.joined(separator: ", ")
                    + " (the last event IDs a spec-exact client may hold after attempt \(p.attempt): it was reset, and any"
                    + " event-boundary prefix of its last write may have been read)"
                : "\(want) (the last event ID a spec-exact client had after attempt \(p.attempt))"
            let got = k.lastEventIDSent.map { $0.isEmpty ? "an empty Last-Event-ID" : "\(JSONWriter.quoted($0))" } ?? "no Last-Event-ID"
            add(Finding(kind: .wrongLastEventID, clientKey: client.key, attempt: k.attempt, connection: k.id,
                        detail: "expected \(had), sent \(got)",
                        expected: expected, actual: sent),
                client, at: k.openedAt)
        }
    }

    /// The client after a reset dispatched the first `j` messages of `p`'s last write: the others are taken
    /// back (not received, so missing unless received elsewhere; an unexpected one stays as found).
    /// The ledger file gets the prediction again, with the outcome (`reset_read`), so a report read from the file
    /// counts what the live one does.
    private func choose(_ j: Int, of p: ConnectionLedger, _ client: ClientLedger, decidedBy k: ConnectionLedger) {
        guard p.resetChosen == nil, let tail = p.resetTail else { return }
        p.resetChosen = j
        p.resetDecidedBy = k.attempt
        defer { emit(p.id, client.key, k.openedAt, .prediction(p.prediction)) }
        for d in tail[j...] {
            switch d.counted {
            case .id(let slot):
                client.ids.unreceive(slot)
                p.intact -= 1
            case .anonIntact:
                client.anonIntact -= 1
                client.anonMissing += 1
                p.intact -= 1
            case .anonDuplicate:
                client.anonDuplicated -= 1
                p.intact -= 1
            case .unexpected:
                p.unexpected -= 1
            }
            p.dispatched -= 1
        }
        if var f = p.finalState, let start = p.resetTailStart {
            f.lastEventID = j == 0 ? start.lastEventID : tail[j - 1].lastEventID
            p.finalState = f
        }
    }

    // MARK: - Client history

    /// Missing and duplicated findings as of now.
    func historyFindings(_ client: ClientLedger) -> [Finding] {
        var out: [Finding] = []
        let h = history(client)
        if h.missing > 0 {
            var parts: [String] = []
            if !h.missingIDs.isEmpty { parts.append(IDList.labelled(h.missingIDs, total: h.missingIdentified)) }
            if h.anonMissing > 0 { parts.append("\(h.anonMissing) without id") }
            out.append(Finding(kind: .missing, clientKey: client.key,
                               detail: "\(h.missing) of \(h.expected) events never dispatched intact: \(parts.joined(separator: ", "))",
                               ids: Array(h.missingIDs.prefix(Finding.maxIDs))))
        }
        if h.duplicated > 0 {
            var parts: [String] = []
            if !h.duplicatedIDs.isEmpty {
                parts.append(zip(h.duplicatedIDs, h.duplicatedTimes).prefix(12).map { id, n in
                    "\(IDList.describe([id])) ×\(n)"
                }.joined(separator: ", ") + (h.duplicatedIDs.count > 12 ? " …" : ""))
            }
            if h.anonDuplicated > 0 { parts.append("\(h.anonDuplicated) without id") }
            out.append(Finding(kind: .duplicated, clientKey: client.key,
                               detail: "\(h.duplicated) event\(h.duplicated == 1 ? "" : "s") dispatched more than once: \(parts.joined(separator: ", "))",
                               ids: Array(h.duplicatedIDs.prefix(Finding.maxIDs))))
        }
        return out
    }

    struct History {
        var expected = 0
        var received = 0
        var missing = 0
        var missingIdentified = 0
        var duplicated = 0
        var unexpected = 0
        var anonMissing = 0
        var anonDuplicated = 0
        /// The first `Finding.maxIDs` ids with a missing version, and with a duplicated one.
        var missingIDs: [String] = []
        var duplicatedIDs: [String] = []
        /// For each of `duplicatedIDs`: the most times one of its versions was dispatched.
        var duplicatedTimes: [Int] = []
    }

    func history(_ client: ClientLedger) -> History {
        var h = History()
        let ids = client.ids
        h.expected = ids.versions
        h.received = ids.receivedVersions
        h.missingIdentified = ids.versions - ids.receivedVersions
        h.missing = h.missingIdentified
        h.duplicated = ids.duplicatedVersions
        if h.missing > 0 || h.duplicated > 0 {
            // Scanned only when something is wrong, and only until both lists are full or all is found.
            var missingLeft = h.missing
            var duplicatedLeft = h.duplicated
            var lastMissing = -1
            var lastDuplicated = -1
            ids.forEachVersion { index, e in
                if e.received == 0 {
                    missingLeft -= 1
                    if h.missingIDs.count < Finding.maxIDs, lastMissing != index { h.missingIDs.append(ids.name(index)) }
                    lastMissing = index
                } else if e.received > 1 {
                    duplicatedLeft -= 1
                    if lastDuplicated == index {
                        h.duplicatedTimes[h.duplicatedTimes.count - 1] = max(h.duplicatedTimes.last!, Int(e.received))
                    } else if h.duplicatedIDs.count < Finding.maxIDs {
                        h.duplicatedIDs.append(ids.name(index))
                        h.duplicatedTimes.append(Int(e.received))
                        lastDuplicated = index
                    }
                }
                return (missingLeft > 0 && h.missingIDs.count < Finding.maxIDs)
                    || (duplicatedLeft > 0 && h.duplicatedIDs.count < Finding.maxIDs)
            }
        }
        var anon = (sent: client.anonSent, intact: client.anonIntact, missing: client.anonMissing, duplicated: client.anonDuplicated)
        for c in client.connections where c.isOpen {
            let t = c.anonymousTotals
            anon.sent += t.sent
            anon.intact += t.intact
            anon.missing += t.missing
            anon.duplicated += t.duplicated
        }
        h.expected += anon.sent
        h.received += anon.intact
        h.missing += anon.missing
        h.anonMissing = anon.missing
        h.duplicated += anon.duplicated
        h.anonDuplicated = anon.duplicated
        h.unexpected = client.connections.reduce(0) { $0 + $1.unexpected }
        return h
    }
}

/// `120ms`, `3.2s`, `-5ms` (a reconnect seen before the previous close).
func formatMs(_ ns: Int64) -> String {
    let ms = ns / 1_000_000
    if ms >= 10_000 || ms <= -10_000 { return "\(ms / 1000)s" }
    if abs(ms) >= 1000 { return "\(ms / 1000).\(abs(ms % 1000) / 100)s" }
    return "\(ms)ms"
}
