import Faults
import Foundation
import HTTP1
import Profiles
import Proxy
import XCTest

/// Faults chosen per request reach the wire (profiles built in code; the shipped ones have their own suite).
final class FaultWiringTests: XCTestCase {
    static let library = ProfileLibrary(profiles: [
        .passthrough,
        Profile(name: "cut-after-3", faults: [FaultSpec(.disconnect(DisconnectFault(.afterEvents(3), kind: .rst)))]),
        Profile(name: "drop-every-2nd", faults: [FaultSpec(.drop(DropFault(everyNth: 2)))]),
        Profile(name: "503-on-second", attempts: [2: [FaultSpec(.respond(RespondFault(status: 503, retryAfter: "1")))]]),
    ])

    func stack() throws -> Stack {
        try Stack { config, _ in config.profiles = Self.library }
    }

    func testRSTAfterExactlyThreeEvents() throws {
        let stack = try stack()
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events?interval_ms=5&heartbeat_ms=0&sputter_profile=cut-after-3 HTTP/1.1\r\nHost: x\r\n\r\n")
        let end = s.readToEnd()
        XCTAssertEqual(end?.errno, ECONNRESET, "expected ECONNRESET, got \(String(describing: end))")
        let text = String(decoding: s.received, as: UTF8.self)
        XCTAssertTrue(text.contains("id: 3\n"), text)
        XCTAssertFalse(text.contains("id: 4\n"), text)
        // The origin saw no Sputter parameter.
        XCTAssertEqual(stack.seenByOrigin().first?.path, "/events")
    }

    func testDropEverySecondEventOnAChunkedStream() throws {
        let stack = try stack()
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events?interval_ms=1&heartbeat_ms=0&count=6 HTTP/1.1\r\nHost: x\r\nSputter-Profile: drop-every-2nd\r\n\r\n")
        let r = try s.readResponse()
        XCTAssertEqual(r.head.headers.first("Transfer-Encoding"), "chunked")
        let ids = String(decoding: r.body, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("id: ") }
        XCTAssertEqual(ids, ["id: 1", "id: 3", "id: 5"])
    }

    func testSecondAttemptGets503WithRetryAfter() throws {
        let stack = try stack()
        let first = try TestSocket(port: stack.proxyPort)
        first.send("GET /events?interval_ms=1&count=2&sputter_profile=503-on-second&sputter_client=c1 HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try first.readResponse().head.status, 200)
        let second = try TestSocket(port: stack.proxyPort)
        second.send("GET /events?sputter_profile=503-on-second&sputter_client=c1 HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 2\r\n\r\n")
        let r = try second.readResponse()
        XCTAssertEqual(r.head.status, 503)
        XCTAssertEqual(r.head.headers.first("Retry-After"), "1")
        XCTAssertEqual(stack.seenByOrigin().count, 1, "the 503 must not reach the origin")
    }

    func testUnknownProfileIs400ListingTheKnownOnes() throws {
        let stack = try stack()
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events HTTP/1.1\r\nHost: x\r\nSputter-Profile: nope\r\n\r\n")
        let r = try s.readResponse()
        XCTAssertEqual(r.head.status, 400)
        let text = String(decoding: r.body, as: UTF8.self)
        XCTAssertTrue(text.contains("unknown profile 'nope'"), text)
        XCTAssertTrue(text.contains("cut-after-3, drop-every-2nd, passthrough"), text)
    }
}
