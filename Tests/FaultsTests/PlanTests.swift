import SSE
import Testing

@testable import Faults

@Suite struct PlanTests {
    @Test func noFaultsIsPassthroughAndWritesRaw() {
        var p = plan([])
        #expect(p.isPassthrough)
        #expect(p.request(now: 0) == .relay(connectDelay: 0, lastEventID: .keep))
        let head = p.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        #expect(head == HeadDecision(firstByteDelay: 0, contentType: .keep, streamFaults: false))
        let f = event(0)
        #expect(p.frame(f, now: 5) == [.write(f.raw, notBefore: 5, frameIndex: 0)])
        #expect(p.upstreamEnded(now: 9) == [.end(notBefore: 9)])
        #expect(p.frame(event(1), now: 10) == [])
        #expect(p.drainRecords().isEmpty)
    }

    @Test func unmatchedKindsPassUntouched() {
        var p = plan([FaultSpec(.drop(DropFault()))])
        #expect(!p.isPassthrough)
        let c = comment(0)
        #expect(p.frame(c, now: 3) == [.write(c.raw, notBefore: 3, frameIndex: 0)])
        #expect(p.frame(event(1), now: 4) == [])
    }

    @Test func streamFaultsOnlyOnEventStreams() {
        var p = plan([FaultSpec(.drop(DropFault()))])
        #expect(p.responseHead(status: 200, contentType: "Text/Event-Stream; charset=utf-8", now: 0).streamFaults)
        var q = plan([FaultSpec(.drop(DropFault()))])
        #expect(!q.responseHead(status: 503, contentType: "text/event-stream", now: 0).streamFaults)
        var r = plan([FaultSpec(.drop(DropFault()))])
        #expect(!r.responseHead(status: 200, contentType: "application/json", now: 0).streamFaults)
    }

    @Test func probabilityZeroIsPassthrough() {
        #expect(plan([FaultSpec(.drop(DropFault()), probability: 0)]).isPassthrough)
        #expect(plan([FaultSpec(.respond(RespondFault(status: 503)))]).isPassthrough)
    }

    @Test func selectorByTypeIdAndIndex() {
        let sel = FaultSelector(eventTypes: ["tick"], id: Glob("a-*"))
        var p = plan([FaultSpec(.drop(DropFault()), selector: sel)])
        let frames = [
            event(0, id: "a-1", type: "tick"), event(1, id: "b-1", type: "tick"), event(2, id: "a-2"),
            event(3, id: "a-3", type: "tick"),
        ]
        let out = run(&p, frames)
        #expect(out.compactMap(\.frameIndex) == [1, 2])
        var q = plan([FaultSpec(.drop(DropFault()), selector: FaultSelector(idRange: IntRange(from: 2, to: 3)))])
        let out2 = run(&q, (0..<5).map { event($0, id: String($0)) })
        #expect(out2.compactMap(\.frameIndex) == [0, 1, 4])
        var r = plan([FaultSpec(.drop(DropFault()), selector: FaultSelector(eventIndex: IntRange(from: 1, to: 1)))])
        let out3 = run(&r, [comment(0), event(1), event(2), comment(3)])
        #expect(out3.compactMap(\.frameIndex) == [0, 1, 3])
        var s = plan([FaultSpec(.drop(DropFault()), selector: FaultSelector(kinds: [.event, .commentOnly], frameIndex: IntRange(from: 2)))])
        #expect(run(&s, [comment(0), event(1), event(2), comment(3)]).compactMap(\.frameIndex) == [0, 1])
    }

    @Test func globMatching() {
        #expect(Glob("/events*").matches("/events/stream"))
        #expect(Glob("a?c").matches("abc"))
        #expect(!Glob("a?c").matches("ac"))
        #expect(Glob("[0-9]*").matches("42"))
        #expect(!Glob("[!0-9]*").matches("42"))
        #expect(Glob("*").matches(""))
        #expect(!Glob("abc").matches("abcd"))
        #expect(Glob("*b*d").matches("abcbd"))
    }

    @Test func emissionsNeverGoBackInTime() {
        var p = plan([FaultSpec(.delay(DelayFault(latency: 100 * ms)), selector: FaultSelector(kinds: [.event]))])
        let out = run(&p, [event(0), comment(1)])
        #expect(out.map(\.at) == [100 * ms, 100 * ms, 100 * ms])
    }

    @Test func determinismSameSeedSameDecisions() {
        let faults = [
            FaultSpec(.drop(DropFault()), probability: 0.5),
            FaultSpec(.delay(DelayFault(latency: 10 * ms, jitter: .lognormal(median: 20 * ms, sigma: 0.8)))),
            FaultSpec(.corrupt(CorruptFault(.garbage(length: 8))), probability: 0.3),
        ]
        let frames = (0..<64).map { event($0, id: String($0)) }
        func once(_ seed: UInt64) -> ([Emission], [FaultRecord]) {
            var p = plan(faults, seed: seed)
            let e = run(&p, frames)
            return (e, p.drainRecords())
        }
        let a = once(42), b = once(42), c = once(43)
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        #expect(a.0 != c.0)
        let droppedA = Set(a.1.filter { $0.fault == "drop" }.compactMap(\.frameIndex))
        let droppedC = Set(c.1.filter { $0.fault == "drop" }.compactMap(\.frameIndex))
        #expect(droppedA != droppedC)
        #expect(!droppedA.isEmpty && droppedA.count < 64)
    }

    @Test func randomSourceDependsOnClientAndAttempt() {
        let a = ConnectionContext(clientKey: "x", attempt: 1, seed: 7).connectionSeed
        #expect(a == ConnectionContext(clientKey: "x", attempt: 1, seed: 7).connectionSeed)
        #expect(a != ConnectionContext(clientKey: "x", attempt: 2, seed: 7).connectionSeed)
        #expect(a != ConnectionContext(clientKey: "y", attempt: 1, seed: 7).connectionSeed)
        var r = SplitMix64(seed: 0)
        #expect(r.next() == 0xE220_A839_7B1D_CDAF)
    }

    @Test func addingAFaultKeepsEarlierFaultsDraws() {
        let drop = FaultSpec(.drop(DropFault()), probability: 0.5)
        let frames = (0..<32).map { event($0) }
        var p = plan([drop])
        var q = plan([drop, FaultSpec(.duplicate(DuplicateFault()), probability: 0.5)])
        _ = run(&p, frames)
        _ = run(&q, frames)
        let a = p.drainRecords().filter { $0.fault == "drop" }
        let b = q.drainRecords().filter { $0.fault == "drop" }
        #expect(a == b)
    }

    @Test func throttleRunsAfterFrameFaultsWhateverTheOrder() {
        var p = plan([
            FaultSpec(.throttle(ThrottleFault(.drip(bytes: 4, pause: ms)))),
            FaultSpec(.drop(DropFault()), selector: FaultSelector(eventIndex: IntRange(from: 0, to: 0))),
        ])
        let out = run(&p, [event(0, "aaaa"), event(1, "bbbb")])
        #expect(written(out) == "data: bbbb\n\n")
        #expect(out.filter { $0.bytes != nil }.count == 3)
    }
}
