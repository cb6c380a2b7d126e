import Foundation
import XCTest

/// `sputter ledger a.jsonl b.jsonl`: ledgers written by two real `sputter serve` instances, merged.
final class LedgerFleetTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-fleet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts `sputter serve` under abrupt-disconnects (RST after 5 events) writing `ledger`.
    private func instance(_ ledger: String, originPort: Int) throws -> (LiveProcess, Int) {
        let port = try freePort()
        let sputter = try LiveProcess([
            "serve", "--listen", "127.0.0.1:\(port)", "--upstream", "http://127.0.0.1:\(originPort)",
            "--ledger", directory.appendingPathComponent(ledger).path, "--profile", "abrupt-disconnects",
            "--log-level", "warning", "--control", "off",
        ])
        XCTAssertTrue(sputter.waitForOutput("sputter listening"), sputter.stderr)
        return (sputter, port)
    }

    /// One attempt of `client`: read until Sputter resets the stream.
    private func attempt(_ port: Int, client: String, lastEventID: String? = nil) throws {
        let c = try RawClient(port: port)
        defer { c.close() }
        try c.send("GET /events?interval_ms=0&heartbeat_ms=0&count=50 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
            + "Sputter-Client: \(client)\r\n" + (lastEventID.map { "Last-Event-ID: \($0)\r\n" } ?? "") + "\r\n")
        XCTAssertEqual(try c.readToEOF(), .reset, "abrupt-disconnects resets every attempt")
    }

    private func writeFleet() throws {
        let (origin, originPort) = try startDemoOrigin()
        defer { origin.kill() }
        let (a, portA) = try instance("a.jsonl", originPort: originPort)
        defer { a.kill() }
        let (b, portB) = try instance("b.jsonl", originPort: originPort)
        defer { b.kill() }
        try attempt(portA, client: "alpha")
        try attempt(portA, client: "alpha", lastEventID: "5")
        try attempt(portA, client: "alpha", lastEventID: "10")
        try attempt(portB, client: "beta")
        try attempt(portB, client: "beta", lastEventID: "5")
        try attempt(portA, client: "split")             // a balancer that does not hash on the key
        try attempt(portB, client: "split", lastEventID: "5")
        for p in [a, b] {
            p.signal(SIGTERM)
            XCTAssertTrue(p.waitForExit(timeout: 60))
            XCTAssertEqual(p.status, 0, p.stderr)
        }
    }

    func testTwoInstancesLedgersMergeIntoOneReport() throws {
        try writeFleet()
        let result = try CLI.run(["ledger", "a.jsonl", "b.jsonl"], in: directory)
        XCTAssertEqual(result.status, 0, result.stderr)
        let out = result.stdout
        let lines = result.lines
        XCTAssertEqual(lines.first, "Sputter fleet: 2 ledgers merged by client key")
        XCTAssertTrue(lines.contains { $0.hasPrefix("  a.jsonl  conn 1–4 → 11–14  (2 clients, ") }, out)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  b.jsonl  conn 1–3 → 21–23  (2 clients, ") }, out)
        XCTAssertTrue(out.contains("warnings:\n  - client \"split\" has connections in a.jsonl and b.jsonl: the load balancer sent its attempts to 2 instances"), out)
        XCTAssertTrue(out.contains("Sputter ledger: 4 clients, 7 connections\n"), out)

        // Per client, its attempts in order, each under its new connection id.
        func attempts(_ key: String) -> [String] {
            guard let start = lines.firstIndex(of: "client \"\(key)\"") else { return [] }
            let block = lines[(start + 1)...].prefix { $0.hasPrefix("  ") }
            return block.filter { $0.hasPrefix("  attempt ") }.map {
                let f = $0.split(separator: " ", omittingEmptySubsequences: true)
                return "\(f[1])@\(f[4])"
            }
        }
        XCTAssertEqual(attempts("alpha"), ["1@11", "2@12", "3@13"], out)
        XCTAssertEqual(attempts("beta"), ["1@21", "2@22"], out)
        XCTAssertEqual(attempts("split @ a.jsonl"), ["1@14"], out)
        XCTAssertEqual(attempts("split @ b.jsonl"), ["1@23"], out)
        XCTAssertEqual(attempts("split"), [], "the split client is not merged into one")

        // The same, as a page.
        let html = try CLI.run(["ledger", "a.jsonl", "b.jsonl", "--html", "fleet.html"], in: directory)
        XCTAssertEqual(html.status, 0, html.stderr)
        let page = try String(contentsOf: directory.appendingPathComponent("fleet.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("<div class=\"notice\" id=\"fleet\""))
        XCTAssertTrue(page.contains("<li data-kind=\"clientOnSeveralInstances\">client &quot;split&quot; has connections in a.jsonl and b.jsonl"))
        XCTAssertTrue(page.contains("a.jsonl + b.jsonl"))
        XCTAssertTrue(page.contains("split @ b.jsonl"))
        XCTAssertLessThan(page.range(of: "<body")!.lowerBound, page.range(of: "id=\"fleet\"")!.lowerBound)

        // One file reads as it always did: no fleet header, its own ids.
        let one = try CLI.run(["ledger", "b.jsonl"], in: directory)
        XCTAssertEqual(one.lines.first, "Sputter ledger: 2 clients, 3 connections", one.stdout)
        XCTAssertFalse(one.stdout.contains("fleet"))
        XCTAssertTrue(one.stdout.contains("attempt 2  "), one.stdout)
    }

    func testFilesWithTheSameNameAreLabelledByPathAndACopyIsNamed() throws {
        let line = #"{"type":"connection_open","t":1,"conn":1,"client":"k","attempt":1,"wall_ms":1,"method":"GET","path":"/events","last_event_id":null,"profile":"p","seed":1}"#
        for d in ["x", "y"] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(d), withIntermediateDirectories: true)
            try (line + "\nnot json\n").write(to: directory.appendingPathComponent("\(d)/ledger.jsonl"), atomically: true, encoding: .utf8)
        }
        let result = try CLI.run(["ledger", "x/ledger.jsonl", "y/ledger.jsonl"], in: directory)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("  - x/ledger.jsonl and y/ledger.jsonl hold exactly the same records: the same ledger given twice?"), result.stdout)
        XCTAssertTrue(result.stdout.contains("client \"k @ y/ledger.jsonl\""), result.stdout)
        XCTAssertTrue(result.stdout.contains("2 lines could not be read:\n  line 2: x/ledger.jsonl: not JSON"), result.stdout)
        XCTAssertTrue(result.stdout.contains("  line 2: y/ledger.jsonl: not JSON"), result.stdout)
    }

    func testAMissingFileIsNamed() throws {
        try "".write(to: directory.appendingPathComponent("a.jsonl"), atomically: true, encoding: .utf8)
        let result = try CLI.run(["ledger", "a.jsonl", "nope.jsonl"], in: directory)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.errorLines.first, "Error: cannot read nope.jsonl")
        let twice = try CLI.run(["ledger", "a.jsonl", "./a.jsonl"], in: directory)
        XCTAssertNotEqual(twice.status, 0)
        XCTAssertEqual(twice.errorLines.first, "Error: ./a.jsonl is given twice: give each instance's ledger once")
    }
}
