/// Line numbers as an editor shows them, from the ones YAML gives. libyaml (YAML 1.1) also breaks lines at
/// NEL (U+0085), LINE SEPARATOR (U+2028) and PARAGRAPH SEPARATOR (U+2029), which editors, `grep -n` and
/// `sed` do not: a profile holding one would otherwise have its errors named at a line further down than
/// the one to fix. Both count LF, CR LF and a lone CR as one break.
struct EditorLines {
    /// `editorLine[yamlLine]`, 1-based (index 0 unused).
    private let editorLine: [Int]

    /// nil when the text has none of the three: YAML's lines are the editor's.
    init?(_ yaml: String) {
        guard yaml.unicodeScalars.contains(where: Self.isYAMLOnlyBreak) else { return nil }
        var map = [0, 1]
        var editor = 1
        Self.forEachBreak(in: yaml.unicodeScalars[...]) { yamlOnly in
            if !yamlOnly { editor += 1 }
            map.append(editor)
        }
        editorLine = map
    }

    /// The editor's line for YAML's `line` (0, unknown, stays 0; past the last break, as far past the editor's).
    func callAsFunction(_ line: Int) -> Int {
        guard line > 0 else { return line }
        return line < editorLine.count ? editorLine[line] : editorLine[editorLine.count - 1] + line - (editorLine.count - 1)
    }

    /// YAML's 1-based line of the byte at `offset` in the text's UTF-8.
    static func yamlLine(atUTF8Offset offset: Int, in yaml: String) -> Int {
        let end = yaml.utf8.index(yaml.utf8.startIndex, offsetBy: min(max(0, offset), yaml.utf8.count))
        var line = 1
        forEachBreak(in: yaml.unicodeScalars[..<end]) { _ in line += 1 }
        return line
    }

    private static func isYAMLOnlyBreak(_ s: Unicode.Scalar) -> Bool {
        s == "\u{85}" || s == "\u{2028}" || s == "\u{2029}"
    }

    /// Calls `body` once per line break (CR LF once), telling whether only YAML breaks the line there.
    private static func forEachBreak(in scalars: Substring.UnicodeScalarView, _ body: (_ yamlOnly: Bool) -> Void) {
        var afterCR = false
        for s in scalars {
            defer { afterCR = s == "\r" }
            if s == "\n" && afterCR { continue }
            if s == "\n" || s == "\r" {
                body(false)
            } else if isYAMLOnlyBreak(s) {
                body(true)
            }
        }
    }
}
