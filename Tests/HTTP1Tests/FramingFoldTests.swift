import HTTP1
import XCTest

/// RFC 9112 6.3 / RFC 9110 8.6: the head the proxy parses, and so serializes and forwards, carries one
/// Content-Length value and one Transfer-Encoding field; conflicting values stay visible to `bodyFraming`,
/// which rejects them (400 for a request, 502 from the proxy for a response).
final class FramingFoldTests: XCTestCase {
    func forwardedRequest(_ fields: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let head = verifyRequest("POST /p HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n", file: file, line: line).head
        guard let head else {
            XCTFail("head did not parse", file: file, line: line)
            return ""
        }
        return String(decoding: head.serialized(), as: UTF8.self)
    }

    func forwardedResponse(_ fields: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        guard let head = verifyResponse("HTTP/1.1 200 OK\r\n" + fields + "\r\n", file: file, line: line).head else {
            XCTFail("head did not parse", file: file, line: line)
            return ""
        }
        return String(decoding: head.serialized(), as: UTF8.self)
    }

    func testRepeatedIdenticalContentLengthIsForwardedOnce() {
        let expected = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX: y\r\n\r\n"
        XCTAssertEqual(forwardedRequest("Content-Length: 5, 5\r\nX: y\r\n"), expected)
        XCTAssertEqual(forwardedRequest("Content-Length: 5\r\nX: y\r\nContent-Length: 5\r\n"), expected)
        XCTAssertEqual(forwardedRequest("Content-Length: 5\r\nX: y\r\ncontent-length: 5,5\r\n"), expected)
        XCTAssertEqual(forwardedRequest("Content-Length: 005, 5\r\nX: y\r\n"), expected)
        // The first field's name keeps its case and its place.
        XCTAssertEqual(forwardedResponse("X: y\r\ncontent-LENGTH: 7\r\nContent-Length: 7\r\n"),
                       "HTTP/1.1 200 OK\r\nX: y\r\ncontent-LENGTH: 7\r\n\r\n")
        XCTAssertEqual(forwardedResponse("Content-Length: 7 , 7\r\n"), "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n")
        // A single plain value is left as it came; leading zeros are dropped (found by fuzz/HTTP1Fuzz: "03"
        // was forwarded as is, and a next hop reading it as octal would frame "010" as 8 bytes).
        XCTAssertEqual(forwardedRequest("Content-Length: 5\r\n"), "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n")
        XCTAssertEqual(forwardedRequest("Content-Length: 0\r\n"), "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(forwardedRequest("Content-Length: 010\r\n"), "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n")
        XCTAssertEqual(forwardedResponse("Content-Length: 000\r\n"), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(forwardedResponse("Content-Length: 00000000000070000000000000\r\n"),
                       "HTTP/1.1 200 OK\r\nContent-Length: 70000000000000\r\n\r\n")
    }

    func testFoldedHeadsFrameAsBefore() throws {
        let request = try XCTUnwrap(verifyRequest("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").head)
        XCTAssertEqual(request.headers.values("Content-Length"), ["5"])
        XCTAssertEqual(Result { () throws(HTTPParseError) in try request.bodyFraming() }, .success(.contentLength(5)))
        let response = try XCTUnwrap(verifyResponse("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n").head)
        XCTAssertEqual(Result { () throws(HTTPParseError) in try response.bodyFraming(requestMethod: "GET") }, .success(.contentLength(3)))
    }

    func testDifferingOrMalformedContentLengthsAreKeptAndRejected() throws {
        for fields in ["Content-Length: 5, 6\r\n", "Content-Length: 5\r\nContent-Length: 6\r\n", "Content-Length: 5, x\r\n",
                       "Content-Length: 5\r\nContent-Length: \r\n"] {
            let request = try XCTUnwrap(verifyRequest("POST /p HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n").head, fields)
            XCTAssertEqual(request.headers.values("Content-Length").count, fields.components(separatedBy: "Content-Length").count - 1, fields)
            let framing = Result { () throws(HTTPParseError) in try request.bodyFraming() }
            XCTAssertEqual(framing.failureStatus, 400, fields)
            let response = try XCTUnwrap(verifyResponse("HTTP/1.1 200 OK\r\n" + fields + "\r\n").head, fields)
            // The proxy answers 502 for any framing error of an upstream response.
            XCTAssertEqual(Result { () throws(HTTPParseError) in try response.bodyFraming(requestMethod: "GET") }.failureStatus, 400, fields)
        }
    }

    func testContentLengthBesideTransferEncodingIsNotFoldedAway() throws {
        let request = try XCTUnwrap(verifyRequest("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nTransfer-Encoding: chunked\r\n\r\n").head)
        XCTAssertEqual(Result { () throws(HTTPParseError) in try request.bodyFraming() },
                       .failure(err(400, "both Content-Length and Transfer-Encoding")))
    }

    func testTransferEncodingFieldsBecomeOneList() throws {
        XCTAssertEqual(forwardedRequest("Transfer-Encoding: gzip\r\nX: y\r\ntransfer-encoding: chunked\r\n"),
                       "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\nX: y\r\n\r\n")
        XCTAssertEqual(forwardedResponse("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"),
                       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n")
        // Judged as before: the joined list means what the separate fields meant.
        let cases: [(String, Result<BodyFraming, HTTPParseError>)] = [
            ("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", .success(.chunked)),
            ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", .failure(err(400, "chunked applied more than once"))),
            ("Transfer-Encoding: \r\nTransfer-Encoding: chunked\r\n", .failure(err(400, "invalid Transfer-Encoding"))),
            ("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", .failure(err(400, "final transfer coding is not chunked"))),
        ]
        for (fields, expected) in cases {
            let head = try XCTUnwrap(verifyRequest("POST /p HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n").head)
            XCTAssertEqual(head.headers.values("Transfer-Encoding").count, 1, fields)
            XCTAssertEqual(Result { () throws(HTTPParseError) in try head.bodyFraming() }, expected, fields)
        }
    }

    // Found by fuzz/HTTP1Fuzz (request-head round trip): joining an empty last field gave "gzip, ", which
    // serialized and parsed back as "gzip," — a head that did not survive its own round trip.
    func testFoldedTransferEncodingRoundTrips() throws {
        for fields in ["Transfer-Encoding: gzip\r\nTransfer-Encoding:\r\n", "Transfer-Encoding:\r\nTransfer-Encoding: \r\n",
                       "Transfer-Encoding: \r\nTransfer-Encoding: chunked\r\n"] {
            let head = try XCTUnwrap(verifyRequest("POST /p HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n").head, fields)
            let bytes = head.serialized()
            XCTAssertEqual(verifyRequest(bytes), .complete(head, headLength: bytes.count), fields)
        }
        XCTAssertEqual(forwardedRequest("Transfer-Encoding: gzip\r\nTransfer-Encoding:\r\n"),
                       "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip,\r\n\r\n")
    }

    func testOtherRepeatedFieldsAreKept() {
        XCTAssertEqual(forwardedRequest("X-Dup: 1\r\nX-Dup: 1\r\n"), "POST /p HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nX-Dup: 1\r\n\r\n")
    }
}

extension Result where Failure == HTTPParseError {
    var failureStatus: Int? { if case .failure(let e) = self { return e.status } else { return nil } }
}

/// A server that maps `_` to `-` in field names (CGI-style) would frame by a field the proxy ignores.
final class FramingLookalikeTests: XCTestCase {
    func testUnderscoreFramingFieldsAreRejected() throws {
        for field in ["Content_Length: 5", "content_length: 5", "Transfer_Encoding: chunked", "TRANSFER_ENCODING: gzip"] {
            let name = String(field.prefix { $0 != ":" })
            let request = try XCTUnwrap(verifyRequest("POST /p HTTP/1.1\r\nHost: h\r\n\(field)\r\n\r\n").head, field)
            XCTAssertEqual(Result { () throws(HTTPParseError) in try request.bodyFraming() },
                           .failure(err(400, "\(name) field (a framing field's name with '_' for '-') is ambiguous")), field)
            let response = try XCTUnwrap(verifyResponse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\(field)\r\n\r\n").head, field)
            XCTAssertEqual(Result { () throws(HTTPParseError) in try response.bodyFraming(requestMethod: "GET") }.failureStatus, 400, field)
        }
        // Other names with underscores are fine.
        let head = try XCTUnwrap(verifyRequest("POST /p HTTP/1.1\r\nHost: h\r\nX_Content_Length: 5\r\nContent_Type: a\r\n\r\n").head)
        XCTAssertEqual(Result { () throws(HTTPParseError) in try head.bodyFraming() }, .success(.none))
    }
}
