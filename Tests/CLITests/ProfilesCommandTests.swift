import Faults
import Foundation
import Profiles
import XCTest

/// `sputter profiles list|show|check`, run as a process; output compared exactly.
final class ProfilesCommandTests: XCTestCase {
    static let shippedNames = [
        "abrupt-disconnects", "buffering-intermediary", "duplicates-and-reorder", "gateway-restart", "heartbeat-loss",
        "jittery-mobile", "lossy", "malformed-frames", "passthrough", "reconnect-ladder", "retry-chaos", "slow-network",
        "stale-ids", "stall", "stop-with-204", "torn-events",
    ]

    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: temp)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(to: temp.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    // MARK: check

    func testCheckPassesEveryShippedProfile() throws {
        let result = try CLI.run(["profiles", "check", "--profiles", "Profiles"], in: CLI.packageRoot)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertEqual(result.lines, Self.shippedNames.map { "ok Profiles/\($0).yaml (\($0))" })
        XCTAssertEqual(result.stderr, "")
    }

    func testCheckNamedFiles() throws {
        let result = try CLI.run(["profiles", "check", "Profiles/stall.yaml", "Profiles/lossy.yaml"], in: CLI.packageRoot)
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.lines, ["ok Profiles/stall.yaml (stall)", "ok Profiles/lossy.yaml (lossy)"])
    }

    func testCheckReportsFileLineFieldAndMessage() throws {
        try write("bad-duration.yaml", "name: bad-duration\ndescription: d\nfaults:\n  - delay: { latency: 3 parsecs }\n")
        try write("dup-a.yaml", "name: twin\ndescription: first\nfaults: []\n")
        try write("dup-b.yaml", "# the same name again\nname: twin\ndescription: second\nfaults: []\n")
        try write("misspelled.yaml", "name: misspelled\ndescripton: typo\nfaults: []\n")
        try write("unknown-fault.yaml", "name: unknown-fault\ndescription: d\nfaults:\n  - explode: { now: true }\n")
        try write("wrong-type.yaml", "name: wrong-type\ndescription: d\nfaults:\n  - drop: { every_nth: many }\n")
        try write("list-description.yaml", "name: list-description\ndescription: [a, b]\nfaults: []\n")
        let faults = FaultRegistry.standard.names.joined(separator: ", ")
        let expected = [
            "./bad-duration.yaml:4: faults[0].delay.latency: expected a duration such as '250ms' or '2s', found '3 parsecs'",
            "ok ./dup-a.yaml (twin)",
            "./dup-b.yaml:2: name: duplicate profile name 'twin'; already defined at ./dup-a.yaml:1",
            "./list-description.yaml:2: description: expected a description, found a list",
            "./misspelled.yaml:1: description: missing key 'description' in profile",
            "./misspelled.yaml:2: descripton: unknown key 'descripton' in profile; expected one of: name, description, seed, match, faults, attempts, client, terminator",
            "./unknown-fault.yaml:4: faults[0].explode: unknown fault 'explode'; expected one of: \(faults)",
            "./wrong-type.yaml:4: faults[0].drop.every_nth: expected an integer ≥ 1, found 'many'",
        ]
        let result = try CLI.run(["profiles", "check", "--profiles", "."], in: temp)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.lines, expected)
        XCTAssertEqual(result.stderr, "")

        // The same files named one by one: same report, paths as given.
        let named = try CLI.run(
            ["profiles", "check", "bad-duration.yaml", "dup-a.yaml", "dup-b.yaml", "list-description.yaml", "misspelled.yaml",
             "unknown-fault.yaml", "wrong-type.yaml"], in: temp)
        XCTAssertEqual(named.status, 1)
        XCTAssertEqual(named.lines, expected.map { $0.replacingOccurrences(of: "./", with: "") })
    }

    func testCheckReportsEveryErrorOfAFile() throws {
        try write("many.yaml", """
            name: many
            description: several mistakes
            faults:
              - drop: { every_nth: 0 }
              - delay: { latency: 250 }
              - stall: { after_events: 1, after: 2s }
            attempts:
              2: [ { respond: { status: 99 } } ]
            colour: red
            """)
        let result = try CLI.run(["profiles", "check", "many.yaml"], in: temp)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.lines, [
            "many.yaml:4: faults[0].drop.every_nth: expected an integer ≥ 1, found 0",
            "many.yaml:5: faults[1].delay.latency: expected a duration such as '250ms' or '2s', found '250'",
            "many.yaml:6: faults[2].stall.after: stall needs exactly one of: after_events, after_bytes, after, inside_event; found after_events and after",
            "many.yaml:8: attempts.2[0].respond.status: expected an integer from 200 to 599, found 99",
            "many.yaml:9: colour: unknown key 'colour' in profile; expected one of: name, description, seed, match, faults, attempts, client, terminator",
        ])
    }

    func testCheckOneBadFileAmongGoodOnesFails() throws {
        try write("bad.yaml", "name: Bad Name\ndescription: d\nfaults: []\n")
        let bad = temp.appendingPathComponent("bad.yaml").path
        let result = try CLI.run(["profiles", "check", "Profiles/stall.yaml", bad], in: CLI.packageRoot)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.lines, [
            "ok Profiles/stall.yaml (stall)",
            "\(bad):1: name: expected a name of lowercase letters, digits, '-', '_' and '.', starting with a letter or digit; found 'Bad Name'",
        ])
    }

    func testCheckMissingFileAndMissingDirectory() throws {
        let missing = try CLI.run(["profiles", "check", "nothere.yaml"], in: temp)
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.lines, ["nothere.yaml:0: (file): cannot read the file"])

        let noDirectory = try CLI.run(["profiles", "check", "--profiles", "nothere"], in: temp)
        XCTAssertNotEqual(noDirectory.status, 0)
        XCTAssertEqual(noDirectory.errorLines.first, "Error: --profiles 'nothere': not a directory")
    }

    // MARK: schema, catalog

    // The runner may miss the tail of a long output on a busy machine: compare prefixes here;
    // GeneratedFilesTests compares the whole texts in-process.
    func testSchemaIsTheShippedSchemaFile() throws {
        let result = try CLI.run(["profiles", "schema"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let file = try String(contentsOf: CLI.packageRoot.appendingPathComponent("Profiles/profile.schema.json"), encoding: .utf8)
        XCTAssertTrue(result.stdout.hasPrefix("{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\""), result.stdout)
        XCTAssertTrue(file.hasPrefix(result.stdout))
    }

    func testCatalogUpdatesTheMarkedPartOfAPage() throws {
        try write("page.md", "# Title\n\nbefore\n\(FaultCatalogDocs.begin)\nold text\n\(FaultCatalogDocs.end)\nafter\n")
        let result = try CLI.run(["profiles", "catalog", "--update", "page.md"], in: temp)
        XCTAssertEqual(result.status, 0, result.stderr)
        let page = try String(contentsOf: temp.appendingPathComponent("page.md"), encoding: .utf8)
        let catalog = FaultCatalogDocs.markdown()
        XCTAssertEqual(page, "# Title\n\nbefore\n\(FaultCatalogDocs.begin)\n\(catalog)\(FaultCatalogDocs.end)\nafter\n")
        for name in FaultRegistry.standard.names { XCTAssertTrue(page.contains("\n### \(name) — "), name) }

        let printed = try CLI.run(["profiles", "catalog"])
        XCTAssertEqual(printed.status, 0, printed.stderr)
        XCTAssertTrue(printed.stdout.hasPrefix("### delay — "), printed.stdout)
        XCTAssertTrue(catalog.hasPrefix(printed.stdout))

        try write("plain.md", "no markers\n")
        let unmarked = try CLI.run(["profiles", "catalog", "--update", "plain.md"], in: temp)
        XCTAssertNotEqual(unmarked.status, 0)
        XCTAssertTrue(unmarked.stderr.contains("--update 'plain.md': no catalog markers"), unmarked.stderr)
    }

    // MARK: list

    func testListShowsEveryShippedProfileWithItsFirstSentence() throws {
        // From an unrelated directory: the shipped Profiles/ is found beside the executable's checkout.
        let result = try CLI.run(["profiles", "list"], in: temp)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.lines.count, 16)
        XCTAssertEqual(result.lines.map { String($0.prefix { $0 != " " }) }, Self.shippedNames)
        XCTAssertTrue(result.lines.contains(
            "passthrough             No faults: the stream is relayed byte for byte."))
        XCTAssertTrue(result.lines.contains(
            "heartbeat-loss          Keep-alive comments (\": ping\") are swallowed by an intermediary while events still flow."))
    }

    func testListOfAnotherDirectoryAddsBuiltInPassthrough() throws {
        try write("one.yaml", "name: one\ndescription: >\n  First sentence here.\n  Second one.\nfaults: []\n")
        let result = try CLI.run(["profiles", "list", "--profiles", temp.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, """
            one          First sentence here.
            passthrough  Relays the stream byte for byte; no faults.

            """)
    }

    // MARK: show

    func testShowReconnectLadder() throws {
        let result = try CLI.run(["profiles", "show", "reconnect-ladder", "--profiles", "Profiles"], in: CLI.packageRoot)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, """
            name:   reconnect-ladder
            file:   Profiles/reconnect-ladder.yaml
            seed:   (none: --seed, Sputter-Seed or the start-up seed)
            match:  any request

              A bad minute in production, attempt by attempt: attempt 1 is reset after 3 events, attempt 2
              gets 503 with Retry-After 1, attempt 3 and later are clean. A spec-exact EventSource stops at
              the 503 (any non-200 fails the connection); a well-behaved client with its own retry logic
              honours Retry-After, reconnects with Last-Event-ID, and resumes without losing or repeating
              events.

            attempt 1:
              - disconnect: trigger: after 3 events, kind: rst
            attempt 2:
              - respond: status: 503, retry_after: "1"
            default (attempt 3 and later):
              (no faults: relayed as is)

            """)
    }

    func testShowBodyMatch() throws {
        try write("mcp.yaml", """
            name: mcp
            description: Tool calls only.
            match: { method: POST, jsonrpc_method: "tools/*", json: { params.name: search, stream: true } }
            faults: []
            """)
        let result = try CLI.run(["profiles", "show", "mcp", "--profiles", "."], in: temp)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("match:  method POST, JSON-RPC method tools/*, JSON params.name \"search\", JSON stream true\n"),
                      result.stdout)
    }

    func testShowSelectorProbabilityAndMatch() throws {
        try write("picky.yaml", """
            name: picky
            description: Only some events.
            seed: 42
            match: { path: "/events*", method: GET }
            faults:
              - drop: { probability: 0.25, select: { types: [tick], event_index: { from: 2 } } }
              - delay: { latency: 1500ms, jitter: { distribution: uniform, min: 10ms, max: 20ms } }
            """)
        let result = try CLI.run(["profiles", "show", "picky", "--profiles", "."], in: temp)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, """
            name:   picky
            file:   ./picky.yaml
            seed:   42
            match:  method GET, path /events*

              Only some events.

            every attempt:
              - drop; select: types tick, event_index [2…]; probability 0.25
              - delay: latency: 1500ms, jitter: uniform(min: 10ms, max: 20ms)

            """)
    }

    func testShowUnknownProfileNamesTheKnownOnes() throws {
        let result = try CLI.run(["profiles", "show", "nope"], in: temp)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "")
        XCTAssertEqual(
            result.errorLines.first,
            "Error: unknown profile 'nope'; known profiles: \(Self.shippedNames.joined(separator: ", "))")
    }

    func testHelpListsTheCommands() throws {
        let result = try CLI.run(["--help"])
        XCTAssertEqual(result.status, 0)
        for command in ["serve", "demo-origin", "demo", "profiles"] {
            XCTAssertTrue(
                result.stdout.contains("\n  \(command) "), "--help does not list \(command):\n\(result.stdout)")
        }
        let profiles = try CLI.run(["profiles", "--help"])
        XCTAssertEqual(profiles.status, 0)
        for command in ["list", "show", "check", "schema", "catalog"] {
            XCTAssertTrue(profiles.stdout.contains("\n  \(command) "), "profiles --help does not list \(command)")
        }
    }
}
