import Faults
import Foundation
import Profiles
import Proxy
import XCTest

/// How a request gets its profile: header, query parameter, control API, --profile; and the control API itself.
final class SelectionTests: XCTestCase {
    static let library = ProfileLibrary(profiles: [
        .passthrough,
        Profile(name: "drop-all", faults: [FaultSpec(.drop(DropFault()))]),
        Profile(name: "status-418", faults: [FaultSpec(.respond(RespondFault(status: 418)))]),
        Profile(name: "events-only", match: ProfileMatch(path: Glob("/events*")), faults: [FaultSpec(.respond(RespondFault(status: 503)))]),
    ])

    func stack(_ configure: @escaping (inout ProxyConfig) -> Void = { _ in }) throws -> Stack {
        try Stack { config, _ in
            config.profiles = Self.library
            configure(&config)
        }
    }

    func status(_ stack: Stack, _ target: String, headers: [String] = []) throws -> Int {
        try http(port: stack.proxyPort, "GET", target, headers: headers).status
    }

    func testHeaderThenQueryThenControlThenFlag() throws {
        let stack = try stack { $0.profile = "status-418" }
        XCTAssertEqual(try status(stack, "/json"), 418, "--profile applies when nothing else does")
        XCTAssertEqual(try http(port: stack.controlPort, "PUT", "/settings", body: #"{"profile":"passthrough"}"#).status, 200)
        XCTAssertEqual(try status(stack, "/json"), 200, "the control API's default beats --profile")
        XCTAssertEqual(try status(stack, "/json?sputter_profile=status-418"), 418, "the query parameter beats the control API")
        XCTAssertEqual(try status(stack, "/json?sputter_profile=passthrough", headers: ["Sputter-Profile: status-418"]), 418, "the header beats the query parameter")
        XCTAssertEqual(try http(port: stack.controlPort, "PUT", "/settings", body: #"{"profile":null}"#).status, 200)
        XCTAssertEqual(try status(stack, "/json"), 418, "clearing the runtime default falls back to --profile")
        // What reached the origin carried none of Sputter's controls.
        let seen = stack.seenByOrigin()
        XCTAssertEqual(seen.map(\.path), ["/json"])
    }

    func testLockProfileIgnoresRequestSelection() throws {
        let stack = try stack { $0.lockProfile = true; $0.profile = "status-418" }
        XCTAssertEqual(try status(stack, "/json?sputter_profile=passthrough", headers: ["Sputter-Profile: passthrough"]), 418)
        XCTAssertEqual(try status(stack, "/json", headers: ["Sputter-Profile: no-such-profile"]), 418, "locked: an unknown name is ignored too")
    }

    func testProfileMatchLimitsWhereItApplies() throws {
        let stack = try stack { $0.profile = "events-only" }
        XCTAssertEqual(try status(stack, "/json"), 200)
        XCTAssertEqual(try status(stack, "/events?count=1"), 503)
    }

    func testControlAPIListsProfilesAndRejectsBadSettings() throws {
        let stack = try stack()
        let list = try http(port: stack.controlPort, "GET", "/profiles")
        XCTAssertEqual(list.status, 200)
        let object = try JSONSerialization.jsonObject(with: Data(list.text.utf8)) as? [String: Any]
        let names = (object?["profiles"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        XCTAssertEqual(names, ["drop-all", "events-only", "passthrough", "status-418"])
        let bad = try http(port: stack.controlPort, "PUT", "/settings", body: #"{"profile":"nope"}"#)
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.text.contains("known profiles: drop-all, events-only, passthrough, status-418"), bad.text)
        XCTAssertEqual(try http(port: stack.controlPort, "PUT", "/settings", body: #"{"seed":"x"}"#).status, 400)
        XCTAssertEqual(try http(port: stack.controlPort, "PUT", "/settings", body: "not json").status, 400)
        let ok = try http(port: stack.controlPort, "PUT", "/settings", body: #"{"profile":"drop-all","seed":42}"#)
        XCTAssertEqual(ok.status, 200)
        XCTAssertTrue(ok.text.contains(#""effective_seed":42"#), ok.text)
        XCTAssertEqual(try http(port: stack.controlPort, "GET", "/nope").status, 404)
    }

    /// `GET /settings`'s `effective_seed` is the seed a request naming none really gets: the profile's own
    /// seed counts (it did not: the control API had its own copy of the rule, without it).
    func testEffectiveSeedIsTheSeedAStreamGets() throws {
        let seeded = Profile(name: "seeded", seed: 99, faults: [FaultSpec(.drop(DropFault(everyNth: 1000)))])
        func settingsSeed(_ stack: Stack) throws -> UInt64? {
            let r = try http(port: stack.controlPort, "GET", "/settings")
            let object = try JSONSerialization.jsonObject(with: Data(r.text.utf8)) as? [String: Any]
            return (object?["effective_seed"] as? NSNumber)?.uint64Value
        }
        func streamSeed(_ stack: Stack, client: String) throws -> UInt64? {
            XCTAssertEqual(try http(port: stack.proxyPort, "GET", "/events?interval_ms=1&heartbeat_ms=0&count=2&sputter_client=\(client)",
                                    headers: ["Accept: text/event-stream"]).status, 200)
            let r = try http(port: stack.controlPort, "GET", "/clients/\(client)")
            let object = try JSONSerialization.jsonObject(with: Data(r.text.utf8)) as? [String: Any]
            let connections = object?["connections"] as? [[String: Any]]
            return (connections?.first?["seed"] as? NSNumber)?.uint64Value
        }

        let byProfile = try stack {
            $0.profiles = ProfileLibrary(profiles: [.passthrough, seeded])
            $0.profile = "seeded"
        }
        XCTAssertEqual(try settingsSeed(byProfile), 99, "the profile's own seed, as no other seed is set")
        XCTAssertEqual(try streamSeed(byProfile, client: "a"), 99)
        XCTAssertEqual(try http(port: byProfile.controlPort, "PUT", "/settings", body: #"{"seed":5}"#).status, 200)
        XCTAssertEqual(try settingsSeed(byProfile), 5, "the control API's seed beats the profile's")
        XCTAssertEqual(try streamSeed(byProfile, client: "b"), 5)

        let byFlag = try stack {
            $0.profiles = ProfileLibrary(profiles: [.passthrough, seeded])
            $0.profile = "seeded"
            $0.seed = 3
        }
        XCTAssertEqual(try settingsSeed(byFlag), 3, "--seed beats the profile's")
        XCTAssertEqual(try streamSeed(byFlag, client: "c"), 3)
    }

    func testBadSeedIs400() throws {
        let stack = try stack()
        let r = try http(port: stack.proxyPort, "GET", "/json?sputter_seed=abc")
        XCTAssertEqual(r.status, 400)
        XCTAssertTrue(r.text.contains("seed 'abc'"), r.text)
    }

    func testReloadReadsTheDirectoryAgainAndKeepsTheOldSetOnErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "name: first\ndescription: one\nfaults: []\n".write(to: dir.appendingPathComponent("first.yaml"), atomically: true, encoding: .utf8)
        let stack = try Stack { config, _ in
            config.profilesDirectory = dir.path
            config.profiles = try! ProxyServer.loadProfiles(directory: dir.path)
        }
        try "name: second\ndescription: two\nfaults: []\n".write(to: dir.appendingPathComponent("second.yaml"), atomically: true, encoding: .utf8)
        let reload = try http(port: stack.controlPort, "POST", "/profiles/reload")
        XCTAssertEqual(reload.status, 200)
        XCTAssertTrue(reload.text.contains("second"), reload.text)
        XCTAssertEqual(try status(stack, "/json?sputter_profile=second"), 200)
        try "name: broken\nfaults: [ { nosuchfault: {} } ]\n".write(to: dir.appendingPathComponent("broken.yaml"), atomically: true, encoding: .utf8)
        let failed = try http(port: stack.controlPort, "POST", "/profiles/reload")
        XCTAssertEqual(failed.status, 400)
        XCTAssertTrue(failed.text.contains("broken.yaml"), failed.text)
        XCTAssertEqual(try status(stack, "/json?sputter_profile=second"), 200, "the previous set stays in force")
    }
}
