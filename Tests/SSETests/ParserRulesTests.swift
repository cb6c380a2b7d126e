import XCTest
@testable import SSE

/// One test per rule of WHATWG HTML "Event stream interpretation", for `SSEParser`. Every input also
/// goes through the drip-feed verifier.
final class ParserRulesTests: XCTestCase {
    func testSimpleEventAndFields() {
        let run = verifyDripFeed(b("event: add\nid: 7\nretry: 1500\ndata: hello\ndata: world\n\n"))
        XCTAssertEqual(run.frames.count, 1)
        let f = run.frames[0]
        XCTAssertEqual(f.kind, .event)
        XCTAssertEqual(f.eventType, "add")
        XCTAssertEqual(f.id, "7")
        XCTAssertEqual(f.retry, 1500)
        XCTAssertEqual(f.data, ["hello", "world"])
        XCTAssertEqual(f.index, 0)
        XCTAssertTrue(run.tail.isEmpty)
    }

    func testInvalidUTF8BecomesReplacementButRawIsKept() {
        let input: [UInt8] = b("data: a") + [0xFF, 0xC3] + b("b\nevent: x") + [0xE2, 0x82] + b("\n\n")
        let run = verifyDripFeed(input)
        XCTAssertEqual(run.frames[0].data, ["a\u{FFFD}\u{FFFD}b"])
        XCTAssertEqual(run.frames[0].eventType, "x\u{FFFD}")
        XCTAssertEqual(run.frames[0].raw, input)
    }

    func testLeadingBOMStrippedOnlyAtStreamStart() {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let input = bom + b("data: a\n\n") + bom + b("data: b\n\n")
        let run = verifyDripFeed(input)
        XCTAssertEqual(run.frames.count, 2)
        XCTAssertEqual(run.frames[0].data, ["a"])
        XCTAssertEqual(run.frames[0].raw, bom + b("data: a\n\n"))
        XCTAssertEqual(run.frames[0].bodyStart, 3)
        // Mid-stream the BOM is part of the field name: "\u{FEFF}data" is an unknown field.
        XCTAssertEqual(run.frames[1].kind, .fieldsOnly)
        XCTAssertEqual(run.frames[1].data, [])
    }

    func testOnlyOneBOMStripped() {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let run = verifyDripFeed(bom + bom + b("data: a\n\n"))
        XCTAssertEqual(run.frames[0].kind, .fieldsOnly)
    }

    func testPartialBOMIsContent() {
        let run = verifyDripFeed([0xEF, 0xBB] + b("data: a\n\n"))
        XCTAssertEqual(run.frames[0].kind, .fieldsOnly)  // field name "\u{FFFD}data"
        XCTAssertEqual(run.frames[0].bodyStart, 0)
    }

    func testLineEndsCRLFLFAndLoneCR() {
        for sep in ["\n", "\r\n", "\r"] {
            let s = "data: a" + sep + "data: b" + sep + sep + ": c" + sep + sep
            let run = verifyDripFeed(b(s))
            XCTAssertEqual(run.frames.count, 2, sep.debugDescription)
            XCTAssertEqual(run.frames[0].data, ["a", "b"])
            XCTAssertEqual(run.frames[1].kind, .commentOnly)
            XCTAssertEqual(run.frames[1].comments, [" c"])
        }
        let mixed = verifyDripFeed(b("data: a\rdata: b\r\ndata: c\n\r\n"))
        XCTAssertEqual(mixed.frames[0].data, ["a", "b", "c"])
    }

    func testCRThenLFAcrossChunksIsOneLineEnd() {
        // Within a block.
        let a = parse([b("data: a\r"), b("\ndata: b\r\n\r\n")])
        XCTAssertEqual(a.frames.count, 1)
        XCTAssertEqual(a.frames[0].data, ["a", "b"])
        // At the end of a block: the frame is emitted at the CR; the LF starts the next frame's raw.
        var parser = SSEParser()
        var out: [SSEParser.Output] = []
        parser.feed(b("data: a\r\n\r")) { out.append($0) }
        XCTAssertEqual(out.count, 1, "emitted at the CR, without waiting")
        parser.feed(b("\ndata: b\r\n\r\n")) { out.append($0) }
        XCTAssertEqual(out.count, 2, "the LF is not an empty line")
        guard case .frame(let f0) = out[0], case .frame(let f1) = out[1] else { return XCTFail() }
        XCTAssertEqual(f0.raw, b("data: a\r\n\r"))
        XCTAssertEqual(f1.raw, b("\ndata: b\r\n\r\n"))
        XCTAssertEqual(f1.bodyStart, 1)
        XCTAssertEqual(f1.data, ["b"])
        XCTAssertEqual(f1.index, 1)
        // The LF alone, then the end: it is the unfinished tail, not a blank frame.
        var p2 = SSEParser()
        var n = 0
        p2.feed(b("data: a\r\r")) { _ in n += 1 }
        p2.feed(b("\n")) { _ in n += 1 }
        XCTAssertEqual(n, 1)
        XCTAssertEqual(p2.unfinishedTail, b("\n"))
        verifyDripFeed(b("data: a\r\r\n\r\n\n\r\r\n"))
    }

    func testEmptyLineDispatchesAndBlankFrames() {
        let run = verifyDripFeed(b("\n\ndata: x\n\n\n"))
        XCTAssertEqual(run.frames.map(\.kind), [.blank, .blank, .event, .blank])
        XCTAssertEqual(run.frames.map(\.index), [0, 1, 2, 3])
    }

    func testCommentLines() {
        let run = verifyDripFeed(b(":\n: ping\n:x:y\n\n"))
        XCTAssertEqual(run.frames[0].kind, .commentOnly)
        XCTAssertEqual(run.frames[0].comments, ["", " ping", "x:y"])
        let mixed = verifyDripFeed(b(": hi\ndata: d\n\n"))
        XCTAssertEqual(mixed.frames[0].kind, .event)
        XCTAssertEqual(mixed.frames[0].comments, [" hi"])
    }

    func testFieldNameBeforeFirstColonAndOneSpaceDropped() {
        let run = verifyDripFeed(b("data:a:b\ndata:  two\ndata:\ndata: \nevent:x: y\n\n"))
        XCTAssertEqual(run.frames[0].data, ["a:b", " two", "", ""])
        XCTAssertEqual(run.frames[0].eventType, "x: y")
    }

    func testLineWithoutColonIsFieldWithEmptyValue() {
        let run = verifyDripFeed(b("data\n\nid\n\nevent\ndata\n\n"))
        XCTAssertEqual(run.frames[0].kind, .event)
        XCTAssertEqual(run.frames[0].data, [""])
        XCTAssertEqual(run.frames[1].kind, .fieldsOnly)
        XCTAssertEqual(run.frames[1].id, "")
        XCTAssertEqual(run.frames[2].eventType, "")
    }

    func testFieldNamesAreCaseSensitive() {
        let run = verifyDripFeed(b("Data: a\nEVENT: b\nID: c\nRetry: 5\n\n"))
        XCTAssertEqual(run.frames[0].kind, .fieldsOnly)
        XCTAssertNil(run.frames[0].eventType)
        XCTAssertNil(run.frames[0].id)
        XCTAssertNil(run.frames[0].retry)
        XCTAssertEqual(run.frames[0].data, [])
    }

    func testIdWithNULIgnored() {
        let run = verifyDripFeed(b("id: 1\nid: a\u{0}b\ndata: x\n\nid: \u{0}\n\n"))
        XCTAssertEqual(run.frames[0].id, "1")
        XCTAssertNil(run.frames[1].id)
        XCTAssertEqual(run.frames[1].kind, .fieldsOnly)
    }

    func testRetryOnlyAllASCIIDigits() {
        let cases: [(String, UInt64?)] = [
            ("retry: 10", 10), ("retry:0", 0), ("retry: 1a", nil), ("retry: -1", nil), ("retry:  5", nil),
            ("retry: ", nil), ("retry", nil), ("retry: 5 ", nil), ("retry: ５", nil), ("retry: 1.5", nil),
            ("retry: 18446744073709551615", UInt64.max), ("retry: 18446744073709551616", nil),
        ]
        for (line, want) in cases {
            let run = verifyDripFeed(b(line + "\n\n"))
            XCTAssertEqual(run.frames[0].retry, want, line)
        }
        XCTAssertEqual(parse("retry: 7\nretry: x\n\n").frames[0].retry, 7, "invalid one is ignored, last valid kept")
    }

    func testUnknownFieldsIgnoredButMakeFieldsOnly() {
        let run = verifyDripFeed(b("foo: bar\n\n"))
        XCTAssertEqual(run.frames[0].kind, .fieldsOnly)
        XCTAssertEqual(run.frames[0].data, [])
    }

    func testIdOnlyBlockIsFieldsOnlyWithId() {
        let run = verifyDripFeed(b("id: 42\n\n"))
        XCTAssertEqual(run.frames[0].kind, .fieldsOnly)
        XCTAssertEqual(run.frames[0].id, "42")
        XCTAssertEqual(run.frames[0].data, [])
    }

    func testLastEventTypeAndIdWin() {
        let run = verifyDripFeed(b("event: a\nevent: b\nid: 1\nid: 2\ndata: x\n\n"))
        XCTAssertEqual(run.frames[0].eventType, "b")
        XCTAssertEqual(run.frames[0].id, "2")
    }

    func testIncompleteBlockAtEndIsTail() {
        let run = verifyDripFeed(b("data: a\n\nid: 9\ndata: partial\n"))
        XCTAssertEqual(run.frames.count, 1)
        XCTAssertEqual(run.tail, b("id: 9\ndata: partial\n"))
        let partialLine = verifyDripFeed(b("data: a\n\ndata: par"))
        XCTAssertEqual(partialLine.tail, b("data: par"))
    }

    func testFramesAreEmittedAsSoonAsTheEmptyLineArrives() {
        var parser = SSEParser()
        var got: [SSEFrame] = []
        parser.feed(b("data: a\n")) { if case .frame(let f) = $0 { got.append(f) } }
        XCTAssertEqual(got.count, 0)
        parser.feed(b("\n")) { if case .frame(let f) = $0 { got.append(f) } }
        XCTAssertEqual(got.count, 1)
        XCTAssertEqual(got[0].raw, b("data: a\n\n"))
    }

    func testExplicitFrameValuesWinOverLazyDecoding() {
        var f = parse("data: a\n\n").frames[0]
        XCTAssertEqual(f.data, ["a"])
        f.data = ["changed"]
        XCTAssertEqual(f.data, ["changed"])
        let built = SSEFrame(raw: b("x"), kind: .event, data: ["d"], comments: ["c"])
        XCTAssertEqual(built.data, ["d"])
        XCTAssertEqual(built.comments, ["c"])
    }

    func testEmptyFeedsAreHarmless() {
        var parser = SSEParser()
        var n = 0
        parser.feed([]) { _ in n += 1 }
        parser.feed(b("data: a\n")) { _ in n += 1 }
        parser.feed([]) { _ in n += 1 }
        parser.feed(b("\n")) { _ in n += 1 }
        XCTAssertEqual(n, 1)
    }
}
