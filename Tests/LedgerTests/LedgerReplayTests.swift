import Faults
import Foundation
import SSE
import XCTest

@testable import Ledger

/// The one model of a ledger file that the text report, the HTML report and the control API present:
/// clients, connections, frames with fates and write times, waits. Asserts on values, not on markup.
final class LedgerReplayTests: XCTestCase {
    func replay(_ h: Harness) -> LedgerReplay { LedgerReplay(jsonLines: h.jsonl) }

    func fates(_ k: LedgerReplay.Connection) -> [FrameFate] { k.frames.map(\.fate) }

    func testScriptedRunAsAReplay() throws {
        let h = LedgerReportTests.scriptedRun()
        let r = replay(h)
        XCTAssertEqual(LedgerReplay(records: h.records), r, "records and their JSON lines give the same replay")
        XCTAssertEqual(r.runs.count, 1)
        XCTAssertEqual(r.recordCount, h.records.count)
        XCTAssertEqual(r.connectionCount, 5)
        XCTAssertFalse(r.summaryLevel)
        XCTAssertEqual(r.clients.map(\.key), ["a", "b"])
        XCTAssertEqual(r.clients.map(\.index), [1, 2])
        let a = r.clients[0]
        XCTAssertEqual(a.connections.map(\.id), [1, 3, 4, 5])
        XCTAssertEqual(a.connections.map(\.attempt), [1, 2, 3, 4])
        XCTAssertEqual(a.connections.map(\.endLabel), ["RST", "upstream end", "FIN", "client closed"])
        XCTAssertEqual(fates(a.connections[0]), [.delivered, .delivered, .dropped, .delivered, .delivered])
        XCTAssertEqual(a.connections[0].faults.map(\.effect), [.dropped(bytes: 23), .cut(.rst, trigger: .afterEvents(5), droppedBytes: 0)])
        // Attempt 2 waited 1s after attempt 1 closed; it was allowed only after the 3s reconnection time.
        XCTAssertEqual(a.connections[1].waitedNs, 1_000_000_000)
        XCTAssertEqual(a.connections[1].allowedAt, Harness.ns(20) + 3_000_000_000)
        // Attempt 4 follows a 503: no reconnect was allowed at all.
        XCTAssertEqual(a.connections[2].response?.status, 503)
        XCTAssertNil(a.connections[3].allowedAt)
        XCTAssertEqual(a.findingItems.map(\.kind), ["duplicated", "wrongLastEventID", "reconnectTooEarly", "reconnectAfterFailure"])
        XCTAssertEqual(a.findingItems[0].text, "3 events dispatched more than once: ids 2, 4-5")
        XCTAssertEqual(a.findingItems[1].attempt, 2)
        XCTAssertEqual(r.clients[1].findingItems, [])
        XCTAssertEqual(r.clients[1].summary?.verdict, "ok: 2 events, 0 reconnects, all ids received once")
    }

    func testFatesOfFramesOnALane() {
        let h = Harness()
        let c = h.open("fates", at: 0)
        h.respond(c, at: 1)
        let frames = h.upstream(c, events(1...8), at: 10)
        h.fault(c, frame: 1, "drop", .dropped(bytes: 23), at: 10)
        h.fault(c, frame: 2, "duplicate", .duplicated(extra: 2), at: 10)
        h.fault(c, frame: 3, "corrupt", .corrupted(.jsonBroken), at: 10)
        h.fault(c, frame: 4, "delay", .delayed(250_000_000), at: 10)
        h.fault(c, frame: 5, "reorder", .reordered(movedAfter: 1), at: 40)
        h.fault(c, frame: 6, "disconnect", .cut(.rst, trigger: .insideEvent(7, atByte: 4), droppedBytes: 19), at: 300)
        h.deliver(c, [frames[0], frames[2], frames[2], frames[2], frames[3], frames[4], frames[5]], at: 300)
        h.close(c, .fault(kind: .rst, atByte: 120), at: 300)
        let k = replay(h).clients[0].connections[0]
        XCTAssertEqual(fates(k), [.delivered, .dropped, .duplicated, .corrupted, .delayed, .reordered, .lost, .lost])
        XCTAssertEqual(k.frames[4].writtenAt, Harness.ns(10) + 250_000_000, "written 250ms after it arrived")
        XCTAssertEqual(k.frames[5].writtenAt, Harness.ns(40), "written when the reorder released it")
        XCTAssertEqual(k.frames[2].copies, 3)
        XCTAssertEqual(k.frames[1].faultIndices, [0])
        XCTAssertEqual(k.frames[1].faults.map(\.fault), ["drop"])
        XCTAssertNil(k.frames[0].writtenAt)
    }

    func testACutWithoutATornFrameLosesOnlyWhatCameAfter() {
        let h = Harness()
        let c = h.open(at: 0)
        h.respond(c, at: 1)
        h.upstream(c, events(1...4), at: 10)
        h.fault(c, frame: 1, "disconnect", .cut(.halfClose, trigger: .afterEvents(2), droppedBytes: 0), at: 10)
        h.close(c, .fault(kind: .halfClose, atByte: 46), at: 10)
        let k = replay(h).clients[0].connections[0]
        XCTAssertEqual(fates(k), [.delivered, .delivered, .lost, .lost])
        XCTAssertEqual(k.endLabel, "half_close")
        XCTAssertEqual(k.close?.end, .fault(kind: .halfClose, atByte: 46))
    }

    func testThrottleHoldsTheFrameUntilItsLastSlice() {
        let h = Harness()
        let c = h.open(at: 0)
        h.respond(c, at: 1)
        let f = h.upstream(c, events(1...2), at: 10)
        h.fault(c, frame: 0, "throttle", .dripped(slices: 4, bytes: 7, pause: 5_000_000), at: 10)
        h.fault(c, frame: 1, "throttle", .throttled(bytesPerSecond: 100, writes: 3), at: 10)
        h.close(c, at: 100)
        let k = replay(h).clients[0].connections[0]
        XCTAssertEqual(fates(k), [.delayed, .delayed])
        XCTAssertEqual(k.frames[0].writtenAt, Harness.ns(10) + 15_000_000, "3 pauses of 5ms")
        XCTAssertEqual(k.frames[1].writtenAt, Harness.ns(10) + UInt64(f[1].raw.count) * 10_000_000, "size / 100 B/s")
    }

    func testBufferBurstsAndStallsDelayOrLoseFrames() {
        let h = Harness()
        let c = h.open("buffered", at: 0)
        h.respond(c, at: 1)
        h.upstream(c, events(1...1), at: 10)
        h.upstream(c, events(2...2), at: 20)
        h.upstream(c, events(3...3), at: 30)
        h.fault(c, frame: nil, "buffer", .burstReleased(frames: 2, bytes: 46), at: 35)
        h.upstream(c, events(4...4), at: 40)
        h.fault(c, frame: 3, "stall", .stalled(trigger: .afterEvents(4), duration: nil), at: 40)
        h.upstream(c, events(5...5), at: 50)
        h.fault(c, frame: 4, "stall", .withheld(bytes: 23), at: 50)
        h.upstream(c, events(6...6), at: 60)
        h.close(c, .clientClose, at: 100)
        let k = replay(h).clients[0].connections[0]
        // The burst at 35ms released the two latest frames (2 and 3); frame 1 was not held.
        XCTAssertEqual(fates(k), [.delivered, .delayed, .delayed, .delivered, .lost, .lost])
        XCTAssertEqual(k.frames[1].burstAt, Harness.ns(35))
        XCTAssertEqual(k.frames[2].writtenAt, Harness.ns(35))
        XCTAssertNil(k.frames[0].burstAt)
        XCTAssertEqual(k.bands.map(\.kind), [.stall])
        XCTAssertEqual(k.bands[0].from, Harness.ns(40))
        XCTAssertEqual(k.bands[0].to, Harness.ns(100), "a stall forever lasts until the connection ends")
        XCTAssertEqual(k.frames[3].faults.map(\.action), ["stalled after 4 events forever"])
    }

    func testATimedStallDelaysWhatArrivesDuringIt() {
        let h = Harness()
        let c = h.open(at: 0)
        h.respond(c, at: 1)
        h.upstream(c, events(1...1), at: 10)
        h.fault(c, frame: 0, "stall", .stalled(trigger: .afterEvents(1), duration: 2_000_000_000), at: 10)
        h.upstream(c, events(2...2), at: 500)
        h.upstream(c, events(3...3), at: 2500)
        h.close(c, at: 3000)
        let k = replay(h).clients[0].connections[0]
        XCTAssertEqual(fates(k), [.delivered, .delayed, .delivered])
        XCTAssertEqual(k.frames[1].writtenAt, Harness.ns(2010))
        XCTAssertEqual(k.bands.map(\.to), [Harness.ns(2010)])
    }

    func testConnectionLevelDelaysAreBands() {
        let h = Harness()
        let c = h.open("slow", at: 0)
        h.fault(c, frame: nil, "delay", .connectDelayed(400_000_000), at: 0)
        h.respond(c, at: 400)
        h.fault(c, frame: nil, "delay", .firstByteDelayed(500_000_000), at: 400)
        h.relay(c, events(1...2), at: 900)
        h.close(c, .upstreamEnd, at: 1000)
        let k = replay(h).clients[0].connections[0]
        XCTAssertEqual(k.bands.map(\.kind), [.connectDelay, .firstByteDelay])
        XCTAssertEqual(k.bands.map(\.from), [Harness.ns(0), Harness.ns(400)])
        XCTAssertEqual(k.bands.map(\.to), [Harness.ns(400), Harness.ns(900)])
        XCTAssertEqual(fates(k), [.delivered, .delivered])
    }

    func testAttemptsCountedFromOneAgainStartANewRun() {
        // Two runs of the same key in one file without a reset record between them.
        let first = Harness()
        let a = first.open("feed", at: 0, profile: "lossy")
        first.respond(a, at: 1)
        first.relay(a, events(1...3), at: 5)
        first.close(a, .upstreamEnd, at: 10)
        let second = Harness()
        let b = second.open("feed", at: 500, profile: "passthrough")
        second.respond(b, at: 501)
        second.relay(b, events(1...2), at: 505)
        second.close(b, .upstreamEnd, at: 510)
        let shifted = second.records.map { r in
            LedgerRecord(connection: r.connection.map { $0 + 100 }, clientKey: r.clientKey, at: r.at, body: r.body)
        }
        let r = LedgerReplay(records: first.records + shifted)
        XCTAssertEqual(r.clients.map(\.key), ["feed", "feed"])
        XCTAssertEqual(r.clients.map(\.run), [1, 2])
        XCTAssertEqual(r.clients[1].connections.map(\.id), [101])
        XCTAssertEqual(r.clients[1].summary?.verdict, "ok: 2 events, 0 reconnects, all ids received once")
    }

    func testAResetRecordSplitsRuns() {
        let h = Harness()
        let a = h.open("k", at: 0)
        h.respond(a, at: 1)
        h.relay(a, events(1...2), at: 2)
        h.close(a, at: 3)
        h.ledger.reset(at: Harness.ns(10))
        h.attempts.removeAll()
        let b = h.open("k", at: 20)
        h.respond(b, at: 21)
        h.close(b, at: 23)
        let r = replay(h)
        XCTAssertEqual(r.runs.count, 2)
        XCTAssertEqual(r.runs.map(\.connectionCount), [1, 1])
        XCTAssertEqual(r.clients.map(\.run), [1, 2])
        XCTAssertEqual(r.clients.map(\.index), [1, 2])
    }

    func testSummaryLevelKeepsOnlyFaultedFrames() {
        let r = replay(LedgerReportTests.scriptedRun(level: .summary))
        XCTAssertTrue(r.summaryLevel)
        let k = r.clients[0].connections[0]
        XCTAssertEqual(k.frames.map(\.info.index), [2])
        XCTAssertEqual(fates(k), [.dropped])
        XCTAssertFalse(replay(LedgerReportTests.scriptedRun()).summaryLevel)
    }

    func testAnOpenConnection() {
        let h = Harness()
        let c = h.open("live", at: 0)
        h.respond(c, at: 1)
        h.relay(c, events(1...2), at: 5)
        let r = replay(h)
        let k = r.clients[0].connections[0]
        XCTAssertNil(k.close)
        XCTAssertEqual(k.endLabel, "open")
        XCTAssertEqual(k.endAt, Harness.ns(5), "an open connection ends, for drawing, at its last record")
        XCTAssertNil(r.clients[0].summary)
    }

    func testUnreadableLines() {
        let h = LedgerReportTests.scriptedRun()
        let r = LedgerReplay(jsonLines: h.jsonl + "{\"type\":\"frame\"}\nnot json <b>\n")
        XCTAssertEqual(r.unreadable.map(\.line), [h.records.count + 1, h.records.count + 2])
        XCTAssertEqual(r.clients.count, 2)
        XCTAssertEqual(LedgerReplay(jsonLines: "").clients, [])
    }

    /// The control API's connection endpoint lists each frame with the fate the reports show.
    func testControlAPIFramesCarryTheReplayFates() throws {
        let h = Harness()
        let c = h.open(at: 0)
        h.respond(c, at: 1)
        let f = h.upstream(c, events(1...3), at: 10)
        h.fault(c, frame: 1, "drop", .dropped(bytes: f[1].raw.count), at: 10)
        h.deliver(c, [f[0], f[2]], at: 10)
        let conn = try JSONSerialization.jsonObject(with: Data(h.ledger.connectionJSON(c)!.utf8)) as? [String: Any]
        let frames = conn?["frame_list"] as? [[String: Any]] ?? []
        XCTAssertEqual(frames.map { $0["fate"] as? String }, ["delivered", "dropped", "delivered"])
        XCTAssertEqual(frames[1]["faults"] as? [Int], [0])
        let faults = conn?["fault_list"] as? [[String: Any]] ?? []
        XCTAssertEqual(faults.first?["action"] as? String, "dropped 23 bytes")
        XCTAssertEqual((faults.first?["effect"] as? [String: Any])?["kind"] as? String, "dropped")
        // The same frame objects as the HTML report's replay.
        let page = try JSONSerialization.jsonObject(with: Data(replay(h).json.utf8)) as? [String: Any]
        let pageConn = ((page?["clients"] as? [[String: Any]])?.first?["connections"] as? [[String: Any]])?.first
        XCTAssertEqual((pageConn?["frames"] as? [[String: Any]])?.map { $0["fate"] as? String }, ["delivered", "dropped", "delivered"])
    }
}
