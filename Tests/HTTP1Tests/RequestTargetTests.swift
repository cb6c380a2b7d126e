import HTTP1
import XCTest

final class RequestTargetTests: XCTestCase {
    func parse(_ target: String, _ method: String = "GET") -> Result<RequestTarget, HTTPParseError> {
        Result { () throws(HTTPParseError) in try RequestTarget.parse(target, method: method) }
    }

    func testOriginForm() {
        XCTAssertEqual(parse("/a/b?x=1&y"), .success(.origin(path: "/a/b", query: "x=1&y")))
        XCTAssertEqual(parse("/"), .success(.origin(path: "/", query: nil)))
        XCTAssertEqual(parse("/a?"), .success(.origin(path: "/a", query: "")))
        XCTAssertEqual(parse("/a?b?c"), .success(.origin(path: "/a", query: "b?c")))
        XCTAssertEqual(parse("//x", "POST"), .success(.origin(path: "//x", query: nil)))
        XCTAssertEqual(parse("/a#frag"), .failure(err(400, "fragment in request target")))
    }

    func testAbsoluteForm() {
        XCTAssertEqual(parse("http://h:5000/x?y"),
                       .success(.absolute(scheme: "http", authority: "h:5000", host: "h", port: 5000, pathAndQuery: "/x?y")))
        XCTAssertEqual(parse("http://example.com"),
                       .success(.absolute(scheme: "http", authority: "example.com", host: "example.com", port: 80, pathAndQuery: "/")))
        XCTAssertEqual(parse("https://example.com/s"),
                       .success(.absolute(scheme: "https", authority: "example.com", host: "example.com", port: 443, pathAndQuery: "/s")))
        XCTAssertEqual(parse("HTTP://H:/p"),
                       .success(.absolute(scheme: "http", authority: "H:", host: "H", port: 80, pathAndQuery: "/p")))
        XCTAssertEqual(parse("http://[::1]:8080/e"),
                       .success(.absolute(scheme: "http", authority: "[::1]:8080", host: "[::1]", port: 8080, pathAndQuery: "/e")))
        XCTAssertEqual(parse("http://[::1]?q"),
                       .success(.absolute(scheme: "http", authority: "[::1]", host: "[::1]", port: 80, pathAndQuery: "/?q")))
        XCTAssertEqual(parse("http://127.0.0.1:1/"),
                       .success(.absolute(scheme: "http", authority: "127.0.0.1:1", host: "127.0.0.1", port: 1, pathAndQuery: "/")))
    }

    func testBadAbsoluteForms() {
        XCTAssertEqual(parse("http://u:p@h/"), .failure(err(400, "userinfo in authority")))
        XCTAssertEqual(parse("http:///x"), .failure(err(400, "empty host")))
        XCTAssertEqual(parse("http://h:0/"), .failure(err(400, "invalid port")))
        XCTAssertEqual(parse("http://h:65536/"), .failure(err(400, "invalid port")))
        XCTAssertEqual(parse("http://h:8a/"), .failure(err(400, "invalid port")))
        XCTAssertEqual(parse("http://h:-1/"), .failure(err(400, "invalid port")))
        XCTAssertEqual(parse("http://[zz]/"), .failure(err(400, "invalid IPv6 host")))
        XCTAssertEqual(parse("http://h%zz/"), .failure(err(400, "invalid percent-encoding in host")))
        XCTAssertEqual(parse("http://h\"/"), .failure(err(400, "invalid character in host")))
        XCTAssertEqual(parse("ftp://h/"), .failure(err(400, "unsupported URI scheme")))
        XCTAssertEqual(parse("http:/h/"), .failure(err(400, "invalid request target")))
        XCTAssertEqual(parse("h:80"), .failure(err(400, "invalid request target")))
        XCTAssertEqual(parse("a"), .failure(err(400, "invalid request target")))
        XCTAssertEqual(parse(""), .failure(err(400, "empty request target")))
    }

    func testAuthorityFormOnlyForConnect() {
        XCTAssertEqual(parse("h:443", "CONNECT"), .success(.authority(host: "h", port: 443)))
        XCTAssertEqual(parse("[::1]:8443", "CONNECT"), .success(.authority(host: "[::1]", port: 8443)))
        XCTAssertEqual(parse("h", "CONNECT"), .failure(err(400, "CONNECT needs host:port as its target")))
        XCTAssertEqual(parse("h:", "CONNECT"), .failure(err(400, "CONNECT needs host:port as its target")))
        XCTAssertEqual(parse(":443", "CONNECT"), .failure(err(400, "CONNECT needs host:port as its target")))
        XCTAssertEqual(parse("/x", "CONNECT"), .failure(err(400, "invalid character in host")))
        XCTAssertEqual(parse("u@h:443", "CONNECT"), .failure(err(400, "userinfo in authority")))
    }

    func testAsteriskOnlyForOptions() {
        XCTAssertEqual(parse("*", "OPTIONS"), .success(.asterisk))
        XCTAssertEqual(parse("*", "GET"), .failure(err(400, "asterisk target is only for OPTIONS")))
        XCTAssertEqual(parse("/", "OPTIONS"), .success(.origin(path: "/", query: nil)))
    }

    func testTargetFromAParsedRequest() throws {
        let outcome = verifyRequest("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
        let head = try XCTUnwrap(outcome.head)
        XCTAssertEqual(try RequestTarget.parse(head.target, method: head.method), .asterisk)
    }
}

final class UpstreamURLTests: XCTestCase {
    func parse(_ s: String) -> Result<UpstreamURL, HTTPParseError> {
        Result { () throws(HTTPParseError) in try UpstreamURL(parsing: s) }
    }

    func testValidURLs() throws {
        XCTAssertEqual(parse("http://localhost:5000"), .success(UpstreamURL(scheme: "http", host: "localhost", port: 5000, basePath: "")))
        XCTAssertEqual(parse("http://localhost:5000/"), .success(UpstreamURL(scheme: "http", host: "localhost", port: 5000, basePath: "")))
        XCTAssertEqual(parse("https://api.example.com/sse/v1/"),
                       .success(UpstreamURL(scheme: "https", host: "api.example.com", port: 443, basePath: "/sse/v1")))
        XCTAssertEqual(parse("HTTP://h"), .success(UpstreamURL(scheme: "http", host: "h", port: 80, basePath: "")))
        XCTAssertEqual(parse("http://[::1]:8080/x"), .success(UpstreamURL(scheme: "http", host: "[::1]", port: 8080, basePath: "/x")))
    }

    func testAuthorityOmitsTheDefaultPort() throws {
        XCTAssertEqual(try UpstreamURL(parsing: "http://h").authority, "h")
        XCTAssertEqual(try UpstreamURL(parsing: "http://h:80").authority, "h")
        XCTAssertEqual(try UpstreamURL(parsing: "http://h:443").authority, "h:443")
        XCTAssertEqual(try UpstreamURL(parsing: "https://h:443").authority, "h")
        XCTAssertEqual(try UpstreamURL(parsing: "https://[::1]:8443/p").authority, "[::1]:8443")
        XCTAssertEqual(try UpstreamURL(parsing: "https://[::1]:8443/p/").description, "https://[::1]:8443/p")
    }

    func testInvalidURLs() {
        for bad in ["", "localhost:5000", "ftp://h", "http://", "http://h:0", "http://h:70000", "http://u@h",
                    "http://h/a b", "http:/h", "//h", "http://h/é"] {
            guard case .failure(let error) = parse(bad) else { XCTFail("accepted \(bad.debugDescription)"); continue }
            XCTAssertEqual(error.status, 400)
            XCTAssertTrue(error.reason.hasSuffix(bad), error.reason)
        }
        XCTAssertEqual(parse("http://h/?x=1"), .failure(err(400, "upstream URL must not have a query or fragment: http://h/?x=1")))
        XCTAssertEqual(parse("http://h#f"), .failure(err(400, "upstream URL must not have a query or fragment: http://h#f")))
        XCTAssertEqual(parse("ftp://h"), .failure(err(400, "upstream URL must look like http://host[:port][/path] (unsupported URI scheme): ftp://h")))
    }
}
