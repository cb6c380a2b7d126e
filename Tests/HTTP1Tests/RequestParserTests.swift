import HTTP1
import XCTest

final class RequestParserTests: XCTestCase {
    func testSimpleGetWholeAndByteByByte() {
        let text = "GET /events?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: text/event-stream\r\n\r\n"
        let outcome = verifyRequest(text)
        XCTAssertEqual(outcome, .complete(
            RequestHead(method: "GET", target: "/events?x=1", version: .http11,
                        headers: ["Host": "example.com", "Accept": "text/event-stream"]),
            headLength: text.utf8.count))
    }

    func testFieldNameCaseOrderAndDuplicatesArePreserved() {
        let outcome = verifyRequest("GET / HTTP/1.1\r\nhOsT: a\r\nX-Dup: 1\r\nx-dup: 2\r\nX-DUP: 3\r\n\r\n")
        XCTAssertEqual(outcome.head?.headers.fields, [
            HTTPField(name: "hOsT", value: "a"), HTTPField(name: "X-Dup", value: "1"),
            HTTPField(name: "x-dup", value: "2"), HTTPField(name: "X-DUP", value: "3"),
        ])
        XCTAssertEqual(outcome.head?.headers.values("X-DUP"), ["1", "2", "3"])
    }

    func testIncompleteUntilEmptyLine() {
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: a\r\n"), .incomplete)
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: a\r\n\r"), .incomplete)
        XCTAssertEqual(verifyRequest(""), .incomplete)
    }

    func testPipelinedBytesAfterTheHeadAreNotPartOfIt() throws {
        let first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"
        let second = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
        let all = bytes(first + "abc" + second)
        let outcome = verifyRequest(all)
        XCTAssertEqual(outcome.headLength, first.utf8.count)
        XCTAssertEqual(outcome.head?.target, "/a")
        let rest = Array(all[(first.utf8.count + 3)...])
        let next = verifyRequest(rest)
        XCTAssertEqual(next.head?.target, "/b")
        XCTAssertEqual(next.headLength, rest.count)
    }

    func testBareLFLineEndingsAreAccepted() {
        let text = "GET / HTTP/1.1\nHost: a\r\nX: y\n\n"
        let outcome = verifyRequest(text)
        XCTAssertEqual(outcome.head?.headers, ["Host": "a", "X": "y"])
        XCTAssertEqual(outcome.headLength, text.utf8.count)
    }

    func testLeadingEmptyLinesAreSkippedAndCounted() {
        let text = "\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        let outcome = verifyRequest(text)
        XCTAssertEqual(outcome.head?.method, "GET")
        XCTAssertEqual(outcome.headLength, text.utf8.count)
    }

    func testTooManyLeadingEmptyLinesAreRejected() {
        let limits = HTTPLimits(maxRequestLineBytes: 32)
        let ok = String(repeating: "\r\n", count: 16) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        XCTAssertNotNil(verifyRequest(ok, limits: limits).head)
        let bad = String(repeating: "\r\n", count: 17) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        XCTAssertEqual(verifyRequest(bad, limits: limits).error, err(400, "too many empty lines before the request line"))
    }

    func testAnyTokenIsAMethod() {
        for method in ["PATCH", "PURGE", "PROPFIND", "M-SEARCH", "get", "X_Y.Z~1!"] {
            let outcome = verifyRequest("\(method) /r HTTP/1.1\r\nHost: a\r\n\r\n")
            XCTAssertEqual(outcome.head?.method, method)
        }
    }

    func testHTTP10RequestWithoutHostIsAccepted() {
        let outcome = verifyRequest("GET / HTTP/1.0\r\n\r\n")
        XCTAssertEqual(outcome.head?.version, .http10)
        XCTAssertEqual(outcome.head?.headers.count, 0)
    }

    func testBadRequestLines() {
        let cases: [(String, HTTPParseError)] = [
            ("GE(T / HTTP/1.1", err(400, "invalid method")),
            (" / HTTP/1.1", err(400, "invalid method")),
            ("GET\t/ HTTP/1.1", err(400, "invalid method")),
            ("GET  / HTTP/1.1", err(400, "empty request target")),
            ("GET / HTTP/1.1 ", err(400, "invalid HTTP version")),
            ("GET /  HTTP/1.1", err(400, "invalid HTTP version")),
            ("GET /a b HTTP/1.1", err(400, "invalid HTTP version")),
            ("GET /a\u{1}b HTTP/1.1", err(400, "invalid character in request target")),
            ("GET /a\u{7F} HTTP/1.1", err(400, "invalid character in request target")),
            ("GET /é HTTP/1.1", err(400, "invalid character in request target")),
            ("GET /", err(400, "malformed request line")),
            ("GET / ", err(400, "invalid HTTP version")),
            ("GET", err(400, "malformed request line")),
            ("", err(400, "invalid method")),
            ("GET / http/1.1", err(400, "invalid HTTP version")),
            ("GET / HTTP/1", err(400, "invalid HTTP version")),
            ("GET / HTTP/1.10", err(400, "invalid HTTP version")),
            ("GET / HTTP/11", err(400, "invalid HTTP version")),
            ("GET / HTTP/1.1\u{0}", err(400, "invalid HTTP version")),
            ("GET / HTTP/2.0", err(505, "HTTP version not supported")),
            ("GET / HTTP/1.2", err(505, "HTTP version not supported")),
            ("GET / HTTP/0.9", err(505, "HTTP version not supported")),
            ("GET / HTTP/3.1", err(505, "HTTP version not supported")),
        ]
        for (requestLine, expected) in cases {
            // An empty request line after the skipped empty lines is the "" case: it needs a non-empty line, so
            // feed a field line after it to make sure the first line is judged on its own.
            let text = requestLine.isEmpty ? ":\r\nHost: a\r\n\r\n" : requestLine + "\r\nHost: a\r\n\r\n"
            XCTAssertEqual(verifyRequest(text).error, expected, requestLine.debugDescription)
        }
    }

    func testBareCRIsRejected() {
        XCTAssertEqual(verifyRequest("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n").error, err(400, "bare CR in request line"))
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\rHost: a\r\n\r\n").error, err(400, "bare CR in request line"))
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n").error, err(400, "bare CR in header section"))
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n").error, err(400, "bare CR in header section"))
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n").error, err(400, "bare CR in header section"))
    }

    func testRequestLineLimitGives414() {
        let limits = HTTPLimits(maxRequestLineBytes: 32)
        let exactly = "GET /" + String(repeating: "a", count: 18) + " HTTP/1.1"  // 32 bytes
        XCTAssertEqual(exactly.utf8.count, 32)
        XCTAssertNotNil(verifyRequest(exactly + "\r\nHost: a\r\n\r\n", limits: limits).head)
        XCTAssertNotNil(verifyRequest(exactly + "\nHost: a\r\n\r\n", limits: limits).head)
        let tooLong = "GET /" + String(repeating: "a", count: 19) + " HTTP/1.1"
        XCTAssertEqual(verifyRequest(tooLong + "\r\nHost: a\r\n\r\n", limits: limits).error, err(414, "request line too long"))
        // Still no line end: rejected as soon as more than the limit has arrived, so the buffer stays bounded.
        XCTAssertEqual(verifyRequest(String(repeating: "a", count: 33), limits: limits).error, err(414, "request line too long"))
        XCTAssertEqual(verifyRequest(String(repeating: "a", count: 32), limits: limits), .incomplete)
        XCTAssertEqual(verifyRequest(String(repeating: "a", count: 32) + "\r", limits: limits), .incomplete)
    }

    func testDefaultRequestLineLimitIs8KiB() throws {
        let target = "/" + String(repeating: "x", count: 8 * 1024 - 14)
        let ok = bytes("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertNotNil(try? HeadParser.parseRequest(ok))
        let bad = bytes("GET \(target)x HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertThrowsError(try HeadParser.parseRequest(bad)) { XCTAssertEqual($0 as? HTTPParseError, err(414, "request line too long")) }
    }

    func testHostRules() {
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n").error, err(400, "missing Host header"))
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n").error, err(400, "more than one Host header"))
        XCTAssertEqual(verifyRequest("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n").error, err(400, "more than one Host header"))
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: a b\r\n\r\n").error, err(400, "invalid Host header"))
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n").error, err(400, "invalid Host header"))
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n").error, err(400, "invalid Host header"))
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: :80\r\n\r\n").error, err(400, "invalid Host header"))
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n").error, err(400, "invalid Host header"))
        for good in ["a", "a:8080", "a:", "[::1]:8080", "[::1]", "127.0.0.1:5000", "xn--bcher-kva.example", ""] {
            XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: \(good)\r\n\r\n").head?.headers.first("host"), good)
        }
    }

    func testOneHeadFromTheStartOfABufferWithRawPointer() throws {
        let text = bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET")
        let result = try text.withUnsafeBytes { try HeadParser.parseRequest($0, limits: HTTPLimits()) }
        guard case .complete(let head, let length) = result else { return XCTFail("not complete") }
        XCTAssertEqual(head.target, "/")
        XCTAssertEqual(length, text.count - 3)
    }
}
