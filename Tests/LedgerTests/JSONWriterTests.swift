import Foundation
import XCTest

@testable import Ledger

/// The ledger's JSON writer builds bytes and makes one String: every value kind, escapes and
/// non-ASCII text come out as RFC 8259 JSON that a standard parser reads back to the same values.
final class JSONWriterTests: XCTestCase {
    func testValuesAndEscapesRoundTrip() throws {
        let tricky = "quote \" backslash \\ nl \n cr \r tab \t bell \u{07} unit \u{1F} caf\u{00E9} \u{1F600}"
        var w = JSONWriter()
        w.string("s", tricky)
        w.string("none", nil as String?)
        w.optString("omitted", nil)
        w.int("neg", -42)
        w.int("min", Int.min)
        w.uint("max", UInt64.max)
        w.uint("zero", 0)
        w.int("nil", nil as Int?)
        w.bool("yes", true)
        w.strings("list", ["a", "\"b\"", ""])
        w.raw("obj", "{\"k\":1}")
        let text = w.finish()
        XCTAssertTrue(text.hasPrefix("{\"s\":\"quote \\\" backslash \\\\ nl \\n cr \\r tab \\t bell \\u0007 unit \\u001f caf\u{00E9} \u{1F600}\""))
        XCTAssertTrue(text.contains("\"none\":null,\"neg\":-42,\"min\":-9223372036854775808,\"max\":18446744073709551615,\"zero\":0,\"nil\":null"))
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(parsed["s"] as? String, tricky)
        XCTAssertNil(parsed["omitted"])
        XCTAssertEqual(parsed["list"] as? [String], ["a", "\"b\"", ""])
        XCTAssertEqual((parsed["obj"] as? [String: Any])?["k"] as? Int, 1)
        XCTAssertEqual(parsed["yes"] as? Bool, true)
        XCTAssertEqual(JSONWriter.quoted("a\"b"), "\"a\\\"b\"")
        var s = "x"
        JSONWriter.appendQuoted("\u{01}", to: &s)
        XCTAssertEqual(s, "x\"\\u0001\"")
    }
}
