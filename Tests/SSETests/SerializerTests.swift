import XCTest
@testable import SSE

final class SerializerTests: XCTestCase {
    func testCanonicalForm() {
        XCTAssertEqual(
            SSESerializer.serialize(event: "add", data: "a\nb\r\nc\rd", id: "9", retry: 100),
            b("event: add\nid: 9\nretry: 100\ndata: a\ndata: b\ndata: c\ndata: d\n\n"))
        XCTAssertEqual(SSESerializer.serialize(event: nil, data: "", id: nil, retry: nil), b("data: \n\n"))
        XCTAssertEqual(SSESerializer.serialize(event: nil, data: " x", id: "", retry: nil), b("id: \ndata:  x\n\n"))
        XCTAssertEqual(SSESerializer.serialize(event: "a\nb", data: "x", id: nil, retry: nil), b("event: a\ndata: x\n\n"))
    }

    func testComment() {
        XCTAssertEqual(SSESerializer.comment(" ping"), b(": ping\n\n"))
        XCTAssertEqual(SSESerializer.comment("a\nb"), b(":a\n:b\n\n"))
        let f = parse([SSESerializer.comment("x\ny")]).frames[0]
        XCTAssertEqual(f.kind, .commentOnly)
        XCTAssertEqual(f.comments, ["x", "y"])
    }

    func testRoundTripThroughClient() {
        let bytes = SSESerializer.serialize(event: "e", data: "l1\n\nl3\n", id: "i", retry: 5)
        let m = client([bytes])
        XCTAssertEqual(m.dispatched, [SSEMessage(type: "e", data: "l1\n\nl3\n", lastEventId: "i")])
        XCTAssertEqual(m.state.reconnectionTimeMs, 5)
    }
}
