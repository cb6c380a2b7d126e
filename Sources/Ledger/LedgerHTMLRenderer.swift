import Faults

/// The visual report of a ledger (`sputter ledger FILE --html report.html`): one self-contained HTML page.
///
/// The page is three static resources compiled into the binary (`Report/report.html`, `report.css`,
/// `report.js`, embedded by SwiftPM: nothing is read from disk at run time, so the binary works from any
/// directory) and the ledger's `LedgerReplay` as JSON. The page's script draws it: per client the verdict,
/// the counts, a timeline with one lane per connection attempt, each upstream frame a mark coloured by its
/// fate, waits as hatched bands, how each connection ended, the wait before each reconnect against the
/// reconnection time, the attempts table and the findings. Nothing is fetched.
///
/// Text from the ledger reaches the page only inside the JSON (with `<`, `>` and `&` escaped, so it cannot
/// end the script element) and the escaped title; the script puts it in the DOM as text.
public enum LedgerHTMLRenderer {
    public static func render(jsonLines text: String, title: String = "Sputter ledger report", source: String? = nil) -> String {
        render(LedgerReplay(jsonLines: text), title: title, source: source)
    }

    public static func render(records: [LedgerRecord], title: String = "Sputter ledger report", source: String? = nil,
                              unreadable: [(line: Int, error: String)] = []) -> String
    {
        render(LedgerReplay(records: records, unreadable: unreadable.map { .init(line: $0.line, error: $0.error) }),
               title: title, source: source)
    }

    public static func render(_ replay: LedgerReplay, title: String = "Sputter ledger report", source: String? = nil) -> String {
        let values: [String: String] = [
            "TITLE": escape(title) + (source.map { " — " + escape($0) } ?? ""),
            "HEADING": escape(title),
            "SOURCE": source.map { "<span class=\"source\">\(escape($0))</span> · " } ?? "",
            "STYLE": Resources.css,
            "SCRIPT": Resources.script,
            "REPLAY": scriptSafe(replay.json),
        ]
        return fill(Resources.template, values)
    }

    /// The page's resources, as compiled in.
    enum Resources {
        static let template = String(decoding: PackageResources.report_html, as: UTF8.self)
        static let css = String(decoding: PackageResources.report_css, as: UTF8.self)
        static let script = String(decoding: PackageResources.report_js, as: UTF8.self)
    }

    /// Replaces each `{{NAME}}` of the template (and only of the template: values are not scanned again).
    static func fill(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        out.reserveCapacity(template.utf8.count + values.values.reduce(0) { $0 + $1.utf8.count })
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let name = String(rest[open.upperBound..<close.lowerBound])
            out += values[name] ?? "{{\(name)}}"
            rest = rest[close.upperBound...]
        }
        out += rest
        return out
    }

    /// JSON text that can sit inside a `<script>` element: `<`, `>` and `&` (which occur only inside JSON
    /// strings) as `\u` escapes, so no `</script>` or `<!--` can appear.
    static func scriptSafe(_ json: String) -> String {
        replacingScalars(json) { u in
            switch u {
            case "<": "\\u003c"
            case ">": "\\u003e"
            case "&": "\\u0026"
            case "\u{2028}": "\\u2028"
            case "\u{2029}": "\\u2029"
            default: nil
            }
        }
    }

    /// `s` with each scalar that `replacement` maps written as that text.
    private static func replacingScalars(_ s: String, _ replacement: (Unicode.Scalar) -> String?) -> String {
        var o = ""
        o.reserveCapacity(s.utf8.count + 16)
        for u in s.unicodeScalars {
            if let r = replacement(u) { o += r } else { o.unicodeScalars.append(u) }
        }
        return o
    }

    // MARK: - Escaping

    /// Text for HTML element content and quoted attribute values: `& < > " '` as character references,
    /// NUL and other C0 controls (but tab, LF, CR) as U+FFFD.
    public static func escape(_ s: String) -> String {
        var needs = false
        for b in s.utf8 where b == 0x26 || b == 0x3C || b == 0x3E || b == 0x22 || b == 0x27 || (b < 0x20 && b != 0x09 && b != 0x0A && b != 0x0D) || b == 0x7F {
            needs = true
            break
        }
        if !needs { return s }
        return replacingScalars(s) { u in
            switch u {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            case "\"": "&quot;"
            case "'": "&#39;"
            case "\t", "\n", "\r": nil
            default: u.value < 0x20 || u.value == 0x7F ? "\u{FFFD}" : nil
            }
        }
    }
}
