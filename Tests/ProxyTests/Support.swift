import Foundation
import HTTP1
import SputterTesting
import XCTest

/// Sputter (from the SputterTesting library) in front of the demo origin, both in-process on ephemeral
/// loopback ports; `configure` gets the configuration and the origin's port before Sputter starts.
final class Stack {
    let origin: DemoOriginInstance
    let sputter: SputterInstance
    var originPort: Int { origin.port }
    var proxyPort: Int { sputter.port }
    var controlPort: Int { sputter.controlPort }

    init(configure: (inout ProxyConfig, Int) -> Void = { _, _ in }) throws {
        origin = try DemoOriginInstance.start()
        var config = ProxyConfig()
        config.routes = [try ProxyConfig.Route(parsing: origin.url)]
        configure(&config, origin.port)
        sputter = try SputterInstance.start(configuration: config)
    }

    /// What reached the origin.
    func seenByOrigin() -> [DemoOriginRequest] { origin.requests() }

    deinit {
        sputter.stop()
        origin.stop()
    }
}

/// Waits (generously: a busy 2-core machine) until `condition` holds. Not a timing assertion.
func eventually(_ what: String, timeout: TimeInterval = 20, file: StaticString = #filePath, line: UInt = #line, _ condition: () -> Bool) {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline {
            XCTFail("timed out waiting for: \(what)", file: file, line: line)
            return
        }
        usleep(2_000)
    }
}

struct SocketError: Error, CustomStringConvertible {
    let errno: Int32
    var description: String { String(cString: strerror(errno)) }
}

/// A blocking TCP client for tests. Every read has a generous timeout so a bug fails a test instead of hanging it.
final class TestSocket {
    let fd: Int32
    private(set) var received: [UInt8] = []
    var readOffset = 0

    init(port: Int, timeout: Int = 20) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { let e = errno; Glibc.close(fd); throw SocketError(errno: e) }
    }

    deinit { Glibc.close(fd) }

    func send(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// Reads once into `received`. Returns bytes read, 0 at EOF; throws on error (ECONNRESET, timeout).
    @discardableResult
    func readSome(max: Int = 65536) throws -> Int {
        var buf = [UInt8](repeating: 0, count: max)
        let n = recv(fd, &buf, max, 0)
        if n < 0 { throw SocketError(errno: errno) }
        received.append(contentsOf: buf[0..<n])
        return n
    }

    /// Reads until `received` contains `marker` (after readOffset). Returns false at EOF.
    @discardableResult
    func read(until marker: String) throws -> Bool {
        let m = Array(marker.utf8)
        while !contains(m) {
            if try readSome() == 0 { return false }
        }
        return true
    }

    func contains(_ m: [UInt8]) -> Bool {
        guard received.count - readOffset >= m.count else { return false }
        return received[readOffset...].firstRange(of: m) != nil
    }

    /// Reads to EOF; returns what an error (e.g. ECONNRESET) ended it with, or nil for a clean EOF.
    func readToEnd() -> SocketError? {
        while true {
            do { if try readSome() == 0 { return nil } } catch let e as SocketError { return e } catch { return nil }
        }
    }

    /// Reads one complete response (head and body, by its framing) starting at readOffset.
    func readResponse(requestMethod: String = "GET") throws -> (head: ResponseHead, body: [UInt8], rawBody: [UInt8]) {
        while true {
            let parsed = try received[readOffset...].withUnsafeBytes { try HeadParser.parseResponse($0, limits: HTTPLimits()) }
            if case .complete(let head, let length) = parsed {
                if head.status < 200 { readOffset += length; continue }
                readOffset += length
                var tracker = BodyTracker(try head.bodyFraming(requestMethod: requestMethod), limits: HTTPLimits())
                var body: [UInt8] = []
                let start = readOffset
                while !tracker.isDone {
                    let n = try received[readOffset...].withUnsafeBytes { try tracker.consume($0) { body.append(contentsOf: $0) } }
                    readOffset += n
                    if tracker.isDone { break }
                    if try readSome() == 0 {
                        if tracker.isUntilClose { break }
                        throw SocketError(errno: EPIPE)
                    }
                }
                return (head, body, Array(received[start..<readOffset]))
            }
            if try readSome() == 0 { throw SocketError(errno: ECONNRESET) }
        }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }
}

/// A one-shot origin whose behaviour a test scripts byte by byte: accepts connections on a
/// thread and runs `handler` on each with the accepted socket.
final class ScriptedOrigin: @unchecked Sendable {
    let port: Int
    private let listenFD: Int32
    private let thread: Thread

    init(_ handler: @escaping @Sendable (ScriptedConnection) -> Void) throws {
        listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listenFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let lfd = listenFD
        _ = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(lfd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(listenFD, 16)
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(lfd, $0, &len) }
        }
        port = Int(UInt16(bigEndian: bound.sin_port))
        thread = Thread {
            while true {
                let fd = accept(lfd, nil, nil)
                if fd < 0 { return }
                let conn = ScriptedConnection(fd: fd)
                Thread { handler(conn) }.start()
            }
        }
        thread.start()
    }

    func stop() { shutdown(listenFD, Int32(SHUT_RDWR)); Glibc.close(listenFD) }
    deinit { stop() }
}

final class ScriptedConnection: @unchecked Sendable {
    let fd: Int32
    var received: [UInt8] = []

    init(fd: Int32) {
        self.fd = fd
        var tv = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Reads until the request head (blank line) has arrived; returns the head text.
    func readHead() -> String {
        while true {
            if let r = received.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: received[..<r.upperBound], as: UTF8.self)
                received.removeSubrange(..<r.upperBound)
                return head
            }
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return String(decoding: received, as: UTF8.self) }
            received.append(contentsOf: buf[0..<n])
        }
    }

    func read(count: Int) -> [UInt8] {
        while received.count < count {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            received.append(contentsOf: buf[0..<n])
        }
        let out = Array(received.prefix(count))
        received.removeFirst(out.count)
        return out
    }

    func send(_ text: String) { send(Array(text.utf8)) }
    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Blocks until the peer closes (recv returns 0 or an error). Returns true if it did.
    func waitForPeerClose() -> Bool {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
    }

    func reset() {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
    }

    func close() { Glibc.close(fd) }
}

/// A port nothing listens on.
func closedPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    Glibc.close(fd)
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A request to the control API (or any port): method, path, optional JSON body → status and body text.
func http(port: Int, _ method: String, _ path: String, body: String? = nil, headers: [String] = []) throws -> (status: Int, text: String, head: ResponseHead) {
    let s = try TestSocket(port: port)
    var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    for h in headers { request += h + "\r\n" }
    if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
    request += "\r\n" + (body ?? "")
    s.send(request)
    let r = try s.readResponse(requestMethod: method)
    return (r.head.status, String(decoding: r.body, as: UTF8.self), r.head)
}

/// Fetches raw bytes directly from a port (no proxy), for byte-exact comparisons.
func rawGET(port: Int, _ target: String) throws -> (head: ResponseHead, body: [UInt8], rawBody: [UInt8]) {
    let s = try TestSocket(port: port)
    s.send("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    return try s.readResponse()
}
