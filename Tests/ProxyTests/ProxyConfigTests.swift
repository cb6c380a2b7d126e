import Proxy
import XCTest

final class ProxyConfigTests: XCTestCase {
    func testLongestPrefixOnASegmentBoundaryWins() throws {
        var config = ProxyConfig()
        config.routes = try ["http://a:1", "/api=http://b:2", "/api/sse=http://c:3/base"].map { try ProxyConfig.Route(parsing: $0) }
        XCTAssertEqual(config.route(for: "/api/sse/x")?.upstream.host, "c")
        XCTAssertEqual(config.route(for: "/api/sse")?.upstream.host, "c")
        XCTAssertEqual(config.route(for: "/api/ssex")?.upstream.host, "b")
        XCTAssertEqual(config.route(for: "/apix")?.upstream.host, "a")
        XCTAssertEqual(config.route(for: "/api/sse/x")?.upstream.basePath, "/base")
    }

    func testRouteErrorsNameTheValue() {
        XCTAssertThrowsError(try ProxyConfig.Route(parsing: "api=http://b:2")) { XCTAssertTrue("\($0)".contains("must start with '/'")) }
        XCTAssertThrowsError(try ProxyConfig.Route(parsing: "ftp://x")) { XCTAssertTrue("\($0)".contains("ftp://x")) }
    }

    /// By default a forward-proxy request may name only an upstream's host:port; --allow-host widens that,
    /// and an address pattern never matches a name.
    func testForwardTargetsDefaultToTheUpstreams() throws {
        var config = ProxyConfig()
        config.routes = [try ProxyConfig.Route(parsing: "http://127.0.0.1:5000"), try ProxyConfig.Route(parsing: "/x=http://[::1]:7000")]
        for (host, port) in [("127.0.0.1", 5000), ("[::1]", 7000)] { XCTAssertNil(config.forwardRefusal(host: host, port: port), host) }
        for (host, port) in [("127.0.0.1", 22), ("localhost", 5000), ("127.1.2.3", 5000), ("example.com", 80), ("[::1]", 5000)] {
            XCTAssertNotNil(config.forwardRefusal(host: host, port: port), "\(host):\(port)")
        }
        var open = config
        open.allowHosts = try ["*.internal", "api-?.test", "127.*", "10.0.0.0/8:8080"].map { try AllowedTarget(parsing: $0) }
        XCTAssertNil(open.forwardRefusal(host: "sse.internal", port: 80))
        XCTAssertNil(open.forwardRefusal(host: "api-1.test", port: 80))
        XCTAssertNotNil(open.forwardRefusal(host: "api-12.test", port: 80))
        XCTAssertNil(open.forwardRefusal(host: "127.0.0.1", port: 22))
        XCTAssertNotNil(open.forwardRefusal(host: "127.evil.example", port: 80), "127.* is an address pattern: it never matches a name")
        XCTAssertNil(open.forwardRefusal(host: "10.1.2.3", port: 8080))
        XCTAssertNotNil(open.forwardRefusal(host: "10.1.2.3", port: 80))
    }
}
