import XCTest

@testable import SSE

/// `feed(_:onDispatch:)` (what the ledger uses: nothing kept, no Strings unless asked) must dispatch
/// exactly what `feed(_:)` keeps in `dispatched`, however the bytes are split.
final class StreamingDispatchTests: XCTestCase {
    private let streams: [[UInt8]] = [
        Array("\u{FEFF}id: 1\ndata: a\n\n: c\n\nretry: 1500\nevent: t\ndata: b\ndata: c\n\r\n\rid: 2\rdata: d\r\r".utf8),
        Array("data: x\r\n\r\n\u{FEFF}data: bom mid-stream is content\n\nid\ndata: reset\n\ndata: after\n\n".utf8),
        Array("id: 5\n\ndata: no id\n\nid: 6\ndata: torn".utf8),
        [0xEF, 0xBB, 0x0A, 0x0A] + Array("data: not a bom\n\n".utf8) + [0x0D],
        Array("data: bad \u{00E9}".utf8) + [0xFF, 0xC3] + Array("\nevent: t".utf8) + [0xE2, 0x82] + Array("\n\n".utf8),
        Array(String(repeating: "id: 7\ndata: many\n\n", count: 200).utf8) + Array("data: end\n\n".utf8),
    ]

    private func streamed(_ bytes: [UInt8], start: SSEClientState, chunk: Int) -> ([SSEMessage], SSEClientState, SSEClientModel) {
        var m = SSEClientModel(state: start)
        var out: [SSEMessage] = []
        var i = 0
        while i < bytes.count {
            let j = min(bytes.count, i + chunk)
            Array(bytes[i..<j]).withUnsafeBytes { m.feed($0) { out.append($0.message) } }
            i = j
        }
        let before = m
        m.end()
        return (out, m.state, before)
    }

    func testSameMessagesAsTheKeepingFeedForEverySplit() {
        let start = SSEClientState(lastEventID: "0", reconnectionTimeMs: 3000)
        for (n, s) in streams.enumerated() {
            let want = client([s], state: start)
            XCTAssertFalse(want.dispatched.isEmpty, "stream \(n) dispatches something")
            for chunk in [1, 2, 3, 7, 64, s.count] {
                let (got, state, model) = streamed(s, start: start, chunk: chunk)
                XCTAssertEqual(got, want.dispatched, "stream \(n), chunk \(chunk)")
                XCTAssertEqual(state, want.state, "stream \(n), chunk \(chunk)")
                XCTAssertTrue(model.dispatched.isEmpty, "the streaming feed keeps nothing")
            }
        }
    }

    func testDispatchBytesAreTheRawTypeAndData() {
        var m = SSEClientModel()
        var seen: [([UInt8], [UInt8], String)] = []
        Array("id: 9\ndata: a\ndata: b\n\nevent: tick\ndata: \u{00E9}\n\n".utf8).withUnsafeBytes {
            m.feed($0) { seen.append((Array($0.typeBytes), Array($0.dataBytes), $0.lastEventId)) }
        }
        XCTAssertEqual(seen.map(\.0), [[], b("tick")], "an empty type means message")
        XCTAssertEqual(seen.map(\.1), [b("a\nb"), b("\u{00E9}")])
        XCTAssertEqual(seen.map(\.2), ["9", "9"])
    }

    func testPendingTail() {
        var m = SSEClientModel()
        XCTAssertFalse(m.hasPendingTail)
        Array("data: a\n\n: comment".utf8).withUnsafeBytes { m.feed($0) { _ in } }
        XCTAssertFalse(m.hasPendingTail, "a partial comment line is not an event")
        Array("\nid: 3\n".utf8).withUnsafeBytes { m.feed($0) { _ in } }
        XCTAssertTrue(m.hasPendingTail, "a block with a field and no empty line yet")
        Array("\n".utf8).withUnsafeBytes { m.feed($0) { _ in } }
        XCTAssertFalse(m.hasPendingTail)
        Array("da".utf8).withUnsafeBytes { m.feed($0) { _ in } }
        XCTAssertTrue(m.hasPendingTail, "a partial field line")
        m.end()
        XCTAssertFalse(m.hasPendingTail)
    }

    func testFrameDataValuesAreTheRawBytesOfDataLines() {
        let run = parse([b(": c\ndata: a\ndata\nid: 1\ndata:  two spaces\r\ndata: ") + [0xFF] + b("\r\n\r\n")])
        XCTAssertEqual(run.frames.count, 1)
        var lines: [[UInt8]] = []
        run.frames[0].forEachDataValue { lines.append(Array($0)) }
        XCTAssertEqual(lines, [b("a"), [], b(" two spaces"), [0xFF]])
        XCTAssertEqual(lines.map { String(decoding: $0, as: UTF8.self) }, run.frames[0].data)
        // A frame built with explicit data hands those values.
        let built = SSEFrame(raw: b("data: x\n\n"), kind: .event, data: ["y", "z"])
        var values: [String] = []
        built.forEachDataValue { values.append(String(decoding: $0, as: UTF8.self)) }
        XCTAssertEqual(values, ["y", "z"])
    }
}
