import Foundation
import HTTP1
import Proxy
import Profiles
import Faults
import SSE
import XCTest

/// The spine over real loopback sockets: proxy and demo origin in process, ephemeral ports.
final class RelayTests: XCTestCase {
    func testEveryMethodTokenIsRelayedWithItsBody() throws {
        let stack = try Stack()
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE", "PROPFIND"] {
            let s = try TestSocket(port: stack.proxyPort)
            let body = "body of \(method)"
            s.send("\(method) /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let r = try s.readResponse()
            XCTAssertEqual(r.head.status, 200, method)
            XCTAssertEqual(String(decoding: r.body, as: UTF8.self), body, method)
        }
        XCTAssertEqual(stack.seenByOrigin().map(\.method), ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE", "PROPFIND"])
    }

    func testChunkedRequestBodyReachesTheOrigin() throws {
        let stack = try Stack()
        let s = try TestSocket(port: stack.proxyPort)
        s.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n")
        let r = try s.readResponse()
        XCTAssertEqual(r.head.status, 200)
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), "hello, world")
    }

    func testKeepAliveCarriesSeveralRequestsOnOneConnection() throws {
        let stack = try Stack()
        let s = try TestSocket(port: stack.proxyPort)
        for i in 0..<3 {
            s.send("GET /json HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try s.readResponse()
            XCTAssertEqual(r.head.status, 200, "request \(i)")
            XCTAssertTrue(String(decoding: r.body, as: UTF8.self).contains("sputter-demo-origin"))
        }
        // Pipelined: both requests sent before either answer is read.
        s.send("GET /json HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
        XCTAssertEqual(try s.readResponse().head.status, 200)
        XCTAssertEqual(try s.readResponse().body, Array("ok".utf8))
        XCTAssertEqual(stack.sputter.acceptedConnections, 1)
    }

    func testHeadAnd204And304HaveNoBody() throws {
        let stack = try Stack()
        let s = try TestSocket(port: stack.proxyPort)
        s.send("HEAD /json HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try s.readResponse(requestMethod: "HEAD")
        XCTAssertEqual(head.head.status, 200)
        XCTAssertEqual(head.head.headers.first("Content-Length"), "44")
        XCTAssertEqual(head.body, [])
        for status in [204, 304] {
            s.send("GET /status/\(status) HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try s.readResponse()
            XCTAssertEqual(r.head.status, status)
            XCTAssertEqual(r.body, [])
        }
        // The connection is still in step: nothing was mistaken for a body.
        s.send("GET /json HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try s.readResponse().body.count, 44)
    }

    func testFiveMegabytesArriveByteIdenticalInEachFraming() throws {
        let stack = try Stack()
        for framing in ["length", "chunked", "close"] {
            let target = "/bytes?size=5000000&framing=\(framing)"
            let direct = try rawGET(port: stack.originPort, target)
            let proxied = try rawGET(port: stack.proxyPort, target)
            XCTAssertEqual(proxied.body.count, 5_000_000, framing)
            XCTAssertTrue(proxied.rawBody == direct.rawBody, "\(framing): body bytes (framing included) differ from the origin's")
        }
    }

    func testHTTP10ClientGetsAnUnchunkedBodyAndTheConnectionEnds() throws {
        let stack = try Stack()
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /bytes?size=20000&framing=chunked HTTP/1.0\r\n\r\n")
        let r = try s.readResponse()
        XCTAssertEqual(r.head.status, 200)
        XCTAssertNil(r.head.headers.first("Transfer-Encoding"))
        XCTAssertEqual(r.body, (0..<20000).map { UInt8($0 % 251) })
    }

    func testFirstEventArrivesWhileTheOriginIsStillSending() throws {
        let stack = try Stack()
        let s = try TestSocket(port: stack.proxyPort)
        // 1000 events 50 ms apart: the stream lasts ~50 s, so the first event must arrive long before it ends.
        s.send("GET /events?interval_ms=50&count=1000 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        XCTAssertTrue(try s.read(until: "id: 1\nevent: tick\ndata: {\"n\":1}\n\n"))
        XCTAssertTrue(try s.read(until: "id: 2\n"))
        let head = try HeadParser.parseResponse(s.received, limits: HTTPLimits())
        guard case .complete(let h, _) = head else { return XCTFail("no head") }
        XCTAssertEqual(h.headers.first("Content-Type"), "text/event-stream")
        XCTAssertEqual(h.headers.first("Transfer-Encoding"), "chunked")
    }

    func testSlowReaderStopsTheUpstreamAndKeepsProxyMemoryBounded() throws {
        let stack = try Stack()
        let s = try TestSocket(port: stack.proxyPort)
        let size = 16 * 1024 * 1024
        s.send("GET /bytes?size=\(size)&framing=close HTTP/1.1\r\nHost: x\r\n\r\n")
        // Read nothing for a while: the kernel buffers fill, then the proxy must stop reading the origin.
        var peak = 0
        for _ in 0..<100 {
            usleep(10_000)
            peak = max(peak, stack.sputter.bufferedBytes)
        }
        let bound = 2 * 256 * 1024 + 64 * 1024
        XCTAssertLessThan(peak, bound, "proxy buffered \(peak) bytes for a reader that reads nothing")
        let r = try s.readResponse()
        XCTAssertEqual(r.body.count, size)
        XCTAssertTrue(r.body.enumerated().allSatisfy { $0.element == UInt8($0.offset % 251) })
    }

    func testUpstreamDownGives502NamingIt() throws {
        let port = closedPort()
        let stack = try Stack { config, _ in config.routes = [try! .init(parsing: "http://127.0.0.1:\(port)")] }
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        let r = try s.readResponse()
        XCTAssertEqual(r.head.status, 502)
        let text = String(decoding: r.body, as: UTF8.self)
        XCTAssertTrue(text.contains("http://127.0.0.1:\(port)"), text)
        XCTAssertTrue(text.contains("refused"), text)
        XCTAssertEqual(r.head.headers.first("Sputter-Error"), "upstream-unreachable")
    }

    func testUnresolvableUpstreamGives502NamingIt() throws {
        let stack = try Stack { config, _ in config.routes = [try! .init(parsing: "http://no-such-host.invalid:5000")] }
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let r = try s.readResponse()
        XCTAssertEqual(r.head.status, 502)
        XCTAssertTrue(String(decoding: r.body, as: UTF8.self).contains("no-such-host.invalid"))
    }

    func testClientDisconnectClosesTheUpstreamConnection() throws {
        let upstreamClosed = DispatchSemaphore(value: 0)
        let origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            conn.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n")
            if conn.waitForPeerClose() { upstreamClosed.signal() }
            conn.close()
        }
        let stack = try Stack { config, _ in config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")] }
        do {
            let s = try TestSocket(port: stack.proxyPort)
            s.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            XCTAssertTrue(try s.read(until: "data: 1"))
        } // the client socket closes here
        XCTAssertEqual(upstreamClosed.wait(timeout: .now() + 20), .success, "upstream connection still open after the client left")
        eventually("session gone") { stack.sputter.openConnections == 0 }
    }

    func testUpstreamResetReachesTheClientAsAReset() throws {
        let origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            conn.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: before the reset\n\n")
            usleep(100_000)
            conn.reset()
        }
        let stack = try Stack { config, _ in config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")] }
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(try s.read(until: "data: before the reset\n\n"))
        let end = s.readToEnd()
        XCTAssertEqual(end?.errno, ECONNRESET, "expected ECONNRESET, got \(String(describing: end))")
    }

    func testHopByHopHeadersAreRemovedAndTheRestPassOnUnchanged() throws {
        nonisolated(unsafe) var seenHead = ""
        let got = DispatchSemaphore(value: 0)
        let origin = try ScriptedOrigin { conn in
            seenHead = conn.readHead()
            got.signal()
            conn.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nok")
            conn.close()
        }
        let stack = try Stack { config, _ in config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")] }
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /x?keep=1&sputter_client=abc HTTP/1.1\r\nHost: front.example\r\nConnection: X-Private\r\nX-Private: secret\r\nKeep-Alive: 300\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eA==\r\nX-Dup: one\r\nx-dup: Two\r\nSputter-Profile: passthrough\r\nX-Forwarded-For: 10.0.0.9\r\n\r\n")
        let r = try s.readResponse()
        XCTAssertEqual(got.wait(timeout: .now() + 20), .success)
        let lines = seenHead.components(separatedBy: "\r\n")
        XCTAssertEqual(lines[0], "GET /x?keep=1 HTTP/1.1")
        XCTAssertTrue(lines.contains("Host: 127.0.0.1:\(origin.port)"), seenHead)
        for gone in ["X-Private", "Keep-Alive", "TE", "Upgrade", "Proxy-Authorization", "Sputter-Profile"] {
            XCTAssertFalse(lines.contains { $0.lowercased().hasPrefix(gone.lowercased() + ":") }, "\(gone) reached the upstream")
        }
        XCTAssertTrue(lines.contains("X-Dup: one") && lines.contains("x-dup: Two"), seenHead)
        XCTAssertTrue(lines.contains("X-Forwarded-For: 10.0.0.9, 127.0.0.1"), seenHead)
        XCTAssertTrue(lines.contains("X-Forwarded-Proto: http"), seenHead)
        XCTAssertTrue(lines.contains("X-Forwarded-Host: front.example"), seenHead)
        XCTAssertTrue(lines.contains("Via: 1.1 sputter"), seenHead)
        // Response side: hop-by-hop gone, duplicates kept.
        XCTAssertNil(r.head.headers.first("X-Hop"))
        XCTAssertNil(r.head.headers.first("Keep-Alive"))
        XCTAssertEqual(r.head.headers.values("Set-Cookie"), ["a=1", "b=2"])
        XCTAssertEqual(r.head.headers.first("Via"), "1.1 sputter")
    }

    func testExpect100ContinueIsRelayed() throws {
        let origin = try ScriptedOrigin { conn in
            let head = conn.readHead()
            guard head.contains("Expect: 100-continue") else { conn.send("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"); return conn.close() }
            conn.send("HTTP/1.1 100 Continue\r\n\r\n")
            let body = conn.read(count: 5)
            conn.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
            conn.send(body)
            conn.close()
        }
        let stack = try Stack { config, _ in config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")] }
        let s = try TestSocket(port: stack.proxyPort)
        s.send("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertTrue(try s.read(until: "HTTP/1.1 100 Continue\r\n\r\n"))
        s.send("abcde")
        let r = try s.readResponse()
        XCTAssertEqual(r.head.status, 200)
        XCTAssertEqual(r.body, Array("abcde".utf8))
    }

    func testLongestPrefixRouteWins() throws {
        let gateway = try ScriptedOrigin { conn in
            _ = conn.readHead()
            conn.send("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\ngateway")
            conn.close()
        }
        let stack = try Stack { config, originPort in
            config.routes = [try! .init(parsing: "http://127.0.0.1:\(originPort)"),
                             try! .init(parsing: "/api/sse=http://127.0.0.1:\(gateway.port)")]
        }
        XCTAssertEqual(try rawGET(port: stack.proxyPort, "/api/sse/stream").body, Array("gateway".utf8))
        XCTAssertEqual(try rawGET(port: stack.proxyPort, "/api/ssex").head.status, 404)  // not on a segment boundary: the default route
        XCTAssertEqual(try rawGET(port: stack.proxyPort, "/json").head.status, 200)
    }

    func testForwardProxyRequestsAreCheckedAgainstAllowedHosts() throws {
        let stack = try Stack()
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET http://127.0.0.1:\(stack.originPort)/json HTTP/1.1\r\nHost: 127.0.0.1:\(stack.originPort)\r\n\r\n")
        XCTAssertEqual(try s.readResponse().head.status, 200)
        let denied = try TestSocket(port: stack.proxyPort)
        denied.send("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
        let r = try denied.readResponse()
        XCTAssertEqual(r.head.status, 403)
        XCTAssertTrue(String(decoding: r.body, as: UTF8.self).contains("example.com"))
        let connect = try TestSocket(port: stack.proxyPort)
        connect.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        let c = try connect.readResponse()
        XCTAssertEqual(c.head.status, 405)
        XCTAssertTrue(String(decoding: c.body, as: UTF8.self).contains("CONNECT"))
    }

    func testMalformedRequestsGetA4xxWithAReason() throws {
        let stack = try Stack()
        let cases: [(String, Int, String)] = [
            ("GET /\r\n\r\n", 400, ""),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "Content-Length"),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400, "fold"),
            ("GET / HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", 400, ""),
            ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, ""),
            ("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, ""),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 70_000) + "\r\n\r\n", 431, ""),
            ("GET / HTTP/1.1\r\nHost: x\r\n" + (0..<101).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431, ""),
            ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "chunk"),
        ]
        for (request, status, reasonPart) in cases {
            let s = try TestSocket(port: stack.proxyPort)
            s.send(request)
            let r = try s.readResponse()
            XCTAssertEqual(r.head.status, status, request.prefix(60).description)
            let text = String(decoding: r.body, as: UTF8.self)
            XCTAssertTrue(text.hasPrefix("sputter: "), text)
            if !reasonPart.isEmpty { XCTAssertTrue(text.lowercased().contains(reasonPart.lowercased()), "\(text) lacks \(reasonPart)") }
        }
        // The proxy is still serving.
        XCTAssertEqual(try rawGET(port: stack.proxyPort, "/json").head.status, 200)
    }

    func testSilentStreamIsNotTimedOut() throws {
        // No idle timeout ends a quiet stream: after a pause far longer than any read timeout libevent
        // would apply by default, the next event still arrives. (The 5-minute check is in the note.)
        let release = DispatchSemaphore(value: 0)
        let origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            conn.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: a\n\n")
            _ = release.wait(timeout: .now() + 30)
            conn.send("data: b\n\n")
            conn.close()
        }
        let stack = try Stack { config, _ in
            config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")]
            config.keepAliveTimeout = 200_000_000   // short timers elsewhere must not touch a stream
            config.headTimeout = 200_000_000
        }
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(try s.read(until: "data: a\n\n"))
        usleep(1_000_000)
        release.signal()
        XCTAssertTrue(try s.read(until: "data: b\n\n"))
    }
}

extension RelayTests {
    func testOversizedEventPassesThroughByteExact() throws {
        let big = "data: " + String(repeating: "x", count: 300_000) + "\n\n"
        let origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            conn.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\nid: 1\ndata: small\n\n" + big + "id: 3\ndata: after\n\n")
            conn.close()
        }
        for profile in ["passthrough", "shaped"] {
            let stack = try Stack { config, _ in
                config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")]
                config.maxFrameBytes = 64 * 1024
                config.profiles = .init(profiles: [.passthrough, .init(name: "shaped", faults: [.init(.drop(.init(heartbeatsOnly: true)))])])
            }
            let s = try TestSocket(port: stack.proxyPort)
            s.send("GET /e?sputter_profile=\(profile) HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try s.readResponse()
            XCTAssertEqual(String(decoding: r.body, as: UTF8.self), "id: 1\ndata: small\n\n" + big + "id: 3\ndata: after\n\n", profile)
        }
    }
}

extension RelayTests {
    /// A passthrough stream's parser holds 64 KiB of a block; the ledger records longer blocks (here 100 KB
    /// and 300 KB, under the default --max-event-bytes) from its client model as they pass: the same frames,
    /// ids, sizes and digests as whole frames would give, every event received once and counted in the metric.
    func testLongBlocksOfAPassthroughStreamAreRecordedAsFrames() throws {
        let comment = "retry: 1500\n: " + String(repeating: "c", count: 100_000) + "\n\n"
        let big = "id: 2\nevent: big\ndata: " + String(repeating: "x", count: 300_000) + "\ndata: tail\r\n\r\n"
        let body = "id: 1\ndata: small\n\n" + comment + big + "id: 3\ndata: after\n\n"
        let origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            conn.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + body)
            conn.close()
        }
        let stack = try Stack { config, _ in config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")] }
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /e HTTP/1.1\r\nHost: x\r\nSputter-Client: long\r\n\r\n")
        XCTAssertEqual(String(decoding: try s.readResponse().body, as: UTF8.self), body)
        var report: [String: Any] = [:]
        for _ in 0..<200 {  // the close reaches the ledger just after the client's last byte
            report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try http(port: stack.controlPort, "GET", "/clients/long").text.utf8)) as? [String: Any])
            if ((report["connections"] as? [[String: Any]])?.first?["end"] as? String) != nil { break }
            usleep(10_000)
        }
        let summary = try XCTUnwrap(report["summary"] as? [String: Any])
        XCTAssertEqual(summary["received"] as? Int, 3, "\(summary)")
        XCTAssertEqual(summary["unexpected"] as? Int, 0, "\(summary)")
        XCTAssertEqual(summary["missing"] as? Int, 0, "\(summary)")
        XCTAssertEqual(summary["reconnection_ms"] as? Int, 1500, "\(summary)")
        let conn = try XCTUnwrap((report["connections"] as? [[String: Any]])?.first)
        XCTAssertEqual(conn["frames"] as? Int, 4)
        XCTAssertEqual(conn["upstream_bytes"] as? Int, body.utf8.count)
        let id = try XCTUnwrap(conn["conn"] as? Int)
        let records = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try http(port: stack.controlPort, "GET", "/connections/\(id)").text.utf8)) as? [String: Any])
        let frames = try XCTUnwrap(records["frame_list"] as? [[String: Any]])
        XCTAssertEqual(frames.map { $0["kind"] as? String }, ["event", "fieldsOnly", "event", "event"])
        XCTAssertEqual(frames.map { $0["size"] as? Int }, [19, comment.utf8.count, big.utf8.count, 19])
        XCTAssertEqual(frames[1]["retry"] as? Int, 1500)
        XCTAssertEqual(frames[2]["id"] as? String, "2")
        XCTAssertEqual(frames[2]["event"] as? String, "big")
        XCTAssertEqual(frames[2]["digest"] as? String, Digest64.hex(Digest64.digest(Array(big.utf8))))
        let sample = try http(port: stack.controlPort, "GET", "/metrics").text.split(separator: "\n")
            .first { $0.hasPrefix("sputter_events_relayed_total ") }
        XCTAssertEqual(sample.flatMap { Double($0.split(separator: " ")[1]) }, 3, "the long event is counted too")
    }
}

extension RelayTests {
    /// An upstream that never completes the handshake: its accept queue is full, so SYNs go unanswered.
    func testUpstreamConnectTimeoutGives504NamingIt() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        // Fill the accept queue (never accepted) with non-blocking connects.
        var fillers: [Int32] = []
        defer { fillers.forEach { close($0) } }
        for _ in 0..<4 {
            let c = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = withUnsafePointer(to: &addr) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(c, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            fillers.append(c)
        }
        usleep(100_000)
        let stack = try Stack { config, _ in
            config.routes = [try! .init(parsing: "http://127.0.0.1:\(port)")]
            config.connectTimeout = 300_000_000
        }
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        let r = try s.readResponse()
        XCTAssertEqual(r.head.status, 504)
        let text = String(decoding: r.body, as: UTF8.self)
        XCTAssertTrue(text.contains("http://127.0.0.1:\(port)"), text)
        XCTAssertEqual(r.head.headers.first("Sputter-Error"), "upstream-timeout")
    }
}

extension RelayTests {
    func testSlowHeadGets408() throws {
        let stack = try Stack { config, _ in config.headTimeout = 200_000_000 }
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /json HTTP/1.1\r\nHost: x\r\n")   // never finished
        let r = try s.readResponse()
        XCTAssertEqual(r.head.status, 408)
    }

    func testShutdownLetsAPlainRequestFinishAndEndsStreams() throws {
        let origin = try ScriptedOrigin { conn in
            let head = conn.readHead()
            if head.contains("/slow") {
                usleep(300_000)
                conn.send("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone")
            } else {
                conn.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n")
                _ = conn.waitForPeerClose()
            }
            conn.close()
        }
        let stack = try Stack { config, _ in config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")] }
        let stream = try TestSocket(port: stack.proxyPort)
        stream.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(try stream.read(until: "data: 1\n\n"))
        let plain = try TestSocket(port: stack.proxyPort)
        plain.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        eventually("both requests in flight") { stack.sputter.openConnections == 2 }
        let done = DispatchSemaphore(value: 0)
        stack.sputter.shutdown { done.signal() }
        XCTAssertNil(stream.readToEnd(), "the stream ends with a clean close")
        let r = try plain.readResponse()
        XCTAssertEqual(r.body, Array("done".utf8), "the plain request finished")
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success)
        XCTAssertThrowsError(try TestSocket(port: stack.proxyPort), "no longer accepting")
    }
}
