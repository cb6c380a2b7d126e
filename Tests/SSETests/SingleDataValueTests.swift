import XCTest

@testable import SSE

/// The parser notes where a block's only `data` value lies, so `forEachDataValue` (the ledger's digest)
/// needs no second scan: what it hands on must equal `data` however the input was split, and a frame
/// whose `raw` changes must forget the note.
final class SingleDataValueTests: XCTestCase {
    private let stream = Array(("\u{FEFF}id: 1\ndata: first\n\n" + "event: t\r\ndata:no space\r\n\r\n" + "data: a\ndata: b\n\n"
        + ": c\n\n" + "data\n\n" + "id: 2\rdata:  two spaces\r\r" + "retry: 5\ndata: x: y\nid: 3\n\n").utf8)

    private func values(_ f: SSEFrame) -> [String] {
        var out: [String] = []
        f.forEachDataValue { out.append(String(decoding: $0, as: UTF8.self)) }
        return out
    }

    func testValuesEqualDataForEverySplit() {
        for cut in 0...stream.count {
            var parser = SSEParser()
            var frames: [SSEFrame] = []
            let collect: (SSEParser.Output) -> Void = { if case .frame(let f) = $0 { frames.append(f) } }
            parser.feed(Array(stream[..<cut]), collect)
            parser.feed(Array(stream[cut...]), collect)
            XCTAssertEqual(frames.count, 7, "cut at \(cut)")
            for f in frames {
                XCTAssertEqual(values(f), f.data, "cut at \(cut), frame \(f.index)")
            }
            XCTAssertEqual(values(frames[0]), ["first"])
            XCTAssertEqual(values(frames[2]), ["a", "b"])
            XCTAssertEqual(values(frames[5]), [" two spaces"])
            XCTAssertEqual(values(frames[6]), ["x: y"])
        }
    }

    func testAFrameWhoseBytesChangeForgetsWhereItsDataLay() {
        var parser = SSEParser()
        var frame: SSEFrame?
        parser.feed(Array("data: hello\n\n".utf8)) { if case .frame(let f) = $0 { frame = f } }
        var f = frame!
        XCTAssertNotNil(f.singleData)
        f.raw[6] = UInt8(ascii: "j")  // in place
        XCTAssertNil(f.singleData)
        XCTAssertEqual(values(f), ["jello"])
        f.raw = Array("data: longer value\n\n".utf8)
        XCTAssertEqual(values(f), ["longer value"])
    }
}
