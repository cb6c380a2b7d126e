import Faults
import SSE

/// A client's standing: counts over all its attempts, and a one-line verdict.
public struct ClientSummary: Sendable, Equatable {
    public var key: String
    public var connections: Int
    /// connections − 1.
    public var reconnects: Int
    public var openConnections: Int
    /// Events the upstream sent (see the counting rules on `Ledger`).
    public var expected: Int
    /// Of those, received intact at least once.
    public var received: Int
    public var missing: Int
    public var duplicated: Int
    public var unexpected: Int
    public var findings: Int
    /// The first `Finding.maxIDs` missing / duplicated ids, in the order the upstream first sent them.
    public var missingIDs: [String]
    public var duplicatedIDs: [String]
    /// What a spec-exact client holds now.
    public var lastEventID: String
    public var reconnectionTimeMs: UInt64
    /// The last connection's response made `EventSource` fail: no more reconnects are expected.
    public var failed: Bool
    /// `ok: 12 events, 3 reconnects, all ids received once` or `2 findings: …`.
    public var verdict: String
    /// The contract of the client's last connection.
    public var contract: ClientContract = .eventsource

    public init(key: String, connections: Int, reconnects: Int, openConnections: Int, expected: Int, received: Int,
                missing: Int, duplicated: Int, unexpected: Int, findings: Int, missingIDs: [String], duplicatedIDs: [String],
                lastEventID: String, reconnectionTimeMs: UInt64, failed: Bool, verdict: String) {
        self.key = key
        self.connections = connections
        self.reconnects = reconnects
        self.openConnections = openConnections
        self.expected = expected
        self.received = received
        self.missing = missing
        self.duplicated = duplicated
        self.unexpected = unexpected
        self.findings = findings
        self.missingIDs = missingIDs
        self.duplicatedIDs = duplicatedIDs
        self.lastEventID = lastEventID
        self.reconnectionTimeMs = reconnectionTimeMs
        self.failed = failed
        self.verdict = verdict
    }
}

/// One connection attempt as the ledger saw it.
public struct ConnectionReport: Sendable, Equatable {
    public var id: UInt64
    public var clientKey: String
    public var attempt: Int
    public var openedAt: UInt64
    public var wallMs: UInt64
    public var closedAt: UInt64?
    public var method: String
    public var path: String
    public var lastEventIDSent: String?
    public var profile: String
    public var seed: UInt64
    public var status: Int?
    public var contentType: String?
    public var synthetic: Bool
    public var frameCount: Int
    public var eventCount: Int
    public var upstreamBytes: Int
    public var firstID: String?
    public var lastID: String?
    /// `.events`: every frame; `.summary`: the frames a fault acted on (at most 256).
    public var frames: [FrameInfo]
    /// Fault decisions (`.summary`: the first 256).
    public var faults: [FaultRecord]
    public var faultCount: Int
    public var deliveredBytes: Int
    /// Frames and events read from the upstream after a cut ended the stream to the client: not expected.
    public var framesAfterCut: Int = 0
    public var eventsAfterCut: Int = 0
    /// `.events`: the messages a spec-exact client dispatched, in order (at most 10,000 per connection,
    /// and 4 MiB of text); `.summary`: empty. `prediction.dispatched` is the full count.
    public var messages: [DispatchedMessage]
    public var end: ConnectionEnd?
    /// The spec-exact client's prediction (as of now while open).
    public var prediction: Prediction
    /// For a reconnect: the `Last-Event-ID` a spec-exact client sends ("" = none), the time since the
    /// previous connection closed, and the reconnection time it had to wait.
    public var expectedLastEventID: String?
    public var waitedNs: Int64?
    public var requiredWaitMs: UInt64?
    /// The contract the client was judged by on this connection.
    public var contract: ClientContract = .eventsource
    /// `resume`: a 2xx answer that was not an event stream (JSON, 202): not a stream attempt, not judged.
    public var notStream = false
    /// `resume`: a stream of its own (no `Last-Event-ID` while no reconnect was owed: MCP's per-request POST
    /// streams, the session's GET stream), not a reconnect.
    public var newStream = false
}

/// One event with an id that the upstream sent to a client, and what became of it.
public struct EventStatus: Sendable, Equatable {
    public var id: String
    /// `Digest64` of (type, data); two entries share an id when the upstream reused it for other content.
    public var digest: UInt64
    /// Times the upstream sent it (a backend replay after a reconnect counts again).
    public var sent: Int
    /// Times a spec-exact client dispatched it intact, over all attempts (0: missing, > 1: duplicated).
    public var received: Int
    /// The attempt that first dispatched it, and the last one when another (empty while none did).
    public var receivedAttempts: [Int]
}

/// A client's summary, its connections in order, its findings, and its events with ids in the order
/// the upstream first sent them (events without id appear only in the counts).
public struct ClientReport: Sendable, Equatable {
    public var summary: ClientSummary
    public var connections: [ConnectionReport]
    public var findings: [Finding]
    public var events: [EventStatus]
}

extension Ledger {
    // MARK: - Queries

    /// What the id tables of every client hold: distinct ids, and the bytes of their entries (digests,
    /// spans, runs; `IDTable.entryBytes`). With consecutive integer ids received intact, 8 bytes an id.
    public var idTableMemory: (ids: Int, bytes: Int) {
        clientsByKey.values.reduce(into: (ids: 0, bytes: 0)) { total, c in
            total.ids += c.ids.count
            total.bytes += c.ids.entryBytes
        }
    }

    /// Every client key seen, in order of first connection.
    public func clients() -> [ClientSummary] {
        clientOrder.compactMap { clientsByKey[$0].map(summary) }
    }

    public func client(_ key: String) -> ClientReport? {
        guard let c = clientsByKey[key] else { return nil }
        var events: [EventStatus] = []
        func attempt(_ ordinal: UInt32) -> Int { c.connections[Int(ordinal) - 1].attempt }
        c.ids.forEachVersion { index, e in
            let attempts = e.received == 0 ? [] : e.firstConnection == e.lastConnection
                ? [attempt(e.firstConnection)] : [attempt(e.firstConnection), attempt(e.lastConnection)]
            events.append(EventStatus(id: c.ids.name(index), digest: e.digest, sent: Int(e.sent), received: Int(e.received),
                                      receivedAttempts: attempts))
            return true
        }
        return ClientReport(summary: summary(c), connections: c.connections.map(report), findings: findings(c), events: events)
    }

    public func connection(_ id: UInt64) -> ConnectionReport? {
        connectionsByID[id].map(report)
    }

    /// Findings of one client as of now: reconnect and unexpected findings in the order found, then
    /// missing and duplicated.
    public func findings(for key: String) -> [Finding] {
        clientsByKey[key].map(findings) ?? []
    }

    func findings(_ c: ClientLedger) -> [Finding] {
        c.findings + historyFindings(c)
    }

    func summary(_ c: ClientLedger) -> ClientSummary {
        let h = history(c)
        let all = findings(c)
        let state = c.connections.last?.state
            ?? SSEClientState(lastEventID: "", reconnectionTimeMs: defaultReconnectionTimeMs)
        let open = c.connections.filter(\.isOpen).count
        let contract = c.connections.last?.contract ?? .eventsource
        let lastStream = c.connections.last { !$0.notStream }
        let failedAttempt = contract == .eventsource ? lastStream.flatMap { $0.failReason == nil ? nil : $0.attempt } : nil
        // Stream attempts only: a `once` request is a new stream, a JSON answer under `resume` is none, nor a
        // `resume` stream of its own (`newStream`).
        let reconnects = max(0, c.connections.filter { !$0.notStream && !$0.newStream && $0.contract != .once }.count - 1)
        var verdict: String
        if all.isEmpty {
            let plural = reconnects == 1 ? "" : "s"
            verdict = "ok: \(h.expected) event\(h.expected == 1 ? "" : "s"), \(reconnects) reconnect\(plural), "
                + (h.expected == 0 ? "nothing to receive" : c.ids.isEmpty ? "all received once" : "all ids received once")
        } else {
            var parts: [String] = []
            for f in c.findings {
                switch f.kind {
                case .wrongLastEventID:
                    parts.append("wrong Last-Event-ID on attempt \(f.attempt ?? 0) (expected \(JSONWriter.quoted(f.expected ?? "")), sent \(JSONWriter.quoted(f.actual ?? "")))")
                case .reconnectTooEarly: parts.append("reconnect too early on attempt \(f.attempt ?? 0)")
                case .reconnectAfterFailure: parts.append("reconnected after failure on attempt \(f.attempt ?? 0)")
                case .unexpected: parts.append("unexpected messages on attempt \(f.attempt ?? 0)")
                case .truncated: parts.append("stream truncated on attempt \(f.attempt ?? 0)")
                case .gaveUp: parts.append("gave up after attempt \(f.attempt ?? 0)")
                case .missing, .duplicated: break
                }
            }
            if h.missing > 0 {
                parts.insert("\(h.missing) missing" + (h.missingIDs.isEmpty ? "" : " (\(IDList.labelled(h.missingIDs, total: h.missingIdentified, limit: 6)))"), at: 0)
            }
            if h.duplicated > 0 {
                parts.insert("\(h.duplicated) duplicated" + (h.duplicatedIDs.isEmpty ? "" : " (\(IDList.labelled(h.duplicatedIDs, limit: 6)))"), at: h.missing > 0 ? 1 : 0)
            }
            verdict = "\(all.count) finding\(all.count == 1 ? "" : "s"): " + parts.joined(separator: "; ")
        }
        if let failedAttempt { verdict += " — EventSource failed on attempt \(failedAttempt), no reconnect expected" }
        if open > 0 { verdict += " (\(open) connection\(open == 1 ? "" : "s") still open)" }
        var s = ClientSummary(key: c.key, connections: c.connections.count, reconnects: reconnects, openConnections: open,
                              expected: h.expected, received: h.received, missing: h.missing, duplicated: h.duplicated,
                              unexpected: h.unexpected, findings: all.count, missingIDs: h.missingIDs,
                              duplicatedIDs: h.duplicatedIDs, lastEventID: state.lastEventID,
                              reconnectionTimeMs: state.reconnectionTimeMs, failed: failedAttempt != nil, verdict: verdict)
        s.contract = contract
        return s
    }

    func report(_ c: ConnectionLedger) -> ConnectionReport {
        ConnectionReport(id: c.id, clientKey: c.clientKey, attempt: c.attempt, openedAt: c.openedAt, wallMs: c.wallMs,
                         closedAt: c.closedAt, method: c.method, path: c.path, lastEventIDSent: c.lastEventIDSent,
                         profile: c.profile, seed: c.seed, status: c.status, contentType: c.contentType,
                         synthetic: c.synthetic, frameCount: c.frameCount, eventCount: c.eventCount,
                         upstreamBytes: c.upstreamBytes, firstID: c.firstID, lastID: c.lastID, frames: c.frames,
                         faults: c.faults, faultCount: c.faultCount, deliveredBytes: c.deliveredBytes,
                         framesAfterCut: c.framesAfterCut, eventsAfterCut: c.eventsAfterCut,
                         messages: c.messages, end: c.end,
                         prediction: c.prediction, expectedLastEventID: c.expectedLastEventID, waitedNs: c.waitedNs,
                         requiredWaitMs: c.requiredWaitMs, contract: c.contract, notStream: c.notStream,
                         newStream: c.newStream)
    }

    // MARK: - JSON for the control API

    /// `{"clients":[…]}`: every client's summary.
    public func clientsJSON() -> String {
        "{\"clients\":[" + clients().map(\.json).joined(separator: ",") + "]}"
    }

    /// `{"summary":{…},"findings":[…],"connections":[…],"events":[…]}` (connections without their frames;
    /// the first `maxEvents` events with ids), or nil.
    public func clientJSON(_ key: String, maxEvents: Int = 1000) -> String? {
        guard let r = client(key) else { return nil }
        var w = JSONWriter()
        w.raw("summary", r.summary.json)
        w.raw("findings", "[" + r.findings.map(\.json).joined(separator: ",") + "]")
        w.raw("connections", "[" + r.connections.map { $0.json(withFrames: false) }.joined(separator: ",") + "]")
        w.raw("events", "[" + r.events.prefix(maxEvents).map { e in
            var ew = JSONWriter()
            ew.string("id", e.id)
            ew.string("digest", Digest64.hex(e.digest))
            ew.int("sent", e.sent)
            ew.int("received", e.received)
            ew.raw("attempts", "[" + e.receivedAttempts.map(String.init).joined(separator: ",") + "]")
            return ew.finish()
        }.joined(separator: ",") + "]")
        w.int("events_total", r.events.count)
        return w.finish()
    }

    /// One connection with its frames, fault decisions and (`.events`) dispatched messages, or nil.
    public func connectionJSON(_ id: UInt64) -> String? {
        connection(id)?.json(withFrames: true)
    }
}

extension ClientSummary {
    public var json: String {
        var w = JSONWriter()
        w.string("client", key)
        w.int("connections", connections)
        w.int("reconnects", reconnects)
        w.int("open", openConnections)
        w.int("expected", expected)
        w.int("received", received)
        w.int("missing", missing)
        w.int("duplicated", duplicated)
        w.int("unexpected", unexpected)
        w.int("findings", findings)
        w.strings("missing_ids", missingIDs)
        w.strings("duplicated_ids", duplicatedIDs)
        w.string("last_event_id", lastEventID)
        w.uint("reconnection_ms", reconnectionTimeMs)
        w.bool("failed", failed)
        w.string("contract", contract.rawValue)
        w.string("verdict", verdict)
        return w.finish()
    }
}

extension Finding {
    public var json: String {
        var w = JSONWriter()
        w.string("kind", kind.rawValue)
        w.string("client", clientKey)
        w.int("attempt", attempt)
        if let connection { w.uint("conn", connection) }
        w.string("detail", detail)
        w.optString("expected", expected)
        w.optString("actual", actual)
        w.strings("ids", ids)
        return w.finish()
    }
}

extension FrameInfo {
    public var json: String {
        var w = JSONWriter()
        w.frameFields(self)
        w.uint("t", at)
        return w.finish()
    }
}

extension DispatchedMessage {
    /// `{"index":0,"type":"tick","data":"{\"n\":1}","last_event_id":"1","intact":true}`
    public var json: String {
        var w = JSONWriter(capacity: 64 + message.data.utf8.count)
        w.int("index", index)
        w.string("type", message.type)
        w.string("data", message.data)
        w.string("last_event_id", message.lastEventId)
        w.bool("intact", intact)
        return w.finish()
    }
}

extension Prediction {
    public var json: String {
        var w = JSONWriter()
        w.int("attempt", attempt)
        w.int("dispatched", dispatched)
        w.int("intact", intact)
        w.int("unexpected", unexpected)
        w.string("last_event_id", lastEventID)
        w.uint("reconnection_ms", reconnectionTimeMs)
        w.bool("discarded_tail", discardedTail)
        w.string("next", reconnects ? "reconnect" : "fail")
        w.optString("reason", failReason)
        writeResetFields(&w)
        return w.finish()
    }

    /// After a reset: the possible last event IDs, and once the next attempt decided it, the outcome.
    func writeResetFields(_ w: inout JSONWriter) {
        if !possibleLastEventIDs.isEmpty { w.strings("possible_last_event_ids", possibleLastEventIDs) }
        if let o = resetOutcome {
            w.int("reset_read", o.messagesRead)
            w.int("reset_decided_by", o.decidedByAttempt)
        }
    }
}

extension ConnectionReport {
    public func json(withFrames: Bool) -> String {
        var w = JSONWriter(capacity: 512)
        w.uint("conn", id)
        w.string("client", clientKey)
        w.int("attempt", attempt)
        w.uint("opened_t", openedAt)
        w.uint("wall_ms", wallMs)
        if let closedAt { w.uint("closed_t", closedAt) } else { w.raw("closed_t", "null") }
        w.string("method", method)
        w.string("path", path)
        w.string("last_event_id_sent", lastEventIDSent)
        w.string("profile", profile)
        w.string("contract", contract.rawValue)
        if notStream { w.bool("not_stream", true) }
        if newStream { w.bool("new_stream", true) }
        w.uint("seed", seed)
        w.int("status", status)
        w.string("content_type", contentType)
        w.bool("synthetic", synthetic)
        w.int("frames", frameCount)
        w.int("events", eventCount)
        w.int("upstream_bytes", upstreamBytes)
        w.string("first_id", firstID)
        w.string("last_id", lastID)
        w.int("faults", faultCount)
        w.int("bytes_delivered", deliveredBytes)
        if framesAfterCut > 0 {
            w.int("frames_after_cut", framesAfterCut)
            w.int("events_after_cut", eventsAfterCut)
        }
        w.string("end", end?.name)
        if let end { w.string("end_summary", end.summary) }
        w.raw("prediction", prediction.json)
        w.string("expected_last_event_id", expectedLastEventID)
        if let waitedNs { w.raw("waited_ms", String(waitedNs / 1_000_000)) } else { w.raw("waited_ms", "null") }
        if let requiredWaitMs { w.uint("required_wait_ms", requiredWaitMs) } else { w.raw("required_wait_ms", "null") }
        if withFrames {
            // The same analysis and the same frame objects as the HTML report's replay: each frame with its fate.
            let replayed = LedgerReplay.analyse(frames: frames, faults: faults, openedAt: openedAt, endAt: closedAt ?? frames.last?.at ?? openedAt)
            w.raw("frame_list", "[" + replayed.frames.map(\.json).joined(separator: ",") + "]")
            w.raw("fault_list", "[" + faults.map(\.json).joined(separator: ",") + "]")
            w.raw("message_list", "[" + messages.map(\.json).joined(separator: ",") + "]")
            w.bool("message_list_complete", messages.count == prediction.dispatched)
        }
        return w.finish()
    }
}
