import HTTP1
import XCTest

final class ResponseParserTests: XCTestCase {
    func testSimpleResponse() {
        let text = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
        XCTAssertEqual(verifyResponse(text), .complete(
            ResponseHead(version: .http11, status: 200, reason: "OK",
                         headers: ["Content-Type": "text/event-stream", "Cache-Control": "no-cache"]),
            headLength: text.utf8.count))
    }

    func testReasonPhrases() {
        XCTAssertEqual(verifyResponse("HTTP/1.1 503 Service  Unavailable \r\n\r\n").head?.reason, "Service  Unavailable ")
        XCTAssertEqual(verifyResponse("HTTP/1.0 204 \r\n\r\n").head?.reason, "")
        XCTAssertEqual(verifyResponse("HTTP/1.1 200 Ça va\r\n\r\n").head?.reason, "Ça va")
        // Lenient: no SP after the status code.
        let bare = verifyResponse("HTTP/1.1 204\r\n\r\n")
        XCTAssertEqual(bare.head?.status, 204)
        XCTAssertEqual(bare.head?.reason, "")
        XCTAssertEqual(verifyResponse("HTTP/1.1 200 O\u{1}K\r\n\r\n").error, err(400, "invalid character in reason phrase"))
        XCTAssertEqual(verifyResponse(bytes("HTTP/1.1 200 ") + [0xFF] + bytes("\r\n\r\n")).error, err(400, "reason phrase is not valid UTF-8"))
    }

    func testBadStatusLines() {
        let cases: [(String, HTTPParseError)] = [
            ("HTTP/1.1 20 OK", err(400, "invalid status code")),
            ("HTTP/1.1 2000 OK", err(400, "invalid status code")),
            ("HTTP/1.1 20x OK", err(400, "invalid status code")),
            ("HTTP/1.1 099 OK", err(400, "invalid status code")),
            ("HTTP/1.1 600 OK", err(400, "invalid status code")),
            ("HTTP/1.1  200 OK", err(400, "invalid status code")),
            ("HTTP/1.1", err(400, "invalid status code")),
            ("HTTP/1.1 ", err(400, "invalid status code")),
            ("HTTP/1.1\t200 OK", err(400, "invalid HTTP version")),
            ("ICY 200 OK", err(400, "invalid HTTP version")),
            ("http/1.1 200 OK", err(400, "invalid HTTP version")),
            ("", err(400, "invalid HTTP version")),
            ("HTTP/2.0 200 OK", err(505, "HTTP version not supported")),
            ("HTTP/1.2 200 OK", err(505, "HTTP version not supported")),
        ]
        for (statusLine, expected) in cases {
            XCTAssertEqual(verifyResponse(statusLine + "\r\nX: y\r\n\r\n").error, expected, statusLine.debugDescription)
        }
    }

    func testBareCRAndBareLF() {
        XCTAssertEqual(verifyResponse("HTTP/1.1 200 OK\rX\r\n\r\n").error, err(400, "bare CR in status line"))
        XCTAssertEqual(verifyResponse("HTTP/1.1 200 OK\nX: y\n\n").head?.headers, ["X": "y"])
    }

    func testStatusLineIsBounded() {
        let limits = HTTPLimits(maxRequestLineBytes: 20)
        XCTAssertEqual(verifyResponse("HTTP/1.1 200 " + String(repeating: "x", count: 8), limits: limits).error, err(400, "status line too long"))
        XCTAssertEqual(verifyResponse("HTTP/1.1 200 " + String(repeating: "x", count: 8) + "\r\n\r\n", limits: limits).error, err(400, "status line too long"))
        XCTAssertNotNil(verifyResponse("HTTP/1.1 200 " + String(repeating: "x", count: 7) + "\r\n\r\n", limits: limits).head)
    }

    func testEmptyLinesBeforeAStatusLineAreNotSkipped() {
        XCTAssertEqual(verifyResponse("\r\nHTTP/1.1 200 OK\r\n\r\n").error, err(400, "invalid HTTP version"))
    }

    func testBodyBytesAfterTheHeadAreNotPartOfIt() {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
        let outcome = verifyResponse(head + "data: a\n\ndata: b\n\n")
        XCTAssertEqual(outcome.headLength, head.utf8.count)
        XCTAssertEqual(outcome.head?.status, 200)
    }

    func testInterimResponseThenFinalResponse() {
        let interim = "HTTP/1.1 100 Continue\r\n\r\n"
        let final = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        let all = bytes(interim + final)
        let first = verifyResponse(all)
        XCTAssertEqual(first.head?.status, 100)
        XCTAssertEqual(first.headLength, interim.utf8.count)
        XCTAssertEqual(try first.head?.bodyFraming(requestMethod: "POST"), BodyFraming.none)
        XCTAssertEqual(verifyResponse(Array(all[interim.utf8.count...])).head?.status, 200)
    }
}
