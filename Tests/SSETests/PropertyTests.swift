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
