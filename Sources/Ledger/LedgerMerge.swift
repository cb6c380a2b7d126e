/// Several ledgers, one per Sputter instance of a fleet behind a load balancer that hashes on the client
/// key, read as one ledger (`sputter ledger a.jsonl b.jsonl c.jsonl`).
///
/// - Connection ids are per instance, so they are remapped: source `i` (0-based) gets the block
///   `(i + 1) × B`, where `B` is the smallest power of ten above every connection id in any source, so
///   connection 7 of the second file becomes 207 when `B` is 100 (`origin(ofConnection:)` maps back).
///   When blocks would not fit in 64 bits, ids are numbered 1, 2, 3… in order of first appearance.
/// - Runs (`POST /reset` writes a `reset` record and starts a new run in that instance) are paired by
///   position: run k of the fleet is run k of every source, and one `reset` record separates merged
///   runs. A harness that resets every instance together keeps them aligned; sources with different
///   run counts get a warning.
/// - A client key with records in more than one source within one run means the balancer sent that
///   client's attempts to several instances: each counted attempts from 1 and judged only what it saw.
///   Those parts are not merged: each is reported as its own client, keyed `KEY @ LABEL`, and the
///   merge carries a warning naming them.
///
/// Pure: records in, records out.
public struct LedgerMerge: Sendable {
    /// One input ledger.
    public struct Source: Sendable, Equatable {
        /// How reports name it (the file name; the path when two files share a name).
        public var label: String
        public var records: Int
        /// Runs: `reset` records + 1.
        public var runs: Int
        public var connections: Int
        public var clients: Int
        /// Lowest and highest connection id in the source (nil: none).
        public var connectionRange: ClosedRange<UInt64>?
    }

    /// Something about the fleet that the per-client report cannot show.
    public enum Warning: Sendable, Equatable {
        /// `key` has records in several sources in run `run` (1-based); the parts are reported as
        /// `reportedAs[i]` for `sources[i]` (indexes into `LedgerMerge.sources`).
        case clientOnSeveralInstances(key: String, run: Int, sources: [Int], reportedAs: [String])
        /// The sources do not have the same number of runs (indexes into `sources` and their run counts).
        case runCountsDiffer(runs: [Int])
        /// Two sources hold exactly the same records: the same file given twice, most likely.
        case identicalSources(Int, Int)
    }

    public private(set) var sources: [Source] = []
    /// The merged ledger, in the order the report renderers expect: run by run, source by source.
    public private(set) var records: [LedgerRecord] = []
    public private(set) var warnings: [Warning] = []
    /// Runs in the merged ledger.
    public private(set) var runs = 1
    /// Merged connection id = `(i + 1) × blockSize` + original id, for source `i`; nil when ids were
    /// renumbered densely instead (see the type's notes).
    public private(set) var blockSize: UInt64?
    private var mapped: [[UInt64: UInt64]] = []
    private var origins: [UInt64: (source: Int, connection: UInt64)] = [:]

    /// `inputs`: each source's label and its records, in file order. A label given twice gets `#2`, `#3`…
    public init(_ inputs: [(label: String, records: [LedgerRecord])]) {
        var taken = Set<String>()
        let inputs = inputs.map { input in
            var label = input.label
            var n = 1
            while !taken.insert(label).inserted {
                n += 1
                label = "\(input.label)#\(n)"
            }
            return (label: label, records: input.records)
        }
        let perSource = inputs.map { Self.runs(of: $0.records) }
        runs = perSource.map(\.count).max() ?? 1
        var maxID: UInt64 = 0
        var idsInOrder: [[UInt64]] = []
        for (input, runs) in zip(inputs, perSource) {
            var seen = Set<UInt64>()
            var ids: [UInt64] = []
            var keys = Set<String>()
            for r in input.records {
                if case .reset = r.body { continue }
                keys.insert(r.clientKey)
                for id in [r.connection, r.findingConnection].compactMap({ $0 }) where seen.insert(id).inserted {
                    ids.append(id)
                }
            }
            maxID = max(maxID, ids.max() ?? 0)
            idsInOrder.append(ids)
            let range = ids.min().flatMap { lo in ids.max().map { lo...$0 } }
            sources.append(Source(label: input.label, records: input.records.count, runs: runs.count,
                                  connections: ids.count, clients: keys.count, connectionRange: range))
        }
        mapConnections(idsInOrder, maxID: maxID)

        let runCounts = sources.map(\.runs)
        if Set(runCounts).count > 1 { warnings.append(.runCountsDiffer(runs: runCounts)) }
        for i in inputs.indices {
            for j in inputs.indices where j > i && !inputs[i].records.isEmpty && inputs[i].records == inputs[j].records {
                warnings.append(.identicalSources(i, j))
            }
        }

        for run in 0..<runs {
            // Which sources each client key appears in, in this run.
            var seenIn: [String: [Int]] = [:]
            var keyOrder: [String] = []
            for (i, source) in perSource.enumerated() where run < source.count {
                for r in source[run].records where seenIn[r.clientKey]?.last != i {
                    if seenIn[r.clientKey] == nil { keyOrder.append(r.clientKey) }
                    seenIn[r.clientKey, default: []].append(i)
                }
            }
            var renamed: [Int: [String: String]] = [:]
            for key in keyOrder {
                guard let at = seenIn[key], at.count > 1 else { continue }
                let names = at.map { "\(key) @ \(inputs[$0].label)" }
                for (i, name) in zip(at, names) { renamed[i, default: [:]][key] = name }
                warnings.append(.clientOnSeveralInstances(key: key, run: run + 1, sources: at, reportedAs: names))
            }
            if run > 0 {
                let reset = perSource.lazy.compactMap { $0.count > run ? $0[run - 1].resetAfter : nil }.first
                records.append(reset ?? LedgerRecord(connection: nil, clientKey: "", at: 0, body: .reset))
            }
            for (i, source) in perSource.enumerated() where run < source.count {
                let names = renamed[i] ?? [:]
                for r in source[run].records {
                    records.append(remap(r, source: i, key: names[r.clientKey]))
                }
            }
        }
    }

    /// The source and original id of a merged connection id.
    public func origin(ofConnection id: UInt64) -> (source: Int, connection: UInt64)? { origins[id] }

    /// The merged id of connection `id` of source `source`.
    public func mergedConnection(source: Int, connection id: UInt64) -> UInt64? {
        mapped.indices.contains(source) ? mapped[source][id] : nil
    }

    // MARK: Building

    private struct Run {
        var records: [LedgerRecord] = []
        /// The `reset` record that ended it (nil for the last run).
        var resetAfter: LedgerRecord?
    }

    /// A source's runs, empty ones included, so run k is what followed the k-th reset everywhere.
    private static func runs(of records: [LedgerRecord]) -> [Run] {
        var runs = [Run()]
        for r in records {
            if case .reset = r.body {
                runs[runs.count - 1].resetAfter = r
                runs.append(Run())
            } else {
                runs[runs.count - 1].records.append(r)
            }
        }
        return runs
    }

    private mutating func mapConnections(_ ids: [[UInt64]], maxID: UInt64) {
        var block: UInt64 = 10
        var fits = true
        while block <= maxID {
            let (next, overflow) = block.multipliedReportingOverflow(by: 10)
            if overflow { fits = false; break }
            block = next
        }
        if fits {
            // The last source's block must hold its highest id too.
            let (top, o1) = block.multipliedReportingOverflow(by: UInt64(max(ids.count, 1)))
            let (_, o2) = top.addingReportingOverflow(maxID)
            fits = !o1 && !o2
        }
        blockSize = fits ? block : nil
        var next: UInt64 = 1
        for (i, list) in ids.enumerated() {
            var map: [UInt64: UInt64] = [:]
            for id in list {
                let merged: UInt64
                if fits {
                    merged = UInt64(i + 1) * block + id
                } else {
                    merged = next
                    next += 1
                }
                map[id] = merged
                origins[merged] = (i, id)
            }
            mapped.append(map)
        }
    }

    private func remap(_ r: LedgerRecord, source: Int, key: String?) -> LedgerRecord {
        var r = r
        let ids = mapped[source]
        if let c = r.connection { r.connection = ids[c] ?? c }
        if let key { r.clientKey = key }
        switch r.body {
        case .finding(var f):
            if let c = f.connection { f.connection = ids[c] ?? c }
            if let key { f.clientKey = key }
            r.body = .finding(f)
        case .client(var s):
            if let key { s.key = key }
            r.body = .client(s)
        default:
            break
        }
        return r
    }
}

extension LedgerRecord {
    fileprivate var findingConnection: UInt64? {
        if case .finding(let f) = body { return f.connection }
        return nil
    }
}

// MARK: Presenting

extension LedgerMerge {
    /// One sentence per warning, for the text report and the HTML notice.
    public func text(_ warning: Warning) -> String {
        switch warning {
        case .clientOnSeveralInstances(let key, let run, let at, let names):
            let files = at.map { sources[$0].label }
            return "client \(JSONWriter.quoted(key)) has connections in \(Self.list(files))"
                + (runs > 1 ? " in run \(run)" : "")
                + ": the load balancer sent its attempts to \(at.count) instances, so each counted attempts from 1 and judged"
                + " only what it saw. Not merged: reported apart as " + Self.list(names.map { JSONWriter.quoted($0) })
                + ". Hash the balancer on the client key (Sputter-Client header, else sputter_client parameter)."
        case .runCountsDiffer(let counts):
            let each = zip(sources, counts).map { "\($0.label) \($1)" }.joined(separator: ", ")
            return "the files have different numbers of runs (\(each); POST /reset starts a run): runs are paired by position,"
                + " run 1 with run 1; reset every instance together to keep them aligned."
        case .identicalSources(let a, let b):
            return "\(sources[a].label) and \(sources[b].label) hold exactly the same records: the same ledger given twice?"
        }
    }

    /// `a.jsonl  conns 1–12 → 101–112  (4 clients, 80 records)` for each source.
    public func sourceLines() -> [String] {
        let width = sources.map(\.label.count).max() ?? 0
        return sources.enumerated().map { i, s in
            var line = s.label + String(repeating: " ", count: width - s.label.count) + "  "
            if let range = s.connectionRange {
                let lo = mergedConnection(source: i, connection: range.lowerBound) ?? 0
                let hi = mergedConnection(source: i, connection: range.upperBound) ?? 0
                line += blockSize == nil
                    ? "\(Self.plural(s.connections, "connection")) (renumbered)"
                    : "conn \(Self.span(range.lowerBound, range.upperBound)) → \(Self.span(lo, hi))"
            } else {
                line += "no connections"
            }
            line += "  (\(Self.plural(s.clients, "client")), \(Self.plural(s.records, "record"))"
            if s.runs > 1 { line += ", \(s.runs) runs" }
            return line + ")"
        }
    }

    /// The block printed above the merged text report.
    public func textHeader() -> String {
        var out = "Sputter fleet: \(sources.count) ledger\(sources.count == 1 ? "" : "s") merged by client key\n"
        for line in sourceLines() { out += "  \(line)\n" }
        if !warnings.contains(where: { if case .clientOnSeveralInstances = $0 { return true } else { return false } }) {
            out += "  every client key is in one file\n"
        }
        if !warnings.isEmpty {
            out += "warnings:\n"
            for w in warnings { out += "  - \(text(w))\n" }
        }
        return out + "\n"
    }

    /// A self-contained `<div id="fleet">` naming the sources and the warnings (escaped, inline styles).
    public func htmlNotice() -> String {
        var out = "<div class=\"notice\" id=\"fleet\" style=\"margin:12px 16px;padding:8px 12px;border:1px solid #f0d68a;"
            + "background:#fff7e0;border-radius:6px;font-family:sans-serif\">"
        out += "<strong>Fleet: \(sources.count) ledgers merged by client key</strong><ul class=\"sources\">"
        for line in sourceLines() { out += "<li><code>\(Self.escape(line))</code></li>" }
        out += "</ul>"
        if !warnings.isEmpty {
            out += "<strong>Warnings</strong><ul class=\"warnings\">"
            for w in warnings { out += "<li data-kind=\"\(Self.kind(w))\">\(Self.escape(text(w)))</li>" }
            out += "</ul>"
        }
        return out + "</div>\n"
    }

    /// `page` with `htmlNotice()` right after its `<body>` tag (at the start when it has none).
    public func insertingNotice(into page: String) -> String {
        let notice = htmlNotice()
        guard let body = page.range(of: "<body"), let close = page[body.upperBound...].firstIndex(of: ">") else {
            return notice + page
        }
        var out = page
        out.insert(contentsOf: "\n" + notice, at: out.index(after: close))
        return out
    }

    private static func kind(_ w: Warning) -> String {
        switch w {
        case .clientOnSeveralInstances: return "clientOnSeveralInstances"
        case .runCountsDiffer: return "runCountsDiffer"
        case .identicalSources: return "identicalSources"
        }
    }

    private static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    private static func span(_ a: UInt64, _ b: UInt64) -> String { a == b ? "\(a)" : "\(a)–\(b)" }
    private static func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
    private static func list(_ items: [String]) -> String {
        items.count <= 2 ? items.joined(separator: " and ") : items.dropLast().joined(separator: ", ") + " and " + items.last!
    }
}
