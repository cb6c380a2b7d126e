import Faults
import Foundation
import SSE
import XCTest

@testable import Ledger

final class LedgerReportTests: XCTestCase {
    /// Attempt 1: 5 events, 3 dropped, RST after 5. Attempt 2: wrong Last-Event-ID, early; backend replays
    /// from 2. Attempt 3: 503. Attempt 4: reconnects anyway. Client "b": a clean run.
    static func scriptedRun(level: LedgerLevel = .events) -> Harness {
        let h = Harness(level: level)
        let a = h.open("a", at: 0, profile: "lossy", seed: 42)
        h.respond(a, at: 2)
        let f = h.upstream(a, events(1...5), at: 10)
        h.fault(a, frame: 2, "drop", .dropped(bytes: 23), at: 10)
        h.deliver(a, [f[0], f[1], f[3], f[4]], at: 10)
        h.fault(a, frame: nil, "disconnect", .cut(.rst, trigger: .afterEvents(5), droppedBytes: 0), at: 20)
        h.close(a, .fault(kind: .rst, atByte: 92), at: 20)

        let b = h.open("b", at: 30, profile: "clean", seed: 1)
        h.respond(b, at: 30)
        h.relay(b, events(1...2), at: 31)

        let a2 = h.open("a", at: 1020, lastEventID: "1", profile: "lossy", seed: 42)
        h.respond(a2, at: 1021)
        h.relay(a2, events(2...6), at: 1030)
        h.close(a2, .upstreamEnd, at: 1040)

        let a3 = h.open("a", at: 4100, lastEventID: "6", profile: "lossy", seed: 42)
        h.fault(a3, frame: nil, "respond", .responded(status: 503, retryAfter: "2"), at: 4100)
        h.respond(a3, status: 503, contentType: "text/plain", synthetic: true, at: 4100)
        h.close(a3, .fault(kind: .fin, atByte: 0), at: 4101)

        let a4 = h.open("a", at: 6200, lastEventID: "6", profile: "lossy", seed: 42)
        h.respond(a4, at: 6201)
        h.relay(a4, events(7...7), at: 6210)
        h.close(a4, .clientClose, at: 6300)
        h.close(b, .clientClose, at: 6400)
        h.ledger.finish(at: Harness.ns(7000))
        return h
    }

    func testReportOfAScriptedRun() {
        let h = Self.scriptedRun()
        let report = LedgerReportRenderer.render(jsonLines: h.jsonl)
        let lines = report.split(separator: "\n").map(String.init)
        func has(_ s: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertTrue(lines.contains(s), "missing line:\n\(s)\nin:\n\(report)", file: file, line: line)
        }
        has("Sputter ledger: 2 clients, 5 connections")
        has("client \"a\"")
        has("  attempt 1  +0.000s  conn 1  GET /events  profile lossy seed 42")
        has("    Last-Event-ID sent: none")
        has("    response 200 text/event-stream")
        has("    upstream: 5 frames, 5 events (ids 1 … 5)")
        has("    fault drop on frame 2: dropped 23 bytes")
        has("    delivered 92 bytes; dispatched 4 (4 intact), last event ID \"5\"")
        has("    ended +0.020s: rst by fault after 92 bytes → reconnect after 3000ms with Last-Event-ID \"5\"")
        has("  attempt 2  +1.020s  conn 3  GET /events  profile lossy seed 42")
        has("    Last-Event-ID sent: \"1\" (expected \"5\"); waited 1.0s (reconnection time 3000ms)")
        has("    response 503 text/plain (written by a fault) → EventSource fails: status 503 is not 200")
        has("    ended +4.101s: fin by fault after 0 bytes → fail: status 503 is not 200")
        has("  findings:")
        has("    - duplicated: 3 events dispatched more than once: ids 2, 4-5")
        has("    Last-Event-ID sent: \"6\"; waited 2.0s (no reconnect expected: attempt 3 failed)")
        has("    - wrongLastEventID (attempt 2): expected one of \"4\", \"5\" (the last event IDs a spec-exact client may hold after attempt 1: it was reset, and any event-boundary prefix of its last write may have been read), sent \"1\"")
        has("    - reconnectTooEarly (attempt 2): reconnected 1.0s after attempt 1 ended; the reconnection time was 3000ms")
        XCTAssertTrue(lines.contains { $0.hasPrefix("    - reconnectAfterFailure (attempt 4): attempt 3 got status 503") }, report)
        has("  verdict: 4 findings: 3 duplicated (ids 2, 4-5); wrong Last-Event-ID on attempt 2 (expected \"5\", sent \"1\"); reconnect too early on attempt 2; reconnected after failure on attempt 4")
        has("client \"b\"")
        has("  findings: none")
        has("  verdict: ok: 2 events, 0 reconnects, all ids received once")
    }

    func testReportFromRecordsEqualsReportFromText() {
        let h = Self.scriptedRun()
        XCTAssertEqual(LedgerReportRenderer.render(records: h.records), LedgerReportRenderer.render(jsonLines: h.jsonl))
    }

    func testMissingEventsInTheReport() {
        let h = Harness()
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        let f = h.upstream(a, events(1...4), at: 1)
        h.deliver(a, [f[0], f[3]], at: 1)
        h.close(a, at: 2)
        let report = LedgerReportRenderer.render(jsonLines: h.jsonl)
        XCTAssertTrue(report.contains("    - missing: 2 of 4 events never dispatched intact: ids 2-3\n"), report)
        XCTAssertTrue(report.contains("  verdict: 1 finding: 2 missing (ids 2-3)\n"), report)
    }

    func testSummaryLevelReportKeepsFindingsAndVerdicts() {
        let events = Self.scriptedRun(level: .events)
        let summary = Self.scriptedRun(level: .summary)
        XCTAssertEqual(events.ledger.clients(), summary.ledger.clients())
        XCTAssertFalse(summary.records.contains { $0.type == "delivered" })
        XCTAssertEqual(summary.records.filter { $0.type == "frame" }.count, 1, "only the dropped frame")
        let report = LedgerReportRenderer.render(jsonLines: summary.jsonl)
        XCTAssertTrue(report.contains("    upstream: 5 frames, 5 events (ids 1 … 5)\n"), report)
        XCTAssertTrue(report.contains("  verdict: 4 findings: 3 duplicated"), report)
    }
}

extension LedgerReportTests {
    /// `POST /reset` writes a `reset` record; a file spanning it reads as separate runs.
    func testResetSplitsTheReportIntoRuns() throws {
        let h = Harness()
        let a = h.open("k", at: 0, profile: "p", seed: 1)
        h.respond(a, at: 1)
        h.relay(a, events(1...2), at: 2)
        h.close(a, .upstreamEnd, at: 3)
        h.ledger.reset(at: Harness.ns(10))
        h.attempts.removeAll()   // as the proxy does on POST /reset
        let b = h.open("k", at: 20, profile: "p", seed: 1)
        h.respond(b, at: 21)
        h.relay(b, events(1...2), at: 22)
        h.close(b, .upstreamEnd, at: 23)
        let lines = h.records.map { $0.jsonLine() }
        XCTAssertTrue(lines.contains { $0.hasPrefix("{\"type\":\"reset\"") })
        let parsed = try lines.map { try LedgerRecord(jsonLine: $0) }
        XCTAssertEqual(parsed, h.records)
        let report = LedgerReportRenderer.render(records: parsed)
        XCTAssertTrue(report.contains("run 1 of 2"), report)
        XCTAssertTrue(report.contains("run 2 of 2"), report)
        XCTAssertFalse(report.contains("attempt 2"), "attempts start again at 1 after a reset: \(report)")
    }
}
