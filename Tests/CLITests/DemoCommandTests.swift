import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// `sputter demo` (what `scripts/demo` runs): the demo origin and Sputter in one process, taking every
/// `sputter serve` option.
final class DemoCommandTests: XCTestCase {
    /// The README's demo: it prints the line to try, and that line works (on free ports, not 8080/5000).
    func testDemoPrintsTheLineToTryAndItWorks() throws {
        let port = try freePort()
        let demo = try LiveProcess(["demo", "--listen", "127.0.0.1:\(port)", "--origin", "127.0.0.1:0", "--control", "127.0.0.1:0",
                                    "--log-level", "warning"])
        defer { demo.kill() }
        XCTAssertTrue(demo.waitForOutput("sputter listening"), demo.stdout + demo.stderr)
        let tryLine = demo.stdout.split(separator: "\n").first { $0.hasPrefix("try:") }.map(String.init)
        XCTAssertEqual(tryLine, "try:  curl -N http://127.0.0.1:\(port)/events")
        let response = try get(port, "/events?count=3&interval_ms=0&heartbeat_ms=0")
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 200"), response)
        XCTAssertTrue(response.contains("id: 3\n"), response)
        demo.signal(SIGTERM)
        XCTAssertTrue(demo.waitForExit(timeout: 60))
        XCTAssertEqual(demo.status, 0, demo.stderr)
    }

    /// `sputter serve` options given to `sputter demo` take effect: the profile, the seed and the ledger file.
    func testDemoAcceptsServeOptions() throws {
        let ledger = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-demo-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: ledger) }
        let port = try freePort()
        let controlPort = try freePort()
        let demo = try LiveProcess([
            "demo", "--listen", "127.0.0.1:\(port)", "--origin", "127.0.0.1:0", "--log-level", "warning",
            "--profile", "lossy", "--seed", "7", "--ledger", ledger, "--control", "127.0.0.1:\(controlPort)",
            "--profiles", CLI.shippedProfiles,
        ])
        defer { demo.kill() }
        XCTAssertTrue(demo.waitForOutput("control API on http://127.0.0.1:\(controlPort)"), demo.stdout + demo.stderr)

        let settings = try get(controlPort, "/settings")
        XCTAssertTrue(settings.contains(#""effective_profile":"lossy""#), settings)
        XCTAssertTrue(settings.contains(#""effective_seed":7"#), settings)
        let stream = try get(port, "/events?count=8&interval_ms=0&heartbeat_ms=0", headers: "Accept: text/event-stream\r\nSputter-Client: demo\r\n")
        XCTAssertTrue(stream.contains("id: 3\n") && !stream.contains("id: 4\n"), "lossy drops every 4th event: \(stream)")

        demo.signal(SIGTERM)
        XCTAssertTrue(demo.waitForExit(timeout: 60))
        XCTAssertEqual(demo.status, 0, demo.stderr)
        let records = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(records.contains { $0.contains(#""type":"connection_open""#) && $0.contains(#""profile":"lossy""#) && $0.contains(#""seed":7"#) },
                      records.joined(separator: "\n"))
    }

    /// A bad serve option fails before anything starts, with serve's own message.
    func testDemoRejectsBadServeOptions() throws {
        let unknown = try CLI.run(["demo", "--listen", "127.0.0.1:0", "--origin", "127.0.0.1:0", "--profile", "nope"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("--profile 'nope': unknown profile"), unknown.stderr)
        XCTAssertFalse(unknown.stdout.contains("demo origin on"), unknown.stdout)
        let bogus = try CLI.run(["demo", "--listen", "127.0.0.1:0", "--origin", "127.0.0.1:0", "--no-such-option"])
        XCTAssertNotEqual(bogus.status, 0)
        XCTAssertTrue(bogus.stderr.contains("--no-such-option"), bogus.stderr)
    }
}

/// One GET to `port`, `Connection: close`; the whole response as text. `headers`: CRLF-terminated lines.
func get(_ port: Int, _ target: String, headers: String = "") throws -> String {
    let client = try RawClient(port: port)
    defer { client.close() }
    try client.send("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\(headers)\r\n")
    return try client.readAll()
}
