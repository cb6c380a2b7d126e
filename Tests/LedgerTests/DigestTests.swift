import XCTest

@testable import Ledger

/// `Digest64` folds words however the bytes are split (the word-at-a-time path assembles words across
/// calls by shifts): every split gives the byte-by-byte digest, and `addDecoded` equals the digest of the
/// decoded String in one pass, ASCII or not.
final class DigestTests: XCTestCase {
    private func byteByByte(_ bytes: [UInt8]) -> UInt64 {
        var h = Digest64()
        for b in bytes { h.add(b) }
        return h.value
    }

    func testEverySplitGivesTheByteByByteDigest() {
        let bytes = (0..<61).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 61] {
            let prefix = Array(bytes.prefix(n))
            let expected = byteByByte(prefix)
            XCTAssertEqual(Digest64.digest(prefix), expected, "\(n) bytes at once")
            for cut in 0...n {
                for cut2 in cut...n {
                    var h = Digest64()
                    h.add(Array(prefix[..<cut]))
                    h.add(Array(prefix[cut..<cut2]))
                    h.add(Array(prefix[cut2...]))
                    XCTAssertEqual(h.value, expected, "\(n) bytes cut at \(cut), \(cut2)")
                }
            }
        }
    }

    func testAddDecodedEqualsTheDecodedStringsDigest() {
        let cases: [[UInt8]] = [
            Array("plain ascii data of some length".utf8),
            Array("caf\u{00E9} cr\u{00E8}me".utf8),
            [0x61, 0xFF, 0x62, 0xC3],  // invalid UTF-8: U+FFFD each
            Array("12345678".utf8) + [0x80] + Array("abcdefgh".utf8),
        ]
        for bytes in cases {
            for lead in ["", "abc", "0123456789"] {
                var a = Digest64()
                a.add(lead)
                bytes.withUnsafeBufferPointer { a.addDecoded($0) }
                var b = Digest64()
                b.add(lead)
                b.add(String(decoding: bytes, as: UTF8.self))
                XCTAssertEqual(a.value, b.value, "\(bytes) after \(lead.utf8.count) bytes")
            }
        }
    }
}
