import XCTest
@testable import SSE

final class OversizedTests: XCTestCase {
    /// Reassembles each oversized block from its pieces; checks piece sizes and order.
    func blocks(_ run: ParseRun, max: Int, file: StaticString = #filePath, line: UInt = #line) -> [Int: [UInt8]] {
        var out: [Int: [UInt8]] = [:]
        var open: Int?
        for o in run.outputs {
            guard case .oversized(let bytes, let index, let isEnd) = o else {
                XCTAssertNil(open, "a frame inside an oversized block", file: file, line: line)
                continue
            }
            if let open { XCTAssertEqual(open, index, file: file, line: line) }
            XCTAssertLessThanOrEqual(bytes.count, max + 2, file: file, line: line)
            XCTAssertGreaterThan(bytes.count, 0, file: file, line: line)
            if !isEnd { XCTAssertGreaterThanOrEqual(bytes.count, max, "pieces before the last are full", file: file, line: line) }
            out[index, default: []] += bytes
            open = isEnd ? nil : index
        }
        return out
    }

    func testOversizedBlockIsHandedOnInPiecesAndIndexesContinue() {
        let big = "data: " + String(repeating: "x", count: 50) + "\n\n"
        let input = b("data: a\n\n" + big + "id: 3\n\n")
        let run = verifyDripFeed(input, maxFrameBytes: 16)
        XCTAssertEqual(run.oversizedBlocks, 1)
        XCTAssertEqual(run.frames.map(\.index), [0, 2])
        XCTAssertEqual(run.frames[1].id, "3")
        let bl = blocks(run, max: 16)
        XCTAssertEqual(bl[1], b(big))
        XCTAssertEqual(run.allBytes, input)
        for chunks in [input.map { [$0] }, [Array(input[..<20]), Array(input[20...])]] {
            let r = parse(chunks, maxFrameBytes: 16)
            XCTAssertEqual(blocks(r, max: 16), bl, "same pieces however split")
        }
    }

    func testBlockOfExactlyMaxIsAFrame() {
        let block = b("data: 12345678\n\n")  // 16 bytes
        XCTAssertEqual(parse([block], maxFrameBytes: 16).frames.count, 1)
        XCTAssertEqual(parse(block.map { [$0] }, maxFrameBytes: 16).frames.count, 1)
        XCTAssertEqual(parse([block], maxFrameBytes: 15).oversizedBlocks, 1)
        XCTAssertEqual(parse(block.map { [$0] }, maxFrameBytes: 15).oversizedBlocks, 1)
    }

    func testMemoryStaysBounded() {
        let max = 64
        var parser = SSEParser(maxFrameBytes: max)
        var handed = 0
        var frames = 0
        let chunk = b(String(repeating: "data: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n", count: 100))
        for _ in 0..<1000 {
            parser.feed(chunk) { o in
                if case .oversized(let bytes, _, _) = o { handed += bytes.count } else { frames += 1 }
            }
            XCTAssertLessThanOrEqual(parser.unfinishedTail.count, max + 2)
            XCTAssertLessThanOrEqual(parser.pending.capacity, 4 * max)
        }
        parser.feed(b("\n")) { o in if case .oversized(let bytes, _, let isEnd) = o { handed += bytes.count; XCTAssertTrue(isEnd || bytes.count == max) } }
        XCTAssertEqual(handed, chunk.count * 1000 + 1)
        XCTAssertEqual(frames, 0)
        XCTAssertEqual(parser.oversizedBlocks, 1)
        var after: [SSEFrame] = []
        parser.feed(b("data: ok\n\n")) { if case .frame(let f) = $0 { after.append(f) } }
        XCTAssertEqual(after.first?.data, ["ok"])
        XCTAssertEqual(after.first?.index, 1)
    }

    func testOversizedEndingInCRThenLF() {
        let input = b("data: " + String(repeating: "z", count: 30) + "\r\r\ndata: b\r\r\n")
        let run = verifyDripFeed(input, maxFrameBytes: 10)
        XCTAssertEqual(run.oversizedBlocks, 1)
        XCTAssertEqual(run.frames.first?.data, ["b"])
    }

    func testOversizedTailIsLastPiece() {
        let run = parse([b("data: " + String(repeating: "q", count: 25))], maxFrameBytes: 10)
        XCTAssertEqual(run.oversizedBlocks, 1)
        XCTAssertEqual(run.tail.count, 1)  // 31 bytes: pieces 10 + 10 + 10 handed on once the next byte came
        XCTAssertEqual(run.allBytes.count, 31)
    }
}
