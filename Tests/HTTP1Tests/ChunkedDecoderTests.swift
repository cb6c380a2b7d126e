import HTTP1
import XCTest

final class ChunkedDecoderTests: XCTestCase {
    func ok(_ payload: String, consumed: Int) -> ChunkedOutcome {
        ChunkedOutcome(payload: bytes(payload), consumed: consumed, done: true, error: nil)
    }

    func failure(_ e: HTTPParseError, _ payloadSoFar: String = "", consumed: Int = 0) -> ChunkedOutcome {
        ChunkedOutcome(payload: bytes(payloadSoFar), consumed: consumed, done: false, error: e)
    }

    func testChunks() {
        let body = "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
        XCTAssertEqual(verifyChunked(body), ok("hello, world", consumed: body.utf8.count))
    }

    func testOnlyTheLastChunk() {
        XCTAssertEqual(verifyChunked("0\r\n\r\n"), ok("", consumed: 5))
        XCTAssertEqual(verifyChunked("000\r\n\r\n"), ok("", consumed: 7))
    }

    func testHexSizes() {
        let payload = String(repeating: "z", count: 0x1a)
        for size in ["1a", "1A", "001a"] {
            let body = "\(size)\r\n\(payload)\r\n0\r\n\r\n"
            XCTAssertEqual(verifyChunked(body), ok(payload, consumed: body.utf8.count), size)
        }
    }

    func testPayloadMayContainCRLFAndAnyByte() {
        let payload: [UInt8] = [0x0D, 0x0A, 0x00, 0xFF, 0x30, 0x0D]
        let body = bytes("6\r\n") + payload + bytes("\r\n0\r\n\r\n")
        XCTAssertEqual(verifyChunked(body), ChunkedOutcome(payload: payload, consumed: body.count, done: true, error: nil))
    }

    func testBytesAfterTheMessageBelongToTheNextOne() {
        let body = "3\r\nabc\r\n0\r\n\r\n"
        let next = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
        XCTAssertEqual(verifyChunked(body + next), ok("abc", consumed: body.utf8.count))
        XCTAssertEqual(verifyChunked(body + "0\r\n\r\n"), ok("abc", consumed: body.utf8.count))
    }

    func testExtensionsAreSkipped() {
        let body = "3;name=value\r\nabc\r\n2 ; a ; b=\"q;uoted\"\r\nde\r\n0;last\r\n\r\n"
        XCTAssertEqual(verifyChunked(body), ok("abcde", consumed: body.utf8.count))
        XCTAssertEqual(verifyChunked("3;a\u{0}\r\nabc\r\n0\r\n\r\n"), failure(err(400, "invalid character in chunk extension")))
    }

    func testWhitespaceAfterSizeMustLeadToAnExtension() {
        XCTAssertEqual(verifyChunked("3 \r\nabc\r\n0\r\n\r\n"), failure(err(400, "invalid chunk size")))
        XCTAssertEqual(verifyChunked("3 x\r\nabc\r\n0\r\n\r\n"), failure(err(400, "invalid chunk size")))
    }

    // The proxy relays chunked bodies byte for byte: a line end it accepted that the next hop reads another
    // way would split the body differently on the two sides (request smuggling). Only CRLF ends a line.
    func testBareLFIsRejectedEverywhereInTheCoding() {
        XCTAssertEqual(verifyChunked("3\nabc\r\n0\r\n\r\n"), failure(err(400, "bare LF in chunk size line")))
        XCTAssertEqual(verifyChunked("3;a\nabc\r\n0\r\n\r\n"), failure(err(400, "bare LF in chunk size line")))
        XCTAssertEqual(verifyChunked("3;a=b\nabc\r\n"), failure(err(400, "bare LF in chunk size line")))
        XCTAssertEqual(verifyChunked("3;a=\"b\"\nabc\r\n"), failure(err(400, "bare LF in chunk size line")))
        XCTAssertEqual(verifyChunked("3 \nabc\r\n"), failure(err(400, "bare LF in chunk size line")))
        XCTAssertEqual(verifyChunked("3\r\nabc\r\n0\n\r\n"), failure(err(400, "bare LF in chunk size line"), "abc"))
        XCTAssertEqual(verifyChunked("3\r\nabc\r\n0\r\nX: y\n\r\n"), failure(err(400, "bare LF in trailer section"), "abc"))
        XCTAssertEqual(verifyChunked("3\r\nabc\r\n0\r\n\n"), failure(err(400, "bare LF in trailer section"), "abc"))
        // The smuggling shape: "2;\nxx" hides a chunk inside what a CRLF-only reader sees as an extension.
        XCTAssertEqual(verifyChunked("2;\nxx\r\n0\r\n\r\n"), failure(err(400, "bare LF in chunk size line")))
    }

    func testChunkExtensionsFollowTheGrammar() {
        // chunk-ext = *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )
        for good in ["3;a", "3;a=b", "3 ;a", "3\t; a = b", "3;a=\"\"", "3;a=\"x y;z\\\"\\\\\"", "3;a;b=c ;d = \"e\"",
                     "3;!#$%&'*+-.^_`|~09AZaz=!#$%&'*+-.^_`|~", "3;a=\"\u{e9}\t\""] {
            XCTAssertEqual(verifyChunked(good + "\r\nabc\r\n0\r\n\r\n"), ok("abc", consumed: good.utf8.count + 12), good)
        }
        for bad in ["3;", "3; ", "3;=b", "3;a=", "3;a= ", "3;a ", "3;a=b ", "3;a=\"b\" ", "3;a b", "3;a=b c", "3;a=b=c", "3;a=\"b\"c",
                    "3;a@b", "3;a=b@", "3;a=(b)", "3;;a", "3;a=\"b\";", "3 ; ", "3;a,b"] {
            XCTAssertEqual(verifyChunked(bad + "\r\nabc\r\n0\r\n\r\n"), failure(err(400, "invalid chunk extension")), bad)
        }
        for bad in ["3;a\u{7F}", "3;a=\"\u{1}\"", "3;a=\"\\\u{0}\"", "3;a=\u{0}", "3; \u{1F}"] {
            XCTAssertEqual(verifyChunked(bad + "\r\nabc\r\n0\r\n\r\n"), failure(err(400, "invalid character in chunk extension")), bad)
        }
        // A CR inside a quoted string is not the line end.
        XCTAssertEqual(verifyChunked("3;a=\"b\r\nabc\r\n"), failure(err(400, "invalid character in chunk extension")))
    }

    func testTrailersAreConsumed() {
        let body = "3\r\nabc\r\n0\r\nChecksum: 1234\r\nX-Other:\t v \r\n\r\n"
        XCTAssertEqual(verifyChunked(body + "NEXT"), ok("abc", consumed: body.utf8.count))
    }

    func testInvalidChunkSizes() {
        XCTAssertEqual(verifyChunked("g\r\n"), failure(err(400, "invalid chunk size")))
        XCTAssertEqual(verifyChunked("3g\r\nabc\r\n"), failure(err(400, "invalid chunk size")))
        XCTAssertEqual(verifyChunked("-3\r\nabc\r\n"), failure(err(400, "invalid chunk size")))
        XCTAssertEqual(verifyChunked("0x3\r\nabc\r\n"), failure(err(400, "invalid chunk size")))
        XCTAssertEqual(verifyChunked("\r\nabc\r\n"), failure(err(400, "missing chunk size")))
        XCTAssertEqual(verifyChunked("\n"), failure(err(400, "missing chunk size")))
        XCTAssertEqual(verifyChunked(";ext\r\n"), failure(err(400, "missing chunk size")))
        XCTAssertEqual(verifyChunked(" 3\r\nabc\r\n"), failure(err(400, "missing chunk size")))
        XCTAssertEqual(verifyChunked("3\rabc"), failure(err(400, "bare CR in chunk size line")))
        XCTAssertEqual(verifyChunked("3;x\r\r\n"), failure(err(400, "bare CR in chunk size line")))
    }

    func testChunkSizeIsBoundedBy2To62() {
        // 2^62 itself is accepted (the decoder then waits for the data) …
        XCTAssertEqual(verifyChunked("4000000000000000\r\nab"),
                       ChunkedOutcome(payload: bytes("ab"), consumed: 20, done: false, error: nil))
        // … one more, or anything that would overflow UInt64, is not.
        XCTAssertEqual(verifyChunked("4000000000000001\r\n"), failure(err(400, "chunk size too large")))
        XCTAssertEqual(verifyChunked("FFFFFFFFFFFFFFFFF\r\n"), failure(err(400, "chunk size too large")))
        XCTAssertEqual(verifyChunked("10000000000000000\r\n"), failure(err(400, "chunk size too large")))
        // Leading zeros do not count toward the bound.
        XCTAssertEqual(verifyChunked("00000000000000000003\r\nabc\r\n0\r\n\r\n"), ok("abc", consumed: 32))
    }

    func testDataMustBeFollowedByExactlyCRLF() {
        XCTAssertEqual(verifyChunked("3\r\nabcd\r\n0\r\n\r\n"), failure(err(400, "missing CRLF after chunk data"), "abc", consumed: 0))
        XCTAssertEqual(verifyChunked("3\r\nabc\n0\r\n\r\n"), failure(err(400, "missing CRLF after chunk data"), "abc"))
        XCTAssertEqual(verifyChunked("3\r\nabc\rx0\r\n\r\n"), failure(err(400, "missing CRLF after chunk data"), "abc"))
        XCTAssertEqual(verifyChunked("3\r\nab\r\n0\r\n\r\n"), failure(err(400, "missing CRLF after chunk data"), "ab\r"))
    }

    func testChunkLineLimit() {
        let limits = HTTPLimits(maxChunkLineBytes: 8)
        XCTAssertEqual(verifyChunked("3;abcdef\r\nabc\r\n0\r\n\r\n", limits: limits), ok("abc", consumed: 20))
        XCTAssertEqual(verifyChunked("3;abcdefg\r\nabc\r\n0\r\n\r\n", limits: limits), failure(err(400, "chunk size line too long")))
        XCTAssertEqual(verifyChunked("3;abcdefg", limits: limits), failure(err(400, "chunk size line too long")))
        XCTAssertEqual(verifyChunked("000000003\r\nabc\r\n0\r\n\r\n", limits: limits), failure(err(400, "chunk size line too long")))
        // The limit is per line: many short lines are fine.
        let many = String(repeating: "1;abcdef\r\nx\r\n", count: 20) + "0\r\n\r\n"
        XCTAssertEqual(verifyChunked(many, limits: limits), ok(String(repeating: "x", count: 20), consumed: many.utf8.count))
    }

    func testMalformedTrailers() {
        XCTAssertEqual(verifyChunked("0\r\nX: a\r\n b\r\n\r\n"), failure(err(400, "obsolete line folding in trailer section")))
        XCTAssertEqual(verifyChunked("0\r\nX : a\r\n\r\n"), failure(err(400, "invalid trailer field")))
        XCTAssertEqual(verifyChunked("0\r\n: a\r\n\r\n"), failure(err(400, "invalid trailer field")))
        XCTAssertEqual(verifyChunked("0\r\nNoColon\r\n\r\n"), failure(err(400, "invalid trailer field")))
        XCTAssertEqual(verifyChunked("0\r\nX: a\u{0}\r\n\r\n"), failure(err(400, "invalid character in trailer field")))
        XCTAssertEqual(verifyChunked("0\r\nX: a\rb\r\n\r\n"), failure(err(400, "bare CR in trailer section")))
        XCTAssertEqual(verifyChunked("0\r\n\rX"), failure(err(400, "bare CR in trailer section")))
    }

    func testTrailerLimitsGive431() {
        let limits = HTTPLimits(maxHeaderBytes: 16, maxHeaderCount: 2)
        XCTAssertEqual(verifyChunked("0\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits), ok("", consumed: 17))
        XCTAssertEqual(verifyChunked("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits), failure(err(431, "too many trailer fields")))
        XCTAssertEqual(verifyChunked("0\r\nA: 123456789\r\n\r\n", limits: limits), ok("", consumed: 19))
        XCTAssertEqual(verifyChunked("0\r\nA: 1234567890\r\n\r\n", limits: limits), failure(err(431, "trailer section too large")))
    }

    func testIncompleteMessagesAreNotDone() {
        for prefix in ["", "5", "5\r", "5\r\nhel", "5\r\nhello", "5\r\nhello\r\n", "5\r\nhello\r\n0\r\n", "5\r\nhello\r\n0\r\n\r", "5\r\nhello\r\n0\r\nX: y\r\n"] {
            let outcome = verifyChunked(prefix)
            XCTAssertFalse(outcome.done, prefix.debugDescription)
            XCTAssertNil(outcome.error, prefix.debugDescription)
            XCTAssertEqual(outcome.consumed, prefix.utf8.count, prefix.debugDescription)
        }
    }

    func testAfterDoneNothingIsConsumedAndAfterAnErrorTheErrorRepeats() throws {
        var decoder = ChunkedDecoder()
        let first = try decoder.feed(bytes("0\r\n\r\n")) { _ in XCTFail("no payload") }
        XCTAssertTrue(first == (5, true))
        XCTAssertTrue(decoder.isDone)
        let again = try decoder.feed(bytes("3\r\nabc")) { _ in XCTFail("no payload") }
        XCTAssertTrue(again == (0, true))

        var broken = ChunkedDecoder()
        XCTAssertThrowsError(try broken.feed(bytes("z")) { _ in }) { XCTAssertEqual($0 as? HTTPParseError, err(400, "invalid chunk size")) }
        XCTAssertThrowsError(try broken.feed(bytes("0\r\n\r\n")) { _ in }) { XCTAssertEqual($0 as? HTTPParseError, err(400, "invalid chunk size")) }
    }

    func testLargeChunkInManyPiecesIsNotCopied() {
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let body = ChunkedEncoder.chunk(payload) + ChunkedEncoder.lastChunk
        var pieces: [[UInt8]] = []
        var i = 0
        while i < body.count { pieces.append(Array(body[i..<min(i + 1000, body.count)])); i += 1000 }
        XCTAssertEqual(decodeChunked(pieces), ChunkedOutcome(payload: payload, consumed: body.count, done: true, error: nil))
    }
}

final class ChunkedEncoderTests: XCTestCase {
    func testChunk() {
        XCTAssertEqual(ChunkedEncoder.chunk(bytes("hello")), bytes("5\r\nhello\r\n"))
        XCTAssertEqual(ChunkedEncoder.chunk(Array(repeating: 0x61, count: 26)), bytes("1a\r\n" + String(repeating: "a", count: 26) + "\r\n"))
        XCTAssertEqual(ChunkedEncoder.chunk([]), [])
        XCTAssertEqual(bytes("data").withUnsafeBytes { ChunkedEncoder.chunk($0) }, bytes("4\r\ndata\r\n"))
        XCTAssertEqual(ChunkedEncoder.lastChunk, bytes("0\r\n\r\n"))
        XCTAssertEqual(ChunkedEncoder.chunkHeader(count: 255), bytes("ff\r\n"))
    }

    func testRoundTrip() {
        let pieces = ["data: a\n\n", "", "id: 7\r\ndata: b\r\n\r\n", String(repeating: "x", count: 300)]
        let body = pieces.flatMap { ChunkedEncoder.chunk(bytes($0)) } + ChunkedEncoder.lastChunk
        XCTAssertEqual(verifyChunked(body), ok(pieces.joined(), consumed: body.count))
    }

    func ok(_ payload: String, consumed: Int) -> ChunkedOutcome {
        ChunkedOutcome(payload: bytes(payload), consumed: consumed, done: true, error: nil)
    }
}
