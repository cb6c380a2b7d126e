import HTTP1
import XCTest

final class BodyFramingTests: XCTestCase {
    func request(_ fields: String, version: String = "HTTP/1.1", file: StaticString = #filePath, line: UInt = #line) -> RequestHead {
        let outcome = verifyRequest("POST /p \(version)\r\nHost: h\r\n" + fields + "\r\n", file: file, line: line)
        guard let head = outcome.head else {
            XCTFail("head did not parse: \(outcome)", file: file, line: line)
            return RequestHead(method: "", target: "")
        }
        return head
    }

    func requestFraming(_ fields: String, version: String = "HTTP/1.1", file: StaticString = #filePath, line: UInt = #line) -> Result<BodyFraming, HTTPParseError> {
        let head = request(fields, version: version, file: file, line: line)
        return Result { () throws(HTTPParseError) in try head.bodyFraming() }
    }

    func response(_ statusLine: String, _ fields: String, file: StaticString = #filePath, line: UInt = #line) -> ResponseHead {
        let outcome = verifyResponse(statusLine + "\r\n" + fields + "\r\n", file: file, line: line)
        guard let head = outcome.head else {
            XCTFail("head did not parse: \(outcome)", file: file, line: line)
            return ResponseHead(status: 0, reason: "")
        }
        return head
    }

    func responseFraming(_ fields: String, method: String = "GET", file: StaticString = #filePath, line: UInt = #line) -> Result<BodyFraming, HTTPParseError> {
        responseFraming("HTTP/1.1 200 OK", fields, method: method, file: file, line: line)
    }

    func responseFraming(_ statusLine: String, _ fields: String, method: String = "GET",
                         file: StaticString = #filePath, line: UInt = #line) -> Result<BodyFraming, HTTPParseError> {
        let head = response(statusLine, fields, file: file, line: line)
        return Result { () throws(HTTPParseError) in try head.bodyFraming(requestMethod: method) }
    }

    // MARK: Requests

    func testRequestWithoutLengthOrCodingHasNoBody() {
        XCTAssertEqual(requestFraming(""), .success(.none))
        XCTAssertEqual(requestFraming("", version: "HTTP/1.0"), .success(.none))
    }

    func testRequestContentLength() {
        XCTAssertEqual(requestFraming("Content-Length: 5\r\n"), .success(.contentLength(5)))
        XCTAssertEqual(requestFraming("Content-Length: 0\r\n"), .success(.contentLength(0)))
        XCTAssertEqual(requestFraming("content-length: 007\r\n"), .success(.contentLength(7)))
        XCTAssertEqual(requestFraming("Content-Length: 18446744073709551615\r\n"), .success(.contentLength(UInt64.max)))
        XCTAssertEqual(requestFraming("Content-Length: 5\r\n", version: "HTTP/1.0"), .success(.contentLength(5)))
    }

    func testIdenticalRepeatedContentLengthsCountAsOne() {
        XCTAssertEqual(requestFraming("Content-Length: 5, 5\r\n"), .success(.contentLength(5)))
        XCTAssertEqual(requestFraming("Content-Length: 5,5,5\r\n"), .success(.contentLength(5)))
        XCTAssertEqual(requestFraming("Content-Length: 5\r\nContent-Length: 5\r\n"), .success(.contentLength(5)))
    }

    func testInvalidContentLength() {
        XCTAssertEqual(requestFraming("Content-Length: 5, 6\r\n"), .failure(err(400, "differing Content-Length values")))
        XCTAssertEqual(requestFraming("Content-Length: 5\r\nContent-Length: 6\r\n"), .failure(err(400, "differing Content-Length values")))
        for bad in ["-1", "+5", "5a", "0x10", "5 5", "", "5,", ",5", "5, ,5", "1.0", "٥"] {
            XCTAssertEqual(requestFraming("Content-Length: \(bad)\r\n"), .failure(err(400, "invalid Content-Length")), bad)
        }
        XCTAssertEqual(requestFraming("Content-Length: 18446744073709551616\r\n"), .failure(err(400, "Content-Length too large")))
    }

    func testChunkedRequest() {
        XCTAssertEqual(requestFraming("Transfer-Encoding: chunked\r\n"), .success(.chunked))
        XCTAssertEqual(requestFraming("Transfer-Encoding: CHUNKED\r\n"), .success(.chunked))
        XCTAssertEqual(requestFraming("Transfer-Encoding: gzip, chunked\r\n"), .success(.chunked))
        XCTAssertEqual(requestFraming("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"), .success(.chunked))
    }

    func testContentLengthWithTransferEncodingIsRejected() {
        let expected = Result<BodyFraming, HTTPParseError>.failure(err(400, "both Content-Length and Transfer-Encoding"))
        XCTAssertEqual(requestFraming("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), expected)
        XCTAssertEqual(requestFraming("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), expected)
        XCTAssertEqual(requestFraming("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"), expected)
    }

    func testRequestCodingsThatCannotBeFramed() {
        XCTAssertEqual(requestFraming("Transfer-Encoding: gzip\r\n"), .failure(err(400, "final transfer coding is not chunked")))
        XCTAssertEqual(requestFraming("Transfer-Encoding: chunked, gzip\r\n"), .failure(err(400, "final transfer coding is not chunked")))
        XCTAssertEqual(requestFraming("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"), .failure(err(400, "final transfer coding is not chunked")))
        XCTAssertEqual(requestFraming("Transfer-Encoding: chunked, chunked\r\n"), .failure(err(400, "chunked applied more than once")))
        XCTAssertEqual(requestFraming("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), .failure(err(400, "chunked applied more than once")))
        XCTAssertEqual(requestFraming("Transfer-Encoding: \r\n"), .failure(err(400, "invalid Transfer-Encoding")))
        XCTAssertEqual(requestFraming("Transfer-Encoding: gzip,,chunked\r\n"), .failure(err(400, "invalid Transfer-Encoding")))
        XCTAssertEqual(requestFraming("Transfer-Encoding: chunked;q=1\r\n"), .failure(err(400, "parameters on chunked")))
        XCTAssertEqual(requestFraming("Transfer-Encoding: chun\"ked\r\n"), .failure(err(400, "invalid Transfer-Encoding")))
    }

    func testUnknownCodingIs501() {
        XCTAssertEqual(requestFraming("Transfer-Encoding: br, chunked\r\n"), .failure(err(501, "unknown transfer coding")))
        XCTAssertEqual(requestFraming("Transfer-Encoding: x-custom;a=b, chunked\r\n"), .failure(err(501, "unknown transfer coding")))
        XCTAssertEqual(requestFraming("Transfer-Encoding: gzip;level=1, deflate, chunked\r\n"), .success(.chunked))
    }

    func testTransferEncodingInHTTP10RequestIsRejected() {
        XCTAssertEqual(requestFraming("Transfer-Encoding: chunked\r\n", version: "HTTP/1.0"),
                       .failure(err(400, "Transfer-Encoding in an HTTP/1.0 request")))
    }

    // MARK: Responses

    func testResponsesWithoutBody() {
        let fields = "Content-Length: 10\r\n"
        XCTAssertEqual(responseFraming(fields, method: "HEAD"), .success(.none))
        XCTAssertEqual(responseFraming("HTTP/1.1 200 OK", "Transfer-Encoding: chunked\r\n", method: "HEAD"), .success(.none))
        XCTAssertEqual(responseFraming("HTTP/1.1 100 Continue", ""), .success(.none))
        XCTAssertEqual(responseFraming("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket\r\n"), .success(.none))
        XCTAssertEqual(responseFraming("HTTP/1.1 103 Early Hints", "Link: </a>\r\n"), .success(.none))
        XCTAssertEqual(responseFraming("HTTP/1.1 204 No Content", fields), .success(.none))
        XCTAssertEqual(responseFraming("HTTP/1.1 304 Not Modified", fields), .success(.none))
        XCTAssertEqual(responseFraming("HTTP/1.1 200 Connection established", "", method: "CONNECT"), .success(.none))
    }

    func testStatusesNextToTheBodylessOnesHaveBodies() {
        XCTAssertEqual(responseFraming("HTTP/1.1 200 OK", "Content-Length: 3\r\n"), .success(.contentLength(3)))
        XCTAssertEqual(responseFraming("HTTP/1.1 205 Reset Content", "Content-Length: 0\r\n"), .success(.contentLength(0)))
        XCTAssertEqual(responseFraming("HTTP/1.1 303 See Other", "Content-Length: 3\r\n"), .success(.contentLength(3)))
        XCTAssertEqual(responseFraming("HTTP/1.1 407 Proxy Auth", "Content-Length: 3\r\n", method: "CONNECT"), .success(.contentLength(3)))
        XCTAssertEqual(responseFraming("HTTP/1.1 200 OK", "", method: "head"), .success(.untilClose))
    }

    func testResponseTransferEncoding() {
        XCTAssertEqual(responseFraming("Transfer-Encoding: chunked\r\n"), .success(.chunked))
        XCTAssertEqual(responseFraming("Transfer-Encoding: br, chunked\r\n"), .success(.chunked))
        XCTAssertEqual(responseFraming("Transfer-Encoding: gzip\r\n"), .success(.untilClose))
        XCTAssertEqual(responseFraming("Transfer-Encoding: chunked, gzip\r\n"), .success(.untilClose))
        XCTAssertEqual(responseFraming("Transfer-Encoding: chunked, chunked\r\n"), .failure(err(400, "chunked applied more than once")))
        XCTAssertEqual(responseFraming("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
                       .failure(err(400, "both Content-Length and Transfer-Encoding")))
        XCTAssertEqual(responseFraming("HTTP/1.0 200 OK", "Transfer-Encoding: chunked\r\n"),
                       .failure(err(400, "Transfer-Encoding in an HTTP/1.0 response")))
    }

    func testResponseContentLengthAndCloseDelimited() {
        XCTAssertEqual(responseFraming("Content-Length: 42\r\n"), .success(.contentLength(42)))
        XCTAssertEqual(responseFraming("Content-Length: 42, 42\r\n"), .success(.contentLength(42)))
        XCTAssertEqual(responseFraming("Content-Length: 4x\r\n"), .failure(err(400, "invalid Content-Length")))
        XCTAssertEqual(responseFraming("Content-Length: 1, 2\r\n"), .failure(err(400, "differing Content-Length values")))
        XCTAssertEqual(responseFraming("Content-Type: text/event-stream\r\n"), .success(.untilClose))
        XCTAssertEqual(responseFraming("HTTP/1.0 200 OK", ""), .success(.untilClose))
    }

    // MARK: Keep-alive

    func testKeepAlive() {
        XCTAssertTrue(request("").keepAlive)
        XCTAssertFalse(request("Connection: close\r\n").keepAlive)
        XCTAssertFalse(request("Connection: Upgrade, CLOSE\r\n").keepAlive)
        XCTAssertTrue(request("Connection: closed\r\n").keepAlive)
        XCTAssertFalse(request("", version: "HTTP/1.0").keepAlive)
        XCTAssertTrue(request("Connection: Keep-Alive\r\n", version: "HTTP/1.0").keepAlive)
        XCTAssertFalse(request("Connection: keep-alive, close\r\n", version: "HTTP/1.0").keepAlive)
        XCTAssertTrue(response("HTTP/1.1 200 OK", "").keepAlive)
        XCTAssertFalse(response("HTTP/1.1 200 OK", "connection: close\r\n").keepAlive)
        XCTAssertFalse(response("HTTP/1.0 200 OK", "").keepAlive)
        XCTAssertTrue(response("HTTP/1.0 200 OK", "Connection: keep-alive\r\n").keepAlive)
    }
}
