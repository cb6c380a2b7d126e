import EventLoop
import Foundation
import HTTP1
@testable import Proxy
import SputterTesting
import XCTest

/// The control plane nobody else can reach: never through the proxy port, a token off loopback, no web
/// pages, connections that idle or trickle closed; and the forward-proxy allow-list on the wire.
final class ControlPlaneTests: XCTestCase {
    /// One raw request, one response.
    func exchange(_ port: Int, _ request: String) throws -> (head: ResponseHead, text: String) {
        let s = try TestSocket(port: port)
        s.send(request)
        let r = try s.readResponse()
        return (r.head, String(decoding: r.body, as: UTF8.self))
    }

    func controlProfile(_ stack: Stack) throws -> Any? {
        let r = try rawGET(port: stack.controlPort, "/settings")
        let object = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
        return object?["profile"]
    }

    /// A listener that counts the connections it gets (and answers 200).
    func makeBystander() throws -> (ScriptedOrigin, () -> Int) {
        let lock = NSLock()
        nonisolated(unsafe) var accepted = 0
        let origin = try ScriptedOrigin { conn in
            lock.withLock { accepted += 1 }
            _ = conn.readHead()
            conn.send("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nbystander")
            conn.close()
        }
        return (origin, { lock.withLock { accepted } })
    }

    func testTheControlAPIAndTheProxyPortAreUnreachableThroughTheProxy() throws {
        let stack = try Stack()
        let (bystander, accepted) = try makeBystander()
        defer { bystander.stop() }
        let c = stack.controlPort, p = stack.proxyPort

        let put = try exchange(p, "PUT http://127.0.0.1:\(c)/settings HTTP/1.1\r\nHost: 127.0.0.1:\(c)\r\nContent-Length: 27\r\n\r\n{\"profile\":\"stop-with-204\"}")
        XCTAssertEqual(put.head.status, 403)
        XCTAssertEqual(put.head.headers.first("Sputter-Error"), "own-listener")
        XCTAssertTrue(put.text.contains("control API"), put.text)
        XCTAssertTrue(try controlProfile(stack) is NSNull, "the settings must not have changed")

        for target in ["http://localhost:\(c)/reset", "http://127.0.0.1:\(p)/json", "http://[::1]:\(c)/health", "http://0.0.0.0:\(c)/health",
                       "http://127.0.0.2:\(c)/health"] {
            let r = try exchange(p, "POST \(target) HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            XCTAssertEqual(r.head.status, 403, target)
            XCTAssertEqual(r.head.headers.first("Sputter-Error"), "own-listener", target)
            XCTAssertTrue(r.text.contains("never reach Sputter's own listeners"), r.text)
        }
        XCTAssertTrue(try exchange(p, "GET http://127.0.0.1:\(p)/json HTTP/1.1\r\nHost: x\r\n\r\n").text.contains("proxy port"))

        // Another loopback port that is not an upstream: refused by the allow-list, never connected to.
        let other = try exchange(p, "GET http://127.0.0.1:\(bystander.port)/ HTTP/1.1\r\nHost: 127.0.0.1:\(bystander.port)\r\n\r\n")
        XCTAssertEqual(other.head.status, 403)
        XCTAssertEqual(other.head.headers.first("Sputter-Error"), "host-not-allowed")
        XCTAssertTrue(other.text.contains("127.0.0.1:\(bystander.port)") && other.text.contains("--allow-host"), other.text)
        XCTAssertEqual(accepted(), 0)
        // The upstream's own host:port is still allowed (the documented forward-proxy use).
        XCTAssertEqual(try exchange(p, "GET http://127.0.0.1:\(stack.originPort)/json HTTP/1.1\r\nHost: x\r\n\r\n").head.status, 200)
    }

    func testAWideAllowListStillNeverReachesSputtersOwnListeners() throws {
        let stack = try Stack { config, _ in
            config.allowHosts = try! ["127.*", "*", "localhost"].map { try AllowedTarget(parsing: $0) }
        }
        let (bystander, accepted) = try makeBystander()
        defer { bystander.stop() }
        let allowed = try exchange(stack.proxyPort, "GET http://127.0.0.1:\(bystander.port)/ HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(allowed.text, "bystander")
        XCTAssertEqual(accepted(), 1)
        for host in ["127.0.0.1", "localhost", "127.9.9.9"] {
            let r = try exchange(stack.proxyPort, "POST http://\(host):\(stack.controlPort)/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            XCTAssertEqual(r.head.status, 403, host)
        }
    }

    func testAnUpstreamThatIsSputtersOwnListenerIsRefusedAtStart() throws {
        // A port that was free a moment ago: the proxy listens there, and its only upstream is itself.
        let probe = try ScriptedOrigin { _ in }
        let port = probe.port
        probe.stop()
        XCTAssertThrowsError(try LoopThread.start(name: "self-upstream") { loop -> ProxyServer in
            var config = ProxyConfig()
            config.listenPort = port
            config.routes = [try ProxyConfig.Route(parsing: "http://localhost:\(port)")]
            return try ProxyServer(config: config, loop: loop, logger: SputterInstance.quietLogger)
        }) { error in
            XCTAssertTrue("\(error)".contains("own proxy port"), "\(error)")
        }
    }

    // MARK: the token

    func startProxy(control host: String = "127.0.0.1", token: String?, configure: (inout ProxyConfig) -> Void = { _ in }) throws -> LoopThread<ProxyServer> {
        var config = ProxyConfig()
        config.listenPort = 0
        config.routes = [try ProxyConfig.Route(parsing: "http://127.0.0.1:9")]
        configure(&config)
        let frozen = config
        return try LoopThread.start(name: "control-test") { loop in
            let server = try ProxyServer(config: frozen, loop: loop, logger: SputterInstance.quietLogger)
            try server.startControl(host: host, port: 0, token: token)
            return server
        }
    }

    func testATokenIsRequiredWhenSet() throws {
        let proxy = try startProxy(token: "s3cret-token")
        defer { proxy.stop() }
        let port = proxy.value.controlPort
        let none = try exchange(port, "GET /settings HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertEqual(none.head.status, 401)
        XCTAssertEqual(none.head.headers.first("WWW-Authenticate"), "Bearer realm=\"sputter\"")
        XCTAssertTrue(none.text.contains("Authorization: Bearer"), none.text)
        for wrong in ["Bearer s3cret-tokeN", "Bearer s3cret-token-and-more", "Bearer ", "Basic czNjcmV0LXRva2Vu", "s3cret-token"] {
            let r = try exchange(port, "POST /reset HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: \(wrong)\r\nContent-Length: 0\r\n\r\n")
            XCTAssertEqual(r.head.status, 401, wrong)
        }
        let ok = try exchange(port, "GET /settings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer s3cret-token\r\n\r\n")
        XCTAssertEqual(ok.head.status, 200)
        XCTAssertTrue(ok.text.contains("effective_profile"), ok.text)
        // With a token, any Host will do (a container reached by its service name).
        let named = try exchange(port, "GET /settings HTTP/1.1\r\nHost: sputter.default.svc:8081\r\nauthorization: bearer s3cret-token\r\n\r\n")
        XCTAssertEqual(named.head.status, 200)
        // Health probes cannot send a secret: GET /health is open, and tells nothing.
        let health = try exchange(port, "GET /health HTTP/1.1\r\nHost: 10.1.2.3:8081\r\n\r\n")
        XCTAssertEqual(health.head.status, 200)
        XCTAssertEqual(health.text, "{\"ok\":true}\n")
    }

    func testANonLoopbackControlAddressNeedsAToken() throws {
        XCTAssertThrowsError(try startProxy(control: "0.0.0.0", token: nil)) { error in
            XCTAssertTrue("\(error)".contains("token") && "\(error)".contains("0.0.0.0"), "\(error)")
        }
        XCTAssertThrowsError(try startProxy(control: "127.0.0.1", token: "")) { error in
            XCTAssertTrue("\(error)".contains("empty"), "\(error)")
        }
        // With a token it starts; reached over loopback only (no traffic leaves the machine).
        let proxy = try startProxy(control: "0.0.0.0", token: "t0ken")
        defer { proxy.stop() }
        let port = proxy.value.controlPort
        XCTAssertEqual(try exchange(port, "GET /clients HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").head.status, 401)
        XCTAssertEqual(try exchange(port, "GET /clients HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer t0ken\r\n\r\n").head.status, 200)
    }

    func testWebPagesAndRebindingHostNamesAreRefused() throws {
        let stack = try Stack()
        let c = stack.controlPort
        let crossSite = try exchange(c, "POST /reset HTTP/1.1\r\nHost: 127.0.0.1:\(c)\r\nSec-Fetch-Site: cross-site\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(crossSite.head.status, 403)
        XCTAssertTrue(crossSite.text.contains("web pages"), crossSite.text)
        let rebound = try exchange(c, "PUT /settings HTTP/1.1\r\nHost: attacker.example:\(c)\r\nContent-Length: 17\r\n\r\n{\"profile\":\"x\"}\r\n")
        XCTAssertEqual(rebound.head.status, 403)
        XCTAssertTrue(rebound.text.contains("attacker.example"), rebound.text)
        for host in ["127.0.0.1:\(c)", "localhost:\(c)", "[::1]:\(c)", "localhost"] {
            XCTAssertEqual(try exchange(c, "GET /health HTTP/1.1\r\nHost: \(host)\r\n\r\n").head.status, 200, host)
        }
    }

    // MARK: timeouts

    func testAnIdleControlConnectionIsClosed() throws {
        let stack = try Stack { config, _ in config.controlIdleTimeout = 200_000_000 }
        let silent = try TestSocket(port: stack.controlPort)
        XCTAssertNil(silent.readToEnd(), "a silent connection should end with a clean FIN")
        XCTAssertTrue(silent.received.isEmpty)
        // After a keep-alive request, too.
        let used = try TestSocket(port: stack.controlPort)
        used.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertEqual(try used.readResponse().head.status, 200)
        XCTAssertNil(used.readToEnd())
    }

    func testATricklingControlRequestGets408AndIsClosed() throws {
        let stack = try Stack { config, _ in
            config.controlRequestTimeout = 300_000_000
            config.controlIdleTimeout = 60_000_000_000
        }
        let s = try TestSocket(port: stack.controlPort)
        s.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        // One byte every 50 ms: each keeps the connection busy, none extends the request's deadline.
        var sent = 0
        while sent < 400 {
            var probe: UInt8 = 0
            if recv(s.fd, &probe, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0 { break }
            s.send("a")
            sent += 1
            usleep(50_000)
        }
        XCTAssertGreaterThan(sent, 0)
        let r = try s.readResponse()
        XCTAssertEqual(r.head.status, 408)
        XCTAssertTrue(String(decoding: r.body, as: UTF8.self).contains("300 ms"))
    }

    // MARK: reload

    func testReloadingAMissingOrUnreadableDirectoryNamesIt() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-no-such-\(UUID().uuidString)").path
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-file-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        for (directory, problem) in [(missing, "does not exist"), (file, "is not a directory")] {
            let stack = try Stack { config, _ in config.profilesDirectory = directory }
            let r = try exchange(stack.controlPort, "POST /profiles/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
            XCTAssertEqual(r.head.status, 400)
            XCTAssertEqual(r.head.headers.first("Content-Type"), "application/json")
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.text.utf8)) as? [String: Any])
            XCTAssertEqual(object["directory"] as? String, directory)
            XCTAssertEqual(object["problems"] as? [String], ["the profile directory \(directory) \(problem)"])
            XCTAssertEqual(object["error"] as? String, "profiles not reloaded; the previous set stays in force")
        }
    }

    // MARK: the allow-list, parsed

    func testAllowedTargetsParseAndMatch() throws {
        func target(_ text: String) throws -> AllowedTarget { try AllowedTarget(parsing: text) }
        XCTAssertEqual(try target("127.*").pattern, .addressGlob("127.*"))
        XCTAssertEqual(try target("*").pattern, .nameGlob("*"))
        XCTAssertEqual(try target("API.Test:8080").pattern, .name("api.test"))
        XCTAssertEqual(try target("API.Test:8080").port, 8080)
        XCTAssertEqual(try target("[::1]:81").pattern, .address(Array(repeating: 0, count: 15) + [1]))
        XCTAssertEqual(try target("fd00::/8").pattern, .network([0xFD] + Array(repeating: 0, count: 15), prefixLength: 8))
        let network = try target("10.0.0.0/8")
        XCTAssertTrue(network.matchesAddress([10, 200, 1, 1]))
        XCTAssertFalse(network.matchesAddress([11, 0, 0, 1]))
        // IPv4-mapped IPv6 is IPv4 for every check.
        XCTAssertEqual(SocketAddress(numericHost: "::ffff:127.0.0.1", port: 1)?.ip, [127, 0, 0, 1])
        XCTAssertTrue(SocketAddress(numericHost: "::ffff:127.0.0.1", port: 1)?.isLoopback == true)
        for bad in ["", "a b", "10.0.0.0/33", "host:0", "host:99999", "[::1", "exa$mple.com"] {
            XCTAssertThrowsError(try target(bad), bad) { XCTAssertTrue("\($0)".contains("expected a host name"), "\($0)") }
        }
    }
}
