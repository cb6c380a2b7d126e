import EventLoop
import Foundation
import HTTP1
import Profiles
import Proxy
import SSE
import XCTest

/// Every shipped profile through real sockets in front of the demo origin: the fault is visible on the wire.
final class ShippedProfileTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Profiles").path

    struct Fetch {
        var status: Int
        var head: ResponseHead
        /// Payload the client received (de-chunked), and how the connection ended (nil: clean EOF).
        var body: [UInt8]
        var end: SocketError?
        var text: String { String(decoding: body, as: UTF8.self) }
        /// What a spec-exact EventSource dispatched from it.
        var messages: [SSEMessage] {
            var model = SSEClientModel(state: SSEClientState())
            model.feed(body)
            model.end()
            return model.dispatched
        }
        var ids: [String] { messages.map(\.lastEventId) }
    }

    var stack: Stack!

    override func setUpWithError() throws {
        stack = try Stack { config, _ in
            config.profilesDirectory = Self.directory
            config.profiles = try! ProxyServer.loadProfiles(directory: Self.directory)
        }
    }

    override func tearDown() { stack = nil }

    /// One stream through the proxy; reads until the connection ends (or `readTimeout` of silence, for stalls).
    func fetch(_ profile: String, _ query: String, client: String = UUID().uuidString, headers: [String] = [], readTimeout: Int = 20) throws -> Fetch {
        let s = try TestSocket(port: stack.proxyPort, timeout: readTimeout)
        var request = "GET /events?\(query)&sputter_profile=\(profile)&sputter_client=\(client) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        for h in headers { request += h + "\r\n" }
        s.send(request + "\r\n")
        let end = s.readToEnd()
        guard case .complete(let head, let length)? = try? HeadParser.parseResponse(s.received, limits: HTTPLimits()) else {
            return Fetch(status: 0, head: ResponseHead(version: .http11, status: 0, reason: "", headers: HTTPHeaders()), body: [], end: end)
        }
        var raw = Array(s.received[length...])
        if head.headers.first("Transfer-Encoding") == "chunked" {
            var decoder = ChunkedDecoder()
            var payload: [UInt8] = []
            _ = try? decoder.feed(raw) { payload.append(contentsOf: $0) }
            raw = payload
        }
        return Fetch(status: head.status, head: head, body: raw, end: end)
    }

    func ids(_ range: ClosedRange<Int>) -> [String] { range.map(String.init) }

    func testEveryShippedProfileLoads() throws {
        let library = try ProfileLibrary.load(directory: Self.directory)
        XCTAssertEqual(library.names, ["abrupt-disconnects", "buffering-intermediary", "duplicates-and-reorder", "gateway-restart",
                                       "heartbeat-loss", "jittery-mobile", "lossy", "malformed-frames", "passthrough", "reconnect-ladder",
                                       "retry-chaos", "slow-network", "stale-ids", "stall", "stop-with-204", "torn-events"])
    }

    func testPassthrough() throws {
        let f = try fetch("passthrough", "interval_ms=2&count=10")
        XCTAssertEqual(f.status, 200)
        XCTAssertNil(f.end)
        XCTAssertEqual(f.ids, ids(1...10))
    }

    func testAbruptDisconnectsResetsAfterExactlyFiveEvents() throws {
        let f = try fetch("abrupt-disconnects", "interval_ms=2&heartbeat_ms=0")
        XCTAssertEqual(f.end?.errno, ECONNRESET)
        XCTAssertEqual(f.ids, ids(1...5))
    }

    func testBufferingIntermediaryReleasesInBurstsOfFive() throws {
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events?interval_ms=40&heartbeat_ms=0&count=10&stamp=1&sputter_profile=buffering-intermediary HTTP/1.1\r\nHost: x\r\n\r\n")
        // Event 1 cannot reach the client before the origin has sent event 5 (causal, not timed).
        XCTAssertTrue(try s.read(until: "\"n\":1,"))
        let firstSeenAt = monotonicNanos()
        XCTAssertNil(s.readToEnd())
        let text = String(decoding: s.received, as: UTF8.self)
        guard let sent5 = text.range(of: "\"n\":5,\"sent_ns\":").map({ text[$0.upperBound...].prefix { $0.isNumber } }), let t5 = UInt64(sent5) else {
            return XCTFail("event 5 missing: \(text)")
        }
        XCTAssertGreaterThanOrEqual(firstSeenAt, t5, "event 1 arrived before the origin sent event 5: not buffered")
    }

    func testDuplicatesAndReorder() throws {
        let f = try fetch("duplicates-and-reorder", "interval_ms=2&heartbeat_ms=0&count=12")
        XCTAssertEqual(f.ids, ["1", "2", "3", "3", "4", "5", "7", "6", "8", "9", "9", "10", "12", "11"])
    }

    func testGatewayRestartLadder() throws {
        let first = try fetch("gateway-restart", "interval_ms=2&heartbeat_ms=0", client: "gw")
        XCTAssertEqual(first.ids, ids(1...4))
        XCTAssertNil(first.end, "attempt 1 ends with FIN")
        let second = try fetch("gateway-restart", "interval_ms=2", client: "gw", headers: ["Last-Event-ID: 4"])
        XCTAssertEqual(second.status, 503)
        XCTAssertEqual(second.head.headers.first("Retry-After"), "2")
        let third = try fetch("gateway-restart", "interval_ms=2&heartbeat_ms=0&count=6", client: "gw", headers: ["Last-Event-ID: 4"])
        XCTAssertEqual(third.status, 200)
        XCTAssertEqual(third.ids, ["5", "6"], "the origin resumed after Last-Event-ID 4")
        XCTAssertEqual(stack.seenByOrigin().map(\.lastEventID), [nil, "4"], "the 503 never reached the origin")
    }

    func testHeartbeatLossRemovesComments() throws {
        let f = try fetch("heartbeat-loss", "interval_ms=30&heartbeat_ms=5&count=4")
        XCTAssertEqual(f.ids, ids(1...4))
        XCTAssertFalse(f.text.contains(":"+" heartbeat"), f.text)
        XCTAssertFalse(f.text.contains("sputter demo origin"), f.text)
    }

    func testJitteryMobileDeliversEverythingInOrder() throws {
        let f = try fetch("jittery-mobile", "interval_ms=2&heartbeat_ms=0&count=5")
        XCTAssertEqual(f.ids, ids(1...5))
    }

    func testLossyDropsEveryFourthAndRepeatsWithTheSameSeed() throws {
        let a = try fetch("lossy", "interval_ms=1&heartbeat_ms=0&count=40", client: "lossy-client")
        XCTAssertFalse(a.ids.contains("4"))
        XCTAssertFalse(a.ids.contains("8"))
        XCTAssertLessThan(a.ids.count, 31)
        XCTAssertEqual(try http(port: stack.controlPort, "POST", "/reset").status, 200)
        let b = try fetch("lossy", "interval_ms=1&heartbeat_ms=0&count=40", client: "lossy-client")
        XCTAssertEqual(a.ids, b.ids, "same seed, client and attempt: same drops")
    }

    func testMalformedFrames() throws {
        let f = try fetch("malformed-frames", "interval_ms=2&heartbeat_ms=0&count=9")
        XCTAssertTrue(f.text.contains("Data: {\"n\":2"), "field name mangled")
        XCTAssertTrue(f.body.firstRange(of: [0xEF, 0xBB, 0xBF]) != nil, "BOM mid-stream")
        XCTAssertTrue(f.body.contains(0), "NUL comment")
        XCTAssertTrue(f.messages.allSatisfy { $0.data != "" })
        XCTAssertFalse(f.messages.contains { $0.data.contains("\"n\":2,") }, "the mangled event dispatches no data")
        XCTAssertEqual(f.messages.first?.lastEventId, "1")
        XCTAssertEqual(f.messages.last?.lastEventId, "9")
    }

    func testReconnectLadder() throws {
        let first = try fetch("reconnect-ladder", "interval_ms=2&heartbeat_ms=0", client: "ladder")
        XCTAssertEqual(first.end?.errno, ECONNRESET)
        XCTAssertEqual(first.ids, ids(1...3))
        let second = try fetch("reconnect-ladder", "interval_ms=2", client: "ladder", headers: ["Last-Event-ID: 3"])
        XCTAssertEqual(second.status, 503)
        XCTAssertEqual(second.head.headers.first("Retry-After"), "1")
        let third = try fetch("reconnect-ladder", "interval_ms=2&heartbeat_ms=0&count=5", client: "ladder", headers: ["Last-Event-ID: 3"])
        XCTAssertEqual(third.ids, ["4", "5"])
    }

    func testRetryChaos() throws {
        let f = try fetch("retry-chaos", "interval_ms=2&heartbeat_ms=0")
        XCTAssertTrue(f.text.contains("retry: 0\n"), f.text)
        XCTAssertTrue(f.text.contains("retry: soon\n"), f.text)
        XCTAssertTrue(f.text.contains("retry: 3600000\n"), f.text)
        var model = SSEClientModel(state: SSEClientState())
        model.feed(f.body)
        model.end()
        XCTAssertEqual(model.state.reconnectionTimeMs, 3_600_000)
        XCTAssertEqual(model.dispatched.map(\.lastEventId), ids(1...3))
    }

    func testSlowNetworkStillDeliversIntactEvents() throws {
        let f = try fetch("slow-network", "interval_ms=2&heartbeat_ms=0&count=3")
        XCTAssertEqual(f.ids, ids(1...3))
    }

    func testStaleIDs() throws {
        let f = try fetch("stale-ids", "interval_ms=2&heartbeat_ms=0&count=6", headers: ["Last-Event-ID: 99"])
        XCTAssertEqual(stack.seenByOrigin().first?.lastEventID, nil, "Last-Event-ID removed before the upstream")
        XCTAssertEqual(f.messages.count, 6)
        XCTAssertEqual(Array(f.ids.prefix(3)), ["", "", ""], "ids stripped from the first three events")
        XCTAssertNotEqual(Array(f.ids.suffix(3)), ["4", "5", "6"], "later ids reuse an older one")
    }

    func testStallKeepsTheSocketOpenAndSilent() throws {
        let f = try fetch("stall", "interval_ms=2&heartbeat_ms=0", readTimeout: 2)
        XCTAssertEqual(f.end?.errno, EAGAIN, "the connection should still be open and silent")
        XCTAssertEqual(f.ids, ids(1...3))
    }

    func testStopWith204() throws {
        let f = try fetch("stop-with-204", "interval_ms=2")
        XCTAssertEqual(f.status, 204)
        XCTAssertEqual(f.body, [])
        XCTAssertTrue(stack.seenByOrigin().isEmpty)
    }

    func testTornEvents() throws {
        let f = try fetch("torn-events", "interval_ms=2&heartbeat_ms=0&count=7")
        XCTAssertFalse(f.ids.isEmpty)
        XCTAssertEqual(f.ids.first, "1")
        XCTAssertFalse(f.messages.contains { $0.data.hasPrefix("{\"n\":3,") && $0.data.hasSuffix("}") }, "event 3 arrives torn")
    }
}
