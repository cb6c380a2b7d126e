import Faults
import SSE
import XCTest

@testable import Ledger

/// `LedgerMerge`: several instances' ledgers as one. Records only, no sockets.
final class LedgerMergeTests: XCTestCase {
    /// One instance's ledger: each client in `clients` makes `attempts` connections, the first ones cut.
    private func instance(_ clients: [String], attempts: Int = 2, startingAt ms: UInt64 = 0) -> Harness {
        let h = Harness()
        var t = ms
        for client in clients {
            for attempt in 1...attempts {
                let id = h.open(client, at: t, lastEventID: attempt == 1 ? nil : "\(attempt - 1)")
                h.respond(id, at: t + 1)
                h.relay(id, "id: \(attempt)\ndata: e\(attempt)\n\n", at: t + 2)
                h.close(id, attempt < attempts ? .fault(kind: .rst, atByte: 20) : .upstreamEnd, at: t + 3)
                t += 3100
            }
        }
        return h
    }

    private func opens(_ records: [LedgerRecord]) -> [(key: String, conn: UInt64, attempt: Int)] {
        records.compactMap { r in
            if case .connectionOpen(let o) = r.body { return (r.clientKey, r.connection!, o.attempt) }
            return nil
        }
    }

    func testConnectionIDsFromDifferentFilesGetTheirOwnBlocks() {
        let a = instance(["a1", "a2"]), b = instance(["b1"]), c = instance(["c1", "c2", "c3"])
        let merge = LedgerMerge([("a.jsonl", a.records), ("b.jsonl", b.records), ("c.jsonl", c.records)])

        XCTAssertEqual(merge.warnings, [])
        XCTAssertEqual(merge.blockSize, 10)
        let ids = opens(merge.records).map(\.conn)
        XCTAssertEqual(ids, [11, 12, 13, 14, 21, 22, 31, 32, 33, 34, 35, 36])
        XCTAssertEqual(Set(ids).count, ids.count, "no two connections share an id")
        // Every record of a connection moved with it, and each merged id maps back to its file.
        XCTAssertEqual(merge.records.count, a.records.count + b.records.count + c.records.count)
        XCTAssertEqual(merge.origin(ofConnection: 22)?.source, 1)
        XCTAssertEqual(merge.origin(ofConnection: 22)?.connection, 2)
        XCTAssertNil(merge.origin(ofConnection: 2))
        for r in merge.records {
            guard let id = r.connection, let from = merge.origin(ofConnection: id) else { continue }
            XCTAssertEqual(r.clientKey.first, ["a", "b", "c"][from.source], "\(r.type) of conn \(id) came from the wrong file")
        }
        XCTAssertEqual(merge.sources.map(\.connections), [4, 2, 6])
        XCTAssertEqual(merge.sources.map(\.clients), [2, 1, 3])
        XCTAssertEqual(merge.sourceLines()[1], "b.jsonl  conn 1–2 → 21–22  (1 client, \(b.records.count) records)")
    }

    func testBlocksGrowWithTheLargestID() {
        let a = instance(["a"], attempts: 12)       // conns 1…12
        let b = instance(["b"])
        let merge = LedgerMerge([("a", a.records), ("b", b.records)])
        XCTAssertEqual(merge.blockSize, 100)
        XCTAssertEqual(opens(merge.records).map(\.conn), Array(101...112) + [201, 202])
    }

    func testIDsTooLargeForBlocksAreRenumbered() {
        let open = LedgerRecord.Open(attempt: 1, wallMs: 0, method: "GET", path: "/", lastEventIDSent: nil, profile: "p", seed: 1)
        let huge: [LedgerRecord] = [.init(connection: UInt64.max - 1, clientKey: "x", at: 0, body: .connectionOpen(open)),
                                    .init(connection: 5, clientKey: "x", at: 1, body: .connectionOpen(open))]
        let other: [LedgerRecord] = [.init(connection: 5, clientKey: "y", at: 0, body: .connectionOpen(open))]
        let merge = LedgerMerge([("a", huge), ("b", other)])
        XCTAssertNil(merge.blockSize)
        XCTAssertEqual(opens(merge.records).map(\.conn), [1, 2, 3])
        XCTAssertEqual(merge.origin(ofConnection: 1)?.connection, UInt64.max - 1)
        XCTAssertEqual(merge.origin(ofConnection: 3)?.source, 1)
    }

    func testPerClientAttemptsAndSummariesSurviveTheMerge() {
        let a = instance(["a1"], attempts: 3), b = instance(["b1"], attempts: 2)
        a.ledger.finish(at: Harness.ns(100_000))
        b.ledger.finish(at: Harness.ns(100_000))
        let merge = LedgerMerge([("a", a.records), ("b", b.records)])
        let attempts = Dictionary(grouping: opens(merge.records), by: \.key).mapValues { $0.map(\.attempt) }
        XCTAssertEqual(attempts, ["a1": [1, 2, 3], "b1": [1, 2]])
        let summaries = merge.records.compactMap { r -> ClientSummary? in
            if case .client(let s) = r.body { return s } else { return nil }
        }
        XCTAssertEqual(Set(summaries.map(\.key)), ["a1", "b1"])
        let report = LedgerReportRenderer.render(records: merge.records)
        XCTAssertTrue(report.hasPrefix("Sputter ledger: 2 clients, 5 connections\n"), report)
        XCTAssertTrue(report.contains("attempt 3  +6.200s  conn 13"), report)
        XCTAssertTrue(report.contains("attempt 2  +3.100s  conn 22"), report)
    }

    func testAClientInTwoFilesIsAWarningAndIsNotMerged() {
        let a = instance(["shared", "a1"]), b = instance(["b1", "shared"], attempts: 1)
        let merge = LedgerMerge([("a.jsonl", a.records), ("b.jsonl", b.records)])

        XCTAssertEqual(merge.warnings, [.clientOnSeveralInstances(key: "shared", run: 1, sources: [0, 1],
                                                                  reportedAs: ["shared @ a.jsonl", "shared @ b.jsonl"])])
        let keys = Set(merge.records.map(\.clientKey))
        XCTAssertEqual(keys, ["shared @ a.jsonl", "a1", "b1", "shared @ b.jsonl"])
        // Each part keeps its own attempts: two attempt-1 connections were never folded into one client.
        let attempts = Dictionary(grouping: opens(merge.records), by: \.key).mapValues { $0.map(\.attempt) }
        XCTAssertEqual(attempts["shared @ a.jsonl"], [1, 2])
        XCTAssertEqual(attempts["shared @ b.jsonl"], [1])
        // Findings and client summaries about the client are renamed with it.
        for r in merge.records {
            if case .finding(let f) = r.body { XCTAssertEqual(f.clientKey, r.clientKey) }
            if case .client(let s) = r.body { XCTAssertEqual(s.key, r.clientKey) }
        }
        let text = merge.text(merge.warnings[0])
        XCTAssertTrue(text.hasPrefix(#"client "shared" has connections in a.jsonl and b.jsonl: the load balancer sent its attempts to 2 instances"#), text)
        XCTAssertTrue(merge.textHeader().contains("warnings:\n  - client \"shared\""), merge.textHeader())
        XCTAssertTrue(LedgerReportRenderer.render(records: merge.records).contains("client \"shared @ b.jsonl\"\n  attempt 1"))
    }

    func testFindingsAndClientRecordsKeepPointingAtTheirConnection() {
        let h = Harness()
        let a = h.open("c", at: 0)
        h.respond(a, at: 1)
        h.relay(a, "id: 1\ndata: x\n\n", at: 2)
        h.close(a, .fault(kind: .rst, atByte: 16), at: 3)
        let b = h.open("c", at: 10, lastEventID: "nope")    // wrong Last-Event-ID, and too early
        h.respond(b, at: 11)
        h.close(b, at: 12)
        let findings = h.records.compactMap { r -> Finding? in if case .finding(let f) = r.body { return f } else { return nil } }
        XCTAssertFalse(findings.isEmpty)
        let merge = LedgerMerge([("one", instance(["z"]).records), ("two", h.records)])
        for r in merge.records {
            guard case .finding(let f) = r.body, let c = f.connection else { continue }
            XCTAssertEqual(merge.origin(ofConnection: c)?.source, 1)
            XCTAssertEqual(f.connection, r.connection)
        }
        XCTAssertTrue(merge.records.contains { if case .finding(let f) = $0.body { return f.connection == 22 } else { return false } })
    }

    func testRunsArePairedByPositionAndOneResetSeparatesThem() {
        let a = instance(["a1"])
        a.ledger.reset(at: Harness.ns(50_000))
        a.attempts = [:]
        let id = a.open("a1", at: 60_000)
        a.close(id, at: 60_001)
        let b = instance(["b1"])
        b.ledger.reset(at: Harness.ns(50_000))
        b.attempts = [:]
        b.close(b.open("b1", at: 60_000), at: 60_001)
        let merge = LedgerMerge([("a", a.records), ("b", b.records)])

        XCTAssertEqual(merge.warnings, [], "a client in run 1 of a and run 1 of b is two clients, not a split one")
        XCTAssertEqual(merge.runs, 2)
        let resets = merge.records.indices.filter { if case .reset = merge.records[$0].body { return true } else { return false } }
        XCTAssertEqual(resets.count, 1)
        let before = opens(Array(merge.records[..<resets[0]])), after = opens(Array(merge.records[resets[0]...]))
        XCTAssertEqual(before.map(\.key), ["a1", "a1", "b1", "b1"])
        XCTAssertEqual(after.map(\.key), ["a1", "b1"])
        XCTAssertEqual(after.map(\.attempt), [1, 1])
        let report = LedgerReportRenderer.render(records: merge.records)
        XCTAssertTrue(report.hasPrefix("run 1 of 2"), report)
        XCTAssertTrue(report.contains("run 2 of 2 (POST /reset between runs; attempts start again at 1)\nSputter ledger: 2 clients, 2 connections"), report)
    }

    func testTheSameKeyInDifferentRunsOfTwoFilesIsNotASplit() {
        let a = instance(["k"])
        a.ledger.reset(at: Harness.ns(50_000))
        let b = instance([])
        b.ledger.reset(at: Harness.ns(50_000))
        b.close(b.open("k", at: 60_000), at: 60_001)
        let merge = LedgerMerge([("a", a.records), ("b", b.records)])
        XCTAssertEqual(merge.warnings, [])
        XCTAssertEqual(Set(merge.records.map(\.clientKey)), ["k", ""])
    }

    func testDifferentRunCountsAreAWarning() {
        let a = instance(["a1"])
        a.ledger.reset(at: Harness.ns(50_000))
        let b = instance(["b1"])
        let merge = LedgerMerge([("a.jsonl", a.records), ("b.jsonl", b.records)])
        XCTAssertEqual(merge.warnings, [.runCountsDiffer(runs: [2, 1])])
        XCTAssertEqual(merge.runs, 2)
        XCTAssertTrue(merge.text(merge.warnings[0]).hasPrefix("the files have different numbers of runs (a.jsonl 2, b.jsonl 1;"))
    }

    func testTheSameFileTwiceIsNamed() {
        let a = instance(["a1"])
        let merge = LedgerMerge([("x/ledger.jsonl", a.records), ("y/ledger.jsonl", a.records)])
        XCTAssertTrue(merge.warnings.contains(.identicalSources(0, 1)))
        XCTAssertTrue(merge.warnings.contains { if case .clientOnSeveralInstances(key: "a1", _, _, _) = $0 { return true } else { return false } })
    }

    func testALabelGivenTwiceIsMadeDistinct() {
        let a = instance(["k"]), b = instance(["k"], attempts: 1)
        let merge = LedgerMerge([("ledger.jsonl", a.records), ("ledger.jsonl", b.records)])
        XCTAssertEqual(merge.sources.map(\.label), ["ledger.jsonl", "ledger.jsonl#2"])
        XCTAssertEqual(Set(opens(merge.records).map(\.key)), ["k @ ledger.jsonl", "k @ ledger.jsonl#2"])
    }

    func testRunCountsAloneStillSayEveryKeyIsInOneFile() {
        let a = instance(["a1"])
        a.ledger.reset(at: Harness.ns(50_000))
        let header = LedgerMerge([("a", a.records), ("b", instance(["b1"]).records)]).textHeader()
        XCTAssertTrue(header.contains("  every client key is in one file\nwarnings:\n  - the files have different numbers of runs"), header)
    }

    func testHTMLNoticeIsEscapedAndGoesAfterTheBodyTag() {
        let a = instance(["<b>&\"x\""]), b = instance(["<b>&\"x\""], attempts: 1)
        let merge = LedgerMerge([("a", a.records), ("b", b.records)])
        let notice = merge.htmlNotice()
        XCTAssertTrue(notice.hasPrefix("<div class=\"notice\" id=\"fleet\""))
        XCTAssertFalse(notice.contains("<b>"))
        XCTAssertTrue(notice.contains("client &quot;&lt;b&gt;&amp;\\&quot;x\\&quot;&quot; has connections in a and b"), notice)
        XCTAssertTrue(notice.contains("<li data-kind=\"clientOnSeveralInstances\">"))
        let page = merge.insertingNotice(into: "<html><head></head><body class=\"x\">\n<header>")
        XCTAssertEqual(page, "<html><head></head><body class=\"x\">\n" + notice + "\n<header>")
        XCTAssertEqual(merge.insertingNotice(into: "plain"), notice + "plain")
    }
}
