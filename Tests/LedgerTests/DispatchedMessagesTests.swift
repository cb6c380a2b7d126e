import Foundation
import SSE
import XCTest

@testable import Ledger

/// The dispatched-message list per connection (`.events` level), for comparing a real client with the
/// spec-exact model message by message through the control API.
final class DispatchedMessagesTests: XCTestCase {
    func testMessagesAreListedInOrderWithTheirMatch() throws {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        let frames = h.upstream(a, "retry: 50\n\n" + events(1...2, type: "tick") + "data: anonymous\n\n" + events(3...3), at: 1)
        h.deliver(a, Array(frames[0...2]), at: 1)
        h.fault(a, frame: 3, "corrupt", .corrupted(.jsonBroken), at: 1)
        h.deliver(a, "data: anonym{ous\n\n", at: 1)
        h.deliver(a, "id: 3\ndata: pay", at: 1)  // torn: never dispatched
        h.close(a, .fault(kind: .rst, atByte: 0), at: 2)

        let c = h.ledger.connection(a)!
        XCTAssertEqual(c.messages, [
            DispatchedMessage(index: 0, message: SSEMessage(type: "tick", data: "payload 1", lastEventId: "1"), intact: true),
            DispatchedMessage(index: 1, message: SSEMessage(type: "tick", data: "payload 2", lastEventId: "2"), intact: true),
            DispatchedMessage(index: 2, message: SSEMessage(type: "message", data: "anonym{ous", lastEventId: "2"), intact: false),
        ])
        XCTAssertEqual(c.prediction.dispatched, 3)
        XCTAssertEqual(c.prediction.intact, 2)
        XCTAssertEqual(c.prediction.unexpected, 1)

        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(h.ledger.connectionJSON(a)!.utf8)) as? [String: Any])
        let list = try XCTUnwrap(json["message_list"] as? [[String: Any]])
        XCTAssertEqual(list.count, 3)
        XCTAssertEqual(list[0]["type"] as? String, "tick")
        XCTAssertEqual(list[0]["data"] as? String, "payload 1")
        XCTAssertEqual(list[0]["last_event_id"] as? String, "1")
        XCTAssertEqual(list[0]["intact"] as? Bool, true)
        XCTAssertEqual(list[2]["index"] as? Int, 2)
        XCTAssertEqual(list[2]["intact"] as? Bool, false)
        XCTAssertEqual(json["message_list_complete"] as? Bool, true)
        // The client report stays small: no message list there.
        let client = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(h.ledger.clientJSON("c")!.utf8)) as? [String: Any])
        let conns = try XCTUnwrap(client["connections"] as? [[String: Any]])
        XCTAssertNil(conns[0]["message_list"])
    }

    func testMessagesAcrossAReconnectCarryTheLastEventID() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        h.relay(a, events(1...2), at: 1)
        h.close(a, at: 2)
        let b = h.open(at: 3100, lastEventID: "2")
        h.respond(b, at: 3100)
        h.relay(b, "data: no id\n\n" + events(3...3), at: 3101)
        h.close(b, .clientClose, at: 3102)
        XCTAssertEqual(h.ledger.connection(b)!.messages.map(\.message), [
            SSEMessage(type: "message", data: "no id", lastEventId: "2"),
            SSEMessage(type: "message", data: "payload 3", lastEventId: "3"),
        ])
        XCTAssertEqual(h.ledger.connection(b)!.messages.map(\.intact), [true, true])
    }

    func testNothingIsListedForAFailedResponseOrAtSummaryLevel() throws {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, status: 503, contentType: "text/plain", at: 0)
        h.deliver(a, "data: not parsed\n\n", at: 1)
        h.close(a, at: 2)
        XCTAssertEqual(h.ledger.connection(a)!.messages, [])

        let s = Harness(level: .summary)
        let b = s.open(at: 0)
        s.respond(b, at: 0)
        s.relay(b, events(1...3), at: 1)
        s.close(b, at: 2)
        XCTAssertEqual(s.ledger.connection(b)!.messages, [])
        XCTAssertEqual(s.ledger.connection(b)!.prediction.dispatched, 3)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.ledger.connectionJSON(b)!.utf8)) as? [String: Any])
        XCTAssertEqual((json["message_list"] as? [Any])?.count, 0)
        XCTAssertEqual(json["message_list_complete"] as? Bool, false)
    }

    func testTheListIsBounded() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        let n = ConnectionLedger.maxKeptMessages + 5
        h.relay(a, String(repeating: "data: x\n\n", count: n), at: 1)
        h.close(a, at: 2)
        let c = h.ledger.connection(a)!
        XCTAssertEqual(c.messages.count, ConnectionLedger.maxKeptMessages)
        XCTAssertEqual(c.prediction.dispatched, n)
        XCTAssertEqual(c.messages.last?.index, ConnectionLedger.maxKeptMessages - 1)
    }
}
