import XCTest

@testable import SSE

/// A `data` line longer than `SSEClientModel.streamDataAfter` is moved to the data buffer as it arrives
/// (held once, not also as a line): the messages, last event ID and pending tail are the same as for the
/// same bytes fed at once, however they are split.
final class LongDataLineTests: XCTestCase {
    private func run(_ text: [UInt8], pieces: Int) -> (messages: [SSEMessage], state: SSEClientState, pending: Bool, largestLine: Int) {
        var model = SSEClientModel()
        var largest = 0
        var i = 0
        while i < text.count {
            let j = min(text.count, i + pieces)
            model.feed(Array(text[i..<j]))
            largest = max(largest, model.partialLineBytes)
            i = j
        }
        return (model.dispatched, model.state, model.hasPendingTail, largest)
    }

    func testLongDataLinesGiveTheSameMessagesHowTheyAreSplit() {
        let big = String(repeating: "0123456789", count: 20_000)  // 200 KB
        let texts = [
            "id: 1\ndata: \(big)\n\n",
            "data:\(big)\ndata: second line\r\n\r\nevent: t\ndata: \(big)\rid: 9\r\r",
            ": comment \(big)\ndata: after\n\n",
            "event: \(big)\ndata: x\n\n",
            "data: \(big)\n",  // unfinished block
            "data: \(big)",  // unfinished line
        ]
        for text in texts {
            let bytes = Array(text.utf8)
            let whole = run(bytes, pieces: bytes.count)
            for pieces in [1_000, 4_096, 16_385, 70_000] {
                let split = run(bytes, pieces: pieces)
                XCTAssertEqual(split.messages, whole.messages, "pieces of \(pieces)")
                XCTAssertEqual(split.state, whole.state)
                XCTAssertEqual(split.pending, whole.pending)
                if text.hasPrefix("data") {
                    XCTAssertLessThan(split.largestLine, SSEClientModel.streamDataAfter + pieces, "the data line is not held as a line")
                }
            }
        }
        XCTAssertEqual(run(Array(texts[1].utf8), pieces: 1000).messages.map(\.data), [big + "\nsecond line", big])
        XCTAssertEqual(run(Array(texts[1].utf8), pieces: 1000).state.lastEventID, "9")
    }

    func testAnUnfinishedLongDataLineIsDiscardedAtTheEnd() {
        var model = SSEClientModel()
        model.feed(Array("data: \(String(repeating: "x", count: 40_000))".utf8))
        XCTAssertTrue(model.hasPendingTail)
        model.end()
        model.feed(Array("\n\n".utf8))
        XCTAssertEqual(model.dispatched, [])
    }
}
