import Faults
import SSE
import XCTest

@testable import Ledger

/// `Ledger.relayed` (passthrough: one parse for the frames sent and the bytes delivered) against the two
/// calls it replaces (`upstreamFrame(shaped: false)` for each frame, then `delivered` with the same bytes),
/// on the same bytes split the same way: the same records, and the same reports after every read. The
/// reference parses with a parser that holds every block whole; `relayed` with a small one, so blocks
/// longer than it holds are recorded from the client model (`SSEClientModel.openBlock`) as they pass.
final class LedgerRelayedTests: XCTestCase {
    /// Streams with the cases where a frame-fed client model could part from a byte-fed one.
    static let streams: [(name: String, bytes: [UInt8])] = {
        var list: [(String, [UInt8])] = []
        func text(_ s: String) -> [UInt8] { Array(s.utf8) }
        var lf = ""
        for i in 1...12 { lf += "id: \(i)\ndata: payload \(i)\n\n" }
        list.append(("consecutive ids, LF", text(lf)))
        list.append(("CRLF", text(lf.replacingOccurrences(of: "\n", with: "\r\n"))))
        list.append(("lone CR", text(lf.replacingOccurrences(of: "\n", with: "\r"))))
        list.append(("BOM", [0xEF, 0xBB, 0xBF] + text(lf)))
        list.append(("BOM-like start that is not one", [0xEF, 0xBB] + text("data: x\n\n" + lf)))
        list.append(("mixed line ends", text("id: 1\r\ndata: a\r\rid: 2\ndata: b\r\n\r\nid: 3\rdata: c\n\r\ndata: d\r\n\n")))
        list.append(("kinds", text(": heartbeat\n\nid: 5\n\nretry: 1500\n\nevent: ping\n\n\n\nevent:\ndata: empty type\n\n"
            + "event: tick\ndata: one\ndata: two\n\ndata\n\ndata:\n\nfoo: bar\ndata: x\n\n: c\ndata: y\n: d\n\n")))
        list.append(("anonymous repeats and replays", text("id: 1\ndata: same\n\ndata: same\n\ndata: same\n\nid: 1\ndata: same\n\n"
            + "id: 1\ndata: other\n\ndata: other\n\nid: 2\ndata: z\n\nid: 1\ndata: same\n\nid:\ndata: no id\n\ndata: no id\n\n")))
        list.append(("retry values", text("retry: 99999999999999999999999\ndata: a\n\nretry: 12x\ndata: b\n\nretry: 0700\n\nretry:\n\ndata: c\nretry: 250\n\n")))
        list.append(("invalid UTF-8", text("id: 1\ndata: ") + [0xFF, 0xC3] + text("\n\nevent: t") + [0xFE] + text("\ndata: x\n\nid: ")
            + [0xC0, 0x80] + text("\ndata: y\n\nid: a") + [0x00] + text("b\ndata: nul id ignored\n\nevent: ok\ndata: ") + [0xE2, 0x82]
            + text("\ndata: ") + [0x80] + text("\n\nevent: ") + [0xEF, 0xBF, 0xBD] + text("\ndata: replacement char\n\n")))
        let big = String(repeating: "x", count: 300)
        list.append(("oversized blocks", text("id: 1\ndata: a\n\nid: 2\ndata: \(big)\n\nid: 3\ndata: b\n\nid: 4\ndata: \(big)\r\n\r\n"
            + ": \(big)\r\rdata: \(big)\ndata: \(big)\n\nid: 5\ndata: c\n\n")))
        list.append(("oversized kinds", text("retry: 700\nid: 9\n: \(big)\n\ndata: a\r\r\nevent: long\nid: 10\ndata: \(big)\ndata: 2\n\n"
            + "id: 11\nfoo: \(big)\r\n\r\n: \(big)\n: two\n\nid:\ndata: \(big)\n\ndata: \(big)\n\nretry: 12\nevent: e\ndata: \(big)\r\r"
            + "data: after\n\nid: 12\ndata: \(big)")))
        list.append(("oversized first block with a BOM", [0xEF, 0xBB, 0xBF] + text("id: 1\ndata: \(big)\n\ndata: x\n\n")))
        list.append(("unfinished tail with retry and id", text(lf + "id: 99\nretry: 4321\nevent: t\ndata: never dispatched")))
        list.append(("tail of a CR then LF", text(lf + "id: 7\ndata: end\r")))
        return list
    }()

    /// Feeds `bytes` in `chunks` through both paths; compares records after every read and reports at the end.
    /// `contract`: the one both connections are judged by; `cutAfterReads`: the stream is cut (`Ledger.cut`) after
    /// that many reads, so later frames are read past the cut (recorded as sent nowhere, but still delivered here).
    private func compare(_ name: String, _ bytes: [UInt8], chunks: [Int], level: LedgerLevel, maxFrameBytes: Int,
                         contract: ClientContract = .eventsource, cutAfterReads: Int? = nil,
                         file: StaticString = #filePath, line: UInt = #line) {
        final class Box { var records: [LedgerRecord] = [] }
        let (boxA, boxB) = (Box(), Box())
        let a = Ledger(level: level) { boxA.records.append($0) }
        let b = Ledger(level: level) { boxB.records.append($0) }
        var parserA = SSEParser()  // every block whole
        var parserB = SSEParser(maxFrameBytes: maxFrameBytes)
        var parserC = SSEParser(maxFrameBytes: maxFrameBytes)  // the oversized blocks `relayed` should count
        for l in [a, b] {
            l.connectionOpened(id: 1, clientKey: "c", attempt: 1, at: 1, wallMs: 1, method: "GET", path: "/", lastEventIDSent: "0",
                               profile: "passthrough", seed: 1, contract: contract)
            l.responseStarted(id: 1, status: 200, contentType: "text/event-stream", synthetic: false, at: 2)
        }
        var p = 0
        var readCount = 0
        var at: UInt64 = 10
        var reads = Ledger.RelayedRead()
        var counted = Ledger.RelayedRead()
        for n in chunks where p < bytes.count {
            let piece = Array(bytes[p..<min(bytes.count, p + n)])
            p += piece.count
            at += 1
            parserA.feed(piece) { output in
                counted.count(output)  // every block a frame: `relayed` counts the long ones it records too
                if case .frame(let f) = output { a.upstreamFrame(id: 1, frame: f, at: at, shaped: false) }
            }
            parserC.feed(piece) { if case .oversized(_, _, true) = $0 { counted.oversizedBlocks += 1 } }
            a.delivered(id: 1, bytes: piece, at: at)
            piece.withUnsafeBytes { raw in
                let r = b.relayed(id: 1, bytes: raw, at: at, parser: &parserB)
                reads.frames += r.frames
                reads.events += r.events
                reads.oversizedBlocks += r.oversizedBlocks
            }
            XCTAssertEqual(boxA.records, boxB.records, "\(name): records after \(p) bytes", file: file, line: line)
            XCTAssertEqual(a.connectionJSON(1), b.connectionJSON(1), "\(name): connection after \(p) bytes", file: file, line: line)
            XCTAssertEqual(a.clientJSON("c"), b.clientJSON("c"), "\(name): client after \(p) bytes", file: file, line: line)
            readCount += 1
            if readCount == cutAfterReads { for l in [a, b] { l.cut(id: 1) } }
        }
        XCTAssertEqual(p, bytes.count, file: file, line: line)
        XCTAssertEqual(reads, counted, "\(name): frames, events, oversized blocks", file: file, line: line)
        for l in [a, b] {
            l.connectionClosed(id: 1, end: .upstreamEnd, at: at + 1)
            // The next attempt is checked against the state the model ended the first one with.
            l.connectionOpened(id: 2, clientKey: "c", attempt: 2, at: at + 5_000_000_000, wallMs: 2, method: "GET", path: "/",
                               lastEventIDSent: "3", profile: "passthrough", seed: 1, contract: contract)
            l.finish(at: at + 6_000_000_000)
        }
        XCTAssertEqual(boxA.records, boxB.records, "\(name): records at the end", file: file, line: line)
        XCTAssertEqual(a.clientsJSON(), b.clientsJSON(), "\(name): clients at the end", file: file, line: line)
        XCTAssertEqual(a.connectionJSON(1), b.connectionJSON(1), "\(name): first attempt at the end", file: file, line: line)
        XCTAssertEqual(a.connectionJSON(2), b.connectionJSON(2), "\(name): second attempt at the end", file: file, line: line)
        XCTAssertEqual(a.clientJSON("c"), b.clientJSON("c"), "\(name): client at the end", file: file, line: line)
    }

    /// Read sizes of 1...`upTo` bytes that cover `count` bytes.
    static func randomChunks(covering count: Int, upTo: UInt64, _ rng: inout SplitMix64) -> [Int] {
        var chunks: [Int] = []
        var total = 0
        while total < count {
            let n = Int(rng.next() % upTo) + 1
            chunks.append(n)
            total += n
        }
        return chunks
    }

    func testWholeStreamsInOneRead() {
        for (name, bytes) in Self.streams {
            for level in [LedgerLevel.events, .summary] {
                compare(name, bytes, chunks: [bytes.count], level: level, maxFrameBytes: 128)
            }
        }
    }

    /// Under `once` the ledger files ids per connection (`onceID`): a message matched by its frame's slot
    /// lands where a lookup of its last event ID would.
    func testOnceContract() {
        for (name, bytes) in Self.streams {
            for level in [LedgerLevel.events, .summary] {
                compare("\(name), once", bytes, chunks: [bytes.count], level: level, maxFrameBytes: 128, contract: .once)
                compare("\(name), once, halves", bytes, chunks: [bytes.count / 2, bytes.count], level: level, maxFrameBytes: 128,
                        contract: .once)
            }
        }
    }

    /// Frames read past a cut are not recorded as sent, yet their bytes are still delivered and dispatched
    /// here: those messages must be matched by lookup (unexpected, or an earlier version), never by a slot.
    func testCutMidStream() {
        var rng = SplitMix64(seed: 7)
        for (name, bytes) in Self.streams {
            for cutAfter in 1...3 {
                let chunks = Self.randomChunks(covering: bytes.count, upTo: 40, &rng)
                compare("\(name), cut after \(cutAfter) reads \(chunks)", bytes, chunks: chunks,
                        level: cutAfter == 2 ? .events : .summary, maxFrameBytes: 128, cutAfterReads: cutAfter)
            }
        }
    }

    /// The premise of matching a dispatch by its frame: a message the model takes from a frame's own fields
    /// has the digest the ledger computed for the frame (`Digest64.event(type:frame:)`), and the last event
    /// ID the frame's id set; and the frame path is taken for most events of these streams.
    func testFramesOwnDispatchHasTheFramesDigest() {
        var own = 0
        var all = 0
        for (name, bytes) in Self.streams {
            var model = SSEClientModel(state: SSEClientState(lastEventID: "0"))
            var parser = SSEParser(maxFrameBytes: 128)
            parser.feed(bytes) { output in
                guard case .frame(let f) = output else {
                    output.bytes.withUnsafeBytes { raw in model.feed(raw) { XCTAssertFalse($0.isFramesOwn, name) } }
                    return
                }
                model.feed(frame: f) { m in
                    all += 1
                    guard m.isFramesOwn else { return }
                    own += 1
                    let type = (f.eventType ?? "").isEmpty ? "message" : f.eventType!
                    XCTAssertEqual(Digest64.event(m), Digest64.event(type: type, frame: f), "\(name): frame \(f.index)")
                    XCTAssertEqual(m.message.data, f.data.joined(separator: "\n"), name)
                    if let id = f.id { XCTAssertEqual(m.lastEventId, id, name) }
                }
            }
        }
        XCTAssertGreaterThan(own, all / 2, "most dispatches come from the frame path")
    }

    /// Shaped streams: a write that is a whole upstream frame, unchanged, delivered as the frame
    /// (`delivered(id:frame:sent:at:)` with what `upstreamFrame` returned) against the same write delivered as
    /// bytes: the same records and reports, with frames dropped (never delivered), written twice, written in
    /// another round than they were recorded in, and oversized pieces and injected bytes between them.
    func testShapedWritesOfWholeFrames() {
        for (name, bytes) in Self.streams {
            for level in [LedgerLevel.events, .summary] {
                for roundSize in [1, 3, 1000] {
                    final class Box { var records: [LedgerRecord] = [] }
                    let (boxA, boxB) = (Box(), Box())
                    let a = Ledger(level: level) { boxA.records.append($0) }
                    let b = Ledger(level: level) { boxB.records.append($0) }
                    for l in [a, b] {
                        l.connectionOpened(id: 1, clientKey: "c", attempt: 1, at: 1, wallMs: 1, method: "GET", path: "/",
                                           lastEventIDSent: "0", profile: "p", seed: 1)
                        l.responseStarted(id: 1, status: 200, contentType: "text/event-stream", synthetic: false, at: 2)
                    }
                    var outputs: [SSEParser.Output] = []
                    var parser = SSEParser(maxFrameBytes: 128)
                    parser.feed(bytes) { outputs.append($0) }
                    var at: UInt64 = 10
                    var pending: [(SSEParser.Output, Ledger.SentEvent?)] = []
                    func deliverRound() {
                        for (i, (output, sent)) in pending.enumerated() {
                            at += 1
                            switch output {
                            case .frame(let f):
                                if f.kind == .event && f.index % 4 == 1 { continue }  // dropped
                                let times = f.index % 5 == 2 ? 2 : 1  // duplicated
                                for _ in 0..<times {
                                    a.delivered(id: 1, bytes: f.raw, at: at)
                                    b.delivered(id: 1, frame: f, sent: sent, at: at)
                                }
                                if i % 7 == 3 {  // injected between frames
                                    let injected = Array("id: 2\ndata: payload 2\n\n".utf8)
                                    a.delivered(id: 1, bytes: injected, at: at)
                                    b.delivered(id: 1, bytes: injected, at: at)
                                }
                            case .oversized(let piece, _, _):
                                a.delivered(id: 1, bytes: piece, at: at)
                                b.delivered(id: 1, bytes: piece, at: at)
                            }
                        }
                        pending = []
                        XCTAssertEqual(boxA.records, boxB.records, "\(name) (\(level), rounds of \(roundSize))")
                        XCTAssertEqual(a.connectionJSON(1), b.connectionJSON(1), "\(name) (\(level), rounds of \(roundSize))")
                    }
                    for output in outputs {
                        at += 1
                        var sent: Ledger.SentEvent?
                        if case .frame(let f) = output {
                            _ = a.upstreamFrame(id: 1, frame: f, at: at)
                            sent = b.upstreamFrame(id: 1, frame: f, at: at)
                        }
                        pending.append((output, sent))
                        if pending.count == roundSize { deliverRound() }
                    }
                    deliverRound()
                    for l in [a, b] {
                        l.connectionClosed(id: 1, end: .upstreamEnd, at: at + 1)
                        l.finish(at: at + 2)
                    }
                    XCTAssertEqual(boxA.records, boxB.records, "\(name) (\(level), rounds of \(roundSize)) at the end")
                    XCTAssertEqual(a.clientsJSON(), b.clientsJSON(), "\(name) (\(level), rounds of \(roundSize)) at the end")
                }
            }
        }
    }

    func testEverySplitInTwo() {
        for (name, bytes) in Self.streams {
            for cut in stride(from: 1, to: bytes.count, by: bytes.count < 400 ? 1 : 5) {
                compare("\(name) cut at \(cut)", bytes, chunks: [cut, bytes.count], level: .events, maxFrameBytes: 128)
            }
        }
    }

    func testRandomSplitsMidLine() {
        var rng = SplitMix64(seed: 16)
        for (name, bytes) in Self.streams {
            for _ in 0..<25 {
                let chunks = Self.randomChunks(covering: bytes.count, upTo: 23, &rng)
                compare("\(name) \(chunks)", bytes, chunks: chunks, level: rng.next() % 2 == 0 ? .events : .summary,
                        maxFrameBytes: rng.next() % 3 == 0 ? 40 : 128)
            }
        }
    }

    /// The comparison can fail: a ledger fed other bytes than it was told were sent differs.
    func testComparisonSeesADifference() {
        let a = Ledger(level: .summary)
        let b = Ledger(level: .summary)
        var parser = SSEParser()
        var other = SSEParser()
        for l in [a, b] {
            l.connectionOpened(id: 1, clientKey: "c", attempt: 1, at: 1, wallMs: 1, method: "GET", path: "/", lastEventIDSent: nil,
                               profile: "p", seed: 1)
            l.responseStarted(id: 1, status: 200, contentType: "text/event-stream", synthetic: false, at: 2)
        }
        Array("id: 1\ndata: a\n\n".utf8).withUnsafeBytes { _ = a.relayed(id: 1, bytes: $0, at: 3, parser: &parser) }
        Array("id: 1\ndata: b\n\n".utf8).withUnsafeBytes { _ = b.relayed(id: 1, bytes: $0, at: 3, parser: &other) }
        XCTAssertEqual(a.client("c")?.summary.received, 1)
        XCTAssertNotEqual(a.clientJSON("c"), b.clientJSON("c"))
    }

    /// The client model fed frames dispatches what it dispatches fed bytes, with the same state after each frame.
    func testModelFedFramesMatchesModelFedBytes() {
        for (name, bytes) in Self.streams {
            var byBytes = SSEClientModel(state: SSEClientState(lastEventID: "0"))
            var byFrames = SSEClientModel(state: SSEClientState(lastEventID: "0"))
            var parser = SSEParser(maxFrameBytes: 128)
            var fromBytes: [SSEMessage] = []
            var fromFrames: [SSEMessage] = []
            parser.feed(bytes) { output in
                switch output {
                case .frame(let f):
                    f.raw.withUnsafeBytes { raw in byBytes.feed(raw) { fromBytes.append($0.message) } }
                    byFrames.feed(frame: f) { fromFrames.append($0.message) }
                case .oversized(let piece, _, _):
                    piece.withUnsafeBytes { raw in
                        byBytes.feed(raw) { fromBytes.append($0.message) }
                        byFrames.feed(raw) { fromFrames.append($0.message) }
                    }
                }
                XCTAssertEqual(byBytes.state, byFrames.state, name)
                XCTAssertEqual(byBytes.hasPendingTail, byFrames.hasPendingTail, name)
            }
            XCTAssertEqual(fromBytes, fromFrames, name)
            XCTAssertFalse(fromFrames.isEmpty, name)
        }
    }
}
