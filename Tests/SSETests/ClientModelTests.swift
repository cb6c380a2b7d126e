import XCTest
@testable import SSE

/// One test per rule, for `SSEClientModel` (what a spec-exact EventSource dispatches and keeps).
final class ClientModelTests: XCTestCase {
    func msg(_ data: String, type: String = "message", id: String = "") -> SSEMessage {
        SSEMessage(type: type, data: data, lastEventId: id)
    }

    func testDefaults() {
        let m = SSEClientModel(state: SSEClientState())
        XCTAssertEqual(m.state, SSEClientState(lastEventID: "", reconnectionTimeMs: 3000))
        XCTAssertEqual(SSEClientState.defaultReconnectionTimeMs, 3000)
    }

    func testEventTypeDefaultsToMessageAndDataLinesJoin() {
        let m = client("data: a\ndata: b\n\nevent: add\ndata: c\n\nevent:\ndata: d\n\n")
        XCTAssertEqual(m.dispatched, [msg("a\nb"), msg("c", type: "add"), msg("d")])
    }

    func testInvalidUTF8() {
        let m = client([b("data: a") + [0xFF] + b("\nevent: t") + [0xC3] + b("\n\n")])
        XCTAssertEqual(m.dispatched, [msg("a\u{FFFD}", type: "t\u{FFFD}")])
    }

    func testBOMStrippedOnlyAtStart() {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let m = client([bom + b("data: a\n\n") + bom + b("data: b\n\n")])
        XCTAssertEqual(m.dispatched, [msg("a")])
        // Split BOM.
        let split = client([[0xEF], [0xBB], [0xBF] + b("data: a\n\n")])
        XCTAssertEqual(split.dispatched, [msg("a")])
        XCTAssertEqual(client([[0xEF, 0xBB], b("data: a\n\n")]).dispatched, [])
    }

    func testLineEnds() {
        for sep in ["\n", "\r\n", "\r"] {
            let m = client("data: a" + sep + "data: b" + sep + sep)
            XCTAssertEqual(m.dispatched, [msg("a\nb")], sep.debugDescription)
        }
        let split = client([b("data: a\r"), b("\n"), b("\r"), b("\ndata: b\r"), b("\r")])
        XCTAssertEqual(split.dispatched, [msg("a"), msg("b")])
        // CR LF split is one line end, never an empty line.
        XCTAssertEqual(client([b("data: a\r"), b("\ndata: b\r\n\r\n")]).dispatched, [msg("a\nb")])
    }

    func testCommentsIgnored() {
        XCTAssertEqual(client(": x\ndata: a\n:\n\n: only\n\n").dispatched, [msg("a")])
    }

    func testColonAndSpaceRules() {
        let m = client("data:a:b\ndata:  c\ndata\ndata:\n\n")
        XCTAssertEqual(m.dispatched, [msg("a:b\n c\n\n")])
    }

    func testFieldNamesCaseSensitiveAndUnknownIgnored() {
        let m = client("DATA: a\nId: 1\nfoo: bar\n\ndata: b\n\n")
        XCTAssertEqual(m.dispatched, [msg("b")])
        XCTAssertEqual(m.state.lastEventID, "")
    }

    func testIdWithNULIgnored() {
        let m = client("id: 1\n\nid: 2\u{0}\ndata: a\n\n")
        XCTAssertEqual(m.dispatched, [msg("a", id: "1")])
        XCTAssertEqual(m.state.lastEventID, "1")
    }

    func testRetryOnlyDigits() {
        XCTAssertEqual(client("retry: 1234\n\n").state.reconnectionTimeMs, 1234)
        XCTAssertEqual(client("retry: 12a\n\n").state.reconnectionTimeMs, 3000)
        XCTAssertEqual(client("retry:\n\n").state.reconnectionTimeMs, 3000)
        XCTAssertEqual(client("retry: 99999999999999999999\n\n").state.reconnectionTimeMs, 3000)
        XCTAssertEqual(client("retry:0\n\n").state.reconnectionTimeMs, 0)
    }

    func testRetryTakesEffectWhenItsLineIsProcessedNotAtDispatch() {
        // Spec: "set the event stream's reconnection time to that integer" while processing the field.
        XCTAssertEqual(client("data: a\nretry: 500\n").state.reconnectionTimeMs, 500)
        // A retry line whose line end never arrived is not processed.
        XCTAssertEqual(client("retry: 500").state.reconnectionTimeMs, 3000)
    }

    func testDispatchSetsLastEventIDEvenWithoutData() {
        let m = client("id: 5\n\n")
        XCTAssertEqual(m.dispatched, [])
        XCTAssertEqual(m.state.lastEventID, "5")
        // The buffer persists: later events without id carry it.
        let n = client("id: 5\n\ndata: x\n\n")
        XCTAssertEqual(n.dispatched, [msg("x", id: "5")])
        // An empty id resets it.
        XCTAssertEqual(client("id: 5\n\nid\ndata: y\n\n").dispatched, [msg("y", id: "")])
    }

    func testLastEventIDBufferSetAtFieldCopiedAtDispatch() {
        var m = SSEClientModel(state: SSEClientState())
        m.feed(b("id: 1\ndata: a\n"))
        XCTAssertEqual(m.state.lastEventID, "", "not before the empty line")
        m.feed(b("\n"))
        XCTAssertEqual(m.state.lastEventID, "1")
        XCTAssertEqual(m.dispatched, [msg("a", id: "1")])
    }

    func testEmptyDataBufferFiresNothing() {
        let m = client("event: x\n\n: c\n\nfoo\n\n")
        XCTAssertEqual(m.dispatched, [])
        // The event type buffer is cleared too: it does not leak into the next event.
        XCTAssertEqual(client("event: x\n\ndata: a\n\n").dispatched, [msg("a")])
    }

    func testOneTrailingLFRemoved() {
        XCTAssertEqual(client("data\n\n").dispatched, [msg("")])
        XCTAssertEqual(client("data\ndata\n\n").dispatched, [msg("\n")])
    }

    func testIncompleteEventDiscardedWithItsId() {
        let m = client("id: 1\ndata: a\n\nid: 2\ndata: b\n")
        XCTAssertEqual(m.dispatched, [msg("a", id: "1")])
        XCTAssertEqual(m.state.lastEventID, "1")
        // Bytes after end() are ignored.
        var n = client("data: a\n")
        n.feed(b("\n"))
        XCTAssertEqual(n.dispatched, [])
    }

    func testReconnectionCarriesState() {
        let first = client("id: 7\nretry: 100\ndata: a\n\n")
        let second = client("data: b\n\n", state: first.state)
        XCTAssertEqual(second.dispatched, [msg("b", id: "7")])
        XCTAssertEqual(second.state, SSEClientState(lastEventID: "7", reconnectionTimeMs: 100))
        var literal = SSEClientModel(state: first.state, lastEventIDBufferStartsEmpty: true)
        literal.feed(b("data: b\n\n"))
        XCTAssertEqual(literal.dispatched, [msg("b", id: "")])
    }

    func testOutcome() {
        XCTAssertEqual(SSEClientModel.outcome(status: 200, contentType: "text/event-stream"), .open)
        XCTAssertEqual(SSEClientModel.outcome(status: 200, contentType: "Text/Event-Stream; charset=utf-8"), .open)
        XCTAssertEqual(SSEClientModel.outcome(status: 200, contentType: " text/event-stream ;x=y"), .open)
        for (status, type) in [
            (204, "text/event-stream"), (503, "text/event-stream"), (201, "text/event-stream"),
            (301, "text/event-stream"), (200, "text/plain"), (200, "text/event-streams"), (200, ""),
        ] {
            guard case .fail = SSEClientModel.outcome(status: status, contentType: type) else {
                return XCTFail("\(status) \(type) should fail")
            }
        }
        guard case .fail = SSEClientModel.outcome(status: 200, contentType: nil) else { return XCTFail() }
    }
}
