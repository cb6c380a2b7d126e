import XCTest

/// `serve --contract` and the profile keys `client:` / `terminator:`: bad values are named.
final class ContractOptionTests: XCTestCase {
    func testUnknownContractIsNamed() throws {
        let result = try CLI.run(["serve", "--contract", "twice", "--upstream", "http://127.0.0.1:1"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.errorLines.first,
                       "Error: --contract: unknown client contract 'twice'; expected one of: eventsource, resume, once")
    }

    func testProfileClientAndTerminatorAreChecked() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("contract-profiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "name: llm\ndescription: d\nclient: once\nterminator: \"data: [DONE]\"\nfaults: []\n"
            .write(to: dir.appendingPathComponent("llm.yaml"), atomically: true, encoding: .utf8)
        try "name: bad\ndescription: d\nclient: browser\nterminator: \"[DONE]\"\nfaults: []\n"
            .write(to: dir.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        let result = try CLI.run(["profiles", "check", dir.appendingPathComponent("llm.yaml").path, dir.appendingPathComponent("bad.yaml").path])
        XCTAssertNotEqual(result.status, 0)
        let text = result.stdout + result.stderr
        XCTAssertTrue(text.contains("bad.yaml:3: client: unknown client contract 'browser'; expected one of: eventsource, resume, once"), text)
        XCTAssertTrue(text.contains("bad.yaml:4: terminator: terminator '[DONE]' is not an SSE field line"), text)
        XCTAssertTrue(text.contains("ok llm.yaml") || text.contains("llm.yaml (llm)"), text)
    }
}
