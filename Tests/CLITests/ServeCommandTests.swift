import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// `sputter serve` as a process: option validation, and shutdown on SIGTERM/SIGINT with a
/// stream open through it.
final class ServeCommandTests: XCTestCase {
    // MARK: validation

    func testUpstreamIsRequired() throws {
        let result = try CLI.run(["serve", "--listen", "127.0.0.1:0"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.errorLines.first, "Error: --upstream is required, e.g. --upstream http://127.0.0.1:5000")
    }

    func testUpstreamMustBeHTTP() throws {
        let result = try CLI.run(["serve", "--upstream", "ftp://x"])
        XCTAssertNotEqual(result.status, 0)
        let first = result.errorLines.first ?? ""
        XCTAssertTrue(first.hasPrefix("Error: --upstream"), result.stderr)
        XCTAssertTrue(first.contains("ftp://x"), "the error should name the URL: \(result.stderr)")
    }

    func testUnknownProfileListsTheKnownOnes() throws {
        let result = try CLI.run(["serve", "--profile", "nope", "--upstream", "http://127.0.0.1:1"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(
            result.errorLines.first,
            "Error: --profile 'nope': unknown profile; known profiles: "
                + ProfilesCommandTests.shippedNames.joined(separator: ", "))
    }

    func testListenMustBeHostAndPort() throws {
        for garbage in ["garbage", "127.0.0.1:99999", "127.0.0.1:http"] {
            let result = try CLI.run(["serve", "--listen", garbage, "--upstream", "http://127.0.0.1:1"])
            XCTAssertNotEqual(result.status, 0)
            XCTAssertEqual(
                result.errorLines.first, "Error: --listen '\(garbage)': expected HOST:PORT, e.g. 127.0.0.1:8080")
        }
    }

    /// Negative, NaN and huge durations and non-positive limits fail validation (they once trapped).
    func testOutOfRangeValuesAreRejectedNotCrashing() throws {
        for option in ["--connect-timeout=-1", "--connect-timeout=nan", "--stream-idle-timeout=1e30", "--stream-idle-timeout=-0.5",
                       "--max-header-bytes=-5", "--max-event-bytes=0", "--response-head-timeout=-1", "--request-body-timeout=nan"] {
            let result = try CLI.run(["serve", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1", option])
            XCTAssertEqual(result.status, 64, "\(option): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("Error: --"), "\(option): \(result.stderr)")
        }
    }

    // MARK: signals

    func testSIGTERMClosesStreamsAndExitsZero() throws {
        try shutdownWithAStreamOpen(signal: SIGTERM)
    }

    func testSIGINTClosesStreamsAndExitsZero() throws {
        try shutdownWithAStreamOpen(signal: SIGINT)
    }

    /// demo-origin ← sputter serve ← a raw socket reading `/events`; the signal must end the
    /// stream (EOF at the client) and sputter must exit 0.
    func shutdownWithAStreamOpen(signal: Int32, file: StaticString = #filePath, line: UInt = #line) throws {
        let (origin, originPort) = try startDemoOrigin()
        defer { origin.kill() }

        let proxyPort = try freePort()
        let sputter = try LiveProcess([
            "serve", "--listen", "127.0.0.1:\(proxyPort)", "--upstream", "http://127.0.0.1:\(originPort)",
            "--log-level", "warning", "--control", "127.0.0.1:0",
        ])
        defer { sputter.kill() }
        XCTAssertTrue(
            sputter.waitForOutput("sputter listening on http://127.0.0.1:\(proxyPort)"),
            "sputter did not start: \(sputter.stdout)\(sputter.stderr)", file: file, line: line)

        let client = try RawClient(port: proxyPort)
        defer { client.close() }
        try client.send("GET /events?interval_ms=20 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        let head = try client.read(until: "\r\n\r\n")
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200"), head, file: file, line: line)
        _ = try client.read(until: "data:")  // past the opening comment, into the first event
        _ = try client.read(until: "\n\n")

        sputter.signal(signal)
        XCTAssertTrue(sputter.waitForExit(timeout: 60), "sputter did not exit after the signal", file: file, line: line)
        XCTAssertTrue(sputter.exitedNormally, "sputter was killed by a signal", file: file, line: line)
        XCTAssertEqual(sputter.status, 0, sputter.stderr, file: file, line: line)
        XCTAssertEqual(try client.readToEOF(), .eof, file: file, line: line)
    }
}

extension ServeCommandTests {
    /// SIGTERM mid-stream loses nothing already recorded: every line is valid JSON, every event the
    /// client got has its frame record, and the connection's end and the client's verdict are there.
    func testLedgerSurvivesSIGTERMMidStream() throws {
        let ledger = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-ledger-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: ledger) }
        let (origin, originPort) = try startDemoOrigin()
        defer { origin.kill() }
        let proxyPort = try freePort()
        let sputter = try LiveProcess([
            "serve", "--listen", "127.0.0.1:\(proxyPort)", "--upstream", "http://127.0.0.1:\(originPort)",
            "--ledger", ledger, "--profile", "lossy", "--log-level", "warning", "--control", "off",
        ])
        defer { sputter.kill() }
        XCTAssertTrue(sputter.waitForOutput("sputter listening"), sputter.stderr)

        let client = try RawClient(port: proxyPort)
        defer { client.close() }
        try client.send("GET /events?interval_ms=5&heartbeat_ms=0&count=1000 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nSputter-Client: durable\r\n\r\n")
        let received = try client.read(until: "id: 21\n")  // (lossy drops every 4th: 20 never comes)
        let ids = received.split { $0 == "\n" || $0 == "\r\n" }.filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
        XCTAssertFalse(ids.isEmpty)

        sputter.signal(SIGTERM)
        XCTAssertTrue(sputter.waitForExit(timeout: 60))
        XCTAssertEqual(sputter.status, 0, sputter.stderr)

        let text = try String(contentsOfFile: ledger, encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\n"), "the last record is complete")
        var records: [[String: Any]] = []
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return XCTFail("not a JSON object: \(line)")
            }
            records.append(object)
        }
        let frameIDs = Set(records.filter { $0["type"] as? String == "frame" }.compactMap { $0["id"] as? String })
        for id in ids { XCTAssertTrue(frameIDs.contains(id), "no frame record for event \(id) the client received") }
        let close = records.first { $0["type"] as? String == "connection_close" }
        XCTAssertEqual(close?["end"] as? String, "shutdown")
        XCTAssertTrue(records.contains { $0["type"] as? String == "client" && $0["client"] as? String == "durable" })
        XCTAssertTrue(records.contains { $0["type"] as? String == "fault" }, "lossy drops every 4th event")
    }
}

extension ServeCommandTests {
    /// `--log-format json`: every stderr line is one JSON object; a stream's end names its client, attempt and profile.
    func testJSONLogs() throws {
        let (origin, originPort) = try startDemoOrigin()
        defer { origin.kill() }
        let proxyPort = try freePort()
        let sputter = try LiveProcess(["serve", "--listen", "127.0.0.1:\(proxyPort)", "--upstream", "http://127.0.0.1:\(originPort)",
                                       "--log-format", "json", "--control", "off"])
        defer { sputter.kill() }
        XCTAssertTrue(sputter.waitForOutput("sputter listening"), sputter.stderr)
        let client = try RawClient(port: proxyPort)
        defer { client.close() }
        try client.send("GET /events?interval_ms=1&count=2&sputter_profile=lossy&sputter_client=json-test HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(try client.readToEOF(), .eof)
        sputter.signal(SIGTERM)
        XCTAssertTrue(sputter.waitForExit(timeout: 60))
        let lines = sputter.stderr.split(separator: "\n")
        XCTAssertFalse(lines.isEmpty)
        var objects: [[String: Any]] = []
        for line in lines {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return XCTFail("not a JSON object: \(line)")
            }
            objects.append(object)
        }
        let ended = objects.first { $0["message"] as? String == "stream ended" }
        XCTAssertEqual(ended?["client"] as? String, "json-test")
        XCTAssertEqual(ended?["profile"] as? String, "lossy")
        XCTAssertEqual(ended?["attempt"] as? Int, 1)
        XCTAssertEqual(ended?["level"] as? String, "info")
    }
}

/// A port that was free a moment ago: bind port 0, read the port, close.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(fd, pointer, length) == 0 else { return -1 }
            return getsockname(fd, pointer, &length)
        }
    }
    guard bound == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// `sputter demo-origin` on a free port, listening; the caller kills it.
func startDemoOrigin(file: StaticString = #filePath, line: UInt = #line) throws -> (LiveProcess, Int) {
    let port = try freePort()
    let origin = try LiveProcess(["demo-origin", "--listen", "127.0.0.1:\(port)"])
    XCTAssertTrue(origin.waitForOutput("listening"), "demo-origin did not start: \(origin.stderr)", file: file, line: line)
    return (origin, port)
}

/// A blocking TCP client with a receive timeout, so a test never hangs.
final class RawClient {
    enum End: Equatable { case eof, reset, timedOut }

    private var fd: Int32
    private var pending = Data()

    init(port: Int, timeout: Int = 60) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close()
            throw POSIXError(.init(rawValue: code) ?? .EIO)
        }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    /// Bytes up to and including the first `marker`; the rest stays for the next read.
    func read(until marker: String) throws -> String {
        let needle = Data(marker.utf8)
        while true {
            if let range = pending.range(of: needle) {
                let text = String(decoding: pending[..<range.upperBound], as: UTF8.self)
                pending.removeSubrange(..<range.upperBound)
                return text
            }
            guard case .some(let chunk) = try receive(), !chunk.isEmpty else {
                throw POSIXError(.ECONNABORTED)
            }
            pending.append(chunk)
        }
    }

    /// Everything until the peer closes (what `read(until:)` left included).
    func readAll() throws -> String {
        var all = pending
        pending.removeAll()
        while case .some(let chunk) = try receive(), !chunk.isEmpty { all.append(chunk) }
        return String(decoding: all, as: UTF8.self)
    }

    /// Reads (and discards) until the peer closes; how the stream ended.
    func readToEOF() throws -> End {
        while true {
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { continue }
            if n == 0 { return .eof }
            switch errno {
            case EINTR: continue
            case ECONNRESET: return .reset
            case EAGAIN, EWOULDBLOCK: return .timedOut
            default: throw POSIXError(.init(rawValue: errno) ?? .EIO)
            }
        }
    }

    /// nil on timeout, empty at EOF.
    private func receive() throws -> Data? {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return Data(buffer[..<n]) }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
    }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }
}

extension ServeCommandTests {
    /// `--ledger-level off`: streams are relayed (faults still act), nothing is recorded, and the control
    /// API says so instead of answering an empty ledger.
    func testLedgerLevelOff() throws {
        let both = try CLI.run(["serve", "--upstream", "http://127.0.0.1:1", "--ledger-level", "off", "--ledger", "/tmp/never.jsonl"])
        XCTAssertEqual(both.status, 64, both.stderr)
        XCTAssertEqual(both.errorLines.first, "Error: --ledger /tmp/never.jsonl with --ledger-level off: nothing would be written; drop one of them")
        let unknown = try CLI.run(["serve", "--upstream", "http://127.0.0.1:1", "--ledger-level", "none"])
        XCTAssertEqual(unknown.errorLines.first, "Error: --ledger-level 'none': expected events, summary or off")

        let (origin, originPort) = try startDemoOrigin()
        defer { origin.kill() }
        let proxyPort = try freePort()
        let controlPort = try freePort()
        let sputter = try LiveProcess([
            "serve", "--listen", "127.0.0.1:\(proxyPort)", "--upstream", "http://127.0.0.1:\(originPort)",
            "--control", "127.0.0.1:\(controlPort)", "--ledger-level", "off", "--profile", "lossy", "--log-level", "warning",
        ])
        defer { sputter.kill() }
        XCTAssertTrue(sputter.waitForOutput("ledger off"), sputter.stdout + sputter.stderr)

        let stream = try RawClient(port: proxyPort)
        defer { stream.close() }
        try stream.send("GET /events?interval_ms=0&heartbeat_ms=0&count=8 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        let body = try stream.read(until: "id: 7\n")
        XCTAssertFalse(body.contains("id: 4\n"), "lossy still drops every 4th event: \(body)")

        let control = try RawClient(port: controlPort)
        defer { control.close() }
        try control.send("GET /clients HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let answer = try control.read(until: "}")
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 409"), answer)
        XCTAssertTrue(answer.contains("the ledger is off (--ledger-level off)"), answer)
    }
}
