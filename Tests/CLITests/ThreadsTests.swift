import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// `sputter serve --threads N`: N event loops on one port (SO_REUSEPORT), each an independent
/// proxy without ledger or control API; SIGTERM ends them all.
final class ThreadsTests: XCTestCase {
    func testThreadsRejectTheLedgerAndTheControlAPI() throws {
        let ledger = try CLI.run(["serve", "--upstream", "http://127.0.0.1:1", "--threads", "2", "--ledger", "/tmp/never.jsonl"])
        XCTAssertEqual(ledger.status, 64, ledger.stderr)
        XCTAssertEqual(ledger.errorLines.first, "Error: --threads 2: the ledger belongs to one event loop; use --threads 1 with --ledger")
        let control = try CLI.run(["serve", "--upstream", "http://127.0.0.1:1", "--threads", "2", "--control", "127.0.0.1:0"])
        XCTAssertEqual(control.status, 64, control.stderr)
        XCTAssertEqual(control.errorLines.first, "Error: --threads 2: the control API sees one event loop; use --threads 1 with --control")
        let zero = try CLI.run(["serve", "--upstream", "http://127.0.0.1:1", "--threads", "0"])
        XCTAssertEqual(zero.status, 64, zero.stderr)
    }

    func testStreamsOnEveryLoopEndAtSIGTERM() throws {
        let originPort = try freePort()
        let origin = try LiveProcess(["demo-origin", "--listen", "127.0.0.1:\(originPort)"])
        defer { origin.kill() }
        XCTAssertTrue(origin.waitForOutput("listening"), origin.stderr)
        let proxyPort = try freePort()
        let sputter = try LiveProcess([
            "serve", "--listen", "127.0.0.1:\(proxyPort)", "--upstream", "http://127.0.0.1:\(originPort)",
            "--threads", "3", "--log-level", "warning",
        ])
        defer { sputter.kill() }
        XCTAssertTrue(sputter.waitForOutput("(3 event loops, no ledger)"), sputter.stdout + sputter.stderr)

        // Enough streams that the kernel's SO_REUSEPORT hash puts some on every loop.
        var clients: [RawClient] = []
        defer { for c in clients { c.close() } }
        for _ in 0..<12 {
            let client = try RawClient(port: proxyPort)
            try client.send("GET /events?interval_ms=20 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
            let head = try client.read(until: "\r\n\r\n")
            XCTAssertTrue(head.hasPrefix("HTTP/1.1 200"), head)
            _ = try client.read(until: "data:")
            clients.append(client)
        }
        sputter.signal(SIGTERM)
        XCTAssertTrue(sputter.waitForExit(timeout: 60), "sputter did not exit after SIGTERM")
        XCTAssertEqual(sputter.status, 0, sputter.stderr)
        for client in clients { XCTAssertEqual(try client.readToEOF(), .eof) }
    }
}
