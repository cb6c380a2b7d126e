import Faults
import SSE
import XCTest

@testable import Ledger

/// Each client contract's rules on the pure ledger (scripted times, no sockets).
final class ContractTests: XCTestCase {
    /// A stream cut by a fault, then nothing: `gaveUp` once the reconnection time plus the grace passed.
    private func cutAndWait(_ contract: ClientContract, retry: Bool = false) -> Harness {
        let h = Harness()
        let a = h.open(at: 0, contract: contract)
        h.respond(a, at: 5)
        h.relay(a, (retry ? "retry: 500\n\n" : "") + events(1...5), at: 10)
        h.close(a, .fault(kind: .rst, atByte: 120), at: 20)
        return h
    }

    func testEventSourceClientThatNeverComesBackGaveUp() {
        let h = cutAndWait(.eventsource)
        // Not yet due: 3000 ms reconnection time + 2000 ms grace.
        XCTAssertEqual(h.ledger.judge(key: "c", at: Harness.ns(4000))?.findings, [])
        XCTAssertTrue(h.summary().verdict.hasPrefix("ok"))
        let report = h.ledger.judge(key: "c", at: Harness.ns(5100))!
        XCTAssertEqual(report.findings.map(\.kind), [.gaveUp])
        XCTAssertEqual(report.findings[0].attempt, 1)
        XCTAssertTrue(report.findings[0].detail.contains("Last-Event-ID \"5\""), report.findings[0].detail)
        XCTAssertEqual(report.summary.verdict, "1 finding: gave up after attempt 1")
        // Judged once: settling again adds nothing.
        XCTAssertEqual(h.ledger.judge(key: "c", at: Harness.ns(9000))?.findings.count, 1)
    }

    func testFinishJudgesGaveUpAndWritesIt() {
        let h = cutAndWait(.eventsource)
        h.ledger.finish(at: Harness.ns(6000))
        let written = h.records.compactMap { r -> Finding? in if case .finding(let f) = r.body { return f } else { return nil } }
        XCTAssertEqual(written.map(\.kind), [.gaveUp])
    }

    func testAReconnectInTimeIsNotGaveUp() {
        let h = cutAndWait(.eventsource)
        let b = h.open(at: 3100, lastEventID: "5")
        h.respond(b, at: 3105)
        h.close(b, .clientClose, at: 3200)
        XCTAssertEqual(h.ledger.judge(key: "c", at: Harness.ns(60_000))?.findings, [])
    }

    func testEventSourceFailureAndClientCloseExpectNoReconnect() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, status: 503, contentType: "text/plain", at: 5)
        h.close(a, .upstreamEnd, at: 10)
        XCTAssertEqual(h.ledger.judge(key: "c", at: Harness.ns(60_000))?.findings, [])
        let h2 = Harness()
        let b = h2.open(at: 0)
        h2.respond(b, at: 5)
        h2.close(b, .clientClose, at: 10)
        XCTAssertEqual(h2.ledger.judge(key: "c", at: Harness.ns(60_000))?.findings, [])
    }

    func testResumeClientThatGivesUpAfterACut() {
        // No retry field reached it: it owes no wait, only the grace.
        let h = cutAndWait(.resume)
        XCTAssertEqual(h.ledger.judge(key: "c", at: Harness.ns(1000))?.findings, [])
        XCTAssertEqual(h.ledger.judge(key: "c", at: Harness.ns(2100))?.findings.map(\.kind), [.gaveUp])
    }

    func testResumeStreamThatEndedNeedsNoReconnect() {
        let h = Harness()
        let a = h.open(at: 0, method: "POST", contract: .resume)
        h.respond(a, at: 5)
        h.relay(a, events(1...2), at: 10)
        h.close(a, .upstreamEnd, at: 20)
        XCTAssertEqual(h.ledger.judge(key: "c", at: Harness.ns(60_000))?.findings, [])
    }

    func testResumeReconnectsWithoutRetryFieldAreNotTooEarlyButNeedTheRightID() {
        let h = cutAndWait(.resume)
        let b = h.open(at: 300, lastEventID: "5", contract: .resume)  // a GET resuming a POST stream
        h.respond(b, at: 305)
        h.close(b, .fault(kind: .rst, atByte: 10), at: 400)
        let c = h.open(at: 500, lastEventID: "4", contract: .resume)
        h.respond(c, at: 505)
        XCTAssertEqual(h.findings().map(\.kind), [.wrongLastEventID])
        XCTAssertEqual(h.findings()[0].attempt, 3)
    }

    func testResumeHonoursARetryFieldIfItGotOne() {
        let h = cutAndWait(.resume, retry: true)
        let b = h.open(at: 300, lastEventID: "5", contract: .resume)
        h.respond(b, at: 305)
        XCTAssertEqual(h.findings().map(\.kind), [.reconnectTooEarly])
        XCTAssertTrue(h.findings()[0].detail.contains("500ms"), h.findings()[0].detail)
    }

    /// A 503 with `Retry-After: 2` from a fault, then a retry `ms` later; returns the harness and the retry.
    private func retryAfter503(at ms: UInt64) -> (Harness, UInt64) {
        let h = Harness()
        let a = h.open(at: 0, contract: .resume)
        h.fault(a, frame: nil, "respond", .responded(status: 503, retryAfter: "2"), at: 0)
        h.respond(a, status: 503, contentType: "text/plain", synthetic: true, at: 0)
        h.close(a, .fault(kind: .fin, atByte: 0), at: 1)
        let b = h.open(at: ms, contract: .resume)
        h.respond(b, at: ms)
        return (h, b)
    }

    func testResumeRetryAfterA503IsNoFindingButMustWaitItsRetryAfter() {
        let (h, b) = retryAfter503(at: 2500)
        XCTAssertEqual(h.findings(), [])
        XCTAssertEqual(h.ledger.connection(b)?.requiredWaitMs, 2000)
        XCTAssertFalse(h.summary().failed)
        let (early, _) = retryAfter503(at: 500)
        XCTAssertEqual(early.findings().map(\.kind), [.reconnectTooEarly])
    }

    func testResumeJSONAnd202AnswersAreNotStreamAttempts() {
        let h = Harness()
        /// A POST answered with `status`/`contentType` and ended at once.
        @discardableResult
        func answered(at ms: UInt64, _ status: Int, _ contentType: String?) -> UInt64 {
            let id = h.open(at: ms, method: "POST", contract: .resume)
            h.respond(id, status: status, contentType: contentType, at: ms + 1)
            h.close(id, .upstreamEnd, at: ms + 2)
            return id
        }
        // MCP: initialize answered with JSON, a notification with 202, then the POST stream that is cut.
        let i = answered(at: 0, 200, "application/json")
        answered(at: 3, 202, nil)
        let s = h.open(at: 10, method: "POST", contract: .resume)
        h.respond(s, at: 11)
        h.relay(s, events(1...3), at: 12)
        h.close(s, .fault(kind: .rst, atByte: 60), at: 20)
        // A notification between the cut and the resume is not what the resume continues.
        answered(at: 30, 202, nil)
        let r = h.open(at: 40, lastEventID: "3", contract: .resume)
        h.respond(r, at: 41)
        h.relay(r, events(4...5), at: 42)
        h.close(r, .upstreamEnd, at: 50)

        XCTAssertEqual(h.findings(), [])
        XCTAssertEqual(h.ledger.connection(r)?.expectedLastEventID, "3")
        XCTAssertEqual(h.ledger.connection(i)?.notStream, true)
        XCTAssertEqual(h.ledger.connection(s)?.notStream, false)
        let summary = h.ledger.judge(key: "c", at: Harness.ns(60_000))!.summary
        XCTAssertEqual(summary.reconnects, 1)
        XCTAssertEqual(summary.verdict, "ok: 5 events, 1 reconnect, all ids received once")
        XCTAssertEqual(summary.contract, .resume)

        // The same answers under eventsource are failures a reconnect is judged against.
        let e = Harness()
        let j = e.open(at: 0, method: "POST")
        e.respond(j, status: 200, contentType: "application/json", at: 1)
        e.close(j, .upstreamEnd, at: 2)
        let k = e.open(at: 3, method: "POST")
        e.respond(k, status: 202, contentType: nil, at: 4)
        XCTAssertEqual(e.findings().map(\.kind), [.reconnectAfterFailure])
    }

    /// An MCP session as the `mcp` SDK (2.3.0) makes it through Sputter (examples/mcp): `initialize` answered
    /// with an SSE stream the client closes after the answer, a 202 notification, the session's GET stream
    /// (open throughout; the SDK's GET accepts JSON too), `tools/list` and `tools/call` each on a POST stream
    /// of its own, none with `Last-Event-ID`. `cut`: the tool call's stream is reset after event 7 and the
    /// client resumes it with a GET carrying `Last-Event-ID: 7` after the stream's `retry`.
    private func mcpSession(cut: Bool) -> (Harness, get: UInt64, call: UInt64, resume: UInt64?) {
        let h = Harness()
        let initialize = h.open(at: 0, method: "POST", contract: .resume)
        h.respond(initialize, at: 1)
        h.relay(initialize, "id: 1\nretry: 100\ndata: \n\n" + events(2...2), at: 2)
        h.close(initialize, .clientClose, at: 3)
        let note = h.open(at: 4, method: "POST", contract: .resume)
        h.respond(note, status: 202, contentType: "application/json", at: 5)
        h.close(note, .upstreamEnd, at: 6)
        let get = h.open(at: 7, contract: .resume)
        h.respond(get, at: 8)
        let list = h.open(at: 9, method: "POST", contract: .resume)
        h.respond(list, at: 10)
        h.relay(list, events(3...4), at: 11)
        h.close(list, .upstreamEnd, at: 12)
        let call = h.open(at: 13, method: "POST", contract: .resume)
        h.respond(call, at: 14)
        guard cut else {
            h.relay(call, events(5...11), at: 15)
            h.close(call, .upstreamEnd, at: 16)
            h.close(get, .upstreamEnd, at: 17)
            return (h, get, call, nil)
        }
        return (h, get, call, resetAndResume(h, call, sent: 5...7, rest: 8...11, get: get, at: 15))
    }

    /// `resume`: `call` relays `sent` at `ms` and is reset; 105 ms later a GET with the last id resumes it with
    /// `rest` and the client closes it; then the session's `get` stream ends. Returns the resume.
    private func resetAndResume(_ h: Harness, _ call: UInt64, sent: ClosedRange<Int>, rest: ClosedRange<Int>,
                                get: UInt64, at ms: UInt64) -> UInt64 {
        h.relay(call, events(sent), at: ms)
        h.close(call, .fault(kind: .rst, atByte: 0), at: ms + 1)
        let resume = h.open(at: ms + 106, lastEventID: String(sent.upperBound), contract: .resume)
        h.respond(resume, at: ms + 107)
        h.relay(resume, events(rest), at: ms + 108)
        h.close(resume, .clientClose, at: ms + 109)
        h.close(get, .upstreamEnd, at: ms + 110)
        return resume
    }

    func testResumeMCPSessionUnderPassthroughHasNoFindings() {
        // Before: each POST stream and the GET stream were judged as reconnects of the stream before them
        // (wrongLastEventID "sent no Last-Event-ID", reconnectTooEarly, even a negative wait).
        let (h, get, call, _) = mcpSession(cut: false)
        XCTAssertEqual(h.findings(), [])
        XCTAssertEqual(h.ledger.connection(get)?.newStream, true)
        XCTAssertEqual(h.ledger.connection(call)?.newStream, true)
        XCTAssertNil(h.ledger.connection(call)?.expectedLastEventID)
        let summary = h.ledger.judge(key: "c", at: Harness.ns(60_000))!.summary
        XCTAssertEqual(summary.findings, 0)
        XCTAssertEqual(summary.reconnects, 0)
        XCTAssertEqual(summary.received, 11)
    }

    func testResumeMCPToolCallStreamCutAndResumedHasNoFindings() {
        let (h, _, call, resume) = mcpSession(cut: true)
        XCTAssertEqual(h.findings(), [])
        let r = h.ledger.connection(resume!)!
        XCTAssertEqual(r.expectedLastEventID, "7", "the resume continues the tool call's stream")
        XCTAssertFalse(r.newStream)
        XCTAssertEqual(r.requiredWaitMs, 100)
        XCTAssertEqual(h.ledger.connection(call)?.newStream, true)
        let summary = h.ledger.judge(key: "c", at: Harness.ns(60_000))!.summary
        XCTAssertEqual(summary.reconnects, 1)
        XCTAssertEqual(summary.missingIDs, [])
    }

    func testResumeContinuesTheStreamItsLastEventIDNames() {
        // The session's GET stream opens after the tool call's POST stream (the SDK starts it in a task) and
        // is still open when the POST stream's resume comes: the resume continues the POST stream.
        let h = Harness()
        let call = h.open(at: 0, method: "POST", contract: .resume)
        h.respond(call, at: 1)
        let get = h.open(at: 2, contract: .resume)
        h.respond(get, at: 3)
        let resume = resetAndResume(h, call, sent: 1...3, rest: 4...5, get: get, at: 4)
        XCTAssertEqual(h.findings(), [])
        XCTAssertEqual(h.ledger.connection(resume)?.expectedLastEventID, "3")
        XCTAssertEqual(h.ledger.connection(get)?.newStream, true)
        XCTAssertEqual(h.ledger.judge(key: "c", at: Harness.ns(60_000))!.summary.reconnects, 1)
    }

    func testResumeStreamAfterACutStillOwesTheLastEventID() {
        // A stream without Last-Event-ID right after a cut is judged as the reconnect, not a new stream.
        let h = cutAndWait(.resume)
        let b = h.open(at: 300, method: "POST", contract: .resume)
        h.respond(b, at: 301)
        XCTAssertEqual(h.findings().map(\.kind), [.wrongLastEventID])
        XCTAssertEqual(h.ledger.connection(b)?.newStream, false)
    }

    /// A `once` POST stream: opened at `ms`, `body` relayed, ended by `end`.
    @discardableResult
    private func onceStream(_ h: Harness, at ms: UInt64, _ body: String, end: ConnectionEnd) -> UInt64 {
        let id = h.open(at: ms, method: "POST", contract: .once)
        h.respond(id, at: ms + 5)
        h.relay(id, body, at: ms + 10)
        h.close(id, end, at: ms + 20)
        return id
    }

    func testOnceCutIsTruncated() {
        let h = Harness()
        onceStream(h, at: 0, "data: {\"delta\":\"Hel\"}\n\ndata: {\"delta\":\"lo\"}\n\n", end: .fault(kind: .rst, atByte: 40))
        let f = h.findings()
        XCTAssertEqual(f.map(\.kind), [.truncated])
        XCTAssertTrue(f[0].detail.contains("after 2 messages"), f[0].detail)
        XCTAssertEqual(h.summary().verdict, "1 finding: stream truncated on attempt 1")
        // No reconnect is expected of a once client: settling adds nothing.
        XCTAssertEqual(h.ledger.judge(key: "c", at: Harness.ns(60_000))?.findings.count, 1)
    }

    func testOnceRetryAfterAResetIsANewStreamNotTooEarly() {
        let h = Harness()
        onceStream(h, at: 0, "retry: 3000\n\nid: 1\ndata: x\n\n", end: .fault(kind: .rst, atByte: 20))
        // The openai client retries after ~0.5 s without Last-Event-ID: a new request, a new stream.
        onceStream(h, at: 520, "data: y\n\ndata: [DONE]\n\n", end: .upstreamEnd)
        XCTAssertEqual(h.findings().map(\.kind), [.truncated])
        XCTAssertEqual(h.findings()[0].attempt, 1)
        // A retry after a 503 is not reconnectAfterFailure either.
        let c = h.open(at: 600, method: "POST", contract: .once)
        h.respond(c, status: 503, contentType: "application/json", at: 601)
        h.close(c, .upstreamEnd, at: 602)
        let d = h.open(at: 700, method: "POST", contract: .once)
        h.respond(d, at: 701)
        h.close(d, .upstreamEnd, at: 702)
        XCTAssertEqual(h.findings().map(\.kind), [.truncated])
        XCTAssertEqual(h.summary().reconnects, 0)
    }

    func testOnceTerminatorDecidesAClientClose() throws {
        let done = try StreamTerminator(parsing: "data: [DONE]")
        let h = Harness()
        let a = h.open(at: 0, method: "POST", contract: .once, terminator: done)
        h.respond(a, at: 5)
        h.relay(a, "data: a\n\ndata: [DONE]\n\n", at: 10)
        h.close(a, .clientClose, at: 20)  // the client closes after [DONE]: clean
        let b = h.open(at: 30, method: "POST", contract: .once, terminator: done)
        h.respond(b, at: 35)
        h.relay(b, "data: a\n\n", at: 40)
        h.close(b, .clientClose, at: 50)  // gave up waiting, no [DONE]: truncated
        let f = h.findings()
        XCTAssertEqual(f.map(\.kind), [.truncated])
        XCTAssertEqual(f[0].connection, b)
        XCTAssertTrue(f[0].detail.contains("without \"data: [DONE]\""), f[0].detail)
        // Without a terminator a client's own close is not judged.
        let h2 = Harness()
        let c = h2.open(at: 0, method: "POST", contract: .once)
        h2.respond(c, at: 1)
        h2.close(c, .clientClose, at: 2)
        XCTAssertEqual(h2.findings(), [])
    }

    func testContractIsRecordedAndReadBack() throws {
        let h = Harness()
        let a = h.open(at: 0, method: "POST", contract: .once)
        h.close(a, .upstreamEnd, at: 1)
        let line = h.records.first!.jsonLine()
        XCTAssertTrue(line.contains("\"contract\":\"once\""), line)
        let back = try LedgerRecord(jsonLine: line)
        guard case .connectionOpen(let o) = back.body else { return XCTFail("\(back)") }
        XCTAssertEqual(o.contract, .once)
        XCTAssertThrowsError(try LedgerRecord(jsonLine: line.replacingOccurrences(of: "\"once\"", with: "\"twice\"")))
        XCTAssertTrue(h.ledger.clientJSON("c")!.contains("\"contract\":\"once\""))
    }

    func testDefaultRuleAndStreamAttempts() throws {
        XCTAssertEqual(ClientContract.defaultRule(method: "GET", lastEventID: nil, mcpSessionID: nil), .eventsource)
        XCTAssertEqual(ClientContract.defaultRule(method: "POST", lastEventID: nil, mcpSessionID: nil), .once)
        XCTAssertEqual(ClientContract.defaultRule(method: "POST", lastEventID: "3", mcpSessionID: nil), .resume)
        XCTAssertEqual(ClientContract.defaultRule(method: "POST", accept: "application/json, text/event-stream", lastEventID: nil, mcpSessionID: nil), .resume,
                       "MCP initialize")
        XCTAssertEqual(ClientContract.defaultRule(method: "POST", accept: "application/json", lastEventID: nil, mcpSessionID: nil), .once,
                       "the openai client sends Accept: application/json")
        XCTAssertEqual(ClientContract.defaultRule(method: "GET", lastEventID: nil, mcpSessionID: "s1"), .resume)
        XCTAssertTrue(ClientContract.resume.isStreamAttempt(accept: "text/event-stream", lastEventID: nil))
        XCTAssertFalse(ClientContract.resume.isStreamAttempt(accept: "application/json, text/event-stream", lastEventID: nil))
        XCTAssertTrue(ClientContract.resume.isStreamAttempt(accept: "application/json, text/event-stream", lastEventID: "4"))
        XCTAssertTrue(ClientContract.once.isStreamAttempt(accept: "application/json", lastEventID: nil))
        XCTAssertThrowsError(try ClientContract.parse("browser")) { e in
            XCTAssertEqual("\(e)", "unknown client contract 'browser'; expected one of: eventsource, resume, once")
        }
        XCTAssertEqual(try ClientContract.parse("ONCE"), .once)
        XCTAssertEqual(try StreamTerminator(parsing: "event:done"), StreamTerminator(field: .event, value: "done"))
        XCTAssertThrowsError(try StreamTerminator(parsing: "[DONE]"))
        XCTAssertThrowsError(try StreamTerminator(parsing: "id: 3"))
    }
}
