import HTTP1
import XCTest

/// SplitMix64: a small seeded generator so every run mutates the same way.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random single-byte edits of valid messages: the parsers must not crash, and feeding byte by byte must
/// agree with feeding whole (the verifiers assert that). Bytes are drawn from the characters that matter.
final class MutationFuzzTests: XCTestCase {
    let interesting: [UInt8] = Array(" \t\r\n:;,0a9fF\"@/?#[]".utf8) + [0x00, 0x7F, 0x80, 0xC3, 0xFF]

    func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var out = input
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let i = Int.random(in: 0..<out.count, using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: out[i] = interesting.randomElement(using: &rng)!
            case 1: out.insert(interesting.randomElement(using: &rng)!, at: i)
            default: if out.count > 1 { out.remove(at: i) }
            }
        }
        return out
    }

    func testMutatedRequests() {
        var rng = SplitMix64(state: 1)
        let seed = bytes("POST /a?b=1 HTTP/1.1\r\nHost: h:80\r\nContent-Length: 3\r\nX: y z\r\n\r\nabc")
        for _ in 0..<300 { _ = verifyRequest(mutate(seed, &rng)) }
    }

    func testMutatedResponses() {
        var rng = SplitMix64(state: 2)
        let seed = bytes("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5")
        for _ in 0..<300 {
            let outcome = verifyResponse(mutate(seed, &rng))
            if let head = outcome.head { _ = try? head.bodyFraming(requestMethod: "GET") }
        }
    }

    func testMutatedChunkedBodies() {
        var rng = SplitMix64(state: 3)
        let seed = bytes("5;x=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\nNEXT")
        for _ in 0..<200 { _ = verifyChunked(mutate(seed, &rng)) }
    }
}
