import Foundation
import HTTP1
import Proxy
import XCTest

/// An upstream that breaks its chunked framing mid-body: the chunk data that arrived before the bad line
/// reaches the client (byte for byte, as chunks), then the client's connection ends as before.
final class ChunkErrorRelayTests: XCTestCase {
    private func relayBrokenChunks(contentType: String, data: String) throws -> [UInt8] {
        let chunk = "\(String(data.utf8.count, radix: 16))\r\n\(data)\r\n"
        let origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            // One write: the valid chunk and the bad size line arrive in the same read.
            conn.send("HTTP/1.1 200 OK\r\nContent-Type: \(contentType)\r\nTransfer-Encoding: chunked\r\n\r\n\(chunk)ZZ\r\n")
            _ = conn.waitForPeerClose()
            conn.close()
        }
        let proxy = try ProxyOnLoop(origin: origin)
        let s = try TestSocket(port: proxy.port)
        s.send("GET /broken HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(try s.read(until: "\r\n\r\n" + chunk), "the chunk before the framing error reaches the client")
        XCTAssertNil(s.readToEnd(), "then the connection ends")
        XCTAssertFalse(s.contains(Array("ZZ".utf8)), "the bad size line is not relayed")
        return s.received
    }

    func testPlainBody() throws {
        _ = try relayBrokenChunks(contentType: "text/plain", data: "hello")
    }

    func testObservedEventStream() throws {
        _ = try relayBrokenChunks(contentType: "text/event-stream", data: "data: hello\n\n")
    }
}
