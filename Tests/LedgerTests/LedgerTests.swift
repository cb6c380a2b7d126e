import Faults
import Foundation
import SSE
import XCTest

@testable import Ledger

final class LedgerTests: XCTestCase {
    func testCleanRunWithReconnectIsOK() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 5)
        h.relay(a, events(1...3), at: 10)
        h.close(a, .upstreamEnd, at: 100)
        let b = h.open(at: 3200, lastEventID: "3")
        h.respond(b, at: 3205)
        h.relay(b, events(4...5), at: 3210)
        h.close(b, .clientClose, at: 4000)

        XCTAssertEqual(h.findings(), [])
        let s = h.summary()
        XCTAssertEqual(s.expected, 5)
        XCTAssertEqual(s.received, 5)
        XCTAssertEqual(s.reconnects, 1)
        XCTAssertEqual(s.lastEventID, "5")
        XCTAssertEqual(s.verdict, "ok: 5 events, 1 reconnect, all ids received once")
        let c = h.ledger.connection(b)!
        XCTAssertEqual(c.expectedLastEventID, "3")
        XCTAssertEqual(c.waitedNs, 3100 * 1_000_000)
        XCTAssertEqual(c.requiredWaitMs, 3000)
        XCTAssertEqual(c.prediction.dispatched, 2)
        XCTAssertEqual(c.prediction.next, "reconnect after 3000ms with Last-Event-ID \"5\"")
    }

    func testDroppedEventsAreMissing() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        let frames = h.upstream(a, events(1...5), at: 10)
        h.fault(a, frame: 2, "drop", .dropped(bytes: 27), at: 10)
        h.fault(a, frame: 3, "drop", .dropped(bytes: 27), at: 10)
        h.deliver(a, [frames[0], frames[1], frames[4]], at: 10)
        h.close(a, at: 50)

        let s = h.summary()
        XCTAssertEqual(s.missing, 2)
        XCTAssertEqual(s.missingIDs, ["3", "4"])
        XCTAssertEqual(s.lastEventID, "5")
        XCTAssertEqual(s.verdict, "1 finding: 2 missing (ids 3-4)")
        let missing = h.findings().first { $0.kind == .missing }!
        XCTAssertEqual(missing.ids, ["3", "4"])
        XCTAssertEqual(missing.detail, "2 of 5 events never dispatched intact: ids 3-4")
        XCTAssertEqual(h.ledger.connection(a)!.faults.count, 2)
    }

    func testTruncationMidEventIsNotDispatched() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        let frames = h.upstream(a, events(1...3), at: 10)
        h.deliver(a, [frames[0], frames[1]], at: 10)
        let torn = Array(frames[2].raw.prefix(12))  // "id: 3\ndata: "
        h.fault(a, frame: 2, "corrupt", .corrupted(.truncated(at: 12, of: frames[2].raw.count)), at: 10)
        h.ledger.delivered(id: a, bytes: torn, at: Harness.ns(10))
        let atByte = frames[0].raw.count + frames[1].raw.count + 12
        h.close(a, .fault(kind: .fin, atByte: atByte), at: 20)

        let p = h.ledger.connection(a)!.prediction
        XCTAssertEqual(p.dispatched, 2)
        XCTAssertEqual(p.lastEventID, "2", "the torn event's id never reached the last event ID")
        XCTAssertTrue(p.discardedTail)
        XCTAssertEqual(h.summary().missingIDs, ["3"])

        // The client resumes correctly; the backend sends 3 again: nothing missing any more.
        let b = h.open(at: 3100, lastEventID: "2")
        h.respond(b, at: 3100)
        h.relay(b, events(3...4), at: 3110)
        h.close(b, at: 3200)
        XCTAssertEqual(h.findings(), [])
        XCTAssertEqual(h.summary().verdict, "ok: 4 events, 1 reconnect, all ids received once")
    }

    func testRSTAfterNEvents() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        h.relay(a, events(1...3), at: 10)
        let frames = h.upstream(a, events(4...6), at: 11)
        h.fault(a, frame: 3, "disconnect", .cut(.rst, trigger: .afterEvents(3), droppedBytes: 27), at: 11)
        h.close(a, .fault(kind: .rst, atByte: 81), at: 11)
        XCTAssertEqual(frames.count, 3)

        let r = h.ledger.connection(a)!
        XCTAssertEqual(r.end, .fault(kind: .rst, atByte: 81))
        XCTAssertEqual(r.prediction.dispatched, 3)
        XCTAssertEqual(r.prediction.next, "reconnect after 3000ms with Last-Event-ID \"3\"")
        XCTAssertEqual(r.frameCount, 6)
        XCTAssertEqual(h.summary().missingIDs, ["4", "5", "6"])

        let b = h.open(at: 3050, lastEventID: "3")
        h.respond(b, at: 3050)
        h.relay(b, events(4...6), at: 3060)
        h.close(b, at: 3100)
        XCTAssertEqual(h.findings(), [])
    }

    func test503OnReconnectMeansNoReconnectExpected() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        h.relay(a, events(1...2), at: 10)
        h.close(a, .fault(kind: .rst, atByte: 54), at: 20)

        let b = h.open(at: 3100, lastEventID: "2")
        h.fault(b, frame: nil, "respond", .responded(status: 503, retryAfter: "1"), at: 3100)
        h.respond(b, status: 503, contentType: "text/plain", synthetic: true, at: 3100)
        h.deliver(b, "data: not parsed\n\n", at: 3100)  // a body EventSource never reads
        h.close(b, .fault(kind: .fin, atByte: 18), at: 3101)

        let p = h.ledger.connection(b)!.prediction
        XCTAssertEqual(p.dispatched, 0)
        XCTAssertEqual(p.failReason, "status 503 is not 200")
        XCTAssertEqual(p.lastEventID, "2")
        XCTAssertEqual(h.findings(), [])
        var s = h.summary()
        XCTAssertTrue(s.failed)
        XCTAssertEqual(s.verdict, "ok: 2 events, 1 reconnect, all ids received once — EventSource failed on attempt 2, no reconnect expected")

        // A client that reconnects anyway is a finding about it.
        let c = h.open(at: 4200, lastEventID: "2")
        h.respond(c, at: 4200)
        h.close(c, .clientClose, at: 4300)
        let f = h.findings()
        XCTAssertEqual(f.map(\.kind), [.reconnectAfterFailure])
        XCTAssertEqual(f[0].attempt, 3)
        XCTAssertTrue(f[0].detail.contains("status 503"), f[0].detail)
        XCTAssertTrue(f[0].detail.contains("a Retry-After header does not change that"), f[0].detail)
        s = h.summary()
        XCTAssertFalse(s.failed)
        XCTAssertEqual(s.verdict, "1 finding: reconnected after failure on attempt 3")
    }

    func test204AndWrongContentTypeFail() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, status: 204, contentType: nil, synthetic: true, at: 0)
        h.close(a, .fault(kind: .fin, atByte: 0), at: 1)
        XCTAssertEqual(h.ledger.connection(a)!.prediction.failReason, "status 204 is not 200")

        let k = h.open("k", at: 0)
        h.respond(k, contentType: "application/json", at: 0)
        h.relay(k, events(1...1), at: 1)
        h.close(k, at: 2)
        let p = h.ledger.connection(k)!.prediction
        XCTAssertEqual(p.dispatched, 0)
        XCTAssertFalse(p.reconnects)
        XCTAssertEqual(h.summary("k").missingIDs, ["1"])
    }

    func testDuplicateIsFlagged() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        let frames = h.upstream(a, events(1...3), at: 10)
        h.fault(a, frame: 1, "duplicate", .duplicated(extra: 1), at: 10)
        h.deliver(a, [frames[0], frames[1], frames[1], frames[2]], at: 10)
        h.close(a, at: 20)

        let s = h.summary()
        XCTAssertEqual(s.duplicated, 1)
        XCTAssertEqual(s.duplicatedIDs, ["2"])
        XCTAssertEqual(s.missing, 0)
        XCTAssertEqual(s.verdict, "1 finding: 1 duplicated (id 2)")
        XCTAssertEqual(h.findings().first?.detail, "1 event dispatched more than once: 2 ×2")
        XCTAssertEqual(h.ledger.connection(a)!.prediction.intact, 4)
    }

    func testWrongLastEventIDIsAFindingAboutTheClient() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        h.relay(a, events(1...3), at: 10)
        h.close(a, .fault(kind: .rst, atByte: 81), at: 20)
        let b = h.open(at: 3100, lastEventID: "1")
        h.respond(b, at: 3100)
        h.relay(b, events(2...4), at: 3110)
        h.close(b, at: 3200)

        let f = h.findings()
        let wrong = f.first { $0.kind == .wrongLastEventID }!
        XCTAssertEqual(wrong.attempt, 2)
        XCTAssertEqual(wrong.expected, "3")
        XCTAssertEqual(wrong.actual, "1")
        // Reset after its last write (event 3): the client may hold "2" or "3", never "1".
        XCTAssertEqual(wrong.detail, "expected one of \"2\", \"3\" (the last event IDs a spec-exact client may hold after attempt 1: it was reset, and any event-boundary prefix of its last write may have been read), sent \"1\"")
        // The backend honoured the wrong id and replayed 2 and 3: a spec-exact client dispatches them again.
        XCTAssertEqual(h.summary().duplicatedIDs, ["2", "3"])
        XCTAssertEqual(h.summary().verdict,
                       "2 findings: 2 duplicated (ids 2-3); wrong Last-Event-ID on attempt 2 (expected \"3\", sent \"1\")")

        // No header when one was expected, and a header when none was.
        let g = Harness()
        let x = g.open(at: 0)
        g.respond(x, at: 0)
        g.relay(x, events(1...1), at: 1)
        g.close(x, at: 2)
        g.open(at: 4000)
        let w = g.findings().first!
        XCTAssertEqual(w.kind, .wrongLastEventID)
        XCTAssertTrue(w.detail.hasSuffix("sent no Last-Event-ID"), w.detail)

        let e = Harness()
        let y = e.open(at: 0)
        e.respond(y, at: 0)
        e.relay(y, "data: no id\n\n", at: 1)
        e.close(y, at: 2)
        e.open(at: 4000, lastEventID: "9")
        XCTAssertEqual(e.findings().first?.detail, "expected no Last-Event-ID (the last event ID a spec-exact client had after attempt 1), sent \"9\"")
    }

    func testReconnectEarlierThanRetryIsFlagged() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        h.relay(a, "retry: 5000\n\n" + events(1...2), at: 10)
        h.close(a, at: 100)
        XCTAssertEqual(h.ledger.connection(a)!.prediction.reconnectionTimeMs, 5000)
        let b = h.open(at: 1100, lastEventID: "2")
        h.respond(b, at: 1100)
        h.close(b, .clientClose, at: 1200)

        let f = h.findings()
        XCTAssertEqual(f.map(\.kind), [.reconnectTooEarly])
        XCTAssertEqual(f[0].detail, "reconnected 1.0s after attempt 1 ended; the reconnection time was 5000ms")
        // The reconnection time carries over: attempt 3 must also wait 5 s.
        h.open(at: 6300, lastEventID: "2")
        XCTAssertEqual(h.findings().count, 1)
        XCTAssertEqual(h.ledger.connection(3)!.requiredWaitMs, 5000)
    }

    func testSlackToleratesAReconnectJustUnderTheTime() {
        let box = Harness.Box()
        let ledger = Ledger(defaultReconnectionTimeMs: 1000, reconnectSlackMs: 50) { box.records.append($0) }
        ledger.connectionOpened(id: 1, clientKey: "c", attempt: 1, at: 0, wallMs: 0, method: "GET", path: "/", lastEventIDSent: nil, profile: "p", seed: 1)
        ledger.connectionClosed(id: 1, end: .refused, at: 0)
        ledger.connectionOpened(id: 2, clientKey: "c", attempt: 2, at: 960_000_000, wallMs: 0, method: "GET", path: "/", lastEventIDSent: nil, profile: "p", seed: 1)
        XCTAssertEqual(ledger.findings(for: "c"), [])
        // Refused: a network error, so a reconnect is expected.
        XCTAssertNil(ledger.connection(1)!.prediction.failReason)
    }

    func testBackendReplayAfterReconnectIsNotADuplicate() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        let frames = h.upstream(a, events(1...3), at: 10)
        h.deliver(a, [frames[0], frames[1]], at: 10)  // 3 is held back by a fault when the RST comes
        h.fault(a, frame: 2, "disconnect", .cut(.rst, trigger: .afterEvents(2), droppedBytes: 27), at: 10)
        h.close(a, .fault(kind: .rst, atByte: 54), at: 10)
        let b = h.open(at: 3100, lastEventID: "2")
        h.respond(b, at: 3100)
        h.relay(b, events(3...4), at: 3110)  // the backend replays 3
        h.close(b, at: 3200)

        XCTAssertEqual(h.findings(), [])
        let s = h.summary()
        XCTAssertEqual(s.expected, 4, "a replayed event is the same event")
        XCTAssertEqual(s.received, 4)
        XCTAssertEqual(s.duplicated, 0)
        let three = h.ledger.client("c")!.events.first { $0.id == "3" }!
        XCTAssertEqual(three.sent, 2)
        XCTAssertEqual(three.received, 1)
        XCTAssertEqual(three.receivedAttempts, [2])
    }

    func testEventsWithoutIDsAreCountedPerConnection() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        let frames = h.upstream(a, "data: a\n\ndata: b\n\ndata: a\n\nevent: tick\ndata: a\n\n", at: 1)
        XCTAssertEqual(frames.count, 4)
        h.deliver(a, [frames[0], frames[1], frames[3]], at: 1)  // the second "a" is dropped
        h.close(a, at: 2)
        var s = h.summary()
        XCTAssertEqual(s.expected, 4)
        XCTAssertEqual(s.received, 3)
        XCTAssertEqual(s.missing, 1)
        XCTAssertEqual(s.missingIDs, [])
        XCTAssertEqual(h.findings().first?.detail, "1 of 4 events never dispatched intact: 1 without id")

        // Not matched across attempts: the same "b" on attempt 2 is a new event.
        let b = h.open(at: 3100)
        h.respond(b, at: 3100)
        h.relay(b, "data: b\n\ndata: b\n\n", at: 3101)
        h.close(b, at: 3102)
        s = h.summary()
        XCTAssertEqual(s.expected, 6)
        XCTAssertEqual(s.received, 5)
        XCTAssertEqual(s.duplicated, 0)
    }

    func testAnEventWithoutIDRepeatingTheLastEventIsNotADuplicate() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        // id 1 "x", then an anonymous "x" (its lastEventId is "1" too, same content).
        h.relay(a, "id: 1\ndata: x\n\ndata: x\n\n", at: 1)
        h.close(a, at: 2)
        let s = h.summary()
        XCTAssertEqual(s.expected, 2)
        XCTAssertEqual(s.received, 2)
        XCTAssertEqual(s.duplicated, 0)
    }

    func testCorruptedEventIsUnexpectedAndMissing() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        let frames = h.upstream(a, events(1...2), at: 1)
        h.deliver(a, [frames[0]], at: 1)
        h.fault(a, frame: 1, "corrupt", .corrupted(.jsonBroken), at: 1)
        h.deliver(a, "id: 2\ndata: payl{oad 2\n\n", at: 1)
        h.close(a, at: 2)
        let f = h.findings()
        XCTAssertEqual(Set(f.map(\.kind)), [.missing, .unexpected])
        let u = f.first { $0.kind == .unexpected }!
        XCTAssertEqual(u.detail, "1 dispatched message matches nothing the upstream sent: message \"payl{oad 2\" (last event ID \"2\")")
        XCTAssertEqual(h.summary().unexpected, 1)
        XCTAssertEqual(h.summary().missingIDs, ["2"])
    }

    func testFirstAttemptLastEventIDSeedsTheModel() {
        let h = Harness()
        let a = h.open(at: 0, lastEventID: "41")
        h.respond(a, at: 0)
        h.relay(a, "data: no id\n\n", at: 1)
        h.close(a, at: 2)
        XCTAssertEqual(h.ledger.connection(a)!.prediction.lastEventID, "41")
        XCTAssertEqual(h.findings(), [])
    }

    func testReconnectSeenBeforeThePreviousCloseIsCheckedAtTheClose() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        h.relay(a, events(1...1), at: 1)
        let b = h.open(at: 10, lastEventID: "1")
        XCTAssertEqual(h.findings(), [])
        h.close(a, .clientClose, at: 12)
        XCTAssertEqual(h.findings().map(\.kind), [.reconnectTooEarly])
        XCTAssertEqual(h.ledger.connection(b)!.expectedLastEventID, "1")
    }

    func testAClientThatClosedItsOwnConnectionIsNotJudgedOnAWaitTheProxyMeasuredLate() {
        // The client closed, waited its 50 ms and reconnected; the proxy saw the close 30 ms late (busy loop):
        // 20 ms measured. Not judged. A reconnect before the close (above) still is.
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        h.relay(a, "retry: 50\nid: 1\ndata: x\n\n", at: 1)
        h.close(a, .clientClose, at: 30)
        let b = h.open(at: 50, lastEventID: "1")
        XCTAssertEqual(h.findings(), [])
        XCTAssertEqual(h.ledger.connection(b)!.requiredWaitMs, 50)
        // The same wait after the proxy's own close is too early.
        let g = Harness()
        let c = g.open(at: 0)
        g.respond(c, at: 0)
        g.relay(c, "retry: 50\nid: 1\ndata: x\n\n", at: 1)
        g.close(c, at: 30)
        _ = g.open(at: 50, lastEventID: "1")
        XCTAssertEqual(g.findings().map(\.kind), [.reconnectTooEarly])
    }

    func testOpenConnectionIsSaidInTheVerdict() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        h.relay(a, events(1...2), at: 1)
        XCTAssertEqual(h.summary().verdict, "ok: 2 events, 0 reconnects, all ids received once (1 connection still open)")
        XCTAssertEqual(h.summary().openConnections, 1)
        XCTAssertEqual(h.ledger.connection(a)!.prediction.lastEventID, "2")
    }

    func testClientsAndReset() {
        let h = Harness()
        h.open("a", at: 0)
        h.open("b", at: 1)
        XCTAssertEqual(h.ledger.clients().map(\.key), ["a", "b"])
        XCTAssertNil(h.ledger.client("z"))
        h.ledger.reset()
        XCTAssertEqual(h.ledger.clients().count, 0)
        XCTAssertNil(h.ledger.connection(1))
    }

    func testFinishWritesFinalFindings() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        let frames = h.upstream(a, events(1...3), at: 1)
        h.deliver(a, [frames[0]], at: 1)
        h.close(a, .shutdown, at: 2)
        h.ledger.finish(at: Harness.ns(3))
        let types = h.records.suffix(2).map(\.type)
        XCTAssertEqual(types, ["finding", "client"])
        if case .finding(let f) = h.records[h.records.count - 2].body {
            XCTAssertEqual(f.kind, .missing)
            XCTAssertEqual(f.ids, ["2", "3"])
        } else {
            XCTFail("no finding")
        }
    }
}
