import Faults
import Foundation
import HTTP1
import Profiles
import Proxy
import XCTest

/// `end` and `inject` on the wire: a chunked body that `end` stops is always complete (terminator,
/// zero-length chunk, FIN), and injected bytes arrive between the upstream's events.
final class EndInjectWiringTests: XCTestCase {
    static let done = Array("data: [DONE]\n\n".utf8)
    static let overloaded = Array("data: {\"error\": {\"message\": \"overloaded\"}}\n\n".utf8)
    static let library = ProfileLibrary(profiles: [
        .passthrough,
        Profile(name: "end-2", faults: [FaultSpec(.end(EndFault(.afterEvents(2), terminator: done)))]),
        Profile(name: "inject-1", faults: [FaultSpec(.inject(InjectFault(.afterEvents(1), bytes: overloaded)))]),
        Profile(name: "inject-end", faults: [FaultSpec(.inject(InjectFault(.afterEvents(1), bytes: overloaded, thenEnd: true)))]),
    ])

    func stack() throws -> Stack { try Stack { config, _ in config.profiles = Self.library } }

    func testEndTerminatesTheChunkedBodyThenFIN() throws {
        let stack = try stack()
        // count=2: the upstream itself ends right at the mark too; count=50: it would go on. Both end the same way.
        for count in [2, 50] {
            let s = try TestSocket(port: stack.proxyPort)
            s.send("GET /events?interval_ms=2&heartbeat_ms=0&count=\(count)&sputter_profile=end-2 HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try s.readResponse()  // throws unless the chunked body ends with its zero-length chunk
            XCTAssertEqual(r.head.headers.first("Transfer-Encoding"), "chunked")
            let text = String(decoding: r.body, as: UTF8.self)
            XCTAssertTrue(text.contains("id: 2\n"), text)
            XCTAssertFalse(text.contains("id: 3\n"), text)
            XCTAssertTrue(text.hasSuffix("data: [DONE]\n\n"), text)
            XCTAssertTrue(String(decoding: r.rawBody, as: UTF8.self).hasSuffix("0\r\n\r\n"))
            XCTAssertNil(s.readToEnd(), "a FIN, not a reset")
        }
    }

    func testEndToAnHTTP10ClientEndsWithTheConnection() throws {
        let stack = try stack()
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events?interval_ms=2&heartbeat_ms=0&count=50&sputter_profile=end-2 HTTP/1.0\r\nHost: x\r\n\r\n")
        XCTAssertNil(s.readToEnd())
        let text = String(decoding: s.received, as: UTF8.self)
        XCTAssertFalse(text.contains("chunked"), text)
        XCTAssertTrue(text.hasSuffix("id: 2\ndata: 2\n\ndata: [DONE]\n\n") || text.hasSuffix("data: [DONE]\n\n"), text)
        XCTAssertFalse(text.contains("id: 3\n"), text)
    }

    func testInjectGoesBetweenEventsAndTheStreamGoesOn() throws {
        let stack = try stack()
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events?interval_ms=1&heartbeat_ms=0&count=3&sputter_profile=inject-1 HTTP/1.1\r\nHost: x\r\n\r\n")
        let text = String(decoding: try s.readResponse().body, as: UTF8.self)
        let injected = String(decoding: Self.overloaded, as: UTF8.self)
        let at = try XCTUnwrap(text.range(of: injected), text)
        XCTAssertTrue(text[..<at.lowerBound].contains("id: 1\n"), text)
        XCTAssertFalse(text[..<at.lowerBound].contains("id: 2\n"), text)
        XCTAssertTrue(text[at.upperBound...].contains("id: 3\n"), text)
    }

    func testInjectThenEnd() throws {
        let stack = try stack()
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events?interval_ms=2&heartbeat_ms=0&count=50&sputter_profile=inject-end HTTP/1.1\r\nHost: x\r\n\r\n")
        let text = String(decoding: try s.readResponse().body, as: UTF8.self)
        XCTAssertTrue(text.hasSuffix(String(decoding: Self.overloaded, as: UTF8.self)), text)
        XCTAssertFalse(text.contains("id: 2\n"), text)
        XCTAssertNil(s.readToEnd())
    }

    /// `disconnect kind: fin` is never a clean end, even when the whole upstream body (terminator included)
    /// arrived in one read before the cut was written; `end` always is. Each runs several times: no luck involved.
    func testFINCutIsNeverCleanAndEndAlwaysIs() throws {
        let origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            var all = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            for i in 1...5 { all += "13\r\nid: \(i)\ndata: event\n\n\r\n" }
            conn.send(all + "0\r\n\r\n")
            _ = conn.waitForPeerClose()
            conn.close()
        }
        let library = ProfileLibrary(profiles: [
            .passthrough,
            Profile(name: "fin-2", faults: [FaultSpec(.disconnect(DisconnectFault(.afterEvents(2), kind: .fin)))]),
            Profile(name: "end-2", faults: [FaultSpec(.end(EndFault(.afterEvents(2))))]),
        ])
        let stack = try Stack { config, _ in
            config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")]
            config.profiles = library
        }
        for _ in 0..<5 {
            let cut = try TestSocket(port: stack.proxyPort)
            cut.send("GET /events?sputter_profile=fin-2 HTTP/1.1\r\nHost: x\r\n\r\n")
            XCTAssertThrowsError(try cut.readResponse(), "a FIN cut must leave the chunked body unterminated")
            XCTAssertTrue(String(decoding: cut.received, as: UTF8.self).contains("id: 2\n"))
            let end = try TestSocket(port: stack.proxyPort)
            end.send("GET /events?sputter_profile=end-2 HTTP/1.1\r\nHost: x\r\n\r\n")
            let text = String(decoding: try end.readResponse().body, as: UTF8.self)
            XCTAssertTrue(text.hasSuffix("id: 2\ndata: event\n\n"), text)
        }
    }

    /// Faults need frames: a faulted request reaches the upstream without `Accept-Encoding`, and a gzip
    /// stream that arrives anyway passes unchanged (the ledger and the log say it was not faulted).
    func testCompressedStreamsAreAskedAwayAndPassedUnchangedWhenTheyCome() throws {
        let heads = HeadBox()
        let gzipBody: [UInt8] = [0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03, 0x04]
        let origin = try ScriptedOrigin { conn in
            heads.add(conn.readHead())
            conn.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\nContent-Length: 8\r\n\r\n")
            conn.send(gzipBody)
            _ = conn.waitForPeerClose()
            conn.close()
        }
        let stack = try Stack { config, _ in
            config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")]
            config.profiles = Self.library
        }
        for profile in ["inject-1", "passthrough"] {
            let s = try TestSocket(port: stack.proxyPort)
            s.send("GET /events?sputter_profile=\(profile) HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, br\r\n\r\n")
            let r = try s.readResponse()
            XCTAssertEqual(r.body, gzipBody, "relayed unchanged (\(profile))")
            XCTAssertEqual(r.head.headers.first("Content-Encoding"), "gzip")
        }
        let seen = heads.all
        XCTAssertEqual(seen.count, 2)
        XCTAssertFalse(seen[0].lowercased().contains("accept-encoding"), seen[0])
        XCTAssertTrue(seen[1].lowercased().contains("accept-encoding: gzip, br"), "passthrough keeps it: \(seen[1])")
    }
}

final class HeadBox: @unchecked Sendable {
    private let lock = NSLock()
    private var heads: [String] = []
    func add(_ h: String) { lock.withLock { heads.append(h) } }
    var all: [String] { lock.withLock { heads } }
}
