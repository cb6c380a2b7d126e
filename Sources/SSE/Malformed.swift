/// Deliberately malformed variants of SSE bytes, for fault injection.
///
/// These helpers work on the raw bytes of one frame (as `SSEFrame.raw` holds them). They split
/// a frame into lines but do not parse a stream: use the SSE parser for that.
/// Not handled: a frame that starts with a CR whose LF ended up in the previous frame.
public enum Malformed {
    /// The UTF-8 byte order mark.
    public static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// One line of a frame: its content and the line end that followed it (CRLF, LF, CR, or
    /// nothing for an unterminated last line).
    public struct Line: Sendable, Equatable {
        public var content: [UInt8]
        public var ending: [UInt8]
        public init(content: [UInt8], ending: [UInt8]) {
            self.content = content
            self.ending = ending
        }

        /// The field name (bytes before the first colon; the whole line without one), or nil
        /// for a comment or an empty line. A leading BOM is not part of the name.
        public var fieldName: [UInt8]? {
            var c = content[...]
            if c.starts(with: Malformed.bom) { c = c.dropFirst(3) }
            if c.isEmpty || c.first == UInt8(ascii: ":") { return nil }
            if let colon = c.firstIndex(of: UInt8(ascii: ":")) { return Array(c[..<colon]) }
            return Array(c)
        }

        /// The field value: after the first colon, one leading space dropped.
        public var fieldValue: [UInt8] {
            guard let colon = content.firstIndex(of: UInt8(ascii: ":")) else { return [] }
            var v = content[(colon + 1)...]
            if v.first == UInt8(ascii: " ") { v = v.dropFirst() }
            return Array(v)
        }

        func isField(_ name: String) -> Bool { fieldName == Array(name.utf8) }
    }

    /// Splits a frame into lines at CRLF, LF or a lone CR.
    public static func lines(_ raw: [UInt8]) -> [Line] {
        var lines: [Line] = []
        var start = 0
        var i = 0
        while i < raw.count {
            let b = raw[i]
            if b == 0x0A || b == 0x0D {
                let crlf = b == 0x0D && i + 1 < raw.count && raw[i + 1] == 0x0A
                let end = i + (crlf ? 2 : 1)
                lines.append(Line(content: Array(raw[start..<i]), ending: Array(raw[i..<end])))
                start = end
                i = end
            } else {
                i += 1
            }
        }
        if start < raw.count { lines.append(Line(content: Array(raw[start...]), ending: [])) }
        return lines
    }

    public static func join(_ lines: [Line]) -> [UInt8] {
        var out: [UInt8] = []
        for l in lines {
            out += l.content
            out += l.ending
        }
        return out
    }

    /// The first `count` bytes (a torn event).
    public static func truncate(_ raw: [UInt8], at count: Int) -> [UInt8] {
        Array(raw.prefix(Swift.max(0, count)))
    }

    /// Removes the terminating empty line, so the frame runs into the next one (two events merge).
    /// A frame without one is returned unchanged.
    public static func removeTerminator(_ raw: [UInt8]) -> [UInt8] {
        var ls = lines(raw)
        guard let last = ls.last, last.content.isEmpty, !last.ending.isEmpty else { return raw }
        ls.removeLast()
        return join(ls)
    }

    /// Renames the first field called `from` (e.g. `data` → `Data`, `dta`). Nil if there is none.
    public static func renameField(_ raw: [UInt8], from: String, to: String) -> [UInt8]? {
        var ls = lines(raw)
        guard let i = ls.firstIndex(where: { $0.isField(from) }) else { return nil }
        let hasBOM = ls[i].content.starts(with: bom)
        let body = Array(ls[i].content.dropFirst(hasBOM ? 3 : 0).dropFirst(from.utf8.count))
        ls[i].content = (hasBOM ? bom : []) + Array(to.utf8) + body
        return join(ls)
    }

    /// Inserts `bytes` in the middle of the first `data` value. Nil if the frame has no data.
    public static func insertIntoData(_ raw: [UInt8], bytes: [UInt8]) -> [UInt8]? {
        var ls = lines(raw)
        guard let i = ls.firstIndex(where: { $0.isField("data") }) else { return nil }
        let valueLength = ls[i].fieldValue.count
        let at = ls[i].content.count - valueLength + valueLength / 2
        ls[i].content.insert(contentsOf: bytes, at: at)
        return join(ls)
    }

    /// A lone continuation byte, a truncated 3-byte sequence and an overlong encoding.
    public static let invalidUTF8: [UInt8] = [0x80, 0xE2, 0x82, 0xC0, 0xAF]

    /// Breaks JSON in the data: removes the last `}` or `]` of the frame's data lines, or, when
    /// there is none, prefixes the first data value with `{"`. Nil if the frame has no data.
    public static func breakJSON(_ raw: [UInt8]) -> [UInt8]? {
        var ls = lines(raw)
        let dataLines = ls.indices.filter { ls[$0].isField("data") }
        guard let first = dataLines.first else { return nil }
        for i in dataLines.reversed() {
            if let j = ls[i].content.lastIndex(where: { $0 == UInt8(ascii: "}") || $0 == UInt8(ascii: "]") }) {
                ls[i].content.remove(at: j)
                return join(ls)
            }
        }
        let at = ls[first].content.count - ls[first].fieldValue.count
        ls[first].content.insert(contentsOf: Array("{\"".utf8), at: at)
        return join(ls)
    }

    public enum LineEnd: String, Sendable, Equatable, CaseIterable {
        case lf, cr, crlf
        /// Cycles CR, LF, CRLF line by line.
        case mixed

        var bytes: [UInt8] {
            switch self {
            case .lf: [0x0A]
            case .cr: [0x0D]
            case .crlf, .mixed: [0x0D, 0x0A]
            }
        }
    }

    /// Rewrites every line end of the frame. An unterminated last line stays unterminated.
    public static func convertLineEnds(_ raw: [UInt8], to style: LineEnd) -> [UInt8] {
        var ls = lines(raw)
        let cycle: [[UInt8]] = [[0x0D], [0x0A], [0x0D, 0x0A]]
        for i in ls.indices where !ls[i].ending.isEmpty {
            ls[i].ending = style == .mixed ? cycle[i % 3] : style.bytes
        }
        return join(ls)
    }

    /// The line end the frame uses (its first), LF when it has none.
    public static func lineEnd(of raw: [UInt8]) -> [UInt8] {
        lines(raw).first(where: { !$0.ending.isEmpty })?.ending ?? [0x0A]
    }

    /// One event whose single data line carries `dataBytes` bytes of `x`.
    public static func oversizedEvent(dataBytes: Int) -> [UInt8] {
        Array("data: ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: Swift.max(0, dataBytes)) + [0x0A, 0x0A]
    }

    /// A comment block whose text contains a NUL byte.
    public static func nulComment(_ text: String = "sputter") -> [UInt8] {
        Array(": ".utf8) + Array(text.utf8) + [0x00] + Array(text.utf8) + [0x0A, 0x0A]
    }

    /// The values of every field called `name`.
    public static func fieldValues(_ raw: [UInt8], name: String) -> [[UInt8]] {
        lines(raw).filter { $0.isField(name) }.map(\.fieldValue)
    }

    /// Replaces the value of every field called `name`. Nil if there is none.
    public static func setField(_ raw: [UInt8], name: String, value: [UInt8]) -> [UInt8]? {
        var ls = lines(raw)
        var found = false
        for i in ls.indices where ls[i].isField(name) {
            let hasBOM = ls[i].content.starts(with: bom)
            ls[i].content = (hasBOM ? bom : []) + Array(name.utf8) + Array(": ".utf8) + value
            found = true
        }
        return found ? join(ls) : nil
    }

    /// Removes every field called `name`. Nil if there is none.
    public static func removeField(_ raw: [UInt8], name: String) -> [UInt8]? {
        var ls = lines(raw)
        let before = ls.count
        var keepBOM = false
        if let first = ls.first, first.isField(name), first.content.starts(with: bom) { keepBOM = true }
        ls.removeAll { $0.isField(name) }
        guard ls.count != before else { return nil }
        return (keepBOM ? bom : []) + join(ls)
    }

    /// Inserts a `name: value` line just before the terminating empty line (at the end when
    /// the frame has none), using the frame's own line end.
    public static func insertField(_ raw: [UInt8], name: String, value: [UInt8]) -> [UInt8] {
        var ls = lines(raw)
        let line = Line(content: Array(name.utf8) + Array(": ".utf8) + value, ending: lineEnd(of: raw))
        if let last = ls.last, last.content.isEmpty, !last.ending.isEmpty {
            ls.insert(line, at: ls.count - 1)
        } else {
            ls.append(line)
        }
        return join(ls)
    }
}
