import SSE
import XCTest

@testable import Ledger

/// The rebasing wrapper must dispatch exactly what one `SSEClientModel` fed the whole stream dispatches.
final class PredictingClientTests: XCTestCase {
    private let streams: [[UInt8]] = [
        Array("\u{FEFF}id: 1\ndata: a\n\n: c\n\nretry: 1500\nevent: t\ndata: b\ndata: c\n\r\n\rid: 2\rdata: d\r\r".utf8),
        Array("data: x\r\n\r\n\u{FEFF}data: bom mid-stream is content\n\nid\ndata: reset\n\ndata: after\n\n".utf8),
        Array("id: 5\n\ndata: no id\n\nid: 6\ndata: torn".utf8),
        [0xEF, 0xBB, 0x0A, 0x0A] + Array("data: not a bom\n\n".utf8) + [0x0D],
        Array(String(repeating: "id: 7\ndata: many\n\n", count: 200).utf8) + Array("data: end\n\n".utf8),
    ]

    private func reference(_ bytes: [UInt8], start: SSEClientState) -> ([SSEMessage], SSEClientState) {
        var m = SSEClientModel(state: start)
        m.feed(bytes)
        m.end()
        return (m.dispatched, m.state)
    }

    private func predicted(_ bytes: [UInt8], start: SSEClientState, chunk: Int, rebaseAfter: Int) -> ([SSEMessage], SSEClientState) {
        var p = PredictingClient(state: start, rebaseAfter: rebaseAfter)
        var out: [SSEMessage] = []
        var i = 0
        while i < bytes.count {
            let j = min(bytes.count, i + chunk)
            Array(bytes[i..<j]).withUnsafeBytes { p.feed($0) { out.append($0) } }
            i = j
        }
        _ = p.end()
        return (out, p.state)
    }

    func testSameAsOneModelForEverySplitAndRebaseRate() {
        let start = SSEClientState(lastEventID: "0", reconnectionTimeMs: 3000)
        for (n, s) in streams.enumerated() {
            let want = reference(s, start: start)
            for chunk in [1, 2, 3, 7, 64, s.count] {
                for rebase in [1, 2, 64] {
                    let got = predicted(s, start: start, chunk: chunk, rebaseAfter: rebase)
                    XCTAssertEqual(got.0, want.0, "stream \(n), chunk \(chunk), rebase \(rebase)")
                    XCTAssertEqual(got.1, want.1, "stream \(n), chunk \(chunk), rebase \(rebase)")
                }
            }
        }
    }

    func testPendingTail() {
        var p = PredictingClient(state: SSEClientState())
        Array("data: a\n\n: comment".utf8).withUnsafeBytes { p.feed($0) { _ in } }
        XCTAssertFalse(p.hasPendingTail, "a partial comment line is not an event")
        Array("\ndata: b".utf8).withUnsafeBytes { p.feed($0) { _ in } }
        XCTAssertTrue(p.hasPendingTail)
        XCTAssertTrue(p.end())
    }

    /// At summary level a long stream keeps bounded memory per connection: frames kept are the faulted
    /// ones, and the client model is rebased.
    func testSummaryLevelLongStreamStaysBounded() {
        let h = Harness(level: .summary)
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        for i in 1...5_000 {
            let frames = h.upstream(a, "id: \(i)\ndata: event \(i)\n\n", at: UInt64(i))
            if i % 1000 == 0 {
                h.fault(a, frame: frames[0].index, "drop", "dropped", at: UInt64(i))
            } else {
                h.deliver(a, frames, at: UInt64(i))
            }
        }
        let c = h.ledger.connectionsByID[a]!
        XCTAssertEqual(c.frames.map(\.index), [999, 1999, 2999, 3999, 4999])
        XCTAssertLessThanOrEqual(c.recent.count, ConnectionLedger.recentFrames)
        XCTAssertEqual(h.records.filter { $0.type == "frame" }.count, 5)
        XCTAssertLessThanOrEqual(c.predictor!.heldMessages, 64)
        h.close(a, at: 6000)
        let s = h.summary()
        XCTAssertEqual(s.expected, 5000)
        XCTAssertEqual(s.missingIDs, ["1000", "2000", "3000", "4000", "5000"])
        XCTAssertEqual(h.ledger.connection(a)!.prediction.lastEventID, "4999")
        XCTAssertEqual(h.ledger.connection(a)!.prediction.dispatched, 4995)
    }
}
