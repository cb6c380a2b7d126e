import HTTP1
import XCTest

/// Field-line syntax and the header limits, through the request parser (the response parser shares the code;
/// a few cases check it too).
final class HeaderFieldTests: XCTestCase {
    func request(_ fieldLines: String, limits: HTTPLimits = .init(), file: StaticString = #filePath, line: UInt = #line) -> HeadOutcome<RequestHead> {
        verifyRequest("GET / HTTP/1.1\r\nHost: h\r\n" + fieldLines + "\r\n", limits: limits, file: file, line: line)
    }

    func testWhitespaceAroundValueIsTrimmedInsideKept() {
        XCTAssertEqual(request("X:  a \t b \t \r\n").head?.headers.first("x"), "a \t b")
        XCTAssertEqual(request("X:\ta\r\n").head?.headers.first("x"), "a")
        XCTAssertEqual(request("X:a\r\n").head?.headers.first("x"), "a")
        XCTAssertEqual(request("X:\r\n").head?.headers.first("x"), "")
        XCTAssertEqual(request("X:   \r\n").head?.headers.first("x"), "")
        XCTAssertEqual(request("X: a:b: c\r\n").head?.headers.first("x"), "a:b: c")
    }

    func testWhitespaceBeforeColonIsRejected() {
        XCTAssertEqual(request("Host2 : a\r\n").error, err(400, "whitespace between field name and colon"))
        XCTAssertEqual(request("X\t: a\r\n").error, err(400, "whitespace between field name and colon"))
        XCTAssertEqual(verifyResponse("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n").error,
                       err(400, "whitespace between field name and colon"))
    }

    func testObsFoldIsRejected() {
        XCTAssertEqual(request("X: a\r\n b\r\n").error, err(400, "obsolete line folding"))
        XCTAssertEqual(request("X: a\r\n\tb\r\n").error, err(400, "obsolete line folding"))
        XCTAssertEqual(request("X: a\n b\n").error, err(400, "obsolete line folding"))
        XCTAssertEqual(verifyResponse("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n").error, err(400, "obsolete line folding"))
    }

    func testWhitespaceBeforeTheFirstFieldIsRejected() {
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\n Host: h\r\n\r\n").error, err(400, "whitespace before the first header field"))
    }

    func testMalformedFieldNames() {
        XCTAssertEqual(request("NoColon\r\n").error, err(400, "missing colon in field line"))
        XCTAssertEqual(request(": v\r\n").error, err(400, "empty field name"))
        XCTAssertEqual(request("X(y): v\r\n").error, err(400, "invalid character in field name"))
        XCTAssertEqual(request("X y: v\r\n").error, err(400, "invalid character in field name"))
        XCTAssertEqual(request("Ü: v\r\n").error, err(400, "invalid character in field name"))
    }

    func testControlCharactersInValuesAreRejected() {
        XCTAssertEqual(request("X: a\u{0}b\r\n").error, err(400, "invalid character in field value"))
        XCTAssertEqual(request("X: \u{0}\r\n").error, err(400, "invalid character in field value"))
        XCTAssertEqual(request("X: a\u{1B}b\r\n").error, err(400, "invalid character in field value"))
        XCTAssertEqual(request("X: a\u{7F}\r\n").error, err(400, "invalid character in field value"))
        XCTAssertEqual(request("X: a\rb\r\n").error, err(400, "bare CR in header section"))
        XCTAssertEqual(verifyResponse("HTTP/1.1 200 OK\r\nX: \u{0}\r\n\r\n").error, err(400, "invalid character in field value"))
    }

    func testNonASCIIValuesMustBeUTF8() {
        XCTAssertEqual(request("X: café ☕\r\n").head?.headers.first("x"), "café ☕")
        let latin1 = bytes("GET / HTTP/1.1\r\nHost: h\r\nX: caf") + [0xE9] + bytes("\r\n\r\n")
        XCTAssertEqual(verifyRequest(latin1).error, err(400, "field value is not valid UTF-8"))
    }

    func testHeaderSectionLimitGives431() {
        // Header section = everything after the request line's CRLF through the final CRLF.
        let limits = HTTPLimits(maxHeaderBytes: 32)
        let fill = "X: " + String(repeating: "v", count: 19) + "\r\n"  // 24 bytes
        let exactly = "GET / HTTP/1.1\r\nHost: h\r\n" + fill + "\r\n"  // 9 + 24 + 2 = 35 > 32
        XCTAssertEqual(verifyRequest(exactly, limits: limits).error, err(431, "header section too large"))
        let fits = "GET / HTTP/1.1\r\nHost: h\r\n" + "X: " + String(repeating: "v", count: 16) + "\r\n\r\n"  // 32
        XCTAssertNotNil(verifyRequest(fits, limits: limits).head)
        // No end in sight: rejected as soon as the partial section passes the limit.
        XCTAssertEqual(verifyRequest("GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 100), limits: limits).error,
                       err(431, "header section too large"))
        XCTAssertEqual(verifyResponse("HTTP/1.1 200 OK\r\nX: " + String(repeating: "v", count: 100), limits: limits).error,
                       err(431, "header section too large"))
    }

    func testHeaderCountLimitGives431() {
        let limits = HTTPLimits(maxHeaderCount: 5)
        let four = (1...4).map { "X\($0): v\r\n" }.joined()
        XCTAssertEqual(request(four, limits: limits).head?.headers.count, 5)
        XCTAssertEqual(request(four + "X5: v\r\n", limits: limits).error, err(431, "too many header fields"))
        XCTAssertEqual(verifyResponse("HTTP/1.1 200 OK\r\n" + four + "A: 1\r\nB: 2\r\n\r\n", limits: limits).error,
                       err(431, "too many header fields"))
    }

    func testDefaultHeaderCountIs100() {
        let ninetyNine = (1...99).map { "X\($0): v\r\n" }.joined()
        let ok = bytes("GET / HTTP/1.1\r\nHost: h\r\n" + ninetyNine + "\r\n")
        guard case .complete(let head, _)? = try? HeadParser.parseRequest(ok) else { return XCTFail("100 fields rejected") }
        XCTAssertEqual(head.headers.count, 100)
        let bad = bytes("GET / HTTP/1.1\r\nHost: h\r\n" + ninetyNine + "Y: 1\r\n\r\n")
        XCTAssertThrowsError(try HeadParser.parseRequest(bad)) { XCTAssertEqual($0 as? HTTPParseError, err(431, "too many header fields")) }
    }
}
