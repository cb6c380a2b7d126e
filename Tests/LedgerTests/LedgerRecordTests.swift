import Faults
import Foundation
import SSE
import XCTest

@testable import Ledger

final class LedgerRecordTests: XCTestCase {
    /// A run that produces every record type, with awkward strings.
    private func scriptedRun(level: LedgerLevel = .events) -> Harness {
        let h = Harness(level: level)
        let a = h.open("tab \"1\"\\\n\u{1}é", at: 0, lastEventID: nil, profile: "flaky", seed: UInt64.max)
        h.respond(a, at: 1)
        let frames = h.upstream(a, ": hi\n\n" + "event: up\"date\nid: 1\ndata: {\"a\":\"\\u00e9\"}\ndata: 2nd\n\n" + events(2...3), at: 2)
        h.fault(a, frame: 2, "drop", .dropped(bytes: 27), at: 2)
        h.deliver(a, [frames[0], frames[1], frames[3]], at: 3)
        h.close(a, .fault(kind: .rst, atByte: 90), at: 4)
        let b = h.open("tab \"1\"\\\n\u{1}é", at: 3100, lastEventID: "3")
        h.respond(b, status: 503, contentType: nil, synthetic: true, at: 101)
        h.close(b, .upstreamError("connect: refused \"x\""), at: 102)
        h.open("tab \"1\"\\\n\u{1}é", at: 5000)
        h.ledger.finish(at: Harness.ns(6000))
        return h
    }

    func testEveryLineIsValidJSONAndRoundTrips() throws {
        let h = scriptedRun()
        let types = Set(h.records.map(\.type))
        XCTAssertEqual(types, ["connection_open", "response", "frame", "fault", "delivered", "connection_close",
                               "prediction", "finding", "client"])
        for r in h.records {
            let line = r.jsonLine()
            XCTAssertFalse(line.contains("\n"))
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertEqual(o?["type"] as? String, r.type, line)
            XCTAssertEqual(o?["client"] as? String, "tab \"1\"\\\n\u{1}é")
            XCTAssertEqual(try LedgerRecord(jsonLine: line), r, line)
        }
    }

    func testExactFieldsOfEachType() throws {
        let h = scriptedRun()
        func first(_ type: String) -> String { h.records.first { $0.type == type }!.jsonLine() }
        XCTAssertEqual(first("connection_open"),
                       #"{"type":"connection_open","t":1000000000,"conn":1,"client":"tab \"1\"\\\n\u0001é","attempt":1,"wall_ms":1700000000000,"method":"GET","path":"/events","last_event_id":null,"profile":"flaky","seed":18446744073709551615,"contract":"eventsource"}"#)
        XCTAssertEqual(first("response"),
                       #"{"type":"response","t":1001000000,"conn":1,"client":"tab \"1\"\\\n\u0001é","status":200,"content_type":"text/event-stream","synthetic":false,"outcome":"open"}"#)
        XCTAssertTrue(first("frame").hasPrefix(#"{"type":"frame","t":1002000000,"conn":1,"client":"tab \"1\"\\\n\u0001é","index":0,"kind":"commentOnly","id":null,"event":null,"size":6,"digest":""#))
        XCTAssertEqual(first("fault"),
                       #"{"type":"fault","t":1002000000,"conn":1,"client":"tab \"1\"\\\n\u0001é","frame":2,"fault":"drop","action":"dropped 27 bytes","effect":{"kind":"dropped","bytes":27,"fate":"dropped"}}"#)
        let close = h.records.first { $0.type == "connection_close" }!.jsonLine()
        XCTAssertTrue(close.contains(#""end":"fault","fault_kind":"rst","at_byte":90,"frames":4,"events":3"#), close)
        let err = h.records.filter { $0.type == "connection_close" }[1].jsonLine()
        XCTAssertTrue(err.contains(#""end":"upstream_error","error":"connect: refused \"x\"""#), err)
    }

    func testDigestDoesNotDependOnHowBytesAreSplit() {
        let bytes = Array("id: 17\nevent: tick\ndata: 0123456789abcdef and then some more\n\n".utf8)
        let whole = Digest64.digest(bytes)
        for cut1 in 0...bytes.count {
            for cut2 in stride(from: cut1, through: bytes.count, by: 5) {
                var h = Digest64()
                h.add(Array(bytes[..<cut1]))
                for b in bytes[cut1..<cut2] { h.add(b) }
                h.add(Array(bytes[cut2...]))
                XCTAssertEqual(h.value, whole, "cut at \(cut1), \(cut2)")
            }
        }
        XCTAssertEqual(Digest64.event(type: "m", dataLines: ["a", "b"]), Digest64.event(type: "m", data: "a\nb"))
    }

    func testDigestTellsCloseInputsApart() {
        var seen = Set<UInt64>()
        var inputs: [[UInt8]] = [[], [0], [0, 0], Array(repeating: 0, count: 8), Array(repeating: 0, count: 9)]
        for n in 0..<64 {
            var b = Array(repeating: UInt8(ascii: "x"), count: 24)
            b[n % 24] ^= UInt8(1 << (n / 24 % 8))
            inputs.append(b)
        }
        inputs.append(Array(repeating: UInt8(ascii: "x"), count: 24))
        for i in inputs { seen.insert(Digest64.digest(i)) }
        XCTAssertEqual(seen.count, Set(inputs).count, "zero-length, trailing zeros and single-bit flips all differ")
        XCTAssertEqual(Digest64.hex(0xaf63dc4c8601ec8c), "af63dc4c8601ec8c")
        XCTAssertEqual(Digest64.hex(1), "0000000000000001")
    }

    func testBadLinesAreReported() {
        let text = scriptedRun().jsonl + "{not json\n{\"type\":\"nope\",\"t\":1,\"client\":\"c\"}\n\n"
        let parsed = LedgerRecord.parse(jsonLines: text)
        XCTAssertEqual(parsed.errors.count, 2)
        XCTAssertTrue(parsed.errors[1].error.contains("unknown record type \"nope\""))
        let report = LedgerReportRenderer.render(jsonLines: text)
        XCTAssertTrue(report.contains("2 lines could not be read:"), report)
    }

    func testControlAPIJSONIsValid() throws {
        let h = scriptedRun()
        let key = "tab \"1\"\\\n\u{1}é"
        let clients = try JSONSerialization.jsonObject(with: Data(h.ledger.clientsJSON().utf8)) as? [String: Any]
        XCTAssertEqual((clients?["clients"] as? [Any])?.count, 1)
        let client = try JSONSerialization.jsonObject(with: Data(h.ledger.clientJSON(key)!.utf8)) as? [String: Any]
        XCTAssertEqual((client?["connections"] as? [Any])?.count, 3)
        XCTAssertEqual((client?["findings"] as? [[String: Any]])?.map { $0["kind"] as? String },
                       ["reconnectAfterFailure", "missing"])
        let conn = try JSONSerialization.jsonObject(with: Data(h.ledger.connectionJSON(1)!.utf8)) as? [String: Any]
        XCTAssertEqual((conn?["frame_list"] as? [Any])?.count, 4)
        XCTAssertEqual((conn?["prediction"] as? [String: Any])?["last_event_id"] as? String, "3")
        XCTAssertNil(h.ledger.clientJSON("nobody"))
        XCTAssertNil(h.ledger.connectionJSON(99))
    }

    func testIDList() {
        XCTAssertEqual(IDList.describe(["4", "5", "6", "9", "a", "10"]), "4-6, 9, \"a\", 10")
        XCTAssertEqual(IDList.describe(["007", "8"]), "\"007\", 8")
        XCTAssertEqual(IDList.describe((1...30).map(String.init).filter { $0 != "15" }, limit: 1), "1-14 … (+15 more)")
    }
}
