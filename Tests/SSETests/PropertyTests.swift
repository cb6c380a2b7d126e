import XCTest
@testable import SSE

/// SplitMix64: small, seeded, repeatable.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class PropertyTests: XCTestCase {
    static let seed: UInt64 = 0x5EED_55E0

    func randomText(_ rng: inout SplitMix64, allowLineBreaks: Bool) -> String {
        let pieces = ["a", "b", "z", " ", "  ", ":", "é", "日本", "🙂", "\u{0}", "x:y", "data", "id", "\u{FEFF}"]
        let breaks = ["\n", "\r", "\r\n"]
        var s = ""
        for _ in 0..<Int.random(in: 0...8, using: &rng) {
            if allowLineBreaks && Int.random(in: 0..<5, using: &rng) == 0 {
                s += breaks.randomElement(using: &rng)!
            } else {
                s += pieces.randomElement(using: &rng)!
            }
        }
        return s
    }

    /// Random events → serialize → parse (in random chunks) → the same events, and the client agrees.
    func testSerializeThenParseGivesTheSameEvents() {
        var rng = SplitMix64(seed: Self.seed)
        for round in 0..<400 {
            var input: [UInt8] = []
            var expected: [(event: String?, data: String, id: String?, retry: UInt64?)] = []
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let event: String? = Bool.random(using: &rng) ? randomText(&rng, allowLineBreaks: false) : nil
                var id: String? = Bool.random(using: &rng) ? randomText(&rng, allowLineBreaks: false) : nil
                if id?.contains("\u{0}") == true { id = nil }
                let retry: UInt64? = Bool.random(using: &rng) ? UInt64.random(in: 0...UInt64.max, using: &rng) : nil
                let data = randomText(&rng, allowLineBreaks: true)
                expected.append((event, data, id, retry))
                input += SSESerializer.serialize(event: event, data: data, id: id, retry: retry)
                if Int.random(in: 0..<4, using: &rng) == 0 { input += SSESerializer.comment(randomText(&rng, allowLineBreaks: false)) }
            }
            let run = parse(randomChunks(input, &rng))
            XCTAssertEqual(run.allBytes, input)
            XCTAssertTrue(run.tail.isEmpty)
            let events = run.frames.filter { $0.kind == .event }
            XCTAssertEqual(events.count, expected.count, "round \(round)")
            for (f, e) in zip(events, expected) {
                XCTAssertEqual(f.eventType, e.event)
                XCTAssertEqual(f.id, e.id)
                XCTAssertEqual(f.retry, e.retry)
                XCTAssertEqual(f.data.joined(separator: "\n"), normalizeLineBreaks(e.data))
            }
            let m = client(randomChunks(input, &rng))
            XCTAssertEqual(m.dispatched.map(\.data), expected.map { normalizeLineBreaks($0.data) })
            XCTAssertEqual(m.dispatched.map(\.type), expected.map { ($0.event ?? "").isEmpty ? "message" : $0.event! })
        }
    }

    /// Random bytes, biased toward CR, LF, `:` and field names → never traps, lossless, every split agrees.
    func testRandomBytesAreLosslessAndSplitIndependent() {
        var rng = SplitMix64(seed: Self.seed ^ 0xABCD)
        let tokens: [[UInt8]] = [
            [0x0A], [0x0D], [0x0D, 0x0A], [0x3A], [0x20], b("data"), b("id"), b("event"), b("retry"), b("12"),
            [0x00], [0xEF, 0xBB, 0xBF], [0xFF], [0xC3], b("x"), b("data: y\n\n"),
        ]
        for _ in 0..<300 {
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 0...40, using: &rng) {
                if Int.random(in: 0..<6, using: &rng) == 0 {
                    input.append(UInt8.random(in: 0...255, using: &rng))
                } else {
                    input += tokens.randomElement(using: &rng)!
                }
            }
            let whole = parse([input])
            XCTAssertEqual(whole.allBytes, input)
            for _ in 0..<5 {
                let chunks = randomChunks(input, &rng)
                let run = parse(chunks)
                XCTAssertEqual(run.allBytes, input)
                XCTAssertEqual(run.frames.map(FrameMeaning.init), whole.frames.map(FrameMeaning.init))
                let m = client(chunks)
                XCTAssertEqual(m.dispatched, replay(whole.frames).0)
            }
            // Small limits: still lossless, frames still agree with the client where not oversized.
            let limit = Int.random(in: 1...16, using: &rng)
            let smallWhole = parse([input], maxFrameBytes: limit)
            let small = parse(randomChunks(input, &rng), maxFrameBytes: limit)
            XCTAssertEqual(small.allBytes, input)
            XCTAssertEqual(small.frames.map(FrameMeaning.init), smallWhole.frames.map(FrameMeaning.init))
            XCTAssertEqual(small.oversizedBlocks, smallWhole.oversizedBlocks)
            for o in small.outputs { XCTAssertLessThanOrEqual(o.bytes.count, limit + 2) }
        }
    }

    /// `SSEClientModel.openBlock`, read before a block's final empty line, says what the parser's frame of
    /// that block says (kind, own id, retry): the ledger records a block too long for the parser from it.
    func testOpenBlockFieldsAreTheFramesFields() {
        var rng = SplitMix64(seed: Self.seed ^ 0x0B10)
        let tokens: [[UInt8]] = [
            [0x0A], [0x0D], [0x0D, 0x0A], [0x3A], [0x20], b("data"), b("id"), b("id: 7\n"), b("event"), b("retry"), b("retry: 12\n"),
            b("12"), [0x00], [0xEF, 0xBB, 0xBF], [0xFF], b("x"), b(": c\n"), b("data: y\n\n"),
        ]
        var checked = 0
        var kinds = Set<SSEFrame.Kind>()
        for _ in 0..<400 {
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 0...40, using: &rng) { input += tokens.randomElement(using: &rng)! }
            var model = SSEClientModel()
            for frame in parse([input]).frames {
                frame.raw.withUnsafeBytes { raw in
                    let head = raw.count - SSEParser.finalEmptyLineLength(raw)
                    model.feed(UnsafeRawBufferPointer(rebasing: raw[..<head])) { _ in XCTFail("dispatched before the empty line") }
                    XCTAssertEqual(model.openBlock, SSEBlockFields(kind: frame.kind, id: frame.id, retry: frame.retry),
                                   "frame \(frame.index) of \(input)")
                    model.feed(UnsafeRawBufferPointer(rebasing: raw[head...])) { _ in }
                }
                checked += 1
                kinds.insert(frame.kind)
            }
        }
        XCTAssertGreaterThan(checked, 1000)
        XCTAssertEqual(kinds, [.event, .fieldsOnly, .commentOnly, .blank])
    }

    /// `SSELongBlock` on random streams with small parser limits, fed in random pieces: each oversized block
    /// ends with the fields, size and raw digest of the frame a parser that holds every block makes of it,
    /// and every message is the one the model fed the whole stream dispatches (also when a block's final
    /// CRLF straddles two pieces).
    func testLongBlocksFollowedThroughTheModelAreTheirFrames() {
        var rng = SplitMix64(seed: Self.seed ^ 0x10B1)
        let tokens: [[UInt8]] = [
            [0x0A], [0x0D], [0x0D, 0x0A], [0x3A], b("data: "), b("id: 7"), b("event: e"), b("retry: 12"), b("xyz"), [0x00],
            [0xEF, 0xBB, 0xBF], [0xFF], b(": c"), b("data: y\r\n\r\n"),
        ]
        var longBlocks = 0
        for _ in 0..<400 {
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 0...60, using: &rng) { input += tokens.randomElement(using: &rng)! }
            let chunks = randomChunks(input, &rng)
            var reference: [Int: SSEFrame] = [:]  // fed the same pieces: a CRLF's LF split from its CR opens the next frame
            for f in parse(chunks).frames { reference[f.index] = f }
            var whole = SSEClientModel()
            whole.feed(input)
            whole.end()
            var model = SSEClientModel()
            var long = SSELongBlock()
            var messages: [SSEMessage] = []
            var parser = SSEParser(maxFrameBytes: Int.random(in: 1...12, using: &rng))
            for chunk in chunks {
                parser.feed(chunk) { out in
                    switch out {
                    case .frame(let f):
                        model.feed(frame: f) { messages.append($0.message) }
                    case .oversized(let piece, let index, let isEnd):
                        piece.withUnsafeBytes { piece in
                            long.feed(piece, isEnd: isEnd, model: &model) { end, message in
                                let f = reference[index]!
                                XCTAssertEqual(end.fields, SSEBlockFields(kind: f.kind, id: f.id, retry: f.retry), "block \(index) of \(input)")
                                XCTAssertEqual(end.size, f.raw.count, "block \(index) of \(input)")
                                XCTAssertEqual(end.rawDigest, Digest64.digest(f.raw), "block \(index) of \(input)")
                                if let message { messages.append(message.message) }
                                longBlocks += 1
                            }
                        }
                    }
                }
            }
            XCTAssertEqual(messages, whole.dispatched, "\(input)")
        }
        XCTAssertGreaterThan(longBlocks, 500)
    }

    func testDripFeedOnRandomInputs() {
        var rng = SplitMix64(seed: Self.seed ^ 0x77)
        let tokens = ["\n", "\r", "\r\n", ":", " ", "data", "id", "event", "retry", "5", "x", "\u{0}"]
        for _ in 0..<60 {
            var s = ""
            for _ in 0..<Int.random(in: 0...24, using: &rng) { s += tokens.randomElement(using: &rng)! }
            verifyDripFeed(b(s))
        }
    }

    func normalizeLineBreaks(_ s: String) -> String {
        var lines: [Substring] = []
        SSESerializer.forEachLine(s) { lines.append($0) }
        return lines.joined(separator: "\n")
    }

    func randomChunks(_ input: [UInt8], _ rng: inout SplitMix64) -> [[UInt8]] {
        var chunks: [[UInt8]] = []
        var i = 0
        while i < input.count {
            let n = Int.random(in: 1...max(1, min(input.count - i, 9)), using: &rng)
            chunks.append(Array(input[i..<(i + n)]))
            i += n
        }
        return chunks
    }
}
