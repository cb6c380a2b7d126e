import HTTP1
import XCTest

/// `BodyTracker.consumeUntilError`: the bytes of a chunked body before the byte that broke its framing are
/// counted (and their payload seen), so a relay can pass them on before acting on the error.
final class BodyTrackerTests: XCTestCase {
    private func run(_ body: String, pieces: Int) -> (consumed: Int, payload: String, failure: HTTPParseError?) {
        var tracker = BodyTracker(.chunked, limits: HTTPLimits())
        let bytes = Array(body.utf8)
        var consumed = 0
        var payload: [UInt8] = []
        var failure: HTTPParseError?
        var i = 0
        while i < bytes.count, failure == nil {
            let piece = Array(bytes[i..<min(bytes.count, i + pieces)])
            let r = piece.withUnsafeBytes { tracker.consumeUntilError($0) { payload += $0 } }
            consumed += r.consumed
            failure = r.failure
            i += pieces
        }
        return (consumed, String(decoding: payload, as: UTF8.self), failure)
    }

    func testChunkDataBeforeABadSizeLineIsCountedWhateverTheSplit() {
        let body = "5\r\nhello\r\nZZ\r\n"
        for pieces in [1, 2, 3, 11, body.utf8.count] {
            let r = run(body, pieces: pieces)
            XCTAssertEqual(r.consumed, 10, "pieces of \(pieces): the bytes up to the bad size line")
            XCTAssertEqual(r.payload, "hello")
            XCTAssertEqual(r.failure, HTTPParseError(status: 400, reason: "invalid chunk size"))
        }
    }

    func testTheErrorCountsNothingOfItsOwnSegment() {
        // The error in the middle of the second chunk's CRLF: everything before the bad byte counts.
        let r = run("3\r\nabc\r\n2\r\nxyQ", pieces: 100)
        XCTAssertEqual(r.consumed, 13)
        XCTAssertEqual(r.payload, "abcxy")
        XCTAssertEqual(r.failure, HTTPParseError(status: 400, reason: "missing CRLF after chunk data"))
    }

    func testAFailedTrackerConsumesNothingMoreAndRepeatsItsError() {
        var tracker = BodyTracker(.chunked, limits: HTTPLimits())
        let first = Array("5\r\nhello\r\nZZ".utf8).withUnsafeBytes { tracker.consumeUntilError($0) { _ in } }
        XCTAssertEqual(first.consumed, 10)
        let again = Array("0\r\n\r\n".utf8).withUnsafeBytes { tracker.consumeUntilError($0) { _ in XCTFail("payload after an error") } }
        XCTAssertEqual(again.consumed, 0)
        XCTAssertEqual(again.failure, first.failure)
        XCTAssertThrowsError(try Array("0\r\n\r\n".utf8).withUnsafeBytes { try tracker.consume($0) { _ in } })
    }

    func testWellFramedBodiesAreUnchanged() {
        let body = "5\r\nhello\r\n0\r\n\r\n"
        var tracker = BodyTracker(.chunked, limits: HTTPLimits())
        let r = Array(body.utf8).withUnsafeBytes { tracker.consumeUntilError($0) { _ in } }
        XCTAssertEqual(r.consumed, body.utf8.count)
        XCTAssertNil(r.failure)
        XCTAssertTrue(tracker.isDone)
    }
}
