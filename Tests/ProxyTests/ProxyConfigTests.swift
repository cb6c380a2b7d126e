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

    func testAllowedHostsDefaultToLoopback() {
        let config = ProxyConfig()
        for host in ["localhost", "127.0.0.1", "127.1.2.3", "[::1]", "LOCALHOST"] { XCTAssertTrue(config.allows(host: host), host) }
        for host in ["example.com", "10.0.0.1", "[::2]", "localhost.example.com"] { XCTAssertFalse(config.allows(host: host), host) }
        var open = ProxyConfig()
        open.allowHosts = ["*.internal", "api-?.test"]
        XCTAssertTrue(open.allows(host: "sse.internal"))
        XCTAssertTrue(open.allows(host: "api-1.test"))
        XCTAssertFalse(open.allows(host: "api-12.test"))
    }
}
