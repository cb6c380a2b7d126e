import Dispatch
import Faults
import Foundation
import HTTP1
import Profiles
import Proxy
import XCTest

/// Profiles that select by request body (`match: jsonrpc_method / json`) over loopback: the body is read
/// before selection, then reaches the upstream byte for byte; requests without body matchers in play are
/// relayed as before (head upstream at once).
final class BodyMatchProxyTests: XCTestCase {
    static let stream = "id: 1\ndata: a\n\nid: 2\ndata: b\n\n"

    /// An origin that records each request's head and raw body (Content-Length or chunked, framing kept)
    /// and answers a short event stream.
    final class RecordingOrigin: @unchecked Sendable {
        private let lock = NSLock()
        private var _seen: [(head: String, body: [UInt8])] = []
        private var _heads = 0
        var origin: ScriptedOrigin!
        var port: Int { origin.port }
        var seen: [(head: String, body: [UInt8])] { lock.withLock { _seen } }
        /// Heads that arrived, bodies or not.
        var heads: Int { lock.withLock { _heads } }

        init() throws {
            // Weak: a connection thread may outlive the test's origin (it then answers nothing).
            origin = try ScriptedOrigin { [weak self] conn in
                let head = conn.readHead()
                guard let self else { return conn.close() }
                self.lock.withLock { self._heads += 1 }
                var body: [UInt8] = []
                if head.lowercased().contains("transfer-encoding: chunked") {
                    let end = Array("0\r\n\r\n".utf8)
                    while !(body.count >= end.count && Array(body.suffix(end.count)) == end) {
                        let b = conn.read(count: 1)
                        if b.isEmpty { break }
                        body += b
                    }
                } else if let line = head.components(separatedBy: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
                          let n = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) {
                    body = conn.read(count: n)
                }
                self.lock.withLock { self._seen.append((head, body)) }
                conn.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: \(BodyMatchProxyTests.stream.utf8.count)\r\n\r\n"
                          + BodyMatchProxyTests.stream)
                conn.close()
            }
        }
    }

    static let toolsProfile = Profile(name: "mcp-tools", match: ProfileMatch(method: "POST", jsonrpcMethod: Glob("tools/call")),
                                      faults: [FaultSpec(.drop(DropFault()))])
    static let llmProfile = Profile(name: "llm-stream", match: ProfileMatch(json: [JSONFieldMatch(dotted: "stream", value: .bool(true)),
                                                                                    JSONFieldMatch(dotted: "model", value: .string(Glob("gpt-*")))]),
                                    faults: [FaultSpec(.drop(DropFault()))])
    static let pathProfile = Profile(name: "path-only", match: ProfileMatch(path: Glob("/mcp")), faults: [FaultSpec(.drop(DropFault()))])

    func stack(_ origin: RecordingOrigin, profile: String) throws -> Stack {
        try Stack { config, _ in
            config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")]
            config.profiles = ProfileLibrary(profiles: [.passthrough, Self.toolsProfile, Self.llmProfile, Self.pathProfile])
            config.profile = profile
        }
    }

    func post(_ port: Int, client: String, _ json: String) throws -> (status: Int, body: String) {
        let s = try TestSocket(port: port)
        s.send("POST /mcp HTTP/1.1\r\nHost: x\r\nAccept: application/json, text/event-stream\r\nSputter-Client: \(client)\r\n"
               + "Content-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\nConnection: close\r\n\r\n" + json)
        let r = try s.readResponse(requestMethod: "POST")
        return (r.head.status, String(decoding: r.body, as: UTF8.self))
    }

    func testToolsCallStreamIsFaultedAndInitializePassesUntouched() throws {
        let origin = try RecordingOrigin()
        let stack = try stack(origin, profile: "mcp-tools")
        let initialize = #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#
        let call = #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search","arguments":{"q":"x"}}}"#
        let a = try post(stack.proxyPort, client: "init", initialize)
        XCTAssertEqual(a.status, 200)
        XCTAssertEqual(a.body, Self.stream, "initialize is not tools/call: relayed untouched")
        let b = try post(stack.proxyPort, client: "call", call)
        XCTAssertEqual(b.status, 200)
        XCTAssertFalse(b.body.contains("data:"), "tools/call gets the profile: every event dropped; got \(b.body)")
        // Both bodies reached the upstream as sent.
        XCTAssertEqual(origin.seen.map { String(decoding: $0.body, as: UTF8.self) }, [initialize, call])
        // The ledger says which profile each stream had.
        eventually("both streams recorded") { stack.sputter.client("call")?.connections.first?.closedAt != nil
            && stack.sputter.client("init")?.connections.first?.closedAt != nil }
        XCTAssertEqual(stack.sputter.client("init")?.connections.map(\.profile), ["passthrough"])
        XCTAssertEqual(stack.sputter.client("call")?.connections.map(\.profile), ["mcp-tools"])
    }

    /// A chunked body in pieces (extensions, odd sizes) is read for `json`, then relayed with its framing unchanged.
    func testChunkedBodyInPiecesMatchesAndReachesTheUpstreamByteExact() throws {
        let origin = try RecordingOrigin()
        let stack = try stack(origin, profile: "llm-stream")
        let pieces = ["5;ext=1\r\n{\"mod\r\n", "d\r\nel\":\"gpt-4o\",\r\n", "e\r\n\"stream\": true\r\n", "1\r\n}\r\n", "0\r\n\r\n"]
        let raw = Array(pieces.joined().utf8)
        let s = try TestSocket(port: stack.proxyPort)
        s.send("POST /v1/chat HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nSputter-Client: llm\r\nTransfer-Encoding: chunked\r\n"
               + "Connection: close\r\n\r\n")
        for piece in pieces {
            usleep(20_000)
            s.send(piece)
        }
        let r = try s.readResponse(requestMethod: "POST")
        XCTAssertEqual(r.head.status, 200)
        XCTAssertFalse(String(decoding: r.body, as: UTF8.self).contains("data:"), "stream: true and gpt-*: the profile applies")
        XCTAssertEqual(origin.seen.first?.body, raw, "the upstream got the chunked body byte for byte")
        XCTAssertTrue(origin.seen.first?.head.contains("Transfer-Encoding: chunked") == true)
        // Not JSON that matches: passthrough, and the body is relayed as well.
        let plain = try post(stack.proxyPort, client: "other", #"{"model":"gpt-4o","stream":false}"#)
        XCTAssertEqual(plain.body, Self.stream)
    }

    func testBodyOverTheBoundDoesNotMatchAndIsRelayed() throws {
        let origin = try RecordingOrigin()
        let stack = try Stack { config, _ in
            config.routes = [try! .init(parsing: "http://127.0.0.1:\(origin.port)")]
            config.profiles = ProfileLibrary(profiles: [.passthrough, Self.toolsProfile])
            config.profile = "mcp-tools"
            config.maxMatchBodyBytes = 100
        }
        let padding = String(repeating: "x", count: 200)
        let call = #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"pad":"\#(padding)"}}"#
        let r = try post(stack.proxyPort, client: "big", call)
        XCTAssertEqual(r.body, Self.stream, "over the bound: does not match")
        XCTAssertEqual(origin.seen.first?.body, Array(call.utf8))
        let small = try post(stack.proxyPort, client: "small", #"{"jsonrpc":"2.0","id":3,"method":"tools/call"}"#)
        XCTAssertFalse(small.body.contains("data:"), "under the bound: matches")
    }

    /// Without body matchers in play the head goes upstream before the body is complete (no buffering);
    /// with them, the upstream hears nothing until the whole body is in.
    func testOnlyBodyMatchersHoldTheHeadBackForTheBody() throws {
        for (profile, buffered) in [("path-only", false), ("passthrough", false), ("mcp-tools", true)] {
            let origin = try RecordingOrigin()
            let stack = try stack(origin, profile: profile)
            let json = #"{"jsonrpc":"2.0","id":2,"method":"tools/call"}"#
            let bytes = Array(json.utf8)
            let s = try TestSocket(port: stack.proxyPort)
            s.send("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n")
            s.send(Array(bytes.prefix(10)))
            if buffered {
                usleep(300_000)
                XCTAssertEqual(origin.heads, 0, "\(profile): nothing goes upstream before the body is in")
            } else {
                eventually("\(profile): head upstream before the body is complete") { origin.heads == 1 }
            }
            s.send(Array(bytes.dropFirst(10)))
            let r = try s.readResponse(requestMethod: "POST")
            XCTAssertEqual(r.head.status, 200, profile)
            XCTAssertEqual(origin.seen.first?.body, bytes, profile)
        }
    }
}

extension BodyMatchProxyTests {
    /// Two pipelined requests on one keep-alive connection: each body is read for its own selection, and
    /// the first read stops at its own body's end.
    func testPipelinedKeepAliveRequestsAreEachMatchedByTheirOwnBody() throws {
        let origin = try RecordingOrigin()
        let stack = try stack(origin, profile: "mcp-tools")
        let first = #"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#
        let second = #"{"jsonrpc":"2.0","id":2,"method":"tools/call"}"#
        func request(_ json: String) -> String {
            "POST /mcp HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nSputter-Client: pipe\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(json.utf8.count)\r\n\r\n" + json
        }
        let s = try TestSocket(port: stack.proxyPort)
        s.send(request(first) + request(second))
        let a = try s.readResponse(requestMethod: "POST")
        XCTAssertEqual(String(decoding: a.body, as: UTF8.self), Self.stream, "initialize: untouched")
        let b = try s.readResponse(requestMethod: "POST")
        XCTAssertEqual(b.head.status, 200)
        XCTAssertFalse(String(decoding: b.body, as: UTF8.self).contains("data:"), "tools/call: faulted")
        XCTAssertEqual(origin.seen.map { String(decoding: $0.body, as: UTF8.self) }, [first, second])
        eventually("both recorded") { stack.sputter.client("pipe")?.connections.count == 2
            && stack.sputter.client("pipe")?.connections.allSatisfy { $0.closedAt != nil } == true }
        XCTAssertEqual(stack.sputter.client("pipe")?.connections.map(\.profile), ["passthrough", "mcp-tools"])
    }
}
