import Faults
import SSE
import XCTest

@testable import Ledger

/// What counts as expected after a cut, what a reset leaves uncertain, and the observed-messages diff.
final class AccountingTests: XCTestCase {
    // MARK: - After a cut

    /// Frames 1–5 delivered, a fault cuts after event 5, then the upstream frames Sputter had read past the cut.
    private func cutRun(readPast: Int, deliverAll: Bool = true, live: Bool = false) -> (Harness, UInt64) {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        for n in 1...5 {
            let frames = h.upstream(a, events(n...n), at: UInt64(n))
            if deliverAll || n < 5 { h.deliver(a, frames, at: UInt64(n)) }
        }
        if live {
            h.fault(a, frame: nil, "control", .controlled(LiveAction(verb: .cut, peer: "127.0.0.1")), at: 5)
        } else {
            h.fault(a, frame: 4, "disconnect", .cut(.rst, trigger: .afterEvents(5), droppedBytes: 0), at: 5)
        }
        if readPast > 0 { h.upstream(a, events(6...(5 + readPast)), at: 5) }
        h.close(a, .fault(kind: .rst, atByte: 100), at: 6)
        return (h, a)
    }

    func testFramesReadPastACutAreNotExpectedSoTheSummaryDoesNotDependOnTiming() {
        let (first, a) = cutRun(readPast: 0)
        XCTAssertEqual(first.summary().expected, 5)
        XCTAssertEqual(first.summary().missing, 0)
        XCTAssertEqual(first.findings(), [])
        for past in [1, 4, 10, 45] {
            let (h, id) = cutRun(readPast: past)
            XCTAssertEqual(h.summary(), first.summary(), "\(past) events read past the cut")
            let r = h.ledger.connection(id)!
            XCTAssertEqual(r.eventsAfterCut, past)
            XCTAssertEqual(r.framesAfterCut, past)
            XCTAssertEqual(r.eventCount, 5)
            XCTAssertTrue(r.json(withFrames: false).contains("\"events_after_cut\":\(past)"))
        }
        XCTAssertEqual(first.ledger.connection(a)!.eventsAfterCut, 0)
    }

    func testAnEventHeldBeforeTheCutIsStillMissing() {
        // Event 5 came before the cut but never went out: the client lost it, whatever was read after.
        let (a, _) = cutRun(readPast: 0, deliverAll: false)
        let (b, _) = cutRun(readPast: 30, deliverAll: false)
        XCTAssertEqual(a.summary().missingIDs, ["5"])
        XCTAssertEqual(a.summary(), b.summary())
    }

    func testALiveCutGetsTheSameAccounting() {
        let (fault, _) = cutRun(readPast: 7)
        let (live, _) = cutRun(readPast: 7, live: true)
        XCTAssertEqual(live.summary(), fault.summary())
        XCTAssertEqual(live.summary().expected, 5)

        // A cut asked for "after 3 more events" is no cut until it lands.
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        h.fault(a, frame: nil, "control", .controlled(LiveAction(verb: .cut, peer: "127.0.0.1", afterEvents: 3)), at: 1)
        h.relay(a, events(1...3), at: 2)
        h.fault(a, frame: 2, "control", .controlled(LiveAction(verb: .cut, peer: "127.0.0.1", afterEvents: 3, landed: true)), at: 2)
        h.upstream(a, events(4...9), at: 3)
        h.close(a, .fault(kind: .rst, atByte: 0), at: 4)
        XCTAssertEqual(h.summary().expected, 3)
        XCTAssertEqual(h.ledger.connection(a)!.eventsAfterCut, 6)
    }

    // MARK: - After a reset

    /// A connection that relayed `certain` in earlier writes, wrote `lastWrite` in its last one, and was reset.
    @discardableResult
    private func resetConnection(_ h: Harness, certain: ClosedRange<Int>?, lastWrite: ClosedRange<Int>,
                                 end: ConnectionEnd = .fault(kind: .rst, atByte: 0), reset: Bool? = nil) -> UInt64 {
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        if let certain {
            h.upstream(a, events(certain), at: 1)
            h.deliver(a, events(certain), at: 1)
        }
        h.upstream(a, events(lastWrite), at: 2)
        h.deliver(a, events(lastWrite), at: 2)
        h.ledger.connectionClosed(id: a, end: end, at: Harness.ns(3), reset: reset)
        return a
    }

    /// Events 1–2 in one write, 3–5 in the last write, then an RST; attempt 2 resumes from `resume`
    /// and the backend replays what follows it, up to 6.
    private func resetRun(resume: String?, end: ConnectionEnd = .fault(kind: .rst, atByte: 0)) -> Harness {
        let h = Harness()
        resetConnection(h, certain: 1...2, lastWrite: 3...5, end: end)
        let b = h.open(at: 3100, lastEventID: resume)
        h.respond(b, at: 3100)
        let from = Int(resume ?? "0")! + 1
        h.relay(b, events(from...6), at: 3110)
        h.close(b, at: 3200)
        return h
    }

    func testAfterAResetEveryEventBoundaryPrefixOfTheLastWriteIsPossible() {
        let h = resetRun(resume: "5")
        let p = h.ledger.connection(1)!.prediction
        XCTAssertEqual(p.possibleLastEventIDs, ["2", "3", "4", "5"])
        XCTAssertTrue(p.json.contains("\"possible_last_event_ids\":[\"2\",\"3\",\"4\",\"5\"]"))
        XCTAssertEqual(h.findings(), [])
    }

    func testAClientThatReadOnlyPartOfTheLastWriteHasNoFinding() {
        for resume in ["2", "3", "4"] {
            let h = resetRun(resume: resume)
            XCTAssertEqual(h.findings(), [], "resumed from \(resume)")
            let s = h.summary()
            XCTAssertEqual(s.expected, 6)
            XCTAssertEqual(s.received, 6)
            XCTAssertEqual(s.duplicated, 0, "the replay after \(resume) is not a duplicate: the reset took those bytes")
            let p = h.ledger.connection(1)!.prediction
            XCTAssertEqual(p.lastEventID, resume)
            XCTAssertEqual(p.dispatched, Int(resume)!)
            XCTAssertEqual(h.ledger.connection(2)!.expectedLastEventID, resume)
        }
    }

    func testTheLedgerFileGetsThePredictionAgainOnceTheOutcomeIsKnown() {
        let h = resetRun(resume: "3")
        let predictions = h.box.records.compactMap { r -> Prediction? in
            if case .prediction(let p) = r.body, r.connection == 1 { return p } else { return nil }
        }
        XCTAssertEqual(predictions.count, 2, "at the close, and when attempt 2's Last-Event-ID chose the outcome")
        XCTAssertEqual(predictions[0].dispatched, 5)
        XCTAssertNil(predictions[0].resetOutcome)
        XCTAssertEqual(predictions[1].dispatched, 3)
        XCTAssertEqual(predictions[1].lastEventID, "3")
        XCTAssertEqual(predictions[1].resetOutcome, Prediction.ResetOutcome(messagesRead: 1, decidedByAttempt: 2))
        // Written and read back: a report from the file counts what the live ledger does.
        let line = h.box.records.filter { if case .prediction = $0.body { return $0.connection == 1 } else { return false } }.last!.jsonLine()
        XCTAssertTrue(line.contains("\"reset_read\":1,\"reset_decided_by\":2"), line)
        let replay = LedgerReplay(jsonLines: h.box.records.map { $0.jsonLine() }.joined(separator: "\n"))
        XCTAssertEqual(replay.clients.first?.connections.first?.prediction, predictions[1])
        XCTAssertEqual(h.findings(), [])
    }

    func testALastEventIDThatFitsNoOutcomeIsAFinding() {
        let h = resetRun(resume: "1")
        let wrong = h.findings().filter { $0.kind == .wrongLastEventID }
        XCTAssertEqual(wrong.count, 1)
        XCTAssertTrue(wrong[0].detail.contains("one of \"2\", \"3\", \"4\", \"5\""), wrong[0].detail)
        XCTAssertEqual(h.summary().duplicatedIDs, ["2", "3", "4", "5"], "fitting no outcome, the client is credited with the whole write")
    }

    func testWithoutAResetTheEndIsCertain() {
        let h = resetRun(resume: "3", end: .fault(kind: .fin, atByte: 0))
        XCTAssertEqual(h.ledger.connection(1)!.prediction.possibleLastEventIDs, [])
        XCTAssertEqual(h.findings().filter { $0.kind == .wrongLastEventID }.count, 1)
        XCTAssertEqual(h.summary().duplicatedIDs, ["4", "5"])
    }

    func testEventsWithoutIDInTheUncertainTailAreTakenBackToo() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        h.relay(a, events(1...1), at: 1)
        h.upstream(a, "data: x\n\ndata: y\n\n", at: 2)
        h.deliver(a, "data: x\n\ndata: y\n\n", at: 2)
        h.close(a, .fault(kind: .rst, atByte: 0), at: 3)
        XCTAssertEqual(h.summary().missing, 0, "credited while no reconnect says otherwise")
        let b = h.open(at: 3100, lastEventID: "1")
        h.respond(b, at: 3100)
        h.close(b, at: 3200)
        XCTAssertEqual(h.findings().filter { $0.kind == .wrongLastEventID }, [])
        let s = h.summary()
        XCTAssertEqual(s.expected, 3)
        XCTAssertEqual(s.received, 3, "x and y share the last event ID \"1\": the longest outcome is chosen")
    }

    func testAnUpstreamResetPassedOnAsAResetIsUncertainToo() {
        let h = Harness()
        let a = resetConnection(h, certain: 1...1, lastWrite: 2...3, end: .upstreamError("Connection reset by peer"), reset: true)
        XCTAssertEqual(h.ledger.connection(a)!.prediction.possibleLastEventIDs, ["1", "2", "3"])
        let fin = Harness()
        resetConnection(fin, certain: 1...1, lastWrite: 2...3, end: .upstreamError("closed mid-body"))
        XCTAssertEqual(fin.ledger.connection(1)!.prediction.possibleLastEventIDs, [], "no reset: the end is certain")
    }

    func testAHugeLastWriteLeavesOnlyItsEndUncertain() {
        let h = Harness()
        let a = resetConnection(h, certain: nil, lastWrite: 1...300)
        let possible = h.ledger.connection(a)!.prediction.possibleLastEventIDs
        XCTAssertEqual(possible.count, 1 + 172, "the last 128…255 messages stay uncertain, the rest is certain")
        XCTAssertEqual(possible.first, "128")
        XCTAssertEqual(possible.last, "300")
        let b = h.open(at: 3100, lastEventID: "10")
        h.respond(b, at: 3100)
        h.close(b, at: 3200)
        XCTAssertEqual(h.findings().filter { $0.kind == .wrongLastEventID }.count, 1)
    }

    // MARK: - Observed messages

    /// A stream with an empty-data event, a multi-line event, a comment and a typed event.
    private func observedRun() -> Harness {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        h.relay(a, "id: 1\ndata: one\n\n: ping\n\nid: 2\ndata:\n\nid: 3\ndata: a\ndata: b\n\nevent: tick\nid: 4\ndata: four\n\n", at: 1)
        h.close(a, at: 2)
        return h
    }

    private let correct = [
        ObservedMessage(type: "message", data: "one", id: "1"),
        ObservedMessage(type: "message", data: "", id: "2"),
        ObservedMessage(type: "message", data: "a\nb", id: "3"),
        ObservedMessage(type: "tick", data: "four", id: "4"),
    ]

    func testACorrectClientMatchesEveryMessage() {
        let d = observedRun().ledger.observedDiff(key: "c", messages: correct)!
        XCTAssertTrue(d.ok)
        XCTAssertTrue(d.complete)
        XCTAssertEqual(d.count(.match), 4)
        XCTAssertEqual(d.entries.map(\.kind), [.match, .match, .match, .match])
        XCTAssertTrue(d.json().contains("\"ok\":true"))
        let withConnections = correct.map { m -> ObservedMessage in var m = m; m.connection = 1; return m }
        XCTAssertTrue(observedRun().ledger.observedDiff(key: "c", messages: withConnections)!.ok)
    }

    func testAClientThatDropsEmptyDataEventsIsFound() {
        let d = observedRun().ledger.observedDiff(key: "c", messages: correct.filter { !$0.data.isEmpty })!
        XCTAssertFalse(d.ok)
        XCTAssertEqual(d.count(.missing), 1)
        let missing = d.entries.first { $0.kind == .missing }!
        XCTAssertEqual(missing.expected?.lastEventId, "2")
        XCTAssertEqual(missing.index, 1)
        XCTAssertEqual(d.count(.match), 3)
    }

    func testAClientThatMisjoinsLinesOrLosesTheEventTypeIsFound() {
        var wrong = correct
        wrong[2].data = "ab"            // data lines joined without the newline
        wrong[3].type = "message"       // `event:` lost
        let d = observedRun().ledger.observedDiff(key: "c", messages: wrong)!
        XCTAssertFalse(d.ok)
        XCTAssertEqual(d.entries.map(\.kind), [.match, .match, .differs, .differs])
        XCTAssertEqual(d.entries[2].detail, "data \"ab\", expected \"a\\nb\"")
        XCTAssertEqual(d.entries[3].detail, "type \"message\", expected \"tick\"")
    }

    func testAnEmptyMessageAfterEachPingIsUnexpected() {
        var extra = correct
        extra.insert(ObservedMessage(type: "message", data: "", id: "1"), at: 1)  // httpx-sse after ": ping"
        let d = observedRun().ledger.observedDiff(key: "c", messages: extra)!
        XCTAssertFalse(d.ok)
        XCTAssertEqual(d.entries.map(\.kind), [.match, .unexpected, .match, .match, .match])
        XCTAssertTrue(d.json().contains("\"unexpected\":1"))
    }

    func testMessagesTheLastWriteBeforeAResetMayHaveLostAreUncertain() {
        let h = Harness()
        resetConnection(h, certain: 1...1, lastWrite: 2...3)
        let got = [ObservedMessage(type: "message", data: "payload 1", id: "1", connection: 1)]
        let d = h.ledger.observedDiff(key: "c", messages: got)!
        XCTAssertTrue(d.ok)
        XCTAssertEqual(d.entries.map(\.kind), [.match, .uncertain, .uncertain])
        XCTAssertFalse(h.ledger.observedDiff(key: "c", messages: [])!.ok, "event 1 was not in the last write")
        XCTAssertNil(h.ledger.observedDiff(key: "nobody", messages: []))
    }
}
