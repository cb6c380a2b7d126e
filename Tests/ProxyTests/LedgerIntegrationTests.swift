import Foundation
import HTTP1
import Proxy
import SSE
import XCTest

/// The ledger's predictions against a real client over real sockets.
final class LedgerIntegrationTests: XCTestCase {
    var stack: Stack!

    override func setUpWithError() throws {
        stack = try Stack { config, _ in
            config.profilesDirectory = ShippedProfileTests.directory
            config.profiles = try! ProxyServer.loadProfiles(directory: ShippedProfileTests.directory)
        }
    }

    override func tearDown() { stack = nil }

    /// A spec-exact client: one connection, its bytes through the SSE client model, state carried over.
    struct SpecClient {
        var state = SSEClientState()
        var received: [SSEMessage] = []

        mutating func connect(_ port: Int, _ target: String, client: String, profile: String) throws -> (status: Int, end: SocketError?) {
            let s = try TestSocket(port: port)
            var request = "GET \(target) HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nSputter-Client: \(client)\r\nSputter-Profile: \(profile)\r\n"
            if !state.lastEventID.isEmpty { request += "Last-Event-ID: \(state.lastEventID)\r\n" }
            s.send(request + "\r\n")
            let end = s.readToEnd()
            guard case .complete(let head, let length)? = try? HeadParser.parseResponse(s.received, limits: HTTPLimits()) else { return (0, end) }
            var payload: [UInt8] = []
            if head.headers.first("Transfer-Encoding") == "chunked" {
                var decoder = ChunkedDecoder()
                _ = try? decoder.feed(Array(s.received[length...])) { payload.append(contentsOf: $0) }
            } else {
                payload = Array(s.received[length...])
            }
            guard SSEClientModel.outcome(status: head.status, contentType: head.headers.first("Content-Type")) == .open else { return (head.status, end) }
            var model = SSEClientModel(state: state)
            model.feed(payload)
            model.end()
            received += model.dispatched
            state = model.state
            return (head.status, end)
        }
    }

    func clientReport(_ key: String) throws -> [String: Any] {
        let r = try http(port: stack.controlPort, "GET", "/clients/\(key)")
        XCTAssertEqual(r.status, 200, r.text)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.text.utf8)) as? [String: Any])
    }

    func testSpecExactClientThroughTheReconnectLadderHasNoFindings() throws {
        var client = SpecClient()
        let target = "/events?interval_ms=5&heartbeat_ms=0&count=8&retry=50"
        let first = try client.connect(stack.proxyPort, target, client: "ladder", profile: "reconnect-ladder")
        XCTAssertEqual(first.end?.errno, ECONNRESET)
        XCTAssertEqual(client.state.lastEventID, "3")
        XCTAssertEqual(client.state.reconnectionTimeMs, 50)
        usleep(UInt32(client.state.reconnectionTimeMs + 20) * 1000)   // a spec-exact client waits the reconnection time
        let second = try client.connect(stack.proxyPort, target, client: "ladder", profile: "reconnect-ladder")
        XCTAssertEqual(second.status, 503)   // EventSource fails here and does not reconnect

        let report = try clientReport("ladder")
        let findings = report["findings"] as? [[String: Any]]
        XCTAssertEqual(findings?.count, 0, "\(report)")
        let connections = try XCTUnwrap(report["connections"] as? [[String: Any]])
        XCTAssertEqual(connections.count, 2)
        let p1 = try XCTUnwrap(connections[0]["prediction"] as? [String: Any])
        XCTAssertEqual(p1["last_event_id"] as? String, "3")
        XCTAssertEqual(p1["dispatched"] as? Int, client.received.count)
        XCTAssertEqual(connections[1]["last_event_id_sent"] as? String, "3")
        XCTAssertEqual(connections[1]["expected_last_event_id"] as? String, "3")
        let p2 = try XCTUnwrap(connections[1]["prediction"] as? [String: Any])
        XCTAssertEqual(p2["next"] as? String, "fail")
        XCTAssertEqual(client.received.map(\.lastEventId), ["1", "2", "3"])
        XCTAssertEqual(stack.seenByOrigin().map(\.lastEventID), [nil], "the 503 never reached the origin")
    }

    func testWrongLastEventIDAndEarlyReconnectAreFindingsAboutTheClient() throws {
        var client = SpecClient()
        let target = "/events?interval_ms=5&heartbeat_ms=0&count=20"
        _ = try client.connect(stack.proxyPort, target, client: "sloppy", profile: "abrupt-disconnects")
        XCTAssertEqual(client.state.lastEventID, "5")
        client.state.lastEventID = "2"   // a buggy client resumes from the wrong place, and at once
        _ = try client.connect(stack.proxyPort, target, client: "sloppy", profile: "abrupt-disconnects")

        let report = try clientReport("sloppy")
        let kinds = (report["findings"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } ?? []
        XCTAssertTrue(kinds.contains("wrongLastEventID"), "\(kinds)")
        XCTAssertTrue(kinds.contains("reconnectTooEarly"), "\(kinds)")
        let summary = try XCTUnwrap(report["summary"] as? [String: Any])
        XCTAssertEqual(summary["duplicated_ids"] as? [String], ["3", "4", "5"], "the origin replayed from 3: the client got 3–5 twice")
    }

    func testLedgerFileHasOneValidJSONObjectPerLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let stack = try Stack { config, _ in
            config.profilesDirectory = ShippedProfileTests.directory
            config.profiles = try! ProxyServer.loadProfiles(directory: ShippedProfileTests.directory)
            config.ledgerPath = path
        }
        var client = SpecClient()
        _ = try client.connect(stack.proxyPort, "/events?interval_ms=2&heartbeat_ms=0&count=6", client: "f", profile: "lossy")
        // Flushed at the connection's end: readable now, while Sputter still runs.
        var lines: [Substring] = []
        eventually("the connection's records are flushed") {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            lines = text.split(separator: "\n")
            return lines.contains { $0.contains("\"connection_close\"") }
        }
        for line in lines {
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), String(line))
        }
        let types = Set(lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["type"] as? String })
        XCTAssertTrue(types.isSuperset(of: ["connection_open", "response", "frame", "fault", "delivered", "connection_close"]), "\(types)")
    }
}
