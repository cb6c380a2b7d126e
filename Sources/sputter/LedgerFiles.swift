import ArgumentParser
import Foundation
import Ledger

/// The ledger files `sputter ledger` was given, read: one file as it is; several (one per instance of a
/// fleet) merged by client key (`LedgerMerge`).
struct LedgerFiles {
    /// The records to report on (merged when there are several files).
    var records: [LedgerRecord]
    /// Lines that could not be read; with several files the error names the file.
    var unreadable: [(line: Int, error: String)]
    /// The merge, when there were several files.
    var merge: LedgerMerge?
    /// What the HTML page names as its source.
    var source: String

    static func read(_ paths: [String]) throws -> LedgerFiles {
        guard !paths.isEmpty else { throw ValidationError("give at least one ledger file") }
        var given = Set<String>()
        for path in paths where !given.insert(URL(fileURLWithPath: path).standardizedFileURL.path).inserted {
            throw ValidationError("\(path) is given twice: give each instance's ledger once")
        }
        let labels = Self.labels(paths)
        var inputs: [(label: String, records: [LedgerRecord])] = []
        var unreadable: [(line: Int, error: String)] = []
        for (path, label) in zip(paths, labels) {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read \(path)")
            }
            let parsed = LedgerRecord.parse(jsonLines: String(decoding: data, as: UTF8.self))
            inputs.append((label, parsed.records))
            unreadable += paths.count == 1 ? parsed.errors : parsed.errors.map { ($0.line, "\(label): \($0.error)") }
        }
        guard inputs.count > 1 else {
            return LedgerFiles(records: inputs[0].records, unreadable: unreadable, merge: nil, source: labels[0])
        }
        let merge = LedgerMerge(inputs)
        return LedgerFiles(records: merge.records, unreadable: unreadable, merge: merge, source: labels.joined(separator: " + "))
    }

    /// File names; the paths as given when two files share a name (pods' `ledger.jsonl` copied into directories).
    static func labels(_ paths: [String]) -> [String] {
        let names = paths.map { ($0 as NSString).lastPathComponent }
        return Set(names).count == names.count ? names : paths
    }

    /// The text report: the fleet's sources and warnings (several files), the per-client report, the unreadable lines.
    func textReport() -> String {
        var out = merge?.textHeader() ?? ""
        out += LedgerReportRenderer.render(records: records)
        if !unreadable.isEmpty {
            out += "\n\(unreadable.count) line\(unreadable.count == 1 ? "" : "s") could not be read:\n"
            for e in unreadable.prefix(10) { out += "  line \(e.line): \(e.error)\n" }
        }
        return out
    }

    /// The HTML page, with the fleet notice when there were several files.
    func htmlReport() -> String {
        let page = LedgerHTMLRenderer.render(records: records, source: source, unreadable: unreadable)
        return merge?.insertingNotice(into: page) ?? page
    }
}
