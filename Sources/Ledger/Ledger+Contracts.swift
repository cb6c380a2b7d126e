import Faults
import SSE

/// The rules that depend on the client's contract (`ClientContract`; docs/LEDGER.md has each finding with
/// an example):
/// - `eventsource`: the WHATWG rules on `Ledger`.
/// - `resume`: a 2xx answer that is not an event stream (JSON, 202) is not a stream attempt: never judged
///   and skipped when finding the stream a reconnect continues. A stream without `Last-Event-ID` when the
///   stream before it is owed no reconnect (still open, or ended by the upstream or the client) is a new
///   stream (MCP: each POST's own stream, the session's GET stream): not a reconnect, not judged as one. A reconnect after a stream must send the
///   right `Last-Event-ID` (on any method) and wait the reconnection time only when a `retry` field
///   reached the client; after a failed response (503 …) it may retry, waiting the `Retry-After` of a fault's
///   answer when there was one.
/// - `once`: each request is a stream of its own: no reconnect checks; a stream that opened and did not end
///   cleanly (the upstream's own end, or the profile's `terminator`) is `truncated`.
/// - `eventsource` and `resume`: a client that should have come back and did not within its reconnection
///   time (or `Retry-After`) plus `gaveUpGraceMs` `gaveUp` (judged by `judge(key:at:)` and `finish`).
extension Ledger {
    /// Default `gaveUpGraceMs`: 2 s past the reconnection time.
    public static let defaultGaveUpGraceMs: UInt64 = 2000

    /// `once`: every request is a stream of its own, so an id names an event within its request only: id 1
    /// of request 2 is listed as `1@2` (requests numbered per client key), never matched with id 1 of request 1.
    static func onceID(_ id: String, _ conn: ConnectionLedger) -> String { "\(id)@\(conn.ordinal)" }

    /// `resume`: a response decides whether the connection is a stream attempt, and then it is checked
    /// against the stream it continues.
    func resumeResponse(_ conn: ConnectionLedger, status: Int) {
        if (200..<300).contains(status), conn.failReason != nil {
            conn.notStream = true
            conn.checked = true
            return
        }
        guard !conn.checked else { return }
        let client = conn.client
        guard let p = resumedStream(by: conn, client) ?? previousStream(before: conn, client) else {
            conn.checked = true
            return
        }
        // A stream without `Last-Event-ID` while no reconnect is owed is a stream of its own (MCP: each
        // request's POST stream, the session's GET stream), not a reconnect of the one before it.
        if conn.lastEventIDSent == nil, !owesReconnect(p) {
            conn.checked = true
            conn.newStream = true
            return
        }
        if !p.isOpen { checkReconnect(conn, after: p, client) }
    }

    /// `resume`: the stream `conn`'s `Last-Event-ID` names: the latest earlier stream owed a reconnect, not
    /// yet resumed, whose client may hold that id. Streams run side by side (an MCP session's GET stream beside its POST
    /// streams), so the stream opened last before a resume need not be the one it continues.
    func resumedStream(by conn: ConnectionLedger, _ client: ClientLedger) -> ConnectionLedger? {
        guard let sent = conn.lastEventIDSent, let i = client.connections.firstIndex(where: { $0 === conn }) else { return nil }
        return client.connections[..<i].last { p in
            !p.notStream && p.contract != .once && !p.resumed && owesReconnect(p)
                && (p.state.lastEventID == sent || p.possibleLastEventIDs.contains(sent))
        }
    }

    /// `resume`: whether stream `p` is owed a reconnect: it ended, and by a cut (a fault, an upstream
    /// error, a refusal) or with a failed answer. A stream still open, or ended by the upstream, the client
    /// or a shutdown, is owed none.
    func owesReconnect(_ p: ConnectionLedger) -> Bool {
        guard !p.isOpen, let end = p.end else { return false }
        if p.failReason != nil { return true }
        switch end {
        case .upstreamEnd, .clientClose, .shutdown: return false
        case .fault, .upstreamError, .refused: return true
        }
    }

    /// The latest stream connection (not `once`, not a JSON answer) of `client` before `conn`.
    func previousStream(before conn: ConnectionLedger, _ client: ClientLedger) -> ConnectionLedger? {
        guard let i = client.connections.firstIndex(where: { $0 === conn }) else { return nil }
        return client.connections[..<i].last { !$0.notStream && $0.contract != .once }
    }

    /// The first connection after `conn` that continues its stream, once it is known to be one.
    func nextStream(after conn: ConnectionLedger, _ client: ClientLedger) -> ConnectionLedger? {
        guard let i = client.connections.firstIndex(where: { $0 === conn }) else { return nil }
        for next in client.connections[(i + 1)...] where !next.notStream && next.contract != .once {
            // A `resume` connection is a stream attempt only once its response says so.
            return next.contract == .resume && next.status == nil ? nil : next
        }
        return nil
    }

    /// `resume`: reconnect `k` after `p` (a stream, or a failed answer).
    func checkResume(_ k: ConnectionLedger, after p: ConnectionLedger, _ client: ClientLedger, waited: Int64) {
        p.resumed = true
        checkLastEventID(k, after: p, client)
        let requiredMs: UInt64
        let why: String
        if let reason = p.failReason {
            k.previousFailed = reason
            guard let ms = retryAfterMs(p) else { return }
            requiredMs = ms
            why = "the Retry-After of attempt \(p.attempt)'s \(p.status.map(String.init) ?? "") answer asked for \(ms)ms"
        } else {
            guard client.retrySeen else { return }
            requiredMs = p.state.reconnectionTimeMs
            why = "the reconnection time (from the stream's retry field) was \(requiredMs)ms"
        }
        k.requiredWaitMs = requiredMs
        if tooEarly(waited: waited, requiredMs: requiredMs, after: p) {
            add(Finding(kind: .reconnectTooEarly, clientKey: client.key, attempt: k.attempt, connection: k.id,
                        detail: "reconnected \(formatMs(waited)) after attempt \(p.attempt) ended; \(why)"),
                client, at: k.openedAt)
        }
    }

    /// A `Retry-After` in whole seconds on a fault's answer (`respond`), in ms. An upstream's own header is
    /// not seen by the ledger.
    func retryAfterMs(_ c: ConnectionLedger) -> UInt64? {
        for f in c.faults {
            if case .responded(_, retryAfter: .some(let text)) = f.effect, let s = UInt64(text.trimmingSpaces) {
                return s.multipliedReportingOverflow(by: 1000).overflow ? UInt64.max : s * 1000
            }
        }
        return nil
    }

    /// `once`: a stream that opened and did not end cleanly is `truncated`. Clean: the upstream's own end,
    /// or the terminator dispatched. A client that closed on its own is judged only when a terminator is
    /// named; a shutdown is never judged.
    func judgeOnce(_ conn: ConnectionLedger, _ client: ClientLedger, at: UInt64) {
        guard conn.status != nil, conn.failReason == nil, !conn.terminated, let end = conn.end else { return }
        switch end {
        case .upstreamEnd, .shutdown: return
        case .clientClose: guard conn.terminator != nil else { return }
        case .fault, .upstreamError, .refused: break
        }
        let n = conn.dispatched
        add(Finding(kind: .truncated, clientKey: client.key, attempt: conn.attempt, connection: conn.id,
                    detail: "the stream never ended cleanly: \(end.summary), after \(n) message\(n == 1 ? "" : "s") and \(conn.deliveredBytes) bytes"
                        + (conn.terminator.map { ", without \(JSONWriter.quoted($0.text))" } ?? "")),
            client, at: at)
    }

    /// `gaveUp`, as of `at`: the client's last stream ended in a way its contract answers with a reconnect,
    /// and none came within the wait plus `gaveUpGraceMs`. Judged once per connection.
    func judgeGaveUp(_ client: ClientLedger, at: UInt64) {
        guard let (last, waitMs, due) = gaveUpExpectation(client), at >= due, let closedAt = last.closedAt, let end = last.end else { return }
        client.judgedGaveUp = last.ordinal
        let header = last.state.lastEventID.isEmpty ? "no Last-Event-ID" : "Last-Event-ID \(JSONWriter.quoted(last.state.lastEventID))"
        add(Finding(kind: .gaveUp, clientKey: client.key, attempt: last.attempt, connection: last.id,
                    detail: "attempt \(last.attempt) ended (\(end.summary)); a \(last.contract.rawValue) client comes back after \(waitMs)ms"
                        + " with \(header), but no reconnect came in \(formatMs(Int64(clamping: at - closedAt)))"),
            client, at: at)
    }

    /// The connection a reconnect is owed for, the wait owed (ms) and when (ns) it is `gaveUp` without one;
    /// nil when no reconnect is owed or it was judged already.
    func gaveUpExpectation(_ client: ClientLedger) -> (ConnectionLedger, UInt64, UInt64)? {
        guard let last = client.connections.last(where: { !$0.notStream }), last.contract != .once,
              last.ordinal > client.judgedGaveUp, let closedAt = last.closedAt, let end = last.end else { return nil }
        let waitMs: UInt64
        switch last.contract {
        case .once: return nil
        case .eventsource:
            guard last.failReason == nil else { return nil }
            switch end {
            case .clientClose, .shutdown: return nil
            case .upstreamEnd, .fault, .upstreamError, .refused: break
            }
            waitMs = last.state.reconnectionTimeMs
        case .resume:
            switch end {
            case .upstreamEnd, .clientClose, .shutdown: return nil
            case .fault, .upstreamError, .refused: break
            }
            if last.failReason != nil {
                guard let ms = retryAfterMs(last) else { return nil }
                waitMs = ms
            } else {
                waitMs = client.retrySeen ? last.state.reconnectionTimeMs : 0
            }
        }
        let (sum, overflow) = waitMs.addingReportingOverflow(gaveUpGraceMs)
        let (ns, overflow2) = sum.multipliedReportingOverflow(by: 1_000_000)
        let (due, overflow3) = closedAt.addingReportingOverflow(ns)
        return (last, waitMs, overflow || overflow2 || overflow3 ? UInt64.max : due)
    }

    /// When (monotonic ns) the client's pending `gaveUp` judgement can be made; nil when none is pending.
    /// A settle waits for it before judging.
    public func gaveUpDue(key: String) -> UInt64? {
        clientsByKey[key].flatMap(gaveUpExpectation)?.2
    }

    /// `judge(key:at:)` as the control API's JSON (`clientJSON`), or nil.
    public func judgeJSON(key: String, at: UInt64) -> String? {
        guard let c = clientsByKey[key] else { return nil }
        judgeGaveUp(c, at: at)
        return clientJSON(key)
    }

    /// Judges what is final only when the client is quiet (`gaveUp`) as of `at`, and returns its report.
    /// For `POST /clients/KEY/settle` and tests that settle a client.
    public func judge(key: String, at: UInt64) -> ClientReport? {
        guard let c = clientsByKey[key] else { return nil }
        judgeGaveUp(c, at: at)
        return client(key)
    }
}

private extension String {
    var trimmingSpaces: Substring {
        let s = drop { $0 == " " || $0 == "\t" }
        return s.dropLast(s.reversed().prefix { $0 == " " || $0 == "\t" }.count)
    }
}
