import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// `sputter serve`'s control-plane options: the control API binds loopback whatever --listen says, a
/// non-loopback control address needs a token (option or environment), and bad values are named.
final class ControlOptionsTests: XCTestCase {
    /// The control API's address from the start-up line, e.g. "127.0.0.1:40123".
    func controlAddress(_ sputter: LiveProcess, file: StaticString = #filePath, line: UInt = #line) -> String? {
        XCTAssertTrue(sputter.waitForOutput("control API on http://"), "sputter did not start: \(sputter.stdout)\(sputter.stderr)", file: file, line: line)
        guard let start = sputter.stdout.range(of: "control API on http://") else { return nil }
        return String(sputter.stdout[start.upperBound...].prefix { !$0.isWhitespace })
    }

    func status(_ port: Int, authorization: String?) throws -> String {
        let client = try RawClient(port: port)
        defer { client.close() }
        try client.send("GET /settings HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + (authorization.map { "Authorization: \($0)\r\n" } ?? "") + "\r\n")
        return String(try client.read(until: "\r\n").dropLast())  // "\r\n" is one Character
    }

    func testTheControlAPIStaysOnLoopbackWhenTheProxyListensEverywhere() throws {
        let sputter = try LiveProcess(["serve", "--listen", "0.0.0.0:0", "--upstream", "http://127.0.0.1:1", "--log-level", "warning"])
        defer { sputter.kill() }
        let address = try XCTUnwrap(controlAddress(sputter))
        XCTAssertTrue(address.hasPrefix("127.0.0.1:"), address)
        XCTAssertFalse(sputter.stdout.contains("token required"))
    }

    func testANonLoopbackControlAddressWithoutATokenIsRefused() throws {
        let result = try CLI.run(["serve", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1", "--control", "0.0.0.0:0"])
        XCTAssertEqual(result.status, 64, result.stderr)
        let first = result.errorLines.first ?? ""
        XCTAssertTrue(first.hasPrefix("Error: --control 0.0.0.0:0 is not a loopback address"), result.stderr)
        XCTAssertTrue(first.contains("--control-token") && first.contains("SPUTTER_CONTROL_TOKEN"), result.stderr)
    }

    func testATokenOpensANonLoopbackControlAddress() throws {
        let sputter = try LiveProcess(["serve", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1", "--control", "0.0.0.0:0",
                                       "--control-token", "cli-token", "--log-level", "warning"])
        defer { sputter.kill() }
        let address = try XCTUnwrap(controlAddress(sputter))
        XCTAssertTrue(address.hasPrefix("0.0.0.0:"), address)
        XCTAssertTrue(sputter.stdout.contains("(Authorization: Bearer token required)"))
        let port = try XCTUnwrap(Int(address.split(separator: ":").last ?? ""))
        XCTAssertEqual(try status(port, authorization: nil), "HTTP/1.1 401 Unauthorized")
        XCTAssertEqual(try status(port, authorization: "Bearer cli-token"), "HTTP/1.1 200 OK")
    }

    func testTheTokenMayComeFromTheEnvironment() throws {
        setenv("SPUTTER_CONTROL_TOKEN", "env-token", 1)
        let sputter: LiveProcess
        do {
            defer { unsetenv("SPUTTER_CONTROL_TOKEN") }
            sputter = try LiveProcess(["serve", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1", "--control", "127.0.0.1:0",
                                       "--log-level", "warning"])
        }
        defer { sputter.kill() }
        let address = try XCTUnwrap(controlAddress(sputter))
        let port = try XCTUnwrap(Int(address.split(separator: ":").last ?? ""))
        XCTAssertEqual(try status(port, authorization: nil), "HTTP/1.1 401 Unauthorized")
        XCTAssertEqual(try status(port, authorization: "Bearer env-token"), "HTTP/1.1 200 OK")
    }

    func testBadValuesAreNamed() throws {
        let cases: [([String], String)] = [
            (["--allow-host", "a b"], "Error: --allow-host 'a b': not a host name"),
            (["--allow-host", "10.0.0.0/40"], "Error: --allow-host '10.0.0.0/40': a network is ADDRESS/LENGTH"),
            (["--resolve-timeout", "0"], "Error: --resolve-timeout 0: expected more than 0 seconds"),
            (["--control-token", ""], "Error: --control-token: the token is empty"),
        ]
        for (options, expected) in cases {
            let result = try CLI.run(["serve", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1"] + options)
            XCTAssertEqual(result.status, 64, "\(options): \(result.stderr)")
            XCTAssertTrue((result.errorLines.first ?? "").hasPrefix(expected), "\(options): \(result.stderr)")
        }
    }
}
