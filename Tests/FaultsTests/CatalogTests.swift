import SSE
import Testing

@testable import Faults

@Suite struct DelayTests {
    @Test func fixedLatencyIsNotCumulative() {
        var p = plan([FaultSpec(.delay(DelayFault(latency: 120 * ms)))])
        let out = run(&p, [event(0), event(1), event(2)])
        #expect(out.map(\.at) == [120 * ms, 130 * ms, 140 * ms, 140 * ms])
        #expect(p.drainRecords().map(\.action) == ["delayed 120ms", "delayed 120ms", "delayed 120ms"])
    }

    @Test func firstByteAndConnectDelays() {
        var p = plan([FaultSpec(.delay(DelayFault(firstByte: 2_000 * ms, connect: 500 * ms)))])
        #expect(p.isPassthrough)
        #expect(p.request(now: 0) == .relay(connectDelay: 500 * ms, lastEventID: .keep))
        #expect(p.responseHead(status: 200, contentType: "text/event-stream", now: 0).firstByteDelay == 2_000 * ms)
    }

    @Test(arguments: [
        Jitter.uniform(min: 0, max: 50 * ms), .normal(mean: 0, sigma: 30e6), .lognormal(median: 20 * ms, sigma: 0.5),
        .pareto(scale: 5 * ms, shape: 1.5, cap: 1_000 * ms),
    ])
    func jitterIsSeededAndBounded(_ jitter: Jitter) {
        var p = plan([FaultSpec(.delay(DelayFault(latency: 100 * ms, jitter: jitter)))], seed: 9)
        var q = plan([FaultSpec(.delay(DelayFault(latency: 100 * ms, jitter: jitter)))], seed: 9)
        let frames = (0..<50).map { event($0) }
        let a = run(&p, frames, every: 0, end: false)
        #expect(a == run(&q, frames, every: 0, end: false))
        let waits = p.drainRecords().map(\.action)
        #expect(a.allSatisfy { ($0.at ?? 0) <= 1_100 * ms })
        #expect(Set(waits).count > 5)
    }

    @Test func samplesFollowTheirDistributions() {
        var rng = SplitMix64(seed: 3)
        let n = 20_000
        let normal = (0..<n).map { _ in Jitter.normal(mean: 10, sigma: 2).sample(&rng) }
        let mean = normal.reduce(0, +) / Double(n)
        #expect(abs(mean - 10) < 0.1)
        let logn = (0..<n).map { _ in Jitter.lognormal(median: 1000, sigma: 1).sample(&rng) }.sorted()
        #expect(abs(logn[n / 2] - 1000) < 60)
        let par = (0..<n).map { _ in Jitter.pareto(scale: 100, shape: 2, cap: 1_000_000).sample(&rng) }
        #expect(par.allSatisfy { $0 >= 100 })
        let uni = (0..<n).map { _ in Jitter.uniform(min: 10, max: 20).sample(&rng) }
        #expect(uni.allSatisfy { (10...20).contains($0) })
    }
}

@Suite struct BufferTests {
    @Test func everyNEvents() {
        var p = plan([FaultSpec(.buffer(BufferFault(release: .everyEvents(3))))])
        _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        #expect(p.frame(event(0), now: 0).isEmpty)
        #expect(p.frame(event(1), now: 10).isEmpty)
        let burst = p.frame(event(2), now: 20)
        #expect(burst.compactMap(\.frameIndex) == [0, 1, 2])
        #expect(burst.allSatisfy { $0.at == 20 })
        #expect(p.frame(event(3), now: 30).isEmpty)
        let end = p.upstreamEnded(now: 40)
        #expect(end == [.write(event(3).raw, notBefore: 40, frameIndex: 3), .end(notBefore: 40)])
        #expect(p.drainRecords().map(\.action) == ["released burst of 3 frames (30 bytes)", "released burst of 1 frames (10 bytes)"])
    }

    @Test func everyNBytesAndKeepsOrderWithComments() {
        var p = plan([FaultSpec(.buffer(BufferFault(release: .everyBytes(28))))])
        _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        #expect(p.frame(event(0), now: 0).isEmpty)  // 11 bytes
        #expect(p.frame(comment(1), now: 1).isEmpty)  // 8 bytes
        let out = p.frame(event(2), now: 2)  // 28 bytes held
        #expect(out.compactMap(\.frameIndex) == [0, 1, 2])
    }

    @Test func everyTIsAClockFromStreamStart() {
        var p = plan([FaultSpec(.buffer(BufferFault(release: .every(100 * ms))))])
        _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 1_000 * ms)
        #expect(p.nextTimer == nil)
        #expect(p.frame(event(0), now: 1_030 * ms).isEmpty)
        #expect(p.nextTimer == 1_100 * ms)
        #expect(p.frame(event(1), now: 1_060 * ms).isEmpty)
        let out = p.timer(now: 1_100 * ms)
        #expect(out.compactMap(\.frameIndex) == [0, 1])
        #expect(out.allSatisfy { $0.at == 1_100 * ms })
        #expect(p.nextTimer == nil)
        #expect(p.frame(event(2), now: 1_250 * ms).isEmpty)
        #expect(p.nextTimer == 1_300 * ms)
    }

    @Test func onlyAtEnd() {
        var p = plan([FaultSpec(.buffer(BufferFault(release: .atEnd)))])
        let frames = (0..<5).map { event($0) }
        _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        for f in frames { #expect(p.frame(f, now: 1).isEmpty) }
        let out = p.upstreamEnded(now: 99)
        #expect(out.compactMap(\.frameIndex) == [0, 1, 2, 3, 4])
        #expect(out.last == .end(notBefore: 99))
    }
}

@Suite struct ThrottleTests {
    @Test func oneByteDripSplitsUTF8AndCRLF() {
        let raw = Array("data: é\r\n\r\n".utf8)
        let f = SSEFrame(raw: raw, kind: .event, data: ["é"], index: 0)
        var p = plan([FaultSpec(.throttle(ThrottleFault(.drip(bytes: 1, pause: 20 * ms))))])
        _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        let out = p.frame(f, now: 0)
        #expect(out.count == raw.count)
        #expect(out.compactMap(\.bytes) == raw.map { [$0] })
        #expect(out.map(\.at) == (0..<raw.count).map { Nanos($0) * 20 * ms })
        #expect(out.allSatisfy { $0.frameIndex == 0 })
        // The next frame waits for the pause after the last slice.
        #expect(p.frame(event(1), now: 0).first?.at == Nanos(raw.count) * 20 * ms)
    }

    @Test func bytesPerSecondCap() {
        var p = plan([FaultSpec(.throttle(ThrottleFault(.bytesPerSecond(100))))])
        _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        let f = event(0, String(repeating: "x", count: 44))  // 52 bytes
        let out = p.frame(f, now: 0)
        #expect(out.compactMap(\.bytes).map(\.count) == [10, 10, 10, 10, 10, 2])
        #expect(out.map(\.at) == [0, 100, 200, 300, 400, 500].map { $0 * ms })
    }
}

@Suite struct DropTests {
    @Test func everyNth() {
        var p = plan([FaultSpec(.drop(DropFault(everyNth: 3)))])
        let out = run(&p, (0..<7).map { event($0) })
        #expect(out.compactMap(\.frameIndex) == [0, 1, 3, 4, 6])
        #expect(p.drainRecords().map(\.frameIndex) == [2, 5])
    }

    @Test func heartbeatsOnly() {
        var p = plan([FaultSpec(.drop(DropFault(heartbeatsOnly: true)))])
        let out = run(&p, [comment(0), event(1), comment(2), event(3)])
        #expect(out.compactMap(\.frameIndex) == [1, 3])
    }

    @Test func byProbabilityIsSeeded() {
        var p = plan([FaultSpec(.drop(DropFault()), probability: 0.25)], seed: 5)
        let out = run(&p, (0..<400).map { event($0) })
        let kept = out.compactMap(\.frameIndex).count
        #expect((260...340).contains(kept))
        #expect(p.drainRecords().count == 400 - kept)
    }
}

@Suite struct DuplicateReorderTests {
    @Test func duplicate() {
        var p = plan([FaultSpec(.duplicate(DuplicateFault(copies: 2)), selector: FaultSelector(eventIndex: IntRange(from: 1, to: 1)))])
        let out = run(&p, [event(0), event(1), event(2)])
        #expect(out.compactMap(\.frameIndex) == [0, 1, 1, 1, 2])
    }

    @Test func reorderSwapsWithNextK() {
        var p = plan([FaultSpec(.reorder(ReorderFault(distance: 2)), selector: FaultSelector(eventIndex: IntRange(from: 0, to: 0)))])
        let out = run(&p, [event(0), comment(1), event(2), event(3), event(4)])
        #expect(out.compactMap(\.frameIndex) == [1, 2, 3, 0, 4])
        #expect(p.drainRecords().map(\.action) == ["reordered: moved after 2 later frames"])
    }

    @Test func reorderReleasesHeldAtEnd() {
        var p = plan([FaultSpec(.reorder(ReorderFault(distance: 5)))])
        let out = run(&p, [event(0), event(1)])
        #expect(out.compactMap(\.frameIndex) == [1, 0])
        #expect(out.last == .end(notBefore: 20 * ms))
    }
}

@Suite struct CorruptTests {
    func corrupt(_ mode: CorruptFault.Mode, _ frames: [SSEFrame]) -> (String, [FaultRecord]) {
        var p = plan([FaultSpec(.corrupt(CorruptFault(mode)), selector: FaultSelector(eventIndex: IntRange(from: 0, to: 0)))])
        let out = run(&p, frames)
        return (written(out), p.drainRecords())
    }

    @Test func truncateAtByteKeepsStreamGoing() {
        let (s, r) = corrupt(.truncate(.atByte(8), terminate: false), [event(0, "hello"), event(1, "next")])
        #expect(s == "data: hedata: next\n\n")
        #expect(r.map(\.action) == ["truncated at byte 8 of 13 (5 bytes dropped)"])
        let (t, _) = corrupt(.truncate(.fraction(0.5), terminate: true), [event(0, "hello"), event(1, "next")])
        #expect(t == "data: \n\ndata: next\n\n")
    }

    @Test func removeTerminatorMergesEvents() {
        let (s, _) = corrupt(.removeTerminator, [event(0, "a"), event(1, "b")])
        #expect(s == "data: a\ndata: b\n\n")
    }

    @Test func mangleField() {
        #expect(corrupt(.mangleField(field: "data", to: nil), [event(0, "a")]).0 == "Data: a\n\n")
        #expect(corrupt(.mangleField(field: "data", to: "dta"), [event(0, "a")]).0 == "dta: a\n\n")
    }

    @Test func invalidUTF8AndJSON() {
        var p = plan([FaultSpec(.corrupt(CorruptFault(.invalidUTF8(bytes: [0xFF]))))])
        let out = run(&p, [event(0, "abcd")])
        #expect(out.first?.bytes == bytes("data: ab") + [0xFF] + bytes("cd\n\n"))
        #expect(corrupt(.breakJSON, [event(0, "{\"a\":1}")]).0 == "data: {\"a\":1\n\n")
        #expect(corrupt(.breakJSON, [event(0, "plain")]).0 == "data: {\"plain\n\n")
    }

    @Test func lineEnds() {
        let f = event(0, "x", id: "1")
        #expect(corrupt(.lineEnds(.cr), [f]).0 == "id: 1\rdata: x\r\r")
        #expect(corrupt(.lineEnds(.mixed), [f]).0 == "id: 1\rdata: x\n\r\n")
        #expect(corrupt(.lineEnds(.crlf), [f]).0 == "id: 1\r\ndata: x\r\n\r\n")
    }

    @Test func injections() {
        var p = plan([FaultSpec(.corrupt(CorruptFault(.bom)), selector: FaultSelector(eventIndex: IntRange(from: 1, to: 1)))])
        let out = run(&p, [event(0), event(1)])
        #expect(out.compactMap(\.bytes)[1] == Malformed.bom)
        #expect(out.map(\.frameIndex) == [0, nil, 1, nil])
        #expect(corrupt(.nulComment, [event(0, "a")]).0 == ": sputter\0sputter\n\ndata: a\n\n")
        let big = corrupt(.oversized(bytes: 100_000), [event(0, "a")]).0
        #expect(big.utf8.count == 100_000 + 8 + 9)
        let (g, r) = corrupt(.garbage(length: 13), [event(0, "a")])
        #expect(g.utf8.count >= 9)
        #expect(r.map(\.action) == ["injected 13 garbage bytes before frame"])
    }
}

@Suite struct ReconnectProtocolTests {
    @Test func stripIDs() {
        var p = plan([FaultSpec(.stripIDs(StripIDsFault()))])
        let out = run(&p, [event(0, "a", id: "7"), event(1, "b")])
        #expect(written(out) == "data: a\n\ndata: b\n\n")
        #expect(p.drainRecords().map(\.action) == ["stripped id '7'"])
    }

    @Test func rewriteIDs() {
        let frames = (0..<3).map { event($0, id: String($0 + 10)) }
        func ids(_ mode: RewriteIDsFault.Mode) -> String {
            var p = plan([FaultSpec(.rewriteIDs(RewriteIDsFault(mode)))])
            return written(run(&p, frames)).split(separator: "\n").filter { $0.hasPrefix("id") }.joined(separator: ",")
        }
        #expect(ids(.offset(1000)) == "id: 1010,id: 1011,id: 1012")
        #expect(ids(.reuse(back: 1)) == "id: 10,id: 10,id: 11")
        #expect(ids(.appendNUL) == "id: 10\0,id: 11\0,id: 12\0")
        #expect(ids(.set("x")) == "id: x,id: x,id: x")
    }

    @Test func retryRewriteAndInject() {
        var p = plan([FaultSpec(.retry(RetryFault(value: "0")))])
        let out = run(&p, [event(0, "a", retry: 3000), event(1, "b")])
        #expect(written(out) == "retry: 0\ndata: a\n\ndata: b\nretry: 0\n\n")
        var q = plan([FaultSpec(.retry(RetryFault(value: "soon", inject: false)))])
        #expect(written(run(&q, [event(0, "b")])) == "data: b\n\n")
    }

    @Test func lastEventIDTamper() {
        var p = plan([FaultSpec(.lastEventID(LastEventIDFault(.remove)))], lastEventID: "42")
        #expect(p.isPassthrough)
        #expect(p.request(now: 0) == .relay(connectDelay: 0, lastEventID: .remove))
        #expect(p.drainRecords().map(\.action) == ["Last-Event-ID '42' removed upstream"])
        var q = plan([FaultSpec(.lastEventID(LastEventIDFault(.set("0"))))])
        #expect(q.request(now: 0) == .relay(connectDelay: 0, lastEventID: .set("0")))
    }
}

@Suite struct DisconnectStallTests {
    @Test func rstAfterExactlyNEvents() {
        var p = plan([FaultSpec(.disconnect(DisconnectFault(.afterEvents(3), kind: .rst)))])
        let out = run(&p, [comment(0), event(1), event(2), event(3), event(4)])
        #expect(out.compactMap(\.frameIndex) == [0, 1, 2, 3])
        #expect(out.last == .close(.rst, notBefore: 30 * ms))
        #expect(p.isFinished)
        #expect(p.drainRecords().map(\.action) == ["rst after 3 events"])
    }

    @Test func finAfterNBytesCutsMidFrame() {
        var p = plan([FaultSpec(.disconnect(DisconnectFault(.afterBytes(15), kind: .fin)))])
        let out = run(&p, [event(0), event(1)])
        #expect(written(out) == "data: e0\n\ndata:")
        #expect(out.last == .close(.fin, notBefore: 10 * ms))
        #expect(p.drainRecords().map(\.action) == ["fin after 15 bytes (5 bytes of the frame dropped)"])
    }

    @Test func insideEventAtByte() {
        var p = plan([FaultSpec(.disconnect(DisconnectFault(.insideEvent(2, atByte: 4), kind: .halfClose)))])
        let out = run(&p, [event(0), event(1), event(2)])
        #expect(written(out) == "data: e0\n\ndata")
        #expect(out.last == .close(.halfClose, notBefore: 10 * ms))
    }

    @Test func afterTimeUsesTheTimer() {
        var p = plan([FaultSpec(.disconnect(DisconnectFault(.after(5_000 * ms))))])
        _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 1_000 * ms)
        #expect(p.nextTimer == 6_000 * ms)
        #expect(p.frame(event(0), now: 2_000 * ms).count == 1)
        #expect(p.timer(now: 6_001 * ms) == [.close(.rst, notBefore: 6_001 * ms)])
        #expect(p.nextTimer == nil)
        #expect(p.frame(event(1), now: 7_000 * ms).isEmpty)
    }

    @Test func probabilityIsPerConnection() {
        let spec = FaultSpec(.disconnect(DisconnectFault(.afterEvents(1))), probability: 0.5)
        let armed = (0..<200).filter { plan([spec], seed: UInt64($0)).isPassthrough == false }
        var hits = 0
        for seed in 0..<200 {
            var p = plan([spec], seed: UInt64(seed))
            if case .close = run(&p, [event(0), event(1)], end: false).last { hits += 1 }
        }
        #expect(armed.count == hits)
        #expect((70...130).contains(hits))
    }

    @Test func stallForATimeThenResume() {
        var p = plan([FaultSpec(.stall(StallFault(.afterEvents(1), duration: 10_000 * ms)))])
        let out = run(&p, [event(0), event(1)])
        #expect(out[0].frameIndex == 0)
        #expect(out[1] == .pause(until: 10_000 * ms))
        #expect(out[2] == .write(event(1).raw, notBefore: 10_000 * ms, frameIndex: 1))
        #expect(out[3] == .end(notBefore: 10_000 * ms))
    }

    @Test func stallForeverWithholdsAndRecords() {
        var p = plan([FaultSpec(.stall(StallFault(.afterEvents(2))))])
        let out = run(&p, [event(0), event(1), event(2), event(3)])
        #expect(out.compactMap(\.frameIndex) == [0, 1])
        #expect(out.last == .pause(until: nil))
        #expect(p.isFinished)
        #expect(p.nextTimer == nil)
        #expect(p.drainRecords().map(\.action) == ["stalled after 2 events forever"])
    }

    @Test func stallInsideEventDeliversTheRestLater() {
        var p = plan([FaultSpec(.stall(StallFault(.insideEvent(1, atByte: 3), duration: 50 * ms)))])
        let out = run(&p, [event(0)], end: false)
        #expect(out == [
            .write(bytes("dat"), notBefore: 0, frameIndex: 0), .pause(until: 50 * ms),
            .write(bytes("a: e0\n\n"), notBefore: 50 * ms, frameIndex: 0),
        ])
    }
}

@Suite struct RespondTests {
    @Test func respond503WithRetryAfter() {
        var p = plan([FaultSpec(.respond(RespondFault(status: 503, retryAfter: "1")))])
        guard case .respond(let r, let delay) = p.request(now: 0) else { Issue.record("expected respond"); return }
        #expect(delay == 0)
        #expect(r.status == 503 && r.reason == "Service Unavailable")
        #expect(r.headers.contains(HeaderField(name: "Retry-After", value: "1")))
        #expect(r.headers.contains(HeaderField(name: "Content-Length", value: "0")))
        #expect(r.after == .fin)
        #expect(p.drainRecords().map(\.action) == ["responded 503 (Retry-After: 1)"])
    }

    @Test func emptyStreamThatStaysOpenWithSlowHeaders() {
        var p = plan([FaultSpec(.respond(RespondFault(status: 200, keepOpen: true, slowHeaders: .init(bytes: 1, pause: 50 * ms))))])
        guard case .respond(let r, _) = p.request(now: 0) else { Issue.record("expected respond"); return }
        #expect(r.headers.first == HeaderField(name: "Content-Type", value: "text/event-stream"))
        #expect(!r.headers.contains { $0.name == "Content-Length" })
        #expect(r.after == nil)
        #expect(r.headSlice?.bytes == 1 && r.headSlice?.pause == 50 * ms)
    }

    @Test func status204HasNoBodyNorLength() {
        let r = RespondFault(status: 204, body: bytes("x")).response
        #expect(r.body.isEmpty)
        #expect(!r.headers.contains { $0.name == "Content-Length" || $0.name == "Content-Type" })
    }

    @Test func refuseWinsWhenFirst() {
        var p = plan([FaultSpec(.refuse(RefuseFault())), FaultSpec(.respond(RespondFault(status: 500)))])
        #expect(p.request(now: 0) == .refuse)
    }

    @Test func contentTypeOnGoodStream() {
        var p = plan([FaultSpec(.contentType(ContentTypeFault(.set("text/plain"))))])
        #expect(p.isPassthrough)
        #expect(p.responseHead(status: 200, contentType: "text/event-stream", now: 0).contentType == .set("text/plain"))
    }
}
