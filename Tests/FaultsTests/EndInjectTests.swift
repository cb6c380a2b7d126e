import SSE
import Testing

@testable import Faults

@Suite struct EndTests {
    @Test func endsCleanlyAfterNEventsWithTerminator() {
        let done = bytes("data: [DONE]\n\n")
        var p = plan([FaultSpec(.end(EndFault(.afterEvents(2), terminator: done)))])
        let out = run(&p, [event(0), comment(1), event(2), event(3), event(4)])
        #expect(out == [
            .write(event(0).raw, notBefore: 0, frameIndex: 0), .write(comment(1).raw, notBefore: 10 * ms, frameIndex: 1),
            .write(event(2).raw, notBefore: 20 * ms, frameIndex: 2), .write(done, notBefore: 20 * ms, frameIndex: nil),
            .end(notBefore: 20 * ms),
        ])
        #expect(p.isFinished)
        let records = p.drainRecords()
        #expect(records.map(\.effect) == [.ended(trigger: .afterEvents(2), terminatorBytes: 14, droppedBytes: 0)])
        #expect(records.map(\.frameIndex) == [2])
        #expect(records[0].action == "ended cleanly after 2 events after a 14-byte terminator")
    }

    @Test func endsAtATimeOnTheTimer() {
        var p = plan([FaultSpec(.end(EndFault(.after(25 * ms))))])
        _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        #expect(p.frame(event(0), now: 0).count == 1)
        #expect(p.nextTimer == 25 * ms)
        #expect(p.frame(event(1), now: 20 * ms).count == 1)
        #expect(p.timer(now: 25 * ms) == [.end(notBefore: 25 * ms)])
        #expect(p.frame(event(2), now: 30 * ms).isEmpty, "nothing after the end")
        #expect(p.upstreamEnded(now: 40 * ms).isEmpty)
        #expect(p.drainRecords().map(\.frameIndex) == [nil])
    }

    @Test func afterBytesDropsTheRestOfTheFrameAndSaysSo() {
        // event(0) is 10 bytes ("data: e0\n\n"): the mark at 14 falls 4 bytes into event(1).
        var p = plan([FaultSpec(.end(EndFault(.afterBytes(14))))])
        let out = run(&p, [event(0), event(1), event(2)])
        #expect(out.compactMap(\.bytes).map(text) == ["data: e0\n\n", "data"])
        #expect(out.last == .end(notBefore: 10 * ms))
        let effect = p.drainRecords().map(\.effect)
        #expect(effect == [.ended(trigger: .afterBytes(14), terminatorBytes: 0, droppedBytes: 6)])
        #expect(effect[0].fate == .lost)
    }

    @Test func aBufferReleasesAheadOfTheEnd() {
        var p = plan([
            FaultSpec(.buffer(BufferFault(release: .everyEvents(10)))), FaultSpec(.end(EndFault(.after(15 * ms)))),
        ])
        _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        #expect(p.frame(event(0), now: 0).isEmpty)
        let out = p.timer(now: 15 * ms)
        #expect(out == [.end(notBefore: 15 * ms)], "the end is downstream of the buffer: the held frame was never released")
        var q = plan([
            FaultSpec(.end(EndFault(.after(15 * ms)))), FaultSpec(.buffer(BufferFault(release: .everyEvents(10)))),
        ])
        _ = q.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        #expect(q.frame(event(0), now: 0).isEmpty)
        #expect(q.timer(now: 15 * ms) == [.write(event(0).raw, notBefore: 15 * ms, frameIndex: 0), .end(notBefore: 15 * ms)])
    }

    @Test func perConnectionProbabilityIsSeeded() {
        let spec = FaultSpec(.end(EndFault(.afterEvents(1))), probability: 0.5)
        let outcomes = (1...40).map { seed -> Bool in
            var p = plan([spec], seed: UInt64(seed))
            return run(&p, [event(0), event(1)]).contains(.end(notBefore: 0))
        }
        let again = (1...40).map { seed -> Bool in
            var p = plan([spec], seed: UInt64(seed))
            return run(&p, [event(0), event(1)]).contains(.end(notBefore: 0))
        }
        #expect(outcomes == again)
        #expect(outcomes.contains(true) && outcomes.contains(false))
    }
}

@Suite struct InjectTests {
    let error = bytes("data: {\"error\": {\"message\": \"overloaded\"}}\n\n")

    @Test func injectsAfterNEventsAndGoesOn() {
        var p = plan([FaultSpec(.inject(InjectFault(.afterEvents(1), bytes: error)))])
        let out = run(&p, [event(0), event(1), event(2)])
        #expect(out == [
            .write(event(0).raw, notBefore: 0, frameIndex: 0), .write(error, notBefore: 0, frameIndex: nil),
            .write(event(1).raw, notBefore: 10 * ms, frameIndex: 1), .write(event(2).raw, notBefore: 20 * ms, frameIndex: 2),
            .end(notBefore: 30 * ms),
        ])
        let records = p.drainRecords()
        #expect(records.map(\.effect) == [.eventInjected(bytes: error.count, trigger: .afterEvents(1), thenEnd: false)])
        #expect(records[0].effect.fate == .delivered)
    }

    @Test func injectsThenEnds() {
        var p = plan([FaultSpec(.inject(InjectFault(.afterEvents(2), bytes: error, thenEnd: true)))])
        let out = run(&p, [event(0), event(1), event(2), event(3)])
        #expect(out.compactMap(\.frameIndex) == [0, 1])
        #expect(Array(out.suffix(2)) == [.write(error, notBefore: 10 * ms, frameIndex: nil), .end(notBefore: 10 * ms)])
        #expect(p.drainRecords().map(\.action) == ["injected \(error.count) bytes after 2 events, then ended cleanly"])
    }

    @Test func atStreamStartAndAtATime() {
        var p = plan([FaultSpec(.inject(InjectFault(.afterEvents(0), bytes: error)))])
        _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 5)
        #expect(p.timer(now: 5) == [.write(error, notBefore: 5, frameIndex: nil)])
        #expect(p.frame(event(0), now: 6) == [.write(event(0).raw, notBefore: 6, frameIndex: 0)])
        #expect(p.nextTimer == nil, "it injects once")

        var q = plan([FaultSpec(.inject(InjectFault(.after(50 * ms), bytes: error)))])
        _ = q.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        #expect(q.frame(event(0), now: 10 * ms).count == 1)
        #expect(q.nextTimer == 50 * ms)
        #expect(q.timer(now: 50 * ms) == [.write(error, notBefore: 50 * ms, frameIndex: nil)])
        #expect(q.frame(event(1), now: 60 * ms).count == 1)
    }

    @Test func selectorCountsOnlyMatchingEvents() {
        var sel = FaultSelector()
        sel.eventTypes = ["delta"]
        var p = plan([FaultSpec(.inject(InjectFault(.afterEvents(1), bytes: error)), selector: sel)])
        let out = run(&p, [event(0, type: "start"), event(1, type: "delta"), event(2, type: "delta")])
        #expect(out.map { $0.frameIndex ?? -1 }.prefix(3) == [0, 1, -1])
    }
}
