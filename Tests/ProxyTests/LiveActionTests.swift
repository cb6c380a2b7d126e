import Foundation
import HTTP1
import Ledger
import Faults
@testable import Proxy
import Session
import XCTest

/// An origin the test drives: each `send` is written to the open event stream as one chunk per frame;
/// `end()` finishes the chunked body and closes. The queue of batches is its own object, held by the
/// origin's connection threads too: a connection accepted or still waiting after the test has let go of
/// the origin must not reach a freed object.
private final class GatedOrigin: @unchecked Sendable {
    private final class Gate: @unchecked Sendable {
        let lock = NSLock()
        var batches: [[String]?] = []
        let ready = DispatchSemaphore(value: 0)
    }

    private let gate = Gate()
    private(set) var origin: ScriptedOrigin!

    init() throws {
        let gate = self.gate
        origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            conn.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            while true {
                gate.ready.wait()
                let batch = gate.lock.withLock { gate.batches.removeFirst() }
                guard let frames = batch else {
                    conn.send("0\r\n\r\n")
                    conn.close()
                    return
                }
                conn.send(frames.map { "\(String($0.utf8.count, radix: 16))\r\n\($0)\r\n" }.joined())
            }
        }
    }

    func send(_ frames: String...) { push(frames) }
    func send(contentsOf frames: [String]) { push(frames) }
    func end() { push(nil) }

    private func push(_ batch: [String]?) {
        gate.lock.withLock { gate.batches.append(batch) }
        gate.ready.signal()
    }
}

final class LiveActionTests: XCTestCase {
    private func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    private func stack(gated origin: GatedOrigin) throws -> Stack {
        try Stack { config, _ in config.routes = [try! ProxyConfig.Route(parsing: "http://127.0.0.1:\(origin.origin.port)")] }
    }

    /// A gated origin behind a proxy, and client `key`'s stream through it, which has received event 1.
    private func streamWithOneEvent(key: String) throws -> (GatedOrigin, Stack, TestSocket) {
        let origin = try GatedOrigin()
        let stack = try stack(gated: origin)
        let client = try openStream(stack, key: key)
        origin.send("id: 1\ndata: a\n\n")
        XCTAssertTrue(try client.read(until: "id: 1\n"))
        return (origin, stack, client)
    }

    /// An event stream through the proxy as client `key`.
    private func openStream(_ stack: Stack, key: String, path: String = "/events") throws -> TestSocket {
        let socket = try TestSocket(port: stack.proxyPort)
        socket.send("GET \(path) HTTP/1.1\r\nHost: proxy\r\nAccept: text/event-stream\r\nSputter-Client: \(key)\r\n\r\n")
        return socket
    }

    private func post(_ stack: Stack, _ key: String, _ verb: String, _ body: String = "{}") throws -> (status: Int, json: [String: Any]) {
        let answer = try http(port: stack.controlPort, "POST", "/clients/\(key)/\(verb)", body: body)
        return (answer.status, json(answer.text))
    }

    private func ids(_ body: [UInt8]) -> [String] {
        // Bytes, not Characters: "\r\n" (chunk framing in a raw body) is one Character.
        body.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }.filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
    }

    // MARK: - Bodies

    func testBodiesDecodeToCommandsAndBadOnesNameTheField() {
        func parse(_ verb: String, _ body: String) -> Result<LiveCommand, ControlAPI.LiveBodyProblem> {
            ControlAPI.liveCommand(verb, body: Array(body.utf8)) { _ in .success([]) }
        }
        XCTAssertEqual(try parse("cut", "").get(), .cut(.rst, afterEvents: nil))
        XCTAssertEqual(try parse("cut", #"{"kind": "clean", "after_events": 1}"#).get(), .cut(.clean, afterEvents: 1))
        XCTAssertEqual(try parse("cut", #"{"kind": "fin", "after_events": null}"#).get(), .cut(.fin, afterEvents: nil))
        XCTAssertEqual(try parse("stall", "{}").get(), .stall(heartbeats: false))
        XCTAssertEqual(try parse("stall", #"{"heartbeats": true}"#).get(), .stall(heartbeats: true))
        XCTAssertEqual(try parse("resume", "").get(), .resume)
        XCTAssertEqual(try parse("inject", #"{"raw": "data: x\n\n"}"#).get(), .inject(Array("data: x\n\n".utf8)))
        XCTAssertEqual(try parse("inject", #"{"data": "a\nb", "event": "e", "id": "7"}"#).get(),
                       .inject(Array("event: e\ndata: a\ndata: b\nid: 7\n\n".utf8)))
        let bad: [(String, String, String)] = [
            ("cut", #"{"kind": "boom"}"#, "kind"), ("cut", #"{"after_events": -1}"#, "after_events"),
            ("cut", #"{"after_events": 1.5}"#, "after_events"), ("cut", #"{"when": 1}"#, "when"),
            ("stall", #"{"heartbeats": "yes"}"#, "heartbeats"), ("resume", #"{"x": 1}"#, "x"),
            ("inject", #"{"raw": "data: x"}"#, "raw"), ("inject", #"{"event": "e"}"#, "data"),
            ("inject", #"{"data": "x", "id": "a\nb"}"#, "id"), ("faults", "{}", "faults"), ("cut", "[1]", "JSON object"),
        ]
        for (verb, body, field) in bad {
            guard case .failure(let problem) = parse(verb, body) else { XCTFail("\(verb) \(body) should not parse"); continue }
            XCTAssertTrue(problem.message.contains(field), "\(verb) \(body): \(problem.message)")
        }
    }

    func testTheLedgerRecordOfALiveActionReadsBack() throws {
        let actions = [
            LiveAction(verb: .cut, peer: "127.0.0.1:5000", cut: .clean, afterEvents: 3, landed: true),
            LiveAction(verb: .stall, peer: "p", heartbeats: true),
            LiveAction(verb: .inject, peer: "p", bytes: 12),
            LiveAction(verb: .faults, peer: "p", faults: ["drop", "delay"]),
        ]
        for action in actions {
            let record = LedgerRecord(connection: 7, clientKey: "k", at: 1, body: .fault(frameIndex: 4, fault: "control", effect: .controlled(action)))
            let line = record.jsonLine()
            XCTAssertEqual(try LedgerRecord(jsonLine: line), record, line)
            XCTAssertTrue(line.contains("\"action\":\"\(action.description)\""), line)
        }
        XCTAssertEqual(actions[0].description, "cut (clean) after 3 events: done by control peer 127.0.0.1:5000")
    }

    // MARK: - Cut

    func testEachCutKindReachesTheClientAsAsked() throws {
        let stack = try Stack()
        // rst: the client's read fails with ECONNRESET.
        let rst = try openStream(stack, key: "cut-rst", path: "/events?interval_ms=20")
        XCTAssertTrue(try rst.read(until: "id: 2\n"))
        let answer = try post(stack, "cut-rst", "cut", #"{"kind": "rst"}"#)
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.json["action"] as? String, "cut")
        XCTAssertEqual(answer.json["kind"] as? String, "rst")
        XCTAssertTrue(answer.json["after_events"] is NSNull)
        XCTAssertEqual((answer.json["connections"] as? [Any])?.count, 1)
        XCTAssertEqual(rst.readToEnd()?.errno, ECONNRESET)

        // fin: end of file without the chunked terminator (the response is incomplete).
        let fin = try openStream(stack, key: "cut-fin", path: "/events?interval_ms=20")
        XCTAssertTrue(try fin.read(until: "id: 2\n"))
        XCTAssertEqual(try post(stack, "cut-fin", "cut", #"{"kind": "fin"}"#).status, 200)
        XCTAssertThrowsError(try fin.readResponse()) { XCTAssertEqual(($0 as? SocketError)?.errno, EPIPE, "EOF inside the chunked body") }

        // clean: a complete chunked response, to the zero-length chunk, then FIN.
        let clean = try openStream(stack, key: "cut-clean", path: "/events?interval_ms=20")
        XCTAssertTrue(try clean.read(until: "id: 2\n"))
        XCTAssertEqual(try post(stack, "cut-clean", "cut", #"{"kind": "clean"}"#).status, 200)
        let response = try clean.readResponse()
        XCTAssertEqual(response.head.status, 200)
        XCTAssertTrue(String(decoding: response.rawBody, as: UTF8.self).hasSuffix("\r\n0\r\n\r\n"))
        XCTAssertEqual(Array(ids(response.body).prefix(2)), ["1", "2"])
        XCTAssertNil(clean.readToEnd(), "FIN after the terminator")
    }

    func testCutAfterEventsLandsOnTheSameFrameInTwoRuns() throws {
        var landed: [[String]] = []
        for run in 1...2 {
            let origin = try GatedOrigin()
            let stack = try stack(gated: origin)
            let key = "after-\(run)"
            let client = try openStream(stack, key: key)
            origin.send("id: 1\ndata: a\n\n", "id: 2\ndata: b\n\n")
            XCTAssertTrue(try client.read(until: "id: 2\n"))
            let answer = try post(stack, key, "cut", #"{"kind": "clean", "after_events": 3}"#)
            XCTAssertEqual(answer.status, 200)
            XCTAssertEqual(answer.json["after_events"] as? Int, 3)
            // Ten more events with heartbeats between them, in one burst: only events count.
            origin.send(contentsOf: (3...12).flatMap { [": beat\n\n", "id: \($0)\ndata: x\n\n"] })
            let response = try client.readResponse()
            landed.append(ids(response.body))
            origin.end()
        }
        XCTAssertEqual(landed[0], ["1", "2", "3", "4", "5"])
        XCTAssertEqual(landed[0], landed[1])
    }

    // MARK: - Stall and resume

    func testStallHoldsEventsWhileHeartbeatsPassAndResumeReleasesThemInOrder() throws {
        let (origin, stack, client) = try streamWithOneEvent(key: "stall-hb")
        let answer = try post(stack, "stall-hb", "stall", #"{"heartbeats": true}"#)
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.json["heartbeats"] as? Bool, true)
        origin.send("id: 2\ndata: b\n\n")
        origin.send(": beat\n\n")
        // The heartbeat sent after event 2 arrives; event 2 does not: it is held.
        XCTAssertTrue(try client.read(until: ": beat\n"))
        XCTAssertFalse(client.contains(Array("id: 2\n".utf8)))
        XCTAssertEqual(try post(stack, "stall-hb", "resume").status, 200)
        XCTAssertTrue(try client.read(until: "id: 2\n"))
        // The socket stayed open: the stream goes on.
        origin.send("id: 3\ndata: c\n\n")
        XCTAssertTrue(try client.read(until: "id: 3\n"))
        let text = String(decoding: client.received, as: UTF8.self)
        XCTAssertLessThan(text.range(of: ": beat")!.lowerBound, text.range(of: "id: 2\n")!.lowerBound)
        origin.end()
    }

    func testStallWritesNothingUntilResumeWithTheSocketOpen() throws {
        let (origin, stack, client) = try streamWithOneEvent(key: "stall")
        let connection = try XCTUnwrap((try post(stack, "stall", "stall").json["connections"] as? [Int])?.first)
        origin.send("id: 2\ndata: b\n\n", ": beat\n\n", "id: 3\ndata: c\n\n")
        // The proxy has taken all three frames from the upstream…
        eventually("the proxy read the frames") {
            let report = json((try? http(port: stack.controlPort, "GET", "/connections/\(connection)").text) ?? "")
            return ((report["connection"] as? [String: Any])?["frames"] as? Int ?? report["frames"] as? Int ?? 0) >= 4
        }
        // …and written none of them; the socket is open (no EOF, no error: nothing to read).
        var byte: UInt8 = 0
        XCTAssertEqual(recv(client.fd, &byte, 1, Int32(MSG_DONTWAIT)), -1)
        XCTAssertEqual(errno, EAGAIN)
        XCTAssertFalse(client.contains(Array("id: 2\n".utf8)))
        XCTAssertEqual(try post(stack, "stall", "resume").status, 200)
        XCTAssertTrue(try client.read(until: "id: 3\n"))
        XCTAssertEqual(ids(client.received), ["1", "2", "3"])
        origin.end()
    }

    // MARK: - Inject and faults

    func testInjectedEventLandsBetweenFrames() throws {
        let (origin, stack, client) = try streamWithOneEvent(key: "inject")
        let answer = try post(stack, "inject", "inject", #"{"event": "error", "data": "boom\nline 2", "id": "X"}"#)
        XCTAssertEqual(answer.status, 200)
        XCTAssertTrue(try client.read(until: "id: X\n"))
        XCTAssertEqual(try post(stack, "inject", "inject", #"{"raw": "data: raw\n\n"}"#).status, 200)
        origin.send("id: 2\ndata: b\n\n")
        origin.end()
        let response = try client.readResponse()
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self),
                       "id: 1\ndata: a\n\nevent: error\ndata: boom\ndata: line 2\nid: X\n\ndata: raw\n\nid: 2\ndata: b\n\n")
    }

    func testFaultsTakeOverAPassthroughStreamFromItsNextFrame() throws {
        let (origin, stack, client) = try streamWithOneEvent(key: "faults")
        let answer = try post(stack, "faults", "faults", #"{"faults": [{"drop": {"every_nth": 2}}]}"#)
        XCTAssertEqual(answer.status, 200, "\(answer.json)")
        XCTAssertEqual(answer.json["faults"] as? [String], ["drop"])
        origin.send("id: 2\ndata: b\n\n", "id: 3\ndata: c\n\n", "id: 4\ndata: d\n\n", "id: 5\ndata: e\n\n")
        origin.end()
        let response = try client.readResponse()
        XCTAssertEqual(ids(response.body), ["1", "2", "4"], "every second event after the switch dropped")
    }

    // MARK: - Errors

    func testUnknownClientIs404AndAClientWithoutAStreamIs409() throws {
        let (origin, stack, client) = try streamWithOneEvent(key: "open-one")

        let unknown = try post(stack, "nobody", "cut")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertEqual(unknown.json["error"] as? String, "no client nobody")
        XCTAssertEqual(unknown.json["clients"] as? [String], ["open-one"])

        let bad = try post(stack, "open-one", "cut", #"{"kind": "explode"}"#)
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue((bad.json["error"] as? String ?? "").contains("kind"), "\(bad.json)")
        XCTAssertEqual(try post(stack, "open-one", "inject", #"{"raw": "data: no blank line\n"}"#).status, 400)
        XCTAssertEqual(try post(stack, "open-one", "stall", #"{"heartbeat": true}"#).status, 400)

        XCTAssertEqual(try post(stack, "open-one", "cut", #"{"kind": "fin"}"#).status, 200)
        _ = client.readToEnd()
        eventually("the stream is gone") { (try? post(stack, "open-one", "resume").status) == 409 }
        let closed = try post(stack, "open-one", "stall")
        XCTAssertEqual(closed.json["error"] as? String, "client open-one has no open stream")
        XCTAssertEqual(closed.json["open"] as? [String], [])
        origin.end()
    }

    // MARK: - SputterTesting

    func testSputterTestingDrivesTheSameActions() throws {
        let (origin, stack, client) = try streamWithOneEvent(key: "lib")
        XCTAssertEqual(try stack.sputter.inject("lib", event: "note", data: "hi").count, 1)
        XCTAssertTrue(try client.read(until: "data: hi\n"))
        XCTAssertThrowsError(try stack.sputter.stall("nobody")) {
            XCTAssertEqual($0 as? ProxyServer.LiveActionError, .unknownClient("nobody", openStreams: ["lib"]))
        }
        try stack.sputter.cut("lib", kind: .clean, afterEvents: 1)
        origin.send("id: 2\ndata: b\n\n", "id: 3\ndata: c\n\n")
        XCTAssertEqual(ids(try client.readResponse().body), ["1", "2"])
        origin.end()
    }
}
