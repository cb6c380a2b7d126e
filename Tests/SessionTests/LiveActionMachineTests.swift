import Faults
import HTTP1
import Ledger
import Testing

@testable import Session

/// The control API's live actions as machine inputs: what applies where, and how each ends or goes on.
@Suite struct LiveActionMachineTests {
    private func liveCommands(_ acts: [Act]) -> [LiveCommand] {
        acts.compactMap { if case .live(let c) = $0 { return c } else { return nil } }
    }

    private let drop = [FaultSpec(.drop(DropFault(everyNth: 2)))]

    @Test func rstCutNowEndsAPassthroughStreamAtOnceAndRecordsTheByteCount() {
        var h = Harness()
        h.respond(responseHead(200, eventStream))
        #expect(h.state == "relaying")
        let acts = h.send(.live(.cut(.rst, afterEvents: nil), delivered: 120))
        #expect(acts.closed?.kind == .rst)
        #expect(acts.ended?.end == .fault(kind: .rst, atByte: 120))
        #expect(h.state == "closed")
        #expect(liveCommands(acts).isEmpty, "a cut now needs no shaper")
    }

    @Test func finCutNowEndsAShapedStreamWithFin() {
        var h = Harness()
        h.respond(faults: drop, responseHead(200, eventStream))
        #expect(h.state == "shaping")
        let acts = h.send(.live(.cut(.fin, afterEvents: nil), delivered: 7))
        #expect(acts.closed?.kind == .fin)
        #expect(acts.ended?.end == .fault(kind: .fin, atByte: 7))
    }

    @Test func cleanCutGoesThroughTheShaperSoItLandsBetweenFrames() {
        var h = Harness()
        h.respond(faults: drop, responseHead(200, eventStream))
        let acts = h.send(.live(.cut(.clean, afterEvents: nil), delivered: 0))
        #expect(acts.steps == [.live, .pumpShaper])
        #expect(liveCommands(acts) == [.cut(.clean, afterEvents: nil)])
        #expect(h.state == "shaping", "the stream goes on until the shaper says where the cut lands")
        let end = h.send(.shaperPumped(.cut(.clean), backlog: 0, delivered: 300))
        #expect(end.closed?.kind == .fin)
        #expect(end.ended?.end == .fault(kind: .fin, atByte: 300))
    }

    @Test func cutAfterEventsOnAShapedStreamIsHandedToTheShaper() {
        var h = Harness()
        h.respond(faults: drop, responseHead(200, eventStream))
        let acts = h.send(.live(.cut(.rst, afterEvents: 3), delivered: 0))
        #expect(liveCommands(acts) == [.cut(.rst, afterEvents: 3)])
        #expect(acts.closed == nil)
        let end = h.send(.shaperPumped(.cut(.rst), backlog: 0, delivered: 90))
        #expect(end.closed?.kind == .rst)
    }

    @Test func aPassthroughStreamSwitchesToShapingForEverythingButACutNow() {
        for command: LiveCommand in [.stall(heartbeats: true), .resume, .inject(Array("data: x\n\n".utf8)), .faults(drop),
                                     .cut(.clean, afterEvents: nil), .cut(.fin, afterEvents: 2)] {
            var h = Harness()
            h.respond(responseHead(200, eventStream))
            let acts = h.send(.live(command, delivered: 0))
            // The command first (the driver holds it), then the switch, which answers with `.becameShaped`.
            #expect(acts.steps == [.live, .becomeShaped], "\(command)")
            #expect(h.state == "relaying")
            #expect(h.send(.becameShaped).steps == [.pumpShaper])
            #expect(h.state == "shaping")
        }
    }

    @Test func aSwitchedStreamEndsWithItsConnection() {
        var h = Harness()
        h.respond(responseHead(200, eventStream))
        h.send(.live(.stall(heartbeats: false), delivered: 0))
        h.send(.becameShaped)
        // The upstream's clean end: the shaper finishes and the connection closes (no keep-alive once shaped).
        let acts = h.send(.shapedBodyIngested(upstreamDone: true))
        #expect(acts.steps == [.finishShaper, .closeUpstream, .pumpShaper])
        let end = h.send(.shaperPumped(.close(.fin, byFault: false), backlog: 0, delivered: 10))
        #expect(end.closed?.kind == .fin)
        #expect(end.ended?.end == .upstreamEnd)
    }

    @Test func aStalledShaperHoldsTheUpstreamUnderBackPressureAndResumeLetsItGo() {
        var h = Harness()
        h.respond(faults: drop, responseHead(200, eventStream))
        h.send(.live(.stall(heartbeats: false), delivered: 0))
        // The shaper writes nothing while stalled (`.blocked`): its queue grows to the watermark.
        #expect(h.send(.shaperPumped(.blocked, backlog: 2000, delivered: 0)).steps == [.pause(.upstream)])
        #expect(h.send(.live(.resume, delivered: 0)).steps == [.live, .pumpShaper])
        #expect(h.send(.shaperPumped(.idle, backlog: 0, delivered: 2000)).steps == [.resume(.upstream)])
    }

    @Test func liveActionsOutsideAnOpenEventStreamDoNothing() {
        var h = Harness()
        #expect(h.send(.live(.cut(.rst, afterEvents: nil), delivered: 0)).isEmpty, "no request yet")
        h.begin()
        #expect(h.send(.live(.stall(heartbeats: false), delivered: 0)).isEmpty, "connecting")
        var plain = Harness()
        plain.respond(responseHead(200, [("Content-Length", "5")]))
        #expect(plain.state == "relaying")
        #expect(plain.send(.live(.cut(.rst, afterEvents: nil), delivered: 0)).isEmpty, "not an event stream")
        #expect(plain.send(.becameShaped).isEmpty)
        #expect(plain.state == "relaying")
    }
}
