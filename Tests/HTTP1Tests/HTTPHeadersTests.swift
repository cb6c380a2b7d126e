import HTTP1
import XCTest

final class HTTPHeadersTests: XCTestCase {
    func testLookupsIgnoreCase() {
        let headers: HTTPHeaders = ["Content-Type": "text/plain", "X-A": "1", "x-a": "2"]
        XCTAssertEqual(headers.first("content-TYPE"), "text/plain")
        XCTAssertEqual(headers.first("X-A"), "1")
        XCTAssertEqual(headers.values("X-a"), ["1", "2"])
        XCTAssertEqual(headers.values("nope"), [])
        XCTAssertNil(headers.first("Content-Typ"))
        XCTAssertTrue(headers.contains("x-A"))
        XCTAssertFalse(headers.contains("X-AA"))
        XCTAssertEqual(headers.map(\.name), ["Content-Type", "X-A", "x-a"])
    }

    func testContainsToken() {
        let headers: HTTPHeaders = ["Connection": "keep-alive,  Upgrade ", "connection": "X-Foo", "Other": "close"]
        XCTAssertTrue(headers.containsToken("connection", "upgrade"))
        XCTAssertTrue(headers.containsToken("Connection", "KEEP-ALIVE"))
        XCTAssertTrue(headers.containsToken("Connection", "x-foo"))
        XCTAssertFalse(headers.containsToken("Connection", "close"))
        XCTAssertFalse(headers.containsToken("Connection", "keep"))
        XCTAssertFalse(headers.containsToken("Connection", "keep-alive, Upgrade"))
        XCTAssertTrue(headers.containsToken("Other", "close"))
    }

    func testAddRemoveSet() {
        var headers: HTTPHeaders = ["A": "1", "B": "2", "a": "3", "C": "4"]
        headers.add("b", "5")
        XCTAssertEqual(headers.values("B"), ["2", "5"])
        headers.set("A", "9")
        XCTAssertEqual(headers.fields, [HTTPField(name: "A", value: "9"), HTTPField(name: "B", value: "2"),
                                        HTTPField(name: "C", value: "4"), HTTPField(name: "b", value: "5")])
        headers.replace("c", "8")
        XCTAssertEqual(headers.fields[2], HTTPField(name: "c", value: "8"))
        headers.set("New", "x")
        XCTAssertEqual(headers.fields.last, HTTPField(name: "New", value: "x"))
        headers.remove("b")
        XCTAssertEqual(headers.map(\.name), ["A", "c", "New"])
    }

    func testRemoveHopByHop() {
        var headers: HTTPHeaders = [
            "Host": "h",
            "Connection": "keep-alive, X-Secret, transfer-encoding",
            "x-secret": "1",
            "Keep-Alive": "timeout=5",
            "Proxy-Connection": "keep-alive",
            "TE": "trailers",
            "Upgrade": "websocket",
            "Proxy-Authenticate": "Basic",
            "Proxy-Authorization": "Basic abc",
            "connection": "X-Second",
            "X-Second": "2",
            "Transfer-Encoding": "chunked",
            "Content-Length": "5",
            "Accept": "text/event-stream",
            "accept": "*/*",
            "X-Secretive": "kept",
        ]
        headers.removeHopByHop()
        XCTAssertEqual(headers.fields, [
            HTTPField(name: "Host", value: "h"),
            HTTPField(name: "Transfer-Encoding", value: "chunked"),
            HTTPField(name: "Content-Length", value: "5"),
            HTTPField(name: "Accept", value: "text/event-stream"),
            HTTPField(name: "accept", value: "*/*"),
            HTTPField(name: "X-Secretive", value: "kept"),
        ])
    }

    func testRemoveHopByHopKeepsContentLengthNamedInConnection() {
        var headers: HTTPHeaders = ["Connection": "Content-Length, close", "Content-Length": "3", "Close": "x"]
        headers.removeHopByHop()
        XCTAssertEqual(headers, ["Content-Length": "3"])
    }
}
