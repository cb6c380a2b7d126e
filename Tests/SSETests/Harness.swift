import XCTest
@testable import SSE

/// Bytes of a string literal.
func b(_ s: String) -> [UInt8] { Array(s.utf8) }

struct ParseRun {
    var outputs: [SSEParser.Output] = []
    var tail: [UInt8] = []
    var oversizedBlocks = 0
    var frames: [SSEFrame] {
        outputs.compactMap { if case .frame(let f) = $0 { return f } else { return nil } }
    }
    var allBytes: [UInt8] { outputs.flatMap(\.bytes) + tail }
}

func parse(_ chunks: [[UInt8]], maxFrameBytes: Int = 4 << 20) -> ParseRun {
    var parser = SSEParser(maxFrameBytes: maxFrameBytes)
    var run = ParseRun()
    for c in chunks { parser.feed(c) { run.outputs.append($0) } }
    run.tail = parser.unfinishedTail
    run.oversizedBlocks = parser.oversizedBlocks
    return run
}

func parse(_ s: String) -> ParseRun { parse([b(s)]) }

func client(_ chunks: [[UInt8]], state: SSEClientState = SSEClientState(), end: Bool = true) -> SSEClientModel {
    var m = SSEClientModel(state: state)
    for c in chunks { m.feed(c) }
    if end { m.end() }
    return m
}

func client(_ s: String, state: SSEClientState = SSEClientState(), end: Bool = true) -> SSEClientModel {
    client([b(s)], state: state, end: end)
}

/// Drip-feed verifier (after swift-nio's ByteToMessageDecoderVerifier): the input whole, one byte at a
/// time, and split into two at every offset must give the same frames, lossless bytes, and the same
/// client behaviour. Returns the whole-input run.
@discardableResult
func verifyDripFeed(
    _ input: [UInt8], maxFrameBytes: Int = 4 << 20, file: StaticString = #filePath, line: UInt = #line
) -> ParseRun {
    let whole = parse([input], maxFrameBytes: maxFrameBytes)
    let wholeClient = client([input])
    XCTAssertEqual(whole.allBytes, input, "whole: not lossless", file: file, line: line)
    var splits: [(String, [[UInt8]])] = [("bytes", input.map { [$0] })]
    if input.count > 1 {
        for k in 1..<input.count { splits.append(("split@\(k)", [Array(input[..<k]), Array(input[k...])])) }
    }
    for (name, chunks) in splits {
        let run = parse(chunks, maxFrameBytes: maxFrameBytes)
        XCTAssertEqual(run.allBytes, input, "\(name): not lossless", file: file, line: line)
        XCTAssertEqual(run.frames.map(FrameMeaning.init), whole.frames.map(FrameMeaning.init), "\(name): frames differ",
                       file: file, line: line)
        XCTAssertEqual(run.oversizedBlocks, whole.oversizedBlocks, "\(name): oversized count", file: file, line: line)
        let m = client(chunks)
        XCTAssertEqual(m.dispatched, wholeClient.dispatched, "\(name): client dispatched", file: file, line: line)
        XCTAssertEqual(m.state, wholeClient.state, "\(name): client state", file: file, line: line)
    }
    if whole.oversizedBlocks == 0 {
        let (messages, _) = replay(whole.frames)
        XCTAssertEqual(messages, wholeClient.dispatched, "frames and client model disagree", file: file, line: line)
    }
    return whole
}
