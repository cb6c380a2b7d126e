import Faults
import HTTP1
import Ledger
import Testing

@testable import Session

/// A compressed event stream cannot be split into frames: it is relayed unchanged, never silently.
@Suite struct EncodedStreamTests {
    @Test func gzipEventStreamIsRelayedWithAWarningAndARecord() {
        var h = Harness()
        let acts = h.respond(faults: [FaultSpec(.drop(DropFault(everyNth: 2)))],
                             responseHead(200, eventStream + [("Content-Encoding", "gzip")]))
        #expect(h.state == "relaying")
        #expect(acts.body?.mode.name == "observed")
        let faults = acts.ledger.compactMap { if case .fault(let r) = $0 { return r } else { return nil } }
        #expect(faults.map(\.effect) == [.encodedNotFaulted(contentEncoding: "gzip")])
        let warnings = acts.compactMap { if case .log(let e) = $0, e.level == .warning { return e.message } else { return nil } }
        #expect(warnings == ["event stream not faulted: compressed upstream response"])
        #expect(acts.written.contains("Content-Encoding: gzip"))
    }

    @Test func identityEncodingIsShapedAsUsual() {
        var h = Harness()
        let acts = h.respond(faults: [FaultSpec(.drop(DropFault(everyNth: 2)))],
                             responseHead(200, eventStream + [("Content-Encoding", "identity")]))
        #expect(h.state == "shaping")
        #expect(!acts.ledger.contains { if case .fault(let r) = $0 { return r.fault == "sputter" } else { return false } })
    }
}
