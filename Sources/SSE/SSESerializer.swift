/// Canonical `text/event-stream` output.
///
/// Form: `event: x\n`, `id: y\n`, `retry: n\n` (each only when given), one `data: line\n` per line of
/// `data` (split at CRLF, LF or a lone CR), then the empty line `\n`. Every value gets exactly one
/// space after the colon, so a value's own leading spaces survive the spec's "drop one space" rule.
///
/// Not handled (cannot be represented on the wire): CR or LF inside `event` or `id` — the value is cut
/// at the first one. An `id` containing NUL is written as given (a spec-exact client ignores it).
/// Line ends inside `data` come back as LF from a client.
public enum SSESerializer {
    public static func serialize(event: String?, data: String, id: String?, retry: UInt64?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.utf8.count + 32)
        if let event { appendField("event", firstLine(event), to: &out) }
        if let id { appendField("id", firstLine(id), to: &out) }
        if let retry { appendField("retry", Substring(String(retry)), to: &out) }
        forEachLine(data) { appendField("data", $0, to: &out) }
        out.append(SSELines.lf)
        return out
    }

    /// A comment-only block: one `:text\n` line per line of `text` (no space is added, so the parser's
    /// `comments` give `text` back), then the empty line that makes it a frame of its own.
    public static func comment(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 3)
        forEachLine(text) { line in
            out.append(SSELines.colon)
            out.append(contentsOf: line.utf8)
            out.append(SSELines.lf)
        }
        out.append(SSELines.lf)
        return out
    }

    static func appendField(_ name: StaticString, _ value: Substring, to out: inout [UInt8]) {
        name.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(SSELines.colon)
        out.append(SSELines.space)
        out.append(contentsOf: value.utf8)
        out.append(SSELines.lf)
    }

    static func firstLine(_ s: String) -> Substring {
        if let i = s.utf8.firstIndex(where: { $0 == SSELines.lf || $0 == SSELines.cr }) { return s[..<i] }
        return s[...]
    }

    /// Calls `body` for each line of `s`, split at CRLF, LF or CR ("" gives one empty line).
    static func forEachLine(_ s: String, _ body: (Substring) -> Void) {
        let u = s.utf8
        var start = u.startIndex
        var i = start
        while i != u.endIndex {
            let b = u[i]
            if b == SSELines.lf || b == SSELines.cr {
                body(s[start..<i])
                var next = u.index(after: i)
                if b == SSELines.cr && next != u.endIndex && u[next] == SSELines.lf { next = u.index(after: next) }
                start = next
                i = next
            } else {
                i = u.index(after: i)
            }
        }
        body(s[start..<u.endIndex])
    }
}
