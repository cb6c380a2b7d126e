/// Short lists of event ids for reports: runs of consecutive integers are written as ranges.
public enum IDList {
    /// `["4", "5", "6", "9", "a"]` → `4-6, 9, "a"`; at most `limit` items, then `… (+N more)`.
    /// Ids that are not plain decimal integers are quoted.
    public static func describe<C: Collection>(_ ids: C, total: Int? = nil, limit: Int = 12) -> String where C.Element == String {
        var parts: [String] = []
        var runStart: UInt64?
        var runEnd: UInt64 = 0
        var shown = 0
        func flush() {
            if let s = runStart {
                parts.append(s == runEnd ? "\(s)" : "\(s)-\(runEnd)")
                runStart = nil
            }
        }
        for id in ids {
            if let v = IDTable.plainInteger(id), runStart != nil, v == runEnd &+ 1 {
                runEnd = v
                shown += 1
                continue
            }
            flush()
            if parts.count >= limit { break }
            shown += 1
            if let v = IDTable.plainInteger(id) {
                runStart = v
                runEnd = v
            } else {
                parts.append(JSONWriter.quoted(id))
            }
        }
        flush()
        let all = total ?? ids.count
        var s = parts.joined(separator: ", ")
        if all > shown { s += " … (+\(all - shown) more)" }
        return s
    }

    /// `id 7` or `ids 4-6, 9`.
    public static func labelled<C: Collection>(_ ids: C, total: Int? = nil, limit: Int = 12) -> String where C.Element == String {
        ((total ?? ids.count) == 1 ? "id " : "ids ") + describe(ids, total: total, limit: limit)
    }
}
