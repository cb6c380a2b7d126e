import Faults
import Foundation
import SSE
import XCTest

@testable import Ledger

/// Fault effects in ledger lines: written as fields beside the text and read back from the fields; lines
/// of older files (text only) read back to the same effects.
final class FaultEffectRecordTests: XCTestCase {
    /// One of each effect (and each corruption), with the fault that writes it.
    static let samples: [(String, FaultEffect)] = [
        ("drop", .dropped(bytes: 33)),
        ("delay", .delayed(300_000_000)), ("delay", .delayed(284_702_000)), ("delay", .connectDelayed(400_000_000)),
        ("delay", .firstByteDelayed(2_000_000_000)),
        ("throttle", .throttled(bytesPerSecond: 100, writes: 3)), ("throttle", .dripped(slices: 4, bytes: 7, pause: 5_000_000)),
        ("buffer", .burstReleased(frames: 9, bytes: 231)),
        ("duplicate", .duplicated(extra: 2)),
        ("reorder", .reordered(movedAfter: 1)), ("reorder", .reordered(movedAfter: 3)),
        ("corrupt", .corrupted(.truncated(at: 16, of: 33))), ("corrupt", .corrupted(.terminatorRemoved)),
        ("corrupt", .corrupted(.fieldRenamed(from: "data", to: "Data"))), ("corrupt", .corrupted(.invalidUTF8(bytes: 2))),
        ("corrupt", .corrupted(.jsonBroken)), ("corrupt", .corrupted(.lineEnds(.crlf))), ("corrupt", .corrupted(.lineEnds(.mixed))),
        ("corrupt", .corrupted(.injected(.bom))), ("corrupt", .corrupted(.injected(.oversizedEvent(dataBytes: 70000)))),
        ("corrupt", .corrupted(.injected(.garbage(bytes: 13)))), ("corrupt", .corrupted(.injected(.nulComment))),
        ("strip_ids", .idStripped(id: "7")), ("strip_ids", .idStripped(id: nil)),
        ("rewrite_ids", .idRewritten(from: "5", to: "4")), ("rewrite_ids", .idRewritten(from: "5", to: "5\\0")),
        ("retry", .retryRewritten(value: "0")), ("retry", .retryInjected(value: "99999999")),
        ("last_event_id", .lastEventIDRemoved(sent: "42")), ("last_event_id", .lastEventIDReplaced(sent: nil, with: "1")),
        ("last_event_id", .lastEventIDReplaced(sent: "9", with: "1")),
        ("disconnect", .cut(.rst, trigger: .afterEvents(3), droppedBytes: 0)),
        ("disconnect", .cut(.fin, trigger: .afterBytes(15), droppedBytes: 5)),
        ("disconnect", .cut(.halfClose, trigger: .insideEvent(2, atByte: 5), droppedBytes: 12)),
        ("disconnect", .cut(.rst, trigger: .after(1_500_000_000), droppedBytes: 0)),
        ("stall", .stalled(trigger: .afterEvents(2), duration: nil)),
        ("stall", .stalled(trigger: .afterEvents(3), duration: 2_000_000_000)),
        ("stall", .stalled(trigger: .after(500_000_000), duration: 1_000_000_000)),
        ("stall", .withheld(bytes: 40)),
        ("respond", .responded(status: 503, retryAfter: "1")), ("respond", .responded(status: 204, retryAfter: nil)),
        ("respond", .responded(status: 503, retryAfter: "Wed, 21 Oct 2026 07:28:00 GMT")),
        ("refuse", .refused),
        ("content_type", .contentTypeRemoved), ("content_type", .contentTypeSet("text/plain")),
    ]

    func testEveryEffectRoundTripsThroughItsFields() throws {
        for (fault, effect) in Self.samples {
            let record = LedgerRecord(connection: 1, clientKey: "c", at: 5, body: .fault(frameIndex: 2, fault: fault, effect: effect))
            let line = record.jsonLine()
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertEqual(o?["action"] as? String, effect.description, line)
            XCTAssertEqual((o?["effect"] as? [String: Any])?["fate"] as? String, effect.fate.rawValue, line)
            XCTAssertEqual(try LedgerRecord(jsonLine: line), record, line)
            // Without the text, the fields alone give the effect back.
            var stripped = o ?? [:]
            stripped["action"] = "reworded: the reports must not depend on this"
            let again = try LedgerRecord(jsonLine: String(decoding: try JSONSerialization.data(withJSONObject: stripped), as: UTF8.self))
            XCTAssertEqual(again.body, record.body, line)
        }
    }

    /// A line written by the release before effects were typed: only `action`.
    func testOldLinesReadBackToTheSameEffects() throws {
        for (fault, effect) in Self.samples {
            let line = #"{"type":"fault","t":5,"conn":1,"client":"c","frame":2,"fault":"\#(fault)","action":\#(JSONWriter.quoted(effect.description))}"#
            let r = try LedgerRecord(jsonLine: line)
            XCTAssertEqual(r.body, .fault(frameIndex: 2, fault: fault, effect: effect), line)
        }
        // The old half-close spelling, in a record and in a close.
        let old = try LedgerRecord(jsonLine: #"{"type":"fault","t":5,"conn":1,"client":"c","frame":1,"fault":"disconnect","action":"half-close inside event 2 at byte 5 (12 bytes of the frame dropped)"}"#)
        XCTAssertEqual(old.body, .fault(frameIndex: 1, fault: "disconnect", effect: .cut(.halfClose, trigger: .insideEvent(2, atByte: 5), droppedBytes: 12)))
        let close = try LedgerRecord(jsonLine: #"{"type":"connection_close","t":9,"conn":1,"client":"c","attempt":1,"end":"fault","fault_kind":"halfClose","at_byte":7,"frames":1,"events":1,"bytes_delivered":7,"first_id":null,"last_id":null,"faults":1}"#)
        guard case .connectionClose(let c) = close.body else { return XCTFail("not a close") }
        XCTAssertEqual(c.end, .fault(kind: .halfClose, atByte: 7))
        // A text no candidate reproduces, or an unknown fault, stays text.
        for (fault, text) in [("drop", "dropped some bytes"), ("some_future_fault", "did 3 things"), ("delay", "delayed 1.5s")] {
            let r = try LedgerRecord(jsonLine: #"{"type":"fault","t":5,"conn":1,"client":"c","frame":null,"fault":"\#(fault)","action":"\#(text)"}"#)
            XCTAssertEqual(r.body, .fault(frameIndex: nil, fault: fault, effect: .described(text)))
        }
    }

    func testBadEffectFieldsAreNamed() {
        let cases: [(String, String)] = [
            (#"{"kind":"teleported"}"#, "unknown kind \"teleported\""),
            (#"{"kind":"dropped"}"#, "field \"bytes\""),
            (#"{"kind":"cut","close":"slam","trigger":{"after_events":1},"dropped_bytes":0}"#, "expected rst, fin or half_close; found \"slam\""),
            (#"{"kind":"cut","close":"rst","trigger":{},"dropped_bytes":0}"#, "field \"trigger\""),
            (#"{"kind":"corrupted","mode":"melted"}"#, "unknown corruption \"melted\""),
            (#""dropped""#, "field \"effect\": expected an object"),
        ]
        for (effect, message) in cases {
            let line = #"{"type":"fault","t":5,"conn":1,"client":"c","frame":2,"fault":"x","action":"y","effect":\#(effect)}"#
            XCTAssertThrowsError(try LedgerRecord(jsonLine: line), effect) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error) lacks \(message)")
            }
        }
    }

    /// A ledger written before effects were typed gives the same report as the same run written now.
    func testAnOldFileGivesTheSameReplay() {
        let h = LedgerReportTests.scriptedRun()
        let old = h.records.map { r -> String in
            guard case .fault(let frame, let fault, let effect) = r.body else { return r.jsonLine() }
            var w = JSONWriter()
            w.string("type", "fault")
            w.uint("t", r.at)
            w.uint("conn", r.connection!)
            w.string("client", r.clientKey)
            w.int("frame", frame)
            w.string("fault", fault)
            w.string("action", effect.description)
            return w.finish()
        }.joined(separator: "\n")
        XCTAssertFalse(old.contains("\"effect\""))
        XCTAssertEqual(LedgerReplay(jsonLines: old), LedgerReplay(jsonLines: h.jsonl))
        XCTAssertEqual(LedgerReportRenderer.render(jsonLines: old), LedgerReportRenderer.render(jsonLines: h.jsonl))
    }
}
