import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// `sputter serve --threads N`: N event loops on one port (SO_REUSEPORT) sharing one ledger, the attempt
/// counters and the control API; SIGTERM ends them all and the ledger file is complete.
final class ThreadsTests: XCTestCase {
    func testThreadsOutOfRange() throws {
        for n in ["0", "257"] {
            let result = try CLI.run(["serve", "--upstream", "http://127.0.0.1:1", "--threads", n])
            XCTAssertEqual(result.status, 64, result.stderr)
            XCTAssertEqual(result.errorLines.first, "Error: --threads \(n): expected 1 to 256")
        }
    }

    func testLoopsShareTheLedgerAttemptsAndControlAPI() throws {
        let ledger = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-threads-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: ledger) }
        let (origin, originPort) = try startDemoOrigin()
        defer { origin.kill() }
        let proxyPort = try freePort()
        let controlPort = try freePort()
        let sputter = try LiveProcess([
            "serve", "--listen", "127.0.0.1:\(proxyPort)", "--upstream", "http://127.0.0.1:\(originPort)",
            "--threads", "3", "--control", "127.0.0.1:\(controlPort)", "--ledger", ledger, "--ledger-level", "summary",
            "--log-level", "info", "--log-format", "json",
        ])
        defer { sputter.kill() }
        XCTAssertTrue(sputter.waitForOutput("(3 event loops)"), sputter.stdout + sputter.stderr)

        // One client key over 8 connections: the kernel's SO_REUSEPORT hash spreads them over the loops,
        // and the attempts still count 1…8 in one ledger client.
        // (retry=0: an immediate reconnect is not too early; the origin resumes after Last-Event-ID, so
        // attempts 2… get no events.)
        for attempt in 1...8 {
            let c = try RawClient(port: proxyPort)
            defer { c.close() }
            try c.send("GET /events?count=3&interval_ms=0&heartbeat_ms=0&retry=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       + "Accept: text/event-stream\r\nSputter-Client: roaming\r\n" + (attempt > 1 ? "Last-Event-ID: 3\r\n" : "") + "\r\n")
            let all = try c.readAll()
            XCTAssertTrue(all.hasPrefix("HTTP/1.1 200"), all)
            XCTAssertEqual(all.contains("id: 3\n"), attempt == 1, all)
        }
        // Streams open on every loop while SIGTERM arrives.
        var clients: [RawClient] = []
        defer { for c in clients { c.close() } }
        for i in 0..<12 {
            let client = try RawClient(port: proxyPort)
            try client.send("GET /events?interval_ms=20 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nSputter-Client: open-\(i)\r\n\r\n")
            let head = try client.read(until: "\r\n\r\n")
            XCTAssertTrue(head.hasPrefix("HTTP/1.1 200"), head)
            _ = try client.read(until: "data:")
            clients.append(client)
        }

        let control = try RawClient(port: controlPort)
        defer { control.close() }
        try control.send("GET /clients/roaming HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        guard case .some(let text) = try? control.readAll(), let body = text.range(of: "\r\n\r\n").map({ text[$0.upperBound...] }),
              let report = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let connections = report["connections"] as? [[String: Any]] else {
            return XCTFail("no report for client 'roaming'")
        }
        XCTAssertEqual(connections.compactMap { $0["attempt"] as? Int }, Array(1...8))
        let summary = report["summary"] as? [String: Any]
        XCTAssertEqual(summary?["expected"] as? Int, 3, "ids 1-3, sent once")
        XCTAssertEqual(summary?["findings"] as? Int, 0, "\(report)")

        sputter.signal(SIGTERM)
        XCTAssertTrue(sputter.waitForExit(timeout: 60), "sputter did not exit after SIGTERM")
        XCTAssertEqual(sputter.status, 0, sputter.stderr)
        for client in clients { XCTAssertEqual(try client.readToEOF(), .eof) }

        // The connections really were spread over the loops (loop 0 logs without a "loop" field).
        let opens = sputter.stderr.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["message"] as? String == "connection open" }
        let loops = Set(opens.map { "\($0["loop"] ?? 0)" })
        XCTAssertGreaterThan(loops.count, 1, "20 connections all landed on one loop: \(loops)")

        let records = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let opened = records.filter { $0["type"] as? String == "connection_open" }
        XCTAssertEqual(opened.count, 8 + 12, "every loop's connections are in the one file")
        XCTAssertEqual(Set(opened.compactMap { $0["conn"] as? Int }).count, 20, "connection ids are unique across loops")
        let closes = records.filter { $0["type"] as? String == "connection_close" }
        XCTAssertEqual(closes.filter { $0["end"] as? String == "shutdown" }.count, 12)
        XCTAssertEqual(Set(records.filter { $0["type"] as? String == "client" }.compactMap { $0["client"] as? String }).count, 13)
    }
}
