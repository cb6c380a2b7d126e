import HTTP1
import XCTest

final class SerializerTests: XCTestCase {
    func testRequestHead() {
        let head = RequestHead(method: "PATCH", target: "/a?b", version: .http11,
                               headers: ["Host": "h", "x-lower": "v", "X-Dup": "1", "X-Dup": "2"])
        XCTAssertEqual(String(decoding: head.serialized(), as: UTF8.self),
                       "PATCH /a?b HTTP/1.1\r\nHost: h\r\nx-lower: v\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n")
        XCTAssertEqual(String(decoding: RequestHead(method: "GET", target: "/", version: .http10).serialized(), as: UTF8.self),
                       "GET / HTTP/1.0\r\n\r\n")
    }

    func testResponseHead() {
        let head = ResponseHead(version: .http11, status: 200, reason: "OK", headers: ["Content-Type": "text/event-stream"])
        XCTAssertEqual(String(decoding: head.serialized(), as: UTF8.self),
                       "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
        XCTAssertEqual(String(decoding: ResponseHead(version: .http10, status: 204, reason: "").serialized(), as: UTF8.self),
                       "HTTP/1.0 204 \r\n\r\n")
    }

    func testParsedHeadsRoundTrip() throws {
        let request = "DELETE /x HTTP/1.1\r\nHost: h\r\nX: a b\r\n\r\n"
        XCTAssertEqual(try XCTUnwrap(verifyRequest(request).head).serialized(), bytes(request))
        // Non-canonical input comes out canonical: bare LF → CRLF, OWS trimmed, one SP after the colon.
        let messy = "GET / HTTP/1.1\nHost:h  \n\n"
        XCTAssertEqual(String(decoding: try XCTUnwrap(verifyRequest(messy).head).serialized(), as: UTF8.self),
                       "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let response = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nCafé: ☕\r\n\r\n"
        XCTAssertEqual(response.contains("Café"), true)
        let responseOK = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nX: ☕\r\n\r\n"
        XCTAssertEqual(try XCTUnwrap(verifyResponse(responseOK).head).serialized(), bytes(responseOK))
        XCTAssertEqual(verifyResponse(response).error, err(400, "invalid character in field name"))
    }

    func testErrorResponse() {
        let e = err(431, "too many header fields")
        XCTAssertEqual(String(decoding: e.responseBytes(), as: UTF8.self),
                       "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       + "Content-Length: 23\r\nConnection: close\r\n\r\ntoo many header fields\n")
        XCTAssertEqual(e.description, "431 Request Header Fields Too Large: too many header fields")
    }
}
