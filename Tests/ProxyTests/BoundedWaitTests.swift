import EventLoop
import Foundation
import HTTP1
import Logging
import Proxy
import XCTest

/// The proxy alone on its loop thread, in front of a scripted origin (no demo origin needed).
final class ProxyOnLoop {
    let thread: LoopThread<ProxyServer>

    init(origin: ScriptedOrigin, _ configure: (inout ProxyConfig) -> Void = { _ in }) throws {
        var config = ProxyConfig()
        config.listenPort = 0
        config.routes = [try ProxyConfig.Route(parsing: "http://127.0.0.1:\(origin.port)")]
        configure(&config)
        let frozen = config
        var logger = Logger(label: "sputter.test")
        logger.logLevel = .error
        let quiet = logger
        thread = try LoopThread.start(name: "proxy") { loop in try ProxyServer(config: frozen, loop: loop, logger: quiet) }
    }

    var port: Int { thread.value.port }

    /// Reads a value on the proxy's loop thread.
    func on<T>(_ body: @escaping (ProxyServer) -> T) -> T {
        nonisolated(unsafe) var result: T?
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let server = thread.value
        thread.handle.execute {
            result = body(server)
            done.signal()
        }
        done.wait()
        return result!
    }

    deinit { thread.stop() }
}

/// The session's bounded waits over loopback: the response-head and stream-idle timers, and 1xx heads
/// under back-pressure. No upper time bounds: a late timer only makes a test slower.
final class BoundedWaitTests: XCTestCase {
    func testSilentUpstreamGets504NamingIt() throws {
        let origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            _ = conn.waitForPeerClose()  // says nothing
            conn.close()
        }
        let proxy = try ProxyOnLoop(origin: origin) { $0.responseHeadTimeout = 200_000_000 }
        let s = try TestSocket(port: proxy.port)
        s.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        let r = try s.readResponse()
        XCTAssertEqual(r.head.status, 504)
        XCTAssertEqual(r.head.headers.first("Sputter-Error"), "upstream-timeout")
        let text = String(decoding: r.body, as: UTF8.self)
        XCTAssertTrue(text.contains("upstream http://127.0.0.1:\(origin.port) sent no response head within 200 ms"), text)
    }

    func testSilentStreamIsClosedAfterTheIdleTimeout() throws {
        let origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            conn.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n")
            _ = conn.waitForPeerClose()
            conn.close()
        }
        let proxy = try ProxyOnLoop(origin: origin) { $0.streamIdleTimeout = 200_000_000 }
        let s = try TestSocket(port: proxy.port)
        let start = monotonicNow()
        s.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(try s.read(until: "data: 1\n\n"))
        XCTAssertNil(s.readToEnd(), "the stream should end with a FIN")
        XCTAssertGreaterThanOrEqual(monotonicNow() - start, 200_000_000, "closed before the idle timeout")
        eventually("session gone") { proxy.on { $0.openSessions } == 0 }
    }

    func testEndlessEarlyHintsToAClientThatReadsNothingStayBounded() throws {
        nonisolated(unsafe) var sent = 0
        let origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            let hint = Array("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n".utf8)
            var batch: [UInt8] = []
            for _ in 0..<100 { batch += hint }
            var offset = 0
            // Until the proxy leaves (or 64 MiB): a non-blocking send, so the thread ends with the test.
            while sent < 64 << 20 {
                let n = batch[offset...].withUnsafeBytes { Glibc.send(conn.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if n > 0 {
                    sent += n
                    offset = (offset + n) % batch.count
                } else if n < 0, errno == EAGAIN {
                    usleep(1000)
                } else {
                    break
                }
            }
            conn.close()
        }
        let proxy = try ProxyOnLoop(origin: origin)
        let s = try TestSocket(port: proxy.port)
        s.send("GET /hints HTTP/1.1\r\nHost: x\r\n\r\n")
        var peak = 0
        for _ in 0..<100 {
            usleep(10_000)
            peak = max(peak, proxy.on { $0.bufferedBytes })
        }
        let bound = 2 * 256 * 1024 + 64 * 1024
        XCTAssertLessThan(peak, bound, "proxy buffered \(peak) bytes of 103s for a reader that reads nothing")
        XCTAssertTrue(try s.read(until: "HTTP/1.1 103 Early Hints\r\n"), "the hints reach the client")
    }

    private func monotonicNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
