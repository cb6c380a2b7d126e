import Faults
import Foundation
import HTTP1
import Ledger
import Profiles
import Proxy
import SputterTesting
import XCTest

/// Client contracts through the real proxy: how a request gets its contract, what the ledger judges, and
/// that JSON answers under `resume` leave per-attempt schedules alone.
final class ContractProxyTests: XCTestCase {
    static let cutAfterOne = FaultSpec(.disconnect(DisconnectFault(.afterEvents(1), kind: .fin)))
    static let library = ProfileLibrary(profiles: [
        .passthrough,
        Profile(name: "cut", faults: [cutAfterOne]),
        Profile(name: "cut-first", attempts: [1: [cutAfterOne]]),
        { var p = Profile(name: "llm-cut", faults: [cutAfterOne]); p.client = .once; return p }(),
    ])

    func stack(_ configure: @escaping (inout ProxyConfig) -> Void = { _ in }) throws -> Stack {
        try Stack { config, _ in
            config.profiles = Self.library
            configure(&config)
        }
    }

    /// Sends a request and reads the whole answer (the proxy closes after it).
    func exchange(_ stack: Stack, _ request: String) throws -> String {
        let s = try TestSocket(port: stack.proxyPort)
        s.send(request)
        _ = s.readToEnd()
        return String(decoding: s.received, as: UTF8.self)
    }

    func testRequestContractIsRecordedAndRemovedBeforeTheUpstream() throws {
        let stack = try stack()
        _ = try exchange(stack, "GET /events?count=2&interval_ms=0&heartbeat_ms=0&sputter_contract=once HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: text/event-stream\r\nSputter-Client: q1\r\n\r\n")
        _ = try exchange(stack, "GET /events?count=2&interval_ms=0&heartbeat_ms=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: text/event-stream\r\nSputter-Client: h1\r\nSputter-Contract: resume\r\n\r\n")
        let q = stack.sputter.waitUntilSettled("q1")
        XCTAssertEqual(q?.connections.first?.contract, .once)
        XCTAssertEqual(stack.sputter.waitUntilSettled("h1")?.connections.first?.contract, .resume)
        XCTAssertEqual(stack.seenByOrigin().map(\.path), ["/events", "/events"])
        XCTAssertEqual(q?.connections.first?.path, "/events", "sputter_contract is not part of the request")
        let bad = try http(port: stack.proxyPort, "GET", "/events?count=1", headers: ["Sputter-Contract: browser"])
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.text.contains("unknown client contract 'browser'; expected one of: eventsource, resume, once"), bad.text)
    }

    func testDefaultRuleAndContractFlag() throws {
        let stack = try stack()
        _ = try exchange(stack, "POST /events?count=1&interval_ms=0&heartbeat_ms=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: text/event-stream\r\nContent-Length: 0\r\nSputter-Client: p1\r\n\r\n")
        XCTAssertEqual(stack.sputter.waitUntilSettled("p1")?.connections.first?.contract, .once)
        let flagged = try self.stack { $0.contract = .resume }
        _ = try exchange(flagged, "GET /events?count=1&interval_ms=0&heartbeat_ms=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: text/event-stream\r\nSputter-Client: g1\r\n\r\n")
        XCTAssertEqual(flagged.sputter.waitUntilSettled("g1")?.connections.first?.contract, .resume)
    }

    func testOnceStreamCutIsTruncatedAndItsRetryIsANewStream() throws {
        let stack = try stack()
        for _ in 0..<2 {
            _ = try exchange(stack, "POST /events?count=20&interval_ms=30&heartbeat_ms=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: text/event-stream\r\nContent-Length: 0\r\nSputter-Client: llm\r\nSputter-Profile: llm-cut\r\n\r\n")
        }
        let report = stack.sputter.settle("llm")
        XCTAssertEqual(report?.summary.contract, .once)
        let kinds = report?.findings.map(\.kind) ?? []
        XCTAssertEqual(kinds.filter { $0 == .truncated }.count, 2, "\(report?.findings.map(\.line) ?? [])")
        XCTAssertEqual(kinds.filter { [.duplicated, .reconnectTooEarly, .wrongLastEventID, .gaveUp].contains($0) }, [],
                       "a new request is a new stream: its id 1 is not a duplicate of the first request's")
        XCTAssertEqual(report?.summary.reconnects, 0)
    }

    func testResumeJSONAnswersDoNotTakeTheFirstAttemptsFaults() throws {
        let stack = try stack { $0.contract = .resume; $0.profile = "cut-first" }
        // An MCP-style POST that accepts JSON or a stream, answered with JSON: not a stream attempt.
        let json = try exchange(stack, "POST /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: application/json, text/event-stream\r\nContent-Length: 0\r\nSputter-Client: mcp\r\n\r\n")
        XCTAssertTrue(json.contains("\"ok\":true"), json)
        // The GET stream is attempt 1 and takes attempt 1's cut.
        let stream = try exchange(stack, "GET /events?count=20&interval_ms=30&heartbeat_ms=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: text/event-stream\r\nSputter-Client: mcp\r\n\r\n")
        XCTAssertEqual(stream.components(separatedBy: "data:").count - 1, 1, stream)
        let report = stack.sputter.waitUntilSettled("mcp", connections: 1)
        XCTAssertEqual(report?.connections.last?.attempt, 1)
        XCTAssertEqual(report?.connections.last?.contract, .resume)
        XCTAssertEqual(report?.findings.filter { ![.gaveUp, .missing].contains($0.kind) }, [], "\(report?.findings.map(\.line) ?? [])")
    }

    func testSettleJudgesAClientThatNeverCameBack() throws {
        let stack = try stack()
        // retry: 50 → the client owes a reconnect 50 ms after the cut; it never comes.
        _ = try exchange(stack, "GET /events?count=20&interval_ms=30&heartbeat_ms=0&retry=50 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: text/event-stream\r\nSputter-Client: quitter\r\nSputter-Profile: cut\r\n\r\n")
        let settled = try http(port: stack.controlPort, "GET", "/clients/quitter/wait?settled&quiet_ms=20&judge=1&timeout_ms=60000")
        XCTAssertEqual(settled.status, 200, settled.text)
        let object = try JSONSerialization.jsonObject(with: Data(settled.text.utf8)) as? [String: Any]
        let findings = (object?["report"] as? [String: Any])?["findings"] as? [[String: Any]]
        XCTAssertEqual(findings?.compactMap { $0["kind"] as? String }, ["gaveUp"], settled.text)
        XCTAssertEqual(stack.sputter.findings("quitter").map(\.kind), [.gaveUp])
    }
}
