import Dispatch
import Foundation
import HTTP1
import XCTest

/// RFC 9112 6.3 through the proxy: what reaches the next hop (the upstream for a request, the client for a
/// response) carries one framing value, and conflicting framing is refused instead of being relayed.
final class FramingForwardTests: XCTestCase {
    func testRepeatedContentLengthReachesEachSideOnce() throws {
        nonisolated(unsafe) var seenHead = ""
        nonisolated(unsafe) var seenBody: [UInt8] = []
        let got = DispatchSemaphore(value: 0)
        let origin = try ScriptedOrigin { conn in
            seenHead = conn.readHead()
            seenBody = conn.read(count: 5)
            got.signal()
            conn.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: y\r\ncontent-length: 2, 2\r\n\r\nok")
            conn.close()
        }
        let stack = try Stack { config, _ in config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")] }
        let s = try TestSocket(port: stack.proxyPort)
        s.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\nContent-Length: 005\r\n\r\nhello")
        let r = try s.readResponse(requestMethod: "POST")
        XCTAssertEqual(got.wait(timeout: .now() + 20), .success)
        let lengths = seenHead.components(separatedBy: "\r\n").filter { $0.lowercased().hasPrefix("content-length:") }
        XCTAssertEqual(lengths, ["Content-Length: 5"], seenHead)
        XCTAssertEqual(seenBody, Array("hello".utf8))
        XCTAssertEqual(r.head.status, 200)
        XCTAssertEqual(r.head.headers.values("Content-Length"), ["2"])
        XCTAssertEqual(r.body, Array("ok".utf8))
    }

    /// Sends `request` on a fresh connection and returns the status and body text of the answer.
    func answer(_ port: Int, _ request: String) throws -> (status: Int, text: String) {
        let s = try TestSocket(port: port)
        s.send(request)
        let r = try s.readResponse(requestMethod: String(request.prefix { $0 != " " }))
        return (r.head.status, String(decoding: r.body, as: UTF8.self))
    }

    func testDifferingContentLengthsAreRefused() throws {
        let origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            conn.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!")
            conn.close()
        }
        let stack = try Stack { config, _ in config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")] }
        let cases = [
            // A request: 400, the upstream never sees it.
            ("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello", 400, "differing Content-Length"),
            ("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400, "differing Content-Length"),
            ("POST /p HTTP/1.1\r\nHost: x\r\nContent_Length: 5\r\n\r\nhello", 400, "Content_Length"),
            // A response: the upstream is broken, the client gets 502.
            ("GET /x HTTP/1.1\r\nHost: x\r\n\r\n", 502, "differing Content-Length"),
        ]
        for (request, status, reason) in cases {
            let (got, text) = try answer(stack.proxyPort, request)
            XCTAssertEqual(got, status, request)
            XCTAssertTrue(text.contains(reason), "\(text) lacks \(reason)")
        }
    }

    func testChunkedRequestWithABareLFIsRefused() throws {
        let stack = try Stack()
        let (status, text) = try answer(stack.proxyPort, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;\nxx\r\n0\r\n\r\n")
        XCTAssertEqual(status, 400)
        XCTAssertTrue(text.contains("bare LF"), text)
    }
}
