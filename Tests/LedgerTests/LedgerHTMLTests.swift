import Faults
import Foundation
import SSE
import XCTest

@testable import Ledger

/// The HTML page: the compiled-in resources, the replay embedded as JSON (script-safe), the escaped
/// title. What the page draws from it is checked in a real browser by scripts/test-clients; what the
/// replay holds, by LedgerReplayTests.
final class LedgerHTMLTests: XCTestCase {
    typealias R = LedgerHTMLRenderer

    func count(_ needle: String, in haystack: String) -> Int {
        haystack.components(separatedBy: needle).count - 1
    }

    /// The JSON text of the page's `<script type="application/json" id="replay">`.
    func embeddedReplay(_ html: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        let open = "<script type=\"application/json\" id=\"replay\">"
        guard let start = html.range(of: open), let end = html.range(of: "</script>", range: start.upperBound..<html.endIndex) else {
            XCTFail("no embedded replay", file: file, line: line)
            return nil
        }
        return String(html[start.upperBound..<end.lowerBound])
    }

    func testThePageIsTheTemplateWithStyleScriptAndReplay() throws {
        let h = LedgerReportTests.scriptedRun()
        let html = R.render(jsonLines: h.jsonl, source: "run.jsonl")
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">"))
        XCTAssertTrue(html.hasSuffix("</html>\n"))
        XCTAssertTrue(html.contains("<title>Sputter ledger report — run.jsonl</title>"))
        XCTAssertTrue(html.contains("<span class=\"source\">run.jsonl</span> · "))
        XCTAssertFalse(html.contains("{{"), "every placeholder filled")
        // The resources are compiled in: no file is read at run time.
        XCTAssertTrue(R.Resources.css.contains("section.client"))
        XCTAssertTrue(R.Resources.script.contains("document.getElementById('replay')"))
        XCTAssertTrue(html.contains(R.Resources.css))
        XCTAssertTrue(html.contains(R.Resources.script))
        // Self-contained: nothing is fetched.
        for external in ["https://", "src=", "<link", "@import", "url(http"] {
            XCTAssertFalse(html.contains(external), "page refers to something outside itself: \(external)")
        }
        XCTAssertEqual(count("<script", in: html), 2, "the replay and the page's script")
        XCTAssertEqual(count("<style>", in: html), 1)
        // The embedded replay is exactly the replay's JSON, and valid JSON.
        let json = try XCTUnwrap(embeddedReplay(html))
        XCTAssertEqual(json, R.scriptSafe(LedgerReplay(jsonLines: h.jsonl).json))
        let o = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        XCTAssertEqual((o?["clients"] as? [[String: Any]])?.map { $0["key"] as? String }, ["a", "b"])
        XCTAssertEqual((o?["fates"] as? [[String: Any]])?.map { $0["name"] as? String }, FrameFate.allCases.map(\.rawValue))
    }

    func testRecordsAndTextGiveTheSamePage() {
        let h = LedgerReportTests.scriptedRun()
        XCTAssertEqual(R.render(records: h.records), R.render(jsonLines: h.jsonl))
    }

    func testTheReplayJSONCarriesWhatThePageDraws() throws {
        let h = LedgerReportTests.scriptedRun()
        let o = try JSONSerialization.jsonObject(with: Data(LedgerReplay(jsonLines: h.jsonl).json.utf8)) as? [String: Any]
        XCTAssertEqual(o?["connections"] as? Int, 5)
        XCTAssertEqual(o?["records"] as? Int, h.records.count)
        let a = try XCTUnwrap((o?["clients"] as? [[String: Any]])?.first)
        let conns = try XCTUnwrap(a["connections"] as? [[String: Any]])
        XCTAssertEqual(conns.map { $0["end_label"] as? String }, ["RST", "upstream end", "FIN", "client closed"])
        XCTAssertEqual(conns.map { $0["attempt"] as? Int }, [1, 2, 3, 4])
        let first = conns[0]
        XCTAssertEqual((first["frames"] as? [[String: Any]])?.map { $0["fate"] as? String },
                       ["delivered", "delivered", "dropped", "delivered", "delivered"])
        XCTAssertEqual((first["close"] as? [String: Any])?["summary"] as? String, "rst by fault after 92 bytes")
        XCTAssertEqual((first["prediction"] as? [String: Any])?["next"] as? String, "reconnect after 3000ms with Last-Event-ID \"5\"")
        let effect = ((first["faults"] as? [[String: Any]])?.last?["effect"] as? [String: Any])
        XCTAssertEqual(effect?["kind"] as? String, "cut")
        XCTAssertEqual(effect?["close"] as? String, "rst")
        let third = conns[2]
        XCTAssertEqual((third["response"] as? [String: Any])?["synthetic"] as? Bool, true)
        XCTAssertEqual((third["response"] as? [String: Any])?["status"] as? Int, 503)
        XCTAssertEqual((a["finding_items"] as? [[String: Any]])?.map { $0["kind"] as? String },
                       ["duplicated", "wrongLastEventID", "reconnectTooEarly", "reconnectAfterFailure"])
    }

    func testEverythingFromTheLedgerStaysText() throws {
        let evilKey = "<script>alert(\"key\")</script>&'"
        let evilID = "\"><img src=x onerror=alert(1)>"
        let h = Harness()
        let c = h.open(evilKey, at: 0, lastEventID: "</title><b>", profile: "<i>profile</i><!--")
        h.respond(c, contentType: "text/event-stream; x=<u>", at: 1)
        h.relay(c, "id: \(evilID)\nevent: <marquee>\ndata: x\u{2028}y\n\n", at: 5)
        h.fault(c, frame: 0, "corrupt", .corrupted(.fieldRenamed(from: "<data>", to: "\"Data\" & more")), at: 5)
        h.close(c, .upstreamError("reset <by peer>"), at: 10)
        h.ledger.finish(at: Harness.ns(20))
        let html = R.render(jsonLines: h.jsonl, title: "Report <x>", source: "a&b.jsonl")

        for raw in [evilKey, "<script>alert", evilID, "<img", "</title><b>", "<i>profile", "<!--", "<marquee>", "<data>", "<by peer>",
                    "x=<u>", "Report <x>", "a&b"] {
            XCTAssertFalse(html.contains(raw), "unescaped: \(raw)")
        }
        XCTAssertEqual(count("<script", in: html), 2, "only the page's own script elements")
        XCTAssertEqual(count("</script>", in: html), 2)
        XCTAssertTrue(html.contains("<title>Report &lt;x&gt; — a&amp;b.jsonl</title>"))
        // The strings arrive intact in the JSON the script reads.
        let json = try XCTUnwrap(embeddedReplay(html))
        let o = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let client = try XCTUnwrap((o?["clients"] as? [[String: Any]])?.first)
        XCTAssertEqual(client["key"] as? String, evilKey)
        let conn = try XCTUnwrap((client["connections"] as? [[String: Any]])?.first)
        XCTAssertEqual((conn["open"] as? [String: Any])?["profile"] as? String, "<i>profile</i><!--")
        XCTAssertEqual((conn["frames"] as? [[String: Any]])?.first?["id"] as? String, evilID)
        XCTAssertEqual((conn["faults"] as? [[String: Any]])?.first?["action"] as? String, "renamed field '<data>' to '\"Data\" & more'")
        XCTAssertFalse(json.contains("\u{2028}"))
    }

    func testEscapeFunction() {
        XCTAssertEqual(R.escape("plain text, ünïcode ✓"), "plain text, ünïcode ✓")
        XCTAssertEqual(R.escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
        XCTAssertEqual(R.escape("a\u{0}b\u{1B}c\td\ne"), "a\u{FFFD}b\u{FFFD}c\td\ne")
        XCTAssertEqual(R.escape("&amp;"), "&amp;amp;")
    }

    func testTemplateFillingDoesNotRescanValues() {
        XCTAssertEqual(R.fill("a{{X}}b{{Y}}c", ["X": "{{Y}}", "Y": "1"]), "a{{Y}}b1c")
        XCTAssertEqual(R.fill("{{UNKNOWN}} {{", [:]), "{{UNKNOWN}} {{")
    }

    /// The report code never reads a fault record's text to learn what happened: it switches on the effect.
    func testNoReportReadsFaultTextBack() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Ledger")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".swift") }
        XCTAssertGreaterThan(files.count, 5)
        for name in files {
            let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            for pattern in ["action.hasPrefix", "action.hasSuffix", "action.contains", "action.range", "action.split",
                            "action.dropFirst", "parseDuration", "effect.description.", ".action.starts"] {
                XCTAssertFalse(text.contains(pattern), "\(name) reads fault text: \(pattern)")
            }
        }
    }
}
