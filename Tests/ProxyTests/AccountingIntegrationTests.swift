import Foundation
import Ledger
import Proxy
import SSE
import XCTest

/// The accounting after a cut and the observed-messages diff, over real sockets (the shipped profiles' stack).
extension LedgerIntegrationTests {
    /// One run: reset, one connection of a fast finite stream under `abrupt-disconnects`, the ledger's summary.
    private func cutStreamRun(_ key: String) throws -> (ClientSummary, LedgerIntegrationTests.SpecClient) {
        XCTAssertEqual(try http(port: stack.controlPort, "POST", "/reset").status, 200)
        var client = LedgerIntegrationTests.SpecClient()
        _ = try client.connect(stack.proxyPort, "/events?count=50&interval_ms=0&heartbeat_ms=0", client: key, profile: "abrupt-disconnects")
        var summary: ClientSummary?
        eventually("the connection's close is recorded") {
            summary = stack.sputter.client(key)?.summary
            return summary.map { $0.connections == 1 && $0.openConnections == 0 } ?? false
        }
        return (try XCTUnwrap(summary), client)
    }

    func testTwentyRunsOfACutFastStreamGiveTheSameSummary() throws {
        let (first, _) = try cutStreamRun("same")
        XCTAssertEqual(first.expected, 5, first.verdict)
        XCTAssertEqual(first.received, 5, first.verdict)
        XCTAssertEqual(first.missingIDs, [])
        var readPast: [Int] = []
        for n in 2...20 {
            let (summary, _) = try cutStreamRun("same")
            XCTAssertEqual(summary, first, "run \(n)")
            readPast.append(stack.sputter.client("same")?.connections.first?.eventsAfterCut ?? -1)
        }
        XCTAssertFalse(readPast.contains(-1))
    }

    private func messagesJSON(_ messages: [SSEMessage]) -> String {
        let list = messages.map { ["type": $0.type, "data": $0.data, "id": $0.lastEventId, "connection": 1] as [String: Any] }
        return String(decoding: try! JSONSerialization.data(withJSONObject: ["messages": list]), as: UTF8.self)
    }

    private func observed(_ key: String, _ body: String) throws -> (Int, [String: Any]) {
        let r = try http(port: stack.controlPort, "POST", "/clients/\(key)/observed", body: body)
        return (r.status, try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.text.utf8)) as? [String: Any], r.text))
    }

    func testObservedMessagesAreDiffedAgainstASpecExactClient() throws {
        let (_, client) = try cutStreamRun("seen")
        XCTAssertFalse(client.received.isEmpty)
        let (status, ok) = try observed("seen", messagesJSON(client.received))
        XCTAssertEqual(status, 200)
        XCTAssertEqual(ok["ok"] as? Bool, true, "\(ok)")
        XCTAssertEqual(ok["missing"] as? Int, 0)
        XCTAssertEqual(ok["differs"] as? Int, 0)

        var wrong = client.received
        wrong.remove(at: 0)
        wrong[0].data = "garbled"
        let (_, diff) = try observed("seen", messagesJSON(wrong))
        XCTAssertEqual(diff["ok"] as? Bool, false)
        XCTAssertEqual(diff["missing"] as? Int, 1, "\(diff)")
        XCTAssertEqual(diff["differs"] as? Int, 1, "\(diff)")
        let entries = try XCTUnwrap(diff["diff"] as? [[String: Any]])
        XCTAssertEqual(entries.first?["kind"] as? String, "missing")
        XCTAssertEqual(entries.first?["index"] as? Int, 0)

        let (badStatus, bad) = try observed("seen", "{\"messages\": [{\"type\": \"message\"}]}")
        XCTAssertEqual(badStatus, 400)
        XCTAssertEqual(bad["error"] as? String, "messages[0].data: expected a string")
        let (unknownStatus, _) = try observed("nobody", "{\"messages\": []}")
        XCTAssertEqual(unknownStatus, 404)
    }
}
