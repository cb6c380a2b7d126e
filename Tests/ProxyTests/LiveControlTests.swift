import Faults
import Foundation
import HTTP1
import Ledger
import Profiles
@testable import Proxy
import XCTest

/// The control API for tests that drive faults as they go: runtime profiles, the next attempts, waits.
final class LiveControlTests: XCTestCase {
    private func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    // MARK: - The wait's query

    func testWaitConditionsParseAndSayWhatIsWrong() {
        XCTAssertEqual(try WaitCondition.parse(["received": "10"]).get(), .received(10))
        XCTAssertEqual(try WaitCondition.parse(["reconnected": "2"]).get(), .reconnected(2))
        XCTAssertEqual(try WaitCondition.parse(["settled": ""]).get(), .settled(quietMs: ControlAPI.defaultQuietMs))
        XCTAssertEqual(try WaitCondition.parse(["settled": "", "quiet_ms": "40"]).get(), .settled(quietMs: 40))
        for bad in [[:], ["received": "1", "settled": ""], ["received": "x"], ["reconnected": "-1"], ["settled": "", "quiet_ms": "soon"]] as [[String: String]] {
            guard case .failure(let problem) = WaitCondition.parse(bad) else { return XCTFail("\(bad) should not parse") }
            XCTAssertFalse(problem.message.isEmpty)
        }
    }

    // MARK: - Over loopback

    func testRuntimeProfileIsUsedByTheNextConnectionAndSurvivesAReload() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "name: from-file\ndescription: file\nfaults: [ { respond: { status: 418 } } ]\n".write(to: directory.appendingPathComponent("from-file.yaml"), atomically: true, encoding: .utf8)
        let stack = try Stack { config, _ in
            config.profilesDirectory = directory.path
            config.profiles = try! ProxyServer.loadProfiles(directory: directory.path)
        }
        XCTAssertEqual(try http(port: stack.proxyPort, "GET", "/json?sputter_profile=teapot").status, 400, "not defined yet")

        let defined = try http(port: stack.controlPort, "POST", "/profiles", body: "name: teapot\ndescription: runtime\nfaults:\n  - respond: { status: 418 }\n")
        XCTAssertEqual(defined.status, 201, defined.text)
        XCTAssertEqual(json(defined.text)["defined"] as? String, "teapot")
        XCTAssertEqual(try http(port: stack.proxyPort, "GET", "/json?sputter_profile=teapot").status, 418)

        let listed = json(try http(port: stack.controlPort, "GET", "/profiles").text)["profiles"] as? [[String: Any]] ?? []
        let origins = Dictionary(uniqueKeysWithValues: listed.map { ($0["name"] as? String ?? "", $0["origin"] as? String ?? "") })
        XCTAssertEqual(origins["teapot"], "runtime")
        XCTAssertEqual(origins["from-file"], "file")
        XCTAssertEqual(origins["passthrough"], "built-in")

        XCTAssertEqual(try http(port: stack.controlPort, "POST", "/profiles/reload").status, 200)
        XCTAssertEqual(try http(port: stack.proxyPort, "GET", "/json?sputter_profile=teapot").status, 418, "a reload keeps runtime profiles")

        // JSON works too, and replaces the definition.
        let replaced = try http(port: stack.controlPort, "POST", "/profiles", body: #"{"name": "teapot", "description": "now clean", "faults": []}"#)
        XCTAssertEqual(replaced.status, 201, replaced.text)
        XCTAssertEqual(json(replaced.text)["replaced"] as? Bool, true)
        XCTAssertEqual(try http(port: stack.proxyPort, "GET", "/json?sputter_profile=teapot").status, 200)

        let deleted = try http(port: stack.controlPort, "DELETE", "/profiles/teapot")
        XCTAssertEqual(deleted.status, 200, deleted.text)
        XCTAssertEqual(try http(port: stack.proxyPort, "GET", "/json?sputter_profile=teapot").status, 400, "gone after DELETE")
        let fileOne = try http(port: stack.controlPort, "DELETE", "/profiles/from-file")
        XCTAssertEqual(fileOne.status, 409)
        XCTAssertTrue(fileOne.text.contains("from-file.yaml"), fileOne.text)
        let unknown = try http(port: stack.controlPort, "DELETE", "/profiles/nope")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertTrue(unknown.text.contains("from-file"), "names the known profiles: \(unknown.text)")
    }

    func testInvalidRuntimeProfileNamesTheLineAndField() throws {
        let stack = try Stack()
        let bad = try http(port: stack.controlPort, "POST", "/profiles", body: "name: broken\ndescription: b\nfaults:\n  - drop: { probability: 7 }\n")
        XCTAssertEqual(bad.status, 400)
        let body = json(bad.text)
        XCTAssertEqual(body["line"] as? Int, 4, bad.text)
        XCTAssertTrue((body["field"] as? String ?? "").contains("probability"), bad.text)
        XCTAssertTrue((body["error"] as? String ?? "").hasPrefix("profile not defined: line 4: "), bad.text)
        XCTAssertEqual(try http(port: stack.proxyPort, "GET", "/json?sputter_profile=broken").status, 400, "nothing was defined")
    }

    func testNextGivesTheQueuedResponseToTheNextAttemptsOnly() throws {
        let stack = try Stack()
        let queued = try http(port: stack.controlPort, "POST", "/clients/k1/next",
                              body: #"{"respond": {"status": 503, "retry_after": 2}, "count": 2}"#)
        XCTAssertEqual(queued.status, 201, queued.text)
        XCTAssertEqual(json(queued.text)["pending"] as? Int, 2)

        let other = try http(port: stack.proxyPort, "GET", "/json", headers: ["Sputter-Client: k2"])
        XCTAssertEqual(other.status, 200, "another client is untouched")
        for attempt in 1...2 {
            let r = try http(port: stack.proxyPort, "GET", "/json", headers: ["Sputter-Client: k1"])
            XCTAssertEqual(r.status, 503, "attempt \(attempt)")
            XCTAssertEqual(r.head.headers.first("Retry-After"), "2")
        }
        XCTAssertEqual(try http(port: stack.proxyPort, "GET", "/json", headers: ["Sputter-Client: k1"]).status, 200, "then the profile again")

        // A fault list, then cleared before use.
        XCTAssertEqual(try http(port: stack.controlPort, "POST", "/clients/k1/next", body: #"{"faults": [{"refuse": {}}], "count": 1}"#).status, 201)
        XCTAssertEqual(json(try http(port: stack.controlPort, "DELETE", "/clients/k1/next").text)["dropped"] as? Int, 1)
        XCTAssertEqual(try http(port: stack.proxyPort, "GET", "/json", headers: ["Sputter-Client: k1"]).status, 200)

        let bad = try http(port: stack.controlPort, "POST", "/clients/k1/next", body: #"{"faults": [{"drop": {"probability": 2}}]}"#)
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.text.contains("probability"), bad.text)
        XCTAssertEqual(try http(port: stack.controlPort, "POST", "/clients/k1/next", body: #"{"count": 2}"#).status, 400)
        XCTAssertEqual(try http(port: stack.controlPort, "POST", "/clients/k1/next", body: #"{"respond": {"status": 503}, "cout": 2}"#).status, 400)
    }

    func testNextAttemptIsRecordedUnderItsOwnLabelAndCutsTheStream() throws {
        let stack = try Stack()
        XCTAssertEqual(try http(port: stack.controlPort, "POST", "/clients/cut-me/next",
                                body: #"{"faults": [{"disconnect": {"after_events": 2, "kind": "rst"}}]}"#).status, 201)
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events?interval_ms=0&heartbeat_ms=0&count=50 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nSputter-Client: cut-me\r\n\r\n")
        XCTAssertNotNil(s.readToEnd(), "the queued disconnect resets the stream")
        let profile = stack.sputter.client("cut-me")?.connections.first?.profile
        XCTAssertEqual(profile, "passthrough+next")
    }

    func testWaitAnswersWhenTheClientHasReceivedEnoughAndTimesOutWith408() throws {
        let stack = try Stack()
        // The wait starts before the client exists: it is answered once the client has 3 messages.
        nonisolated(unsafe) var answer: (status: Int, text: String, head: ResponseHead)?
        let waited = DispatchSemaphore(value: 0)
        let controlPort = stack.controlPort
        Thread.detachNewThread {
            answer = try? http(port: controlPort, "GET", "/clients/w1/wait?received=3&timeout_ms=60000")
            waited.signal()
        }
        let s = try TestSocket(port: stack.proxyPort)
        s.send("GET /events?interval_ms=20&heartbeat_ms=0&count=1000 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nSputter-Client: w1\r\n\r\n")
        XCTAssertEqual(waited.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(answer?.status, 200, answer?.text ?? "no answer")
        let body = json(answer?.text ?? "")
        XCTAssertEqual(body["met"] as? Bool, true)
        let dispatched = (body["progress"] as? [String: Any])?["dispatched"] as? Int ?? 0
        XCTAssertGreaterThanOrEqual(dispatched, 3)
        XCTAssertLessThan(dispatched, 1000, "answered while the stream still runs, not at its end")

        let timedOut = try http(port: stack.controlPort, "GET", "/clients/w1/wait?reconnected=1&timeout_ms=50")
        XCTAssertEqual(timedOut.status, 408, timedOut.text)
        XCTAssertEqual(json(timedOut.text)["met"] as? Bool, false)
        XCTAssertNotNil(json(timedOut.text)["progress"] as? [String: Any], "says where the client stands")

        let unknown = try http(port: stack.controlPort, "GET", "/clients/nobody/wait?received=1&timeout_ms=10")
        XCTAssertEqual(unknown.status, 408)
        XCTAssertEqual(json(unknown.text)["clients"] as? [String], ["w1"], "lists the clients the ledger knows")
        XCTAssertEqual(try http(port: stack.controlPort, "GET", "/clients/w1/wait").status, 400)
    }

    func testWaitForAReconnectAndForSettled() throws {
        let stack = try Stack()
        XCTAssertEqual(try http(port: stack.controlPort, "POST", "/clients/r1/next",
                                body: #"{"faults": [{"disconnect": {"after_events": 1, "kind": "fin"}}]}"#).status, 201)
        for _ in 0..<2 {
            let s = try TestSocket(port: stack.proxyPort)
            s.send("GET /events?interval_ms=0&heartbeat_ms=0&count=3 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nConnection: close\r\nSputter-Client: r1\r\n\r\n")
            _ = s.readToEnd()
        }
        let reconnected = try http(port: stack.controlPort, "GET", "/clients/r1/wait?reconnected=1&timeout_ms=30000")
        XCTAssertEqual(reconnected.status, 200, reconnected.text)
        let settled = try http(port: stack.controlPort, "GET", "/clients/r1/wait?settled&quiet_ms=20&timeout_ms=30000")
        XCTAssertEqual(settled.status, 200, settled.text)
        let progress = json(settled.text)["progress"] as? [String: Any]
        XCTAssertEqual(progress?["connections"] as? Int, 2)
        XCTAssertEqual(progress?["open_connections"] as? Int, 0)
        XCTAssertEqual(progress?["dispatched"] as? Int, 4, "1 event before the cut, then all 3")
    }
}
