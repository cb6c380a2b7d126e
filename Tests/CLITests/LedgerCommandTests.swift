import Foundation
import XCTest

/// `sputter ledger FILE [--html OUT]` run as a binary from `/`: the HTML report's resources are compiled
/// in, so the page is complete wherever the binary runs; a file of the previous release reads the same.
final class LedgerCommandTests: XCTestCase {
    /// A ledger as the release before typed effects wrote it (fault lines with `action` only).
    static let oldLedger = """
        {"type":"connection_open","t":1000000000,"conn":1,"client":"c1","attempt":1,"wall_ms":1763728000000,"method":"GET","path":"/events","last_event_id":null,"profile":"lossy","seed":42}
        {"type":"response","t":1001000000,"conn":1,"client":"c1","status":200,"content_type":"text/event-stream","synthetic":false,"outcome":"open"}
        {"type":"frame","t":1002000000,"conn":1,"client":"c1","index":0,"kind":"event","id":"1","event":"message","size":20,"digest":"00000000000000a1"}
        {"type":"frame","t":1002000000,"conn":1,"client":"c1","index":1,"kind":"event","id":"2","event":"message","size":20,"digest":"00000000000000a2"}
        {"type":"fault","t":1002000000,"conn":1,"client":"c1","frame":1,"fault":"drop","action":"dropped 20 bytes"}
        {"type":"fault","t":1003000000,"conn":1,"client":"c1","frame":1,"fault":"disconnect","action":"half-close after 2 events"}
        {"type":"connection_close","t":1003000000,"conn":1,"client":"c1","attempt":1,"end":"fault","fault_kind":"halfClose","at_byte":20,"frames":2,"events":2,"bytes_delivered":20,"first_id":"1","last_id":"2","faults":2}

        """

    /// A fresh directory holding `old.jsonl` (removed when the test ends).
    func oldLedgerFile() throws -> (dir: URL, ledger: URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-ledger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let ledger = dir.appendingPathComponent("old.jsonl")
        try Data(Self.oldLedger.utf8).write(to: ledger)
        return (dir, ledger)
    }

    func testHTMLReportFromAnyDirectory() throws {
        let (dir, ledger) = try oldLedgerFile()
        let out = dir.appendingPathComponent("report.html")

        let r = try CLI.run(["ledger", ledger.path, "--html", out.path], in: URL(fileURLWithPath: "/"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("wrote \(out.path): 1 client key, 7 records"), r.stderr)
        let page = try String(contentsOf: out, encoding: .utf8)
        XCTAssertTrue(page.contains("section.client {"), "the style is in the page")
        XCTAssertTrue(page.contains("document.getElementById('replay')"), "the script is in the page")
        XCTAssertFalse(page.contains("{{"))
        // The old lines' effects were recovered: frame 1 was dropped, the cut is the profile spelling.
        let start = try XCTUnwrap(page.range(of: "<script type=\"application/json\" id=\"replay\">"))
        let end = try XCTUnwrap(page.range(of: "</script>", range: start.upperBound..<page.endIndex))
        let replay = try JSONSerialization.jsonObject(with: Data(page[start.upperBound..<end.lowerBound].utf8)) as? [String: Any]
        let conn = try XCTUnwrap(((replay?["clients"] as? [[String: Any]])?.first?["connections"] as? [[String: Any]])?.first)
        XCTAssertEqual((conn["frames"] as? [[String: Any]])?.map { $0["fate"] as? String }, ["delivered", "dropped"])
        XCTAssertEqual(conn["end_label"] as? String, "half_close")
        XCTAssertEqual(((conn["faults"] as? [[String: Any]])?.last?["effect"] as? [String: Any])?["close"] as? String, "half_close")
    }

    func testTextReportOfAnOldFile() throws {
        let (_, ledger) = try oldLedgerFile()
        let r = try CLI.run(["ledger", ledger.path], in: URL(fileURLWithPath: "/"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.lines.contains("    fault drop on frame 1: dropped 20 bytes"), r.stdout)
        // The record is read as its effect, so it reads in the one spelling of today.
        XCTAssertTrue(r.lines.contains("    fault disconnect on frame 1: half_close after 2 events"), r.stdout)
        XCTAssertTrue(r.lines.contains("    ended +0.003s: half_close by fault after 20 bytes"), r.stdout)
    }
}
