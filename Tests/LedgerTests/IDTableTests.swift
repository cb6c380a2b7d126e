import Faults
import SSE
import XCTest

@testable import Ledger

final class IDTableTests: XCTestCase {
    func testConsecutiveIntegersShareOneRunAndOthersAreNamed() {
        let t = IDTable()
        for i in 1...1000 { t.sent(id: String(i), digest: UInt64(i)) }
        t.sent(id: "a7", digest: 1)
        t.sent(id: "x07", digest: 2)
        t.sent(id: "5000", digest: 3)
        t.sent(id: "5001", digest: 4)
        XCTAssertEqual(t.count, 1004)
        XCTAssertEqual(t.versions, 1004)
        XCTAssertEqual(t.name(0), "1")
        XCTAssertEqual(t.name(999), "1000")
        XCTAssertEqual(t.name(1000), "a7")
        XCTAssertEqual(t.name(1001), "x07")
        XCTAssertEqual(t.name(1003), "5001")
        XCTAssertEqual(t.slot(id: "500", digest: 500)?.index, 499)
        XCTAssertNil(t.slot(id: "500", digest: 501), "same id, other content")
        XCTAssertNil(t.slot(id: "1001", digest: 1001))
        XCTAssertEqual(t.slot(id: "x07", digest: 2)?.index, 1001)
    }

    func testReplaysCountAsSentAgainAndReusedIDsAreVersions() {
        let t = IDTable()
        t.sent(id: "1", digest: 10)
        t.sent(id: "2", digest: 20)
        t.sent(id: "1", digest: 10)  // a replay
        t.sent(id: "1", digest: 11)  // reused for other content
        XCTAssertEqual(t.versions, 3)
        XCTAssertEqual(t[t.slot(id: "1", digest: 10)!].sent, 2)
        let other = t.slot(id: "1", digest: 11)!
        XCTAssertEqual(other.version, 1)
        t.received(other, connection: 2)
        t.received(other, connection: 3)
        XCTAssertEqual(t[other].received, 2)
        XCTAssertEqual(t[other].firstConnection, 2)
        XCTAssertEqual(t[other].lastConnection, 3)
        XCTAssertEqual(t.receivedVersions, 1)
        XCTAssertEqual(t.duplicatedVersions, 1)
        var visited: [(String, UInt64)] = []
        t.forEachVersion { i, e in visited.append((t.name(i), e.digest)); return true }
        XCTAssertEqual(visited.map(\.0), ["1", "1", "2"], "versions of an id together, ids in first-sent order")
        XCTAssertEqual(visited.map(\.1), [10, 11, 20])
    }

    func testIntegersThatKeepJumpingFallBackToNames() {
        let t = IDTable()
        for i in 0..<(IDTable.maxRuns * 3) { t.sent(id: String(i * 10), digest: UInt64(i)) }
        for i in 0..<(IDTable.maxRuns * 3) {
            XCTAssertEqual(t.slot(id: String(i * 10), digest: UInt64(i))?.index, i)
            XCTAssertEqual(t.name(i), String(i * 10))
        }
        XCTAssertNil(t.slot(id: "5", digest: 0))
    }

    func testPlainInteger() {
        XCTAssertEqual(IDTable.plainInteger("0"), 0)
        XCTAssertEqual(IDTable.plainInteger("18446744073709551615"), UInt64.max)
        XCTAssertNil(IDTable.plainInteger("18446744073709551616"))
        XCTAssertNil(IDTable.plainInteger(""))
        XCTAssertNil(IDTable.plainInteger("01"))
        XCTAssertNil(IDTable.plainInteger("1a"))
        XCTAssertNil(IDTable.plainInteger("-1"))
        XCTAssertNil(IDTable.plainInteger("１"), "a full-width digit is not ASCII")
        XCTAssertEqual(IDTable.numeral("007"), .init(value: 7, width: 3))
        XCTAssertEqual(IDTable.numeral("0"), .init(value: 0, width: 0))
        XCTAssertEqual(IDTable.numeral("00"), .init(value: 0, width: 2))
    }

    func testZeroPaddedIDsFormTheirOwnRun() {
        let t = IDTable()
        for i in 1...120 { t.sent(id: String(repeating: "0", count: 4 - String(i).count) + String(i), digest: UInt64(i)) }
        t.sent(id: "7", digest: 700)  // another id than "0007"
        t.sent(id: "10000", digest: 800)  // past four digits: a new run
        t.sent(id: "10001", digest: 801)
        XCTAssertEqual(t.name(0), "0001")
        XCTAssertEqual(t.name(99), "0100")
        XCTAssertEqual(t.name(120), "7")
        XCTAssertEqual(t.name(122), "10001")
        XCTAssertEqual(t.slot(id: "0007", digest: 7)?.index, 6)
        XCTAssertEqual(t.slot(id: "7", digest: 700)?.index, 120)
        XCTAssertNil(t.slot(id: "007", digest: 7), "\"007\" is neither \"0007\" nor \"7\"")
        XCTAssertEqual(t.slot(id: "10000", digest: 800)?.index, 121)
    }

    /// The upstream side hashes a frame's raw data lines, the client side a dispatch's bytes: both equal the
    /// digest of the Strings a client decodes, invalid UTF-8 included.
    func testEventDigestsAgreeOnBothSides() {
        let text: [UInt8] = Array("event: t\u{00E9}\ndata: a\ndata: b".utf8) + [0xFF, 0xC3] + Array("\n\n".utf8)
        var parser = SSEParser()
        var frame: SSEFrame?
        parser.feed(text) { if case .frame(let f) = $0 { frame = f } }
        var model = SSEClientModel()
        var fromDispatch: UInt64?
        var message: SSEMessage?
        text.withUnsafeBytes { model.feed($0) { fromDispatch = Digest64.event($0); message = $0.message } }
        let fromStrings = Digest64.event(type: message!.type, data: message!.data)
        XCTAssertEqual(message!.data, "a\nb\u{FFFD}\u{FFFD}")
        XCTAssertEqual(fromDispatch, fromStrings)
        XCTAssertEqual(Digest64.event(type: frame!.eventType!, frame: frame!), fromStrings)
        XCTAssertEqual(Digest64.event(type: frame!.eventType!, dataLines: frame!.data), fromStrings)
    }

    /// At summary level a long stream keeps bounded memory per connection: frames kept are the faulted
    /// ones, the client model keeps no messages, ids live in one run.
    func testSummaryLevelLongStreamStaysBounded() {
        let h = Harness(level: .summary)
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        for i in 1...5_000 {
            let frames = h.upstream(a, "id: \(i)\ndata: event \(i)\n\n", at: UInt64(i))
            if i % 1000 == 0 {
                h.fault(a, frame: frames[0].index, "drop", .dropped(bytes: 0), at: UInt64(i))
            } else {
                h.deliver(a, frames, at: UInt64(i))
            }
        }
        let c = h.ledger.connectionsByID[a]!
        XCTAssertEqual(c.frames.map(\.index), [999, 1999, 2999, 3999, 4999])
        XCTAssertLessThanOrEqual(c.recent.count, ConnectionLedger.recentFrames)
        XCTAssertEqual(h.records.filter { $0.type == "frame" }.count, 5)
        XCTAssertTrue(c.model!.dispatched.isEmpty)
        XCTAssertEqual(c.client.ids.count, 5000)
        h.close(a, at: 6000)
        let s = h.summary()
        XCTAssertEqual(s.expected, 5000)
        XCTAssertEqual(s.missingIDs, ["1000", "2000", "3000", "4000", "5000"])
        XCTAssertEqual(h.ledger.connection(a)!.prediction.lastEventID, "4999")
        XCTAssertEqual(h.ledger.connection(a)!.prediction.dispatched, 4995)
    }

    /// A passthrough stream at summary level keeps nothing per frame (no fault can name one).
    func testUnshapedFramesAreNotKeptAtSummaryLevel() {
        let h = Harness(level: .summary)
        let a = h.open(at: 0)
        h.respond(a, at: 0)
        var parser = SSEParser()
        parser.feed(Array("id: 1\ndata: a\n\n: beat\n\nid: 2\ndata: b\n\n".utf8)) {
            if case .frame(let f) = $0 { h.ledger.upstreamFrame(id: a, frame: f, at: 1, shaped: false) }
        }
        h.deliver(a, "id: 1\ndata: a\n\n: beat\n\nid: 2\ndata: b\n\n", at: 2)
        let c = h.ledger.connectionsByID[a]!
        XCTAssertTrue(c.recent.isEmpty)
        XCTAssertEqual(c.frameCount, 3)
        XCTAssertEqual(c.eventCount, 2)
        h.close(a, at: 3)
        XCTAssertEqual(h.summary().received, 2)
        XCTAssertEqual(h.findings(), [])
    }

    // MARK: - Memory: digests in chunks, counts in spans

    /// The common case, a stream received intact: 8 bytes an event (its digest), one span, one run.
    func testConsecutiveIDsReceivedInOrderCostEightBytesAnEvent() {
        let t = IDTable()
        let n = 300_000  // several chunks
        for i in 1...n {
            t.sent(id: String(i), digest: UInt64(i) &* 0x9E37_79B9)
            if i % 7 == 0 {  // the client dispatches in bursts, behind the upstream
                for j in (i - 6)...i { t.received(t.slot(id: String(j), digest: UInt64(j) &* 0x9E37_79B9)!, connection: 1) }
            }
        }
        XCTAssertEqual(t.count, n)
        XCTAssertLessThanOrEqual(t.spans.count, 2, "received and not yet received")
        XCTAssertLessThanOrEqual(Double(t.entryBytes) / Double(n), 8.001)
        XCTAssertEqual(t.receivedVersions, n / 7 * 7)
        XCTAssertEqual(t.slot(id: "250000", digest: 250_000 &* 0x9E37_79B9)?.index, 249_999, "a digest past the first chunk")
        XCTAssertNil(t.slot(id: "250000", digest: 1))
        XCTAssertEqual(t[t.slot(id: "7", digest: 7 &* 0x9E37_79B9)!].received, 1)
        XCTAssertEqual(t[t.slot(id: "7", digest: 7 &* 0x9E37_79B9)!].firstConnection, 1)
        XCTAssertEqual(t[t.slot(id: String(n), digest: UInt64(n) &* 0x9E37_79B9)!].received, n % 7 == 0 ? 1 : 0)
    }

    /// The documented worst case: every other event dropped gives a span per event, 8 + 24 bytes an event.
    func testAlternatingFatesAreBoundedByTheDocumentedWorstCase() {
        let t = IDTable()
        let n = 10_000
        for i in 1...n { t.sent(id: String(i), digest: UInt64(i)) }
        for i in stride(from: 1, through: n, by: 2) { t.received(t.slot(id: String(i), digest: UInt64(i))!, connection: 1) }
        XCTAssertEqual(t.spans.count, n)
        XCTAssertLessThanOrEqual(t.entryBytes, n * (8 + 24) + 64)
        // The dropped ones delivered later (a replay after a reconnect): back to one span.
        for i in stride(from: 2, through: n, by: 2) { t.received(t.slot(id: String(i), digest: UInt64(i))!, connection: 1) }
        XCTAssertEqual(t.spans.count, 1)
        XCTAssertEqual(t.receivedVersions, n)
    }

    /// Spans split and merge as counts change in any order: every entry's counts equal a plain per-entry
    /// model's, and neighbouring spans always differ.
    func testSpansAgreeWithAPerEntryModelUnderRandomUpdates() {
        var rng = SplitMix64(seed: 42)
        for round in 0..<20 {
            let t = IDTable()
            var model: [IDTable.Entry] = []
            let n = 50 + round * 20
            for i in 0..<n {
                t.sent(id: String(i), digest: UInt64(i))
                model.append(IDTable.Entry(digest: UInt64(i)))
            }
            for _ in 0..<(n * 3) {
                let i = Int(rng.next() % UInt64(n))
                let slot = t.slot(id: String(i), digest: UInt64(i))!
                switch rng.next() % 3 {
                case 0:
                    t.sent(id: String(i), digest: UInt64(i))
                    model[i].sent += 1
                default:
                    let connection = UInt32(1 + rng.next() % 3)
                    t.received(slot, connection: connection)
                    model[i].received += 1
                    if model[i].received == 1 { model[i].firstConnection = connection }
                    model[i].lastConnection = connection
                }
            }
            var seen: [IDTable.Entry] = []
            t.forEachVersion { _, e in seen.append(e); return true }
            XCTAssertEqual(seen.count, n)
            for i in 0..<n {
                let e = t.entry(i)
                XCTAssertEqual(e.counts, model[i].counts, "round \(round), entry \(i)")
                XCTAssertEqual(seen[i].counts, model[i].counts, "forEachVersion, round \(round), entry \(i)")
                XCTAssertEqual(e.digest, UInt64(i))
            }
            XCTAssertEqual(t.spans.first?.start, 0)
            for k in t.spans.indices.dropFirst() {
                XCTAssertLessThan(t.spans[k - 1].start, t.spans[k].start)
                XCTAssertNotEqual(t.spans[k - 1].counts, t.spans[k].counts, "neighbouring spans are merged")
            }
            XCTAssertEqual(t.receivedVersions, model.filter { $0.received > 0 }.count)
            XCTAssertEqual(t.duplicatedVersions, model.filter { $0.received > 1 }.count)
        }
    }
}
