import Faults
import SSE
import Foundation
import Testing

@testable import Profiles

/// The repository's `Profiles/` directory.
let shippedDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("Profiles").path
}()

/// Every fault name, as errors list them.
let faultNames = Fault.names.joined(separator: ", ")

func parse(_ yaml: String) throws(ProfileError) -> Profile {
    try ProfileLibrary.parse(yaml: yaml, file: "broken.yaml")
}

/// The error `yaml` gives, as `file:line: field: message`.
func errorOf(_ yaml: String) -> String {
    do {
        _ = try parse(yaml)
        return "no error"
    } catch {
        return error.description
    }
}

@Suite struct ShippedProfileTests {
    static let expected = [
        "abrupt-disconnects", "buffering-intermediary", "duplicates-and-reorder", "gateway-restart", "heartbeat-loss",
        "jittery-mobile", "lossy", "malformed-frames", "passthrough", "reconnect-ladder", "retry-chaos", "slow-network",
        "stale-ids", "stall", "stop-with-204", "torn-events",
    ]

    @Test func everyShippedProfileValidates() throws {
        let library = try ProfileLibrary.load(directory: shippedDirectory)
        #expect(library.names == Self.expected)
        for p in library.all {
            #expect(p.description.count > 80, "\(p.name) needs a real description")
            #expect(p.file?.hasSuffix("/\(p.name).yaml") == true, "\(p.name) lives in \(p.name).yaml")
        }
    }

    @Test func reconnectLadderIsPerAttempt() throws {
        let p = try #require(try ProfileLibrary.load(directory: shippedDirectory)["reconnect-ladder"])
        #expect(p.faults(forAttempt: 1) == [FaultSpec(.disconnect(DisconnectFault(.afterEvents(3), kind: .rst)))])
        #expect(p.faults(forAttempt: 2) == [FaultSpec(.respond(RespondFault(status: 503, retryAfter: "1")))])
        #expect(p.faults(forAttempt: 3) == [])
        #expect(p.faults(forAttempt: 9) == [])
        var plan2 = FaultPlan(faults: p.faults(forAttempt: 2), context: ConnectionContext(clientKey: "k", attempt: 2))
        guard case .respond(let r, _) = plan2.request(now: 0) else { Issue.record("expected 503"); return }
        #expect(r.status == 503)
    }

    @Test func abruptDisconnectsIsExact() throws {
        let p = try #require(try ProfileLibrary.load(directory: shippedDirectory)["abrupt-disconnects"])
        #expect(p.faults == [FaultSpec(.disconnect(DisconnectFault(.afterEvents(5), kind: .rst)))])
    }

    @Test func passthroughMatchesTheBuiltIn() throws {
        let p = try #require(try ProfileLibrary.load(directory: shippedDirectory)["passthrough"])
        #expect(p.faults.isEmpty)
        #expect(FaultPlan(faults: p.faults(forAttempt: 1), context: ConnectionContext(clientKey: "k")).isPassthrough)
        #expect(Profile.passthrough.faults.isEmpty)
    }
}

@Suite struct ProfileParsingTests {
    @Test func fullExample() throws {
        let p = try parse(
            """
            name: demo
            description: d
            seed: 18446744073709551615
            match: { path: "/events*", method: GET }
            faults:
              - delay:
                  latency: 120ms
                  jitter: { distribution: normal, mean: -5ms, sigma: 30ms }
                  probability: 0.5
                  select: { kinds: [event, comment], types: tick, id: "a-*", id_range: { from: 1, to: 9 } }
              - refuse
              - strip_ids:
            attempts:
              2: [ { respond: { status: 429, retry_after: 3, headers: { X-A: b } } } ]
            """)
        #expect(p.seed == UInt64.max)
        #expect(p.match?.matches(method: "GET", path: "/events/x") == true)
        #expect(p.match?.matches(method: "POST", path: "/events/x") == false)
        #expect(p.faults.count == 3)
        let d = p.faults[0]
        #expect(d.probability == 0.5)
        #expect(d.fault == .delay(DelayFault(latency: 120_000_000, jitter: .normal(mean: -5e6, sigma: 3e7))))
        #expect(d.selector.kinds == [.event, .commentOnly])
        #expect(d.selector.eventTypes == ["tick"])
        #expect(d.selector.id == Glob("a-*"))
        #expect(d.selector.idRange == IntRange(from: 1, to: 9))
        #expect(p.faults[1].fault == .refuse(RefuseFault()))
        #expect(p.faults(forAttempt: 1).count == 3)
        #expect(
            p.faults(forAttempt: 2) == [
                FaultSpec(.respond(RespondFault(status: 429, retryAfter: "3", headers: [HeaderField(name: "X-A", value: "b")])))
            ])
    }

    @Test func jsonIsAccepted() throws {
        let p = try parse(#"{"name": "j", "description": "x", "faults": [{"disconnect": {"after_bytes": 100, "kind": "fin"}}]}"#)
        #expect(p.faults == [FaultSpec(.disconnect(DisconnectFault(.afterBytes(100), kind: .fin)))])
    }

    @Test(arguments: [
        ("delay: { latency: 1.5s }", Fault.delay(DelayFault(latency: 1_500_000_000))),
        ("delay: { first_byte: 250us, connect: 2m }", .delay(DelayFault(firstByte: 250_000, connect: 120_000_000_000))),
        ("delay: { jitter: { distribution: pareto, scale: 5ms, shape: 1.2 } }",
            .delay(DelayFault(jitter: .pareto(scale: 5_000_000, shape: 1.2, cap: 60_000_000_000)))),
        ("delay: { jitter: { distribution: uniform, max: 40ms } }", .delay(DelayFault(jitter: .uniform(min: 0, max: 40_000_000)))),
        ("buffer: { every: 2s }", .buffer(BufferFault(release: .every(2_000_000_000)))),
        ("buffer: { every_bytes: 4096 }", .buffer(BufferFault(release: .everyBytes(4096)))),
        ("buffer: { until_end: true }", .buffer(BufferFault(release: .atEnd))),
        ("throttle: { slice_bytes: 1, pause: 20ms }", .throttle(ThrottleFault(.drip(bytes: 1, pause: 20_000_000)))),
        ("drop: { every_nth: 3 }", .drop(DropFault(everyNth: 3))),
        ("duplicate: { copies: 2 }", .duplicate(DuplicateFault(copies: 2))),
        ("reorder: { distance: 3 }", .reorder(ReorderFault(distance: 3))),
        ("corrupt: { mode: truncate, at_byte: 17, terminate: true }", .corrupt(CorruptFault(.truncate(.atByte(17), terminate: true)))),
        ("corrupt: { mode: mangle_field, to: dta }", .corrupt(CorruptFault(.mangleField(field: "data", to: "dta")))),
        ("corrupt: { mode: invalid_utf8, bytes: [255, 254] }", .corrupt(CorruptFault(.invalidUTF8(bytes: [255, 254])))),
        ("corrupt: { mode: line_ends, to: mixed }", .corrupt(CorruptFault(.lineEnds(.mixed)))),
        ("corrupt: { mode: oversized }", .corrupt(CorruptFault(.oversized(bytes: 1 << 20)))),
        ("rewrite_ids: { offset: -5 }", .rewriteIDs(RewriteIDsFault(.offset(-5)))),
        ("rewrite_ids: { append_nul: true }", .rewriteIDs(RewriteIDsFault(.appendNUL))),
        ("retry: { value: 99999999999999, inject: false }", .retry(RetryFault(value: "99999999999999", inject: false))),
        ("last_event_id: { set: \"0\" }", .lastEventID(LastEventIDFault(.set("0")))),
        ("disconnect: { inside_event: 2, at_byte: 5, kind: half_close }",
            .disconnect(DisconnectFault(.insideEvent(2, atByte: 5), kind: .halfClose))),
        ("disconnect: { after: 30s }", .disconnect(DisconnectFault(.after(30_000_000_000)))),
        ("stall: { after_bytes: 10, duration: 5s }", .stall(StallFault(.afterBytes(10), duration: 5_000_000_000))),
        ("respond: { status: 200, keep_open: true, slow_headers: { slice_bytes: 1, pause: 100ms } }",
            .respond(RespondFault(status: 200, keepOpen: true, slowHeaders: .init(bytes: 1, pause: 100_000_000)))),
        ("content_type: { remove: true }", .contentType(ContentTypeFault(.remove))),
    ])
    func eachFaultShape(_ yaml: String, _ fault: Fault) throws {
        let p = try parse("name: x\ndescription: y\nfaults:\n  - \(yaml)\n")
        #expect(p.faults.map(\.fault) == [fault])
    }

    @Test(arguments: [
        // unknown key, with the allowed ones listed
        ("faults:\n  - disconnect: { afer_events: 3 }",
            "broken.yaml:4: faults[0].disconnect.afer_events: unknown key 'afer_events' in disconnect; expected one of: after_events, after_bytes, after, inside_event, at_byte, kind, select, probability"),
        // the example from the issue: a bad nested value
        ("faults:\n  - drop: {}\n  - delay:\n      jitter: { distribution: lognormal, median: 20ms, sigma: -1 }",
            "broken.yaml:6: faults[1].delay.jitter.sigma: expected a positive number (the spread of ln(delay)), found -1"),
        ("faults:\n  - delay: { latency: 250 }",
            "broken.yaml:4: faults[0].delay.latency: expected a duration such as '250ms' or '2s', found '250'"),
        ("faults:\n  - drop: { probability: 1.5 }",
            "broken.yaml:4: faults[0].drop.probability: expected a probability from 0 to 1, found 1.5"),
        ("faults:\n  - explode: {}",
            "broken.yaml:4: faults[0].explode: unknown fault 'explode'; expected one of: \(faultNames)"),
        ("faults:\n  - respond: { status: 99 }",
            "broken.yaml:4: faults[0].respond.status: expected an integer from 200 to 599, found 99"),
        ("faults:\n  - respond: { retry_after: 1 }",
            "broken.yaml:4: faults[0].respond.status: missing key 'status' in respond"),
        ("faults:\n  - buffer: { every_events: 2, every: 1s }",
            "broken.yaml:4: faults[0].buffer.every: buffer needs exactly one of: every_events, every_bytes, every, until_end; found every_events and every"),
        ("faults:\n  - disconnect: { kind: rst }",
            "broken.yaml:4: faults[0].disconnect: disconnect needs exactly one of: after_events, after_bytes, after, inside_event; found none"),
        ("faults:\n  - disconnect: { after_events: 3, kind: reset }",
            "broken.yaml:4: faults[0].disconnect.kind: expected one of: rst, fin, half_close; found 'reset'"),
        ("faults:\n  - drop: { select: { kinds: [heartbeat] } }",
            "broken.yaml:4: faults[0].drop.select.kinds[0]: expected one of: event, fields, comment, blank; found 'heartbeat'"),
        ("faults:\n  - drop: { select: { event_index: { from: 5, to: 2 } } }",
            "broken.yaml:4: faults[0].drop.select.event_index.to: expected 'to' ≥ 'from' (5), found 2"),
        ("faults:\n  - corrupt: { mode: truncate }",
            "broken.yaml:4: faults[0].corrupt: corrupt (mode truncate) needs exactly one of: at_byte, fraction; found none"),
        ("faults:\n  - corrupt: { mode: bom, length: 3 }",
            "broken.yaml:4: faults[0].corrupt.length: unknown key 'length' in corrupt (mode bom); expected one of: mode, select, probability"),
        ("faults:\n  - corrupt: { mode: shred }",
            "broken.yaml:4: faults[0].corrupt.mode: expected one of: truncate, remove_terminator, mangle_field, invalid_utf8, break_json, line_ends, bom, oversized, garbage, nul_comment; found 'shred'"),
        ("faults:\n  - { drop: {}, duplicate: {} }",
            "broken.yaml:4: faults[0]: expected one fault per list entry (one of: \(faultNames)), found 2 keys: drop, duplicate"),
        ("faults: { drop: {} }", "broken.yaml:3: faults: expected a list of faults, found a mapping"),
        ("faults: []\nattempts:\n  first: []", "broken.yaml:5: attempts.first: expected an attempt number (1, 2, …) or 'default' as key in attempts, found 'first'"),
        ("faults: []\nattempts:\n  2: [ { respond: { status: 503, retry_after: [1] } } ]",
            "broken.yaml:5: attempts.2[0].respond.retry_after: expected seconds or an HTTP date, found a list"),
        ("faults: []\ncolour: red", "broken.yaml:4: colour: unknown key 'colour' in profile; expected one of: name, description, seed, match, faults, attempts, client, terminator"),
        ("faults: []\nseed: -1", "broken.yaml:4: seed: expected an integer from 0 to 18446744073709551615, found '-1'"),
        ("faults:\n  - drop: { every_nth: 0 }", "broken.yaml:4: faults[0].drop.every_nth: expected an integer ≥ 1, found 0"),
        ("faults:\n  - drop: { heartbeats_only: yes please }", "broken.yaml:4: faults[0].drop.heartbeats_only: expected true or false, found 'yes please'"),
        ("faults: []\nfaults: []", "broken.yaml:3: (yaml): duplicate key 'faults' in one mapping; each key may appear once"),
        ("faults: []\nfaults: []\nseed: 1\nseed: 2", "broken.yaml:3: (yaml): duplicate key 'faults', 'seed' in one mapping; each key may appear once"),
        // Fuzz finding (profile target): a null key and an empty string key are one key to us, two to Yams; the
        // error named no field.
        ("faults: []\n?\n: 1\n'': 2", "broken.yaml:6: (empty key): duplicate key '' in a profile"),
        // Fuzz finding (profile target): with a key that is a list, Yams' order of the duplicates and its line
        // depended on hashing, so the same file gave different errors from run to run.
        ("? [a]\n: 1\n? [a]\n: 2\nb: 1\nb: 2\nc: 1\nc: 2",
            "broken.yaml:0: (yaml): duplicate key 'b', 'c', (a key that is a list or mapping) in one mapping; each key may appear once"),
        // Fuzz finding (profile target): two different keys with one text ('' and a null key) tie in Yams'
        // order, so the line it named changed from run to run.
        ("'': 1\n'': 2\n?\n: 3\n?\n: 4\nfaults: []", "broken.yaml:0: (yaml): duplicate key '' in one mapping; each key may appear once"),
        ("faults: [", "broken.yaml:4: (yaml): invalid YAML: did not find expected node content while parsing a flow node"),
        // Fuzz finding (profile target): YAML 1.1 also breaks lines at NEL, LS and PS, editors do not; the
        // error was named at YAML's line, past the one to fix.
        ("seed: 1 # a\u{85}\n# b\u{2028}\u{2029}\nfaults:\n  - drop: { every_nth: 0 }",
            "broken.yaml:6: faults[0].drop.every_nth: expected an integer ≥ 1, found 0"),
        ("seed: 1 # \u{2029}\nfaults: [", "broken.yaml:5: (yaml): invalid YAML: did not find expected node content while parsing a flow node"),
        ("seed: 1 # \u{85}\r\nfaults: []\r\nclient: nobody", "broken.yaml:5: client: unknown client contract 'nobody'; expected one of: eventsource, resume, once"),
    ])
    func brokenFilesNameFileLineAndField(_ body: String, _ message: String) {
        #expect(errorOf("name: broken\ndescription: d\n" + body) == message)
    }

    @Test func topLevelErrors() {
        #expect(errorOf("") == "broken.yaml:1: (document): expected a mapping with name, description and faults, found an empty file")
        #expect(errorOf("- a") == "broken.yaml:1: (document): expected a mapping with name, description and faults, found a list")
        #expect(errorOf("description: d\nfaults: []") == "broken.yaml:1: name: missing key 'name' in profile")
        #expect(errorOf("name: Bad Name\ndescription: d\nfaults: []") == "broken.yaml:1: name: expected a name of lowercase letters, digits, '-', '_' and '.', starting with a letter or digit; found 'Bad Name'")
        #expect(errorOf("name: x\ndescription: d") == "broken.yaml:1: faults: a profile needs 'faults', 'attempts' or both (use 'faults: []' for none)")
    }

    @Test func heartbeatsOnlyConflictsWithKinds() {
        #expect(errorOf("name: x\ndescription: d\nfaults:\n  - drop: { heartbeats_only: true, select: { kinds: [event] } }")
            == "broken.yaml:4: faults[0].drop.heartbeats_only: heartbeats_only and select.kinds both choose frame kinds; keep one")
    }
}

@Suite struct ProfileDirectoryTests {
    func tempDirectory(_ files: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-profiles-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        return dir
    }

    @Test func loadCollectsAllErrorsAndDuplicateNames() throws {
        let dir = try tempDirectory([
            "a.yaml": "name: one\ndescription: d\nfaults: []\n",
            "b.yml": "description: d\nname: one\nfaults: []\n",
            "c.json": #"{"name": "two", "description": "d", "faults": [{"drop": {"every_nth": "x"}}]}"#,
            "profile.schema.json": "{ not a profile }",
            "notes.txt": "ignored",
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            _ = try ProfileLibrary.load(directory: dir)
            Issue.record("expected errors")
        } catch let e as ProfileLoadError {
            #expect(e.description == """
                \(dir)/b.yml:2: name: duplicate profile name 'one'; already defined at \(dir)/a.yaml:1
                \(dir)/c.json:1: faults[0].drop.every_nth: expected an integer ≥ 1, found 'x'
                """)
        }
    }

    @Test func loadsAValidDirectory() throws {
        let dir = try tempDirectory([
            "a.yaml": "name: one\ndescription: d\nfaults: [ refuse ]\n",
            "b.json": #"{"name": "two", "description": "d", "faults": []}"#,
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lib = try ProfileLibrary.load(directory: dir)
        #expect(lib.names == ["one", "two"])
        #expect(lib["one"]?.faults == [FaultSpec(.refuse(RefuseFault()))])
        #expect(lib["three"] == nil)
    }
}

@Suite struct ProfileDeterminismTests {
    func decisions(_ profile: Profile, seed: UInt64) -> ([Emission], [FaultRecord]) {
        var plan = FaultPlan(
            faults: profile.faults(forAttempt: 1), context: ConnectionContext(clientKey: "client-1", attempt: 1, seed: seed))
        var out: [Emission] = []
        _ = plan.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        for i in 0..<200 {
            let raw = Array("id: \(i)\ndata: {\"n\":\(i)}\n\n".utf8)
            let frame = SSEFrame(raw: raw, kind: .event, data: ["{\"n\":\(i)}"], id: String(i), index: i)
            out += plan.frame(frame, now: UInt64(i) * 1_000_000)
        }
        out += plan.upstreamEnded(now: 300_000_000)
        return (out, plan.drainRecords())
    }

    @Test(arguments: ["lossy", "jittery-mobile", "malformed-frames"])
    func sameSeedSameDecisionsDifferentSeedDifferent(_ name: String) throws {
        let profile = try #require(try ProfileLibrary.load(directory: shippedDirectory)[name])
        let a = decisions(profile, seed: 1), b = decisions(profile, seed: 1), c = decisions(profile, seed: 2)
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        if name != "malformed-frames" { #expect(a.1 != c.1) }
    }
}
