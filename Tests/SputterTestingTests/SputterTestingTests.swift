import Faults
import Foundation
import SputterTesting
import XCTest

/// The in-process library as a Swift test suite would use it.
final class SputterTestingTests: XCTestCase {
    func read(_ url: String, headers: [String] = []) throws -> String {
        // URLSession is not needed: a plain blocking read of the whole (finite) stream.
        guard let u = URL(string: url), let host = u.host, let port = u.port else { throw URLError(.badURL) }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr(host)
        _ = withUnsafePointer(to: &addr) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let target = u.path + (u.query.map { "?" + $0 } ?? "")
        let request = "GET \(target) HTTP/1.1\r\nHost: \(host)\r\nAccept: text/event-stream\r\nConnection: close\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    func testLedgerAsValues() throws {
        let origin = try DemoOriginInstance.start()
        defer { origin.stop() }
        let sputter = try SputterInstance.start(upstream: origin.url, profiles: [
            Profile(name: "drop-3rd", faults: [FaultSpec(.drop(DropFault(everyNth: 3)))]),
        ])
        defer { sputter.stop() }
        let text = try read(sputter.url("/events?interval_ms=1&heartbeat_ms=0&count=6", profile: "drop-3rd", client: "swift-test"))
        XCTAssertTrue(text.contains("id: 5\n"))
        XCTAssertFalse(text.contains("id: 3\n"))
        let summary = sputter.waitUntilSettled("swift-test")?.summary
        XCTAssertEqual(summary?.expected, 6)
        XCTAssertEqual(summary?.missingIDs, ["3", "6"])
        XCTAssertEqual(sputter.findings("swift-test").map(\.kind), [.missing])
        sputter.reset()
        XCTAssertTrue(sputter.clients().isEmpty)
    }

    /// A test drives faults as it goes: a runtime profile, a 503 queued for the next attempt, waits.
    func testRuntimeProfileNextAttemptAndWait() throws {
        let origin = try DemoOriginInstance.start()
        defer { origin.stop() }
        let sputter = try SputterInstance.start(upstream: origin.url)
        defer { sputter.stop() }
        try sputter.defineProfile(yaml: "name: cut-2\ndescription: reset after two events\nfaults: [ { disconnect: { after_events: 2, kind: rst } } ]\n")
        XCTAssertThrowsError(try sputter.defineProfile(yaml: "name: bad\ndescription: x\nfaults: [ { drop: { probability: 9 } } ]\n")) {
            XCTAssertEqual(($0 as? ProfileError)?.line, 3)
        }
        let cut = try read(sputter.url("/events?interval_ms=0&heartbeat_ms=0&count=9", profile: "cut-2", client: "live"))
        XCTAssertTrue(cut.contains("id: 2\n") && !cut.contains("id: 3\n"), cut)
        XCTAssertEqual(sputter.wait("live", until: .received(2))?.dispatched, 2)

        XCTAssertEqual(sputter.next("live", faults: [FaultSpec(.respond(RespondFault(status: 503)))]), 1)
        XCTAssertTrue(try read(sputter.url("/events?count=3", client: "live")).hasPrefix("HTTP/1.1 503"))
        XCTAssertEqual(sputter.wait("live", until: .reconnected(1))?.connections, 2)
        let settled = sputter.wait("live", until: .settled(quietMs: 20))
        XCTAssertEqual(settled?.openConnections, 0)
        XCTAssertNil(sputter.wait("live", until: .reconnected(5), timeout: 0.05), "a condition that does not come times out")
        XCTAssertEqual(sputter.client("live")?.connections.map(\.profile), ["cut-2", "passthrough+next"])
        try sputter.deleteProfile("cut-2")
        XCTAssertThrowsError(try sputter.deleteProfile("cut-2"))
    }

    /// A full `ProxyConfig`; what reached the origin; the connection counters; a graceful shutdown.
    func testConfigurationOriginRequestsAndShutdown() throws {
        let origin = try DemoOriginInstance.start()
        defer { origin.stop() }
        var config = ProxyConfig()
        config.routes = [try ProxyConfig.Route(parsing: origin.url)]
        config.profiles = ProfileLibrary(profiles: [.passthrough, Profile(name: "seeded", seed: 11)])
        config.profile = "seeded"
        let sputter = try SputterInstance.start(configuration: config)
        defer { sputter.stop() }
        XCTAssertNotEqual(sputter.port, 0)
        XCTAssertEqual(sputter.controlURL, "http://127.0.0.1:\(sputter.controlPort)")

        let text = try read(sputter.url("/events?interval_ms=0&heartbeat_ms=0&count=4", client: "resumer"), headers: ["Last-Event-ID: 2"])
        XCTAssertTrue(text.contains("id: 4\n") && !text.contains("id: 2\n"), text)
        let report = try XCTUnwrap(sputter.waitUntilSettled("resumer"))
        XCTAssertEqual(report.connections.map(\.profile), ["seeded"])
        XCTAssertEqual(report.connections.map(\.seed), [11], "the profile's own seed")
        let seen = origin.requests()
        XCTAssertEqual(seen.map(\.path), ["/events"], "Sputter's parameters are gone")
        XCTAssertEqual(seen.map(\.lastEventID), ["2"], "Last-Event-ID passed on")
        XCTAssertEqual(sputter.acceptedConnections, 1)
        XCTAssertEqual(sputter.openConnections, 0)

        let done = DispatchSemaphore(value: 0)
        sputter.shutdown { done.signal() }
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success)
        XCTAssertEqual(try read(sputter.url("/json")), "", "no longer accepting")
    }

    /// The README's "From a Swift test suite" example, with a small reconnecting client as the client under
    /// test: it resumes with `Last-Event-ID` after each cut (`retry=0`: the stream asks for no wait).
    func testReadmeExample() throws {
        let profiles = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Profiles").path
        let origin = try DemoOriginInstance.start()            // or your own backend's URL
        let sputter = try SputterInstance.start(upstream: origin.url, profilesDirectory: profiles)
        defer { sputter.stop(); origin.stop() }
        let url = sputter.url("/events?count=12&interval_ms=5&heartbeat_ms=0&retry=0", profile: "abrupt-disconnects", client: "test-1")
        var lastID: String?
        var attempts = 0
        while lastID != "12", attempts < 10 {
            attempts += 1
            let text = try read(url, headers: lastID.map { ["Last-Event-ID: \($0)"] } ?? [])
            lastID = text.split { $0 == "\n" || $0 == "\r\n" }.last { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) } ?? lastID
        }
        XCTAssertEqual(attempts, 3, "abrupt-disconnects resets every connection after 5 events")
        XCTAssertEqual(sputter.waitUntilSettled("test-1", connections: 3)?.summary.missingIDs, [])
        XCTAssertTrue(sputter.findings("test-1").isEmpty, "\(sputter.findings("test-1"))")
    }
}
