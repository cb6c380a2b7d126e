import Faults

/// The visual report of a ledger (`sputter ledger FILE --html report.html`): one self-contained HTML page
/// (inline CSS, inline SVG, a few lines of inline JS for the legend filter; nothing fetched).
///
/// Per client: the verdict, the counts, a timeline with one lane per connection attempt (x = time since the
/// client's first connection), each upstream frame a mark coloured by its fate, connection-level waits
/// (connect / first-byte delay, stalls) as hatched bands, how each connection ended, the status of
/// responses a fault wrote (503, 204…), the wait before each reconnect against the reconnection time; then
/// a table of the attempts and the findings.
///
/// A frame's fate comes from the fault records about it (`fate(of:)`): what the fault did to it, not what the
/// client made of it (that is the prediction and the findings). Frames the upstream sent after a fault cut
/// the connection, or after a stall that never ends, are `lost`. At `.summary` level only the frames a fault
/// acted on are recorded, so only those are drawn.
///
/// Every piece of text that comes from the ledger (client keys, paths, ids, event types, profile names,
/// fault actions, finding details) is HTML-escaped; none of it reaches the script.
public enum LedgerHTMLRenderer {
    /// What happened to one upstream frame on its way to the client.
    public enum Fate: String, Sendable, CaseIterable {
        /// Passed on as the upstream sent it (possibly with a fault noted that changes neither its bytes nor
        /// its timing much, such as an injected `retry`).
        case delivered
        /// Held back: `delay`, `throttle`, a `buffer` burst, a `stall` with a duration.
        case delayed
        /// Written after later frames (`reorder`).
        case reordered
        /// Written more than once (`duplicate`).
        case duplicated
        /// Changed in transit: `corrupt` (torn, merged, mangled, bytes injected before it), `strip_ids`,
        /// `rewrite_ids`.
        case corrupted
        /// Deliberately not written (`drop`).
        case dropped
        /// Never written because the connection was cut before or inside it (`disconnect`) or the stream
        /// stalled for good (`stall` without a duration).
        case lost

        /// Which fate wins when several faults acted on one frame.
        var rank: Int {
            switch self {
            case .delivered: 0
            case .delayed: 1
            case .reordered: 2
            case .duplicated: 3
            case .corrupted: 4
            case .dropped: 5
            case .lost: 6
            }
        }

        var label: String {
            switch self {
            case .delivered: "delivered"
            case .delayed: "delayed"
            case .reordered: "reordered"
            case .duplicated: "duplicated"
            case .corrupted: "corrupted"
            case .dropped: "dropped"
            case .lost: "lost at a cut"
            }
        }

        var explanation: String {
            switch self {
            case .delivered: "passed on unchanged"
            case .delayed: "delay, throttle, buffer burst or a stall that ends; the tail reaches the time it was written"
            case .reordered: "written after later events; the tail reaches the time it was written"
            case .duplicated: "written more than once"
            case .corrupted: "torn, merged, mangled, id stripped or rewritten, or bytes injected before it"
            case .dropped: "deliberately not written"
            case .lost: "the connection was cut before or inside it, or the stream stalled for good"
            }
        }
    }

    /// The fate of a frame from the `(fault, action)` records about it, in the order they were written.
    /// The most damaging one wins (lost > dropped > corrupted > duplicated > reordered > delayed).
    public static func fate(of faults: [(fault: String, action: String)]) -> Fate {
        var best = Fate.delivered
        for f in faults {
            let this = fate(fault: f.fault, action: f.action)
            if this.rank > best.rank { best = this }
        }
        return best
    }

    static func fate(fault: String, action: String) -> Fate {
        switch fault {
        case "drop": return .dropped
        case "duplicate": return .duplicated
        case "reorder": return .reordered
        case "delay", "throttle", "buffer": return .delayed
        case "corrupt", "strip_ids", "rewrite_ids": return .corrupted
        case "disconnect":
            // "rst after 3 events" names the last frame written; "… (12 bytes of the frame dropped)" tore it.
            return action.contains("bytes of the frame dropped") ? .lost : .delivered
        case "stall":
            // "withheld 40 bytes (stalled forever)"; "stalled after 3 events …" names the last frame written.
            return action.hasPrefix("withheld") ? .lost : .delivered
        default:
            // retry, last_event_id, content_type, respond, refuse, and faults this renderer does not know.
            return .delivered
        }
    }

    // MARK: - Entry points

    public static func render(jsonLines text: String, title: String = "Sputter ledger report", source: String? = nil) -> String {
        let parsed = LedgerRecord.parse(jsonLines: text)
        return render(records: parsed.records, title: title, source: source, unreadable: parsed.errors)
    }

    public static func render(records: [LedgerRecord], title: String = "Sputter ledger report", source: String? = nil,
                              unreadable: [(line: Int, error: String)] = []) -> String
    {
        let model = Model(records)
        var page = Page()
        page.document(model, title: title, source: source, unreadable: unreadable)
        return page.out
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
        var o = ""
        o.reserveCapacity(s.utf8.count + 16)
        for u in s.unicodeScalars {
            switch u {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            case "\t", "\n", "\r": o.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0x7F { o += "\u{FFFD}" } else { o.unicodeScalars.append(u) }
            }
        }
        return o
    }

    // MARK: - Model

    struct FaultNote {
        var frame: Int?
        var fault: String
        var action: String
        var at: UInt64
    }

    final class Conn {
        let id: UInt64
        let clientKey: String
        var open: LedgerRecord.Open?
        var openedAt: UInt64
        var response: LedgerRecord.Response?
        var responseAt: UInt64?
        var frames: [FrameInfo] = []
        var faults: [FaultNote] = []
        var deliveredTotal: Int?
        var close: LedgerRecord.Close?
        var closedAt: UInt64?
        var prediction: Prediction?
        var lastAt: UInt64
        init(id: UInt64, clientKey: String, at: UInt64) {
            self.id = id
            self.clientKey = clientKey
            openedAt = at
            lastAt = at
        }
        var attempt: Int { open?.attempt ?? close?.attempt ?? prediction?.attempt ?? 0 }
        var endAt: UInt64 { closedAt ?? lastAt }
    }

    /// One client key's run of attempts. A key whose attempt number starts again (the control API's
    /// `POST /reset`, which the file does not record) begins a new run, shown as its own section.
    final class Client {
        let key: String
        let index: Int
        let run: Int
        var conns: [Conn] = []
        var findings: [Finding] = []
        var summary: ClientSummary?
        init(key: String, index: Int, run: Int) {
            self.key = key
            self.index = index
            self.run = run
        }
    }

    struct Model {
        var clients: [Client] = []
        var connectionCount = 0
        var recordCount = 0
        /// A `.summary`-level ledger: connections closed with more events than frames recorded.
        var summaryLevel = false

        init(_ records: [LedgerRecord]) {
            var byKey: [String: Client] = [:]
            var conns: [UInt64: Conn] = [:]
            var clients: [Client] = []
            var lastAttempt: [String: Int] = [:]
            func newRun(_ key: String) -> Client {
                let c = Client(key: key, index: clients.count + 1, run: (byKey[key]?.run ?? 0) + 1)
                byKey[key] = c
                clients.append(c)
                return c
            }
            func client(_ key: String) -> Client {
                byKey[key] ?? newRun(key)
            }
            func conn(_ r: LedgerRecord) -> Conn? {
                guard let id = r.connection else { return nil }
                if let c = conns[id] {
                    c.lastAt = max(c.lastAt, r.at)
                    return c
                }
                let c = Conn(id: id, clientKey: r.clientKey, at: r.at)
                conns[id] = c
                client(r.clientKey).conns.append(c)
                return c
            }
            for r in records {
                switch r.body {
                case .connectionOpen(let o):
                    if let id = r.connection, conns[id] == nil {
                        if let previous = lastAttempt[r.clientKey], o.attempt <= previous { _ = newRun(r.clientKey) }
                        lastAttempt[r.clientKey] = o.attempt
                    }
                    guard let c = conn(r) else { break }
                    c.open = o
                    c.openedAt = r.at
                case .response(let x):
                    conn(r)?.response = x
                    conn(r)?.responseAt = r.at
                case .frame(let f): conn(r)?.frames.append(f)
                case .fault(let frame, let fault, let action):
                    conn(r)?.faults.append(FaultNote(frame: frame, fault: fault, action: action, at: r.at))
                case .delivered(let d): conn(r)?.deliveredTotal = d.total
                case .connectionClose(let x):
                    guard let c = conn(r) else { break }
                    c.close = x
                    c.closedAt = r.at
                case .prediction(let p): conn(r)?.prediction = p
                case .finding(let f): client(r.clientKey).findings.append(f)
                case .client(let s): client(r.clientKey).summary = s
                case .reset: break   // runs are told apart by attempts starting again at 1
                }
            }
            for c in clients { c.conns.sort { $0.openedAt < $1.openedAt || ($0.openedAt == $1.openedAt && $0.id < $1.id) } }
            self.clients = clients
            connectionCount = conns.count
            recordCount = records.count
            summaryLevel = conns.values.contains { c in
                guard let close = c.close else { return false }
                return c.frames.count < close.frames
            }
        }
    }

    /// One frame placed on a lane.
    struct Mark {
        var frame: FrameInfo
        var fate: Fate
        var notes: [FaultNote]
        /// When it was written to the client, when a fault held it back and the time is known.
        var writtenAt: UInt64?
        var copies: Int
    }

    /// A span of a lane where the connection waited: a connect or first-byte delay, a stall.
    struct Band {
        var from: UInt64
        var to: UInt64
        var label: String
        var tip: String
    }

    /// Fates, delivery times and waits of one connection's frames, from its fault records.
    static func analyse(_ c: Conn) -> (marks: [Mark], bands: [Band]) {
        var byFrame: [Int: [FaultNote]] = [:]
        var cutFrame: Int?
        var cutAt: UInt64?
        var stallForeverFrame: Int?
        var stallForeverAt: UInt64?
        var bands: [Band] = []
        var bursts: [(at: UInt64, frames: Int)] = []
        var timedStalls: [(from: UInt64, to: UInt64)] = []
        for n in c.faults {
            if let f = n.frame { byFrame[f, default: []].append(n) }
            switch n.fault {
            case "disconnect":
                if cutAt == nil {
                    cutAt = n.at
                    cutFrame = n.frame.map { n.action.contains("bytes of the frame dropped") ? $0 - 1 : $0 }
                }
            case "stall" where n.action.hasPrefix("stalled"):
                if n.action.hasSuffix("forever") {
                    stallForeverFrame = n.frame
                    stallForeverAt = n.at
                    bands.append(Band(from: n.at, to: max(n.at, c.endAt), label: "stalled", tip: "stall: \(n.action)"))
                } else if let d = trailingDuration(n.action, after: "for") {
                    timedStalls.append((n.at, n.at &+ d))
                    bands.append(Band(from: n.at, to: n.at &+ d, label: "stalled", tip: "stall: \(n.action)"))
                }
            case "delay" where n.frame == nil:
                if n.action.hasPrefix("connect delayed "), let d = parseDuration(String(n.action.dropFirst("connect delayed ".count))) {
                    bands.append(Band(from: c.openedAt, to: c.openedAt &+ d, label: "connect delay", tip: "delay: \(n.action)"))
                } else if n.action.hasPrefix("first byte delayed "), let d = parseDuration(String(n.action.dropFirst("first byte delayed ".count))) {
                    bands.append(Band(from: n.at, to: n.at &+ d, label: "first-byte delay", tip: "delay: \(n.action)"))
                }
            case "buffer":
                if let k = burstFrames(n.action) { bursts.append((n.at, k)) }
            default: break
            }
        }

        var marks: [Mark] = c.frames.sorted { $0.index < $1.index }.map { f in
            let notes = byFrame[f.index] ?? []
            var fate = LedgerHTMLRenderer.fate(of: notes.map { ($0.fault, $0.action) })
            var writtenAt: UInt64?
            var copies = 1
            for n in notes {
                switch n.fault {
                case "delay":
                    if n.action.hasPrefix("delayed "), let d = parseDuration(String(n.action.dropFirst("delayed ".count))) {
                        writtenAt = max(writtenAt ?? 0, f.at &+ d)
                    }
                case "throttle":
                    if let d = throttleDuration(n.action, size: f.size) { writtenAt = max(writtenAt ?? 0, f.at &+ d) }
                case "reorder":
                    writtenAt = max(writtenAt ?? 0, n.at)
                case "duplicate":
                    copies += extraCopies(n.action)
                default: break
                }
            }
            if let cf = cutFrame, f.index > cf { fate = .lost } else if cutFrame == nil, let t = cutAt, f.at > t { fate = .lost }
            if let sf = stallForeverFrame, f.index > sf { fate = .lost } else if stallForeverFrame == nil, let t = stallForeverAt, f.at > t { fate = .lost }
            for s in timedStalls where f.at >= s.from && f.at < s.to && fate.rank <= Fate.delayed.rank {
                fate = .delayed
                writtenAt = max(writtenAt ?? 0, s.to)
            }
            return Mark(frame: f, fate: fate, notes: notes, writtenAt: writtenAt, copies: copies)
        }
        // A burst releases the frames held since the previous one: the latest `k` frames that had arrived.
        var taken = Set<Int>()
        for b in bursts {
            var need = b.frames
            var i = marks.count - 1
            while i >= 0 && need > 0 {
                if marks[i].frame.at <= b.at && !taken.contains(i) {
                    taken.insert(i)
                    need -= 1
                    if marks[i].fate.rank <= Fate.delayed.rank, b.at > marks[i].frame.at {
                        marks[i].fate = .delayed
                        marks[i].writtenAt = max(marks[i].writtenAt ?? 0, b.at)
                        marks[i].notes.append(FaultNote(frame: marks[i].frame.index, fault: "buffer",
                                                        action: "held until a burst \(formatMs(Int64(b.at &- marks[i].frame.at))) later", at: b.at))
                    }
                }
                i -= 1
            }
        }
        return (marks, bands)
    }

    /// `"1.5s"`, `"300ms"`, `"284702us"`, `"12ns"` (what `formatNanos` writes) as ns.
    static func parseDuration(_ s: String) -> UInt64? {
        let t = s.split(separator: " ").first.map(String.init) ?? s
        for (suffix, scale) in [("ns", 1.0), ("us", 1e3), ("ms", 1e6), ("s", 1e9)] where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v >= 0, v < 1e7 else { return nil }
            return UInt64(v * scale)
        }
        return nil
    }

    /// The duration after the word `marker` at the end of `s`: `"stalled after 3 events for 2s"`.
    static func trailingDuration(_ s: String, after marker: String) -> UInt64? {
        let words = s.split(separator: " ")
        guard words.count >= 2, words[words.count - 2] == marker else { return nil }
        return parseDuration(String(words[words.count - 1]))
    }

    /// `"dripped in 4 slices of 7 bytes, 5ms apart"` → 3 × 5ms; `"throttled to 100 B/s in 3 writes"` → size / rate.
    static func throttleDuration(_ action: String, size: Int) -> UInt64? {
        let w = action.split(separator: " ").map(String.init)
        if action.hasPrefix("dripped in "), w.count >= 8, let n = UInt64(w[2]), n > 0, let p = parseDuration(w[w.count - 2]) {
            return (n - 1) &* p
        }
        if action.hasPrefix("throttled to "), w.count >= 3, let rate = Double(w[2]), rate > 0 {
            return UInt64(Double(size) / rate * 1e9)
        }
        return nil
    }

    /// `"duplicated (2 extra)"` → 2.
    static func extraCopies(_ action: String) -> Int {
        guard let open = action.firstIndex(of: "(") else { return 1 }
        let digits = action[action.index(after: open)...].prefix { $0.isNumber }
        return Int(digits) ?? 1
    }

    /// `"released burst of 9 frames (231 bytes)"` → 9.
    static func burstFrames(_ action: String) -> Int? {
        guard action.hasPrefix("released burst of ") else { return nil }
        return Int(action.dropFirst("released burst of ".count).prefix { $0.isNumber })
    }

    // MARK: - Page

    static let fateColours: [Fate: String] = [
        .delivered: "#4e79a7", .delayed: "#f28e2b", .reordered: "#8e6bd1", .duplicated: "#17a2a2",
        .corrupted: "#d4488e", .dropped: "#d62728", .lost: "#d62728",
    ]

    struct Page {
        var out = ""

        mutating func w(_ s: String) { out += s }

        mutating func document(_ m: Model, title: String, source: String?, unreadable: [(line: Int, error: String)]) {
            w("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            w("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            w("<title>\(escape(title))\(source.map { " — " + escape($0) } ?? "")</title>\n<style>\n\(LedgerHTMLRenderer.css)</style>\n</head>\n<body>\n")
            w("<header class=\"top\">\n<h1>\(escape(title))</h1>\n<p class=\"sub\">")
            if let source { w("<span class=\"source\">\(escape(source))</span> · ") }
            let findings = m.clients.reduce(0) { $0 + ($1.summary?.findings ?? $1.findings.count) }
            w("\(plural(m.clients.count, "client")), \(plural(m.connectionCount, "connection")), \(plural(findings, "finding")), \(plural(m.recordCount, "record"))</p>\n")
            legend()
            w("</header>\n<main>\n")
            if !unreadable.isEmpty {
                w("<div class=\"notice\" id=\"unreadable\"><strong>\(plural(unreadable.count, "line")) could not be read</strong><ul>")
                for e in unreadable.prefix(10) { w("<li>line \(e.line): \(escape(e.error))</li>") }
                if unreadable.count > 10 { w("<li>… \(unreadable.count - 10) more</li>") }
                w("</ul></div>\n")
            }
            if m.summaryLevel {
                w("<div class=\"notice\" id=\"summary-level\">This ledger was written at <code>--ledger-level summary</code>: only the frames a fault acted on are recorded, so the lanes show only those.</div>\n")
            }
            if m.clients.isEmpty {
                w("<p class=\"empty\">The ledger has no connections.</p>\n")
            } else {
                overview(m)
                for c in m.clients { client(c) }
            }
            w("</main>\n<footer>Generated by <code>sputter ledger --html</code>. Hover a mark for its frame and the fault actions; click a legend entry to hide or show that fate. A lane with more than \(Page.maxMarks) frames shows its events as \(Int(Page.denseColumn))-pixel columns split by fate.</footer>\n")
            w("<script>\n\(LedgerHTMLRenderer.script)</script>\n</body>\n</html>\n")
        }

        mutating func legend() {
            w("<ul class=\"legend\" id=\"legend\">\n")
            for f in Fate.allCases {
                w("<li class=\"fate-toggle\" data-fate=\"\(f.rawValue)\" title=\"\(escape(f.explanation))\" tabindex=\"0\" role=\"button\" aria-pressed=\"true\">")
                w("<svg width=\"22\" height=\"16\" viewBox=\"0 0 22 16\" aria-hidden=\"true\">\(LedgerHTMLRenderer.markGlyph(f, x: 6, y: 1, h: 14))</svg>")
                w("\(escape(f.label))</li>\n")
            }
            w("<li class=\"static\"><svg width=\"22\" height=\"16\" viewBox=\"0 0 22 16\" aria-hidden=\"true\"><rect x=\"9\" y=\"9\" width=\"2\" height=\"6\" fill=\"#9aa5b1\"/></svg>comment / heartbeat</li>\n")
            w("<li class=\"static\"><svg width=\"22\" height=\"16\" viewBox=\"0 0 22 16\" aria-hidden=\"true\"><circle cx=\"11\" cy=\"3\" r=\"2\" fill=\"#2d3a48\"/><rect x=\"9.5\" y=\"6\" width=\"3\" height=\"9\" fill=\"#4e79a7\"/></svg>other fault noted (retry, …)</li>\n")
            w("<li class=\"static\"><svg width=\"22\" height=\"16\" viewBox=\"0 0 22 16\" aria-hidden=\"true\"><rect x=\"1\" y=\"2\" width=\"20\" height=\"12\" fill=\"url(#hatch)\" stroke=\"#c9a227\" stroke-width=\"0.8\"/></svg>wait (delay, stall)</li>\n")
            w("<li class=\"static\"><svg width=\"22\" height=\"16\" viewBox=\"0 0 22 16\" aria-hidden=\"true\"><line x1=\"11\" y1=\"1\" x2=\"11\" y2=\"15\" stroke=\"#c0392b\" stroke-width=\"3\"/></svg>cut by a fault (rst, fin, half-close)</li>\n")
            w("<li class=\"static\"><svg width=\"22\" height=\"16\" viewBox=\"0 0 22 16\" aria-hidden=\"true\"><line x1=\"11\" y1=\"1\" x2=\"11\" y2=\"15\" stroke=\"#5a6b7b\" stroke-width=\"3\"/></svg>ended (upstream end, client close)</li>\n")
            w("</ul>\n")
            // Shared pattern for the hatched bands (ids are document-wide, so every SVG can use it).
            w("<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#fdf3d0\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#e2c25b\" stroke-width=\"2.5\"/></pattern></defs></svg>\n")
        }

        mutating func overview(_ m: Model) {
            guard m.clients.count > 1 else { return }
            w("<table class=\"overview\">\n<thead><tr><th>client</th><th>attempts</th><th>expected</th><th>received</th><th>missing</th><th>duplicated</th><th>verdict</th></tr></thead>\n<tbody>\n")
            for c in m.clients {
                let s = c.summary
                w("<tr><td><a href=\"#client-\(c.index)\">\(escape(c.key))</a>\(c.run > 1 ? " <span class=\"dim\">run \(c.run)</span>" : "")</td><td>\(c.conns.count)</td>")
                w("<td>\(s.map { String($0.expected) } ?? "–")</td><td>\(s.map { String($0.received) } ?? "–")</td>")
                w("<td\(s.map { $0.missing > 0 ? " class=\"bad\"" : "" } ?? "")>\(s.map { String($0.missing) } ?? "–")</td>")
                w("<td\(s.map { $0.duplicated > 0 ? " class=\"bad\"" : "" } ?? "")>\(s.map { String($0.duplicated) } ?? "–")</td>")
                w("<td>\(verdictChip(c))</td></tr>\n")
            }
            w("</tbody></table>\n")
        }

        func verdictChip(_ c: Client) -> String {
            guard let s = c.summary else { return "<span class=\"chip pending\">pending</span>" }
            if s.findings == 0 && !s.failed { return "<span class=\"chip ok\">ok</span>" }
            if s.findings == 0 { return "<span class=\"chip warn\">EventSource failed</span>" }
            return "<span class=\"chip bad\">\(plural(s.findings, "finding"))</span>"
        }

        mutating func client(_ c: Client) {
            let s = c.summary
            let state = s == nil ? "state-pending" : (s!.findings > 0 ? "state-bad" : (s!.failed ? "state-warn" : "state-ok"))
            w("<section class=\"client \(state)\" id=\"client-\(c.index)\" data-client=\"\(escape(c.key))\" data-run=\"\(c.run)\">\n")
            w("<h2><span class=\"label\">client</span> <span class=\"key\">\(escape(c.key))</span>\(c.run > 1 ? " <span class=\"label\">run \(c.run)</span>" : "") \(verdictChip(c))</h2>\n")
            if c.run > 1 {
                w("<p class=\"dim\">Its attempts were counted from 1 again (the ledger was reset): a new run of the same client key.</p>\n")
            }
            w("<p class=\"verdict\">\(escape(s?.verdict ?? "no verdict yet: no connection of this client has closed"))</p>\n")
            if let s {
                w("<dl class=\"stats\">")
                stat("attempts", String(s.connections))
                stat("expected", String(s.expected))
                stat("received", String(s.received))
                stat("missing", String(s.missing), bad: s.missing > 0)
                stat("duplicated", String(s.duplicated), bad: s.duplicated > 0)
                stat("unexpected", String(s.unexpected), bad: s.unexpected > 0)
                stat("last event ID", s.lastEventID.isEmpty ? "none" : JSONWriter.quoted(s.lastEventID))
                stat("reconnection time", "\(s.reconnectionTimeMs)ms")
                w("</dl>\n")
            }
            timeline(c)
            attempts(c)
            findings(c)
            w("</section>\n")
        }

        mutating func stat(_ name: String, _ value: String, bad: Bool = false) {
            w("<div\(bad ? " class=\"bad\"" : "")><dt>\(escape(name))</dt><dd>\(escape(value))</dd></div>")
        }

        // MARK: Timeline

        static let labelWidth = 168.0
        static let plotWidth = 940.0
        static let rightMargin = 132.0
        static let laneHeight = 30.0
        static let laneGap = 14.0
        static let axisHeight = 26.0
        /// Lanes with more frames are drawn as columns (`dense`).
        static let maxMarks = 2000
        static let denseColumn = 3.0
        static let markSpacing = 4.5

        mutating func timeline(_ c: Client) {
            guard let first = c.conns.first else { return }
            let origin = first.openedAt
            let analysed = c.conns.map { LedgerHTMLRenderer.analyse($0) }
            var end = origin
            for (k, a) in zip(c.conns, analysed) {
                end = max(end, k.endAt)
                for m in a.marks { end = max(end, m.writtenAt ?? m.frame.at, m.frame.at) }
                for b in a.bands { end = max(end, b.to) }
            }
            // The earliest moment each reconnect was allowed, so an early one shows how early it was.
            var allowed: [Int: UInt64] = [:]
            for i in c.conns.indices.dropFirst() {
                let p = c.conns[i - 1]
                if let pred = p.prediction, pred.reconnects, let closed = p.closedAt {
                    let t = closed &+ pred.reconnectionTimeMs &* 1_000_000
                    allowed[i] = t
                    if t > c.conns[i].openedAt { end = max(end, t) }
                }
            }
            let spanNs = Double(end &- origin)
            let step = Page.niceStep(max(spanNs, 1_000_000) / 8)
            let axisMax = max(step, (spanNs / step).rounded(.up) * step)
            let L = Page.labelWidth, P = Page.plotWidth
            func x(_ t: UInt64) -> Double { L + Double(t &- origin) / axisMax * P }
            let width = L + P + Page.rightMargin
            let height = Page.axisHeight + Double(c.conns.count) * (Page.laneHeight + Page.laneGap) + 4
            let attemptFindings = Dictionary(grouping: c.findings.filter { $0.attempt != nil && $0.kind != .missing && $0.kind != .duplicated }) { $0.attempt! }

            w("<div class=\"timeline\"><svg class=\"lanes\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" role=\"img\" aria-label=\"timeline of client \(escape(c.key))\">\n")
            // Axis and grid.
            w("<g class=\"axis\">")
            var tick = 0.0
            while tick <= axisMax + 1 {
                let tx = L + tick / axisMax * P
                w("<line x1=\"\(n(tx))\" y1=\"\(n(Page.axisHeight - 6))\" x2=\"\(n(tx))\" y2=\"\(n(height))\" class=\"grid\"/>")
                w("<text x=\"\(n(tx))\" y=\"\(n(Page.axisHeight - 10))\" text-anchor=\"middle\">\(Page.tickLabel(tick, step: step))</text>")
                tick += step
            }
            w("<text x=\"\(n(L - 8))\" y=\"\(n(Page.axisHeight - 10))\" text-anchor=\"end\" class=\"axis-title\">since first connect</text>")
            w("</g>\n")

            for (i, k) in c.conns.enumerated() {
                let a = analysed[i]
                let top = Page.axisHeight + Double(i) * (Page.laneHeight + Page.laneGap) + 4
                let mid = top + Page.laneHeight / 2
                let x0 = x(k.openedAt)
                let dense = a.marks.count > Page.maxMarks
                // Frames that arrived together would hide one another: keep marks at least `markSpacing`
                // apart, in arrival order (their tooltips keep the exact time).
                var markX: [Double] = []
                if !dense {
                    let available = max(0, Page.labelWidth + Page.plotWidth - x0 - 4)
                    let spacing = min(Page.markSpacing, available / Double(max(1, a.marks.count)))
                    var previous = -Double.infinity
                    for m in a.marks {
                        let mx = max(x(m.frame.at), previous + spacing)
                        markX.append(mx)
                        previous = mx
                    }
                }
                let x1 = max(x(k.endAt), x0 + 3, (markX.last ?? 0) + 3)
                let failed = k.response?.failReason != nil
                let flagged = attemptFindings[k.attempt] ?? []
                w("<g class=\"lane\" data-conn=\"\(k.id)\" data-attempt=\"\(k.attempt)\" data-end=\"\(escape(Page.endName(k)))\">\n")
                // Label column.
                let status = k.response.map { String($0.status) } ?? "no response"
                w("<text x=\"8\" y=\"\(n(top + 12))\" class=\"lane-title\">attempt \(k.attempt)\(flagged.isEmpty ? "" : " <tspan class=\"warn-glyph\">⚠</tspan>")</text>")
                w("<text x=\"8\" y=\"\(n(top + 26))\" class=\"lane-sub\">conn \(k.id) · <tspan class=\"\(failed ? "st-bad" : "st-ok")\">\(escape(status))</tspan>\(k.open.map { " · " + escape(Page.short($0.profile, 14)) } ?? "")</text>")
                if !flagged.isEmpty {
                    w("<title>\(escape(flagged.map(\.line).joined(separator: "\n")))</title>")
                }
                // The wait before this attempt, against the reconnection time.
                if i > 0, let prevClosed = c.conns[i - 1].closedAt, prevClosed <= k.openedAt {
                    let px = x(prevClosed)
                    let early = flagged.contains { $0.kind == .reconnectTooEarly }
                    let afterFailure = flagged.contains { $0.kind == .reconnectAfterFailure }
                    let cls = early || afterFailure ? "wait bad" : "wait"
                    let waited = formatMs(Int64(k.openedAt &- prevClosed))
                    var tip = "waited \(waited) after attempt \(c.conns[i - 1].attempt) ended"
                    if let t = allowed[i] { tip += "; the reconnection time was \(formatMs(Int64(t &- prevClosed)))" }
                    if afterFailure { tip += "; attempt \(c.conns[i - 1].attempt) failed, so EventSource does not reconnect" }
                    w("<g class=\"\(cls)\"><title>\(escape(tip))</title><line x1=\"\(n(px))\" y1=\"\(n(mid))\" x2=\"\(n(x0))\" y2=\"\(n(mid))\"/>")
                    if x0 - px > 60 {
                        w("<text x=\"\(n((px + x0) / 2))\" y=\"\(n(mid - 4))\" text-anchor=\"middle\">waited \(escape(waited))</text>")
                    }
                    if let t = allowed[i], t > k.openedAt {
                        let ax = x(t)
                        w("<line class=\"allowed\" x1=\"\(n(ax))\" y1=\"\(n(top - 2))\" x2=\"\(n(ax))\" y2=\"\(n(top + Page.laneHeight + 2))\"/>")
                        w("<text class=\"allowed-label\" x=\"\(n(ax + 3))\" y=\"\(n(top + Page.laneHeight))\">reconnection time</text>")
                    }
                    w("</g>")
                }
                // The connection's life.
                w("<rect class=\"life\(failed ? " failed" : "")\" x=\"\(n(x0))\" y=\"\(n(top))\" width=\"\(n(x1 - x0))\" height=\"\(n(Page.laneHeight))\" rx=\"4\"><title>\(escape(Page.lifeTip(k)))</title></rect>\n")
                for b in a.bands {
                    let bx = x(b.from), bw = max(2, x(b.to) - bx)
                    w("<g class=\"band\"><title>\(escape(b.tip))</title><rect x=\"\(n(bx))\" y=\"\(n(top + 1))\" width=\"\(n(bw))\" height=\"\(n(Page.laneHeight - 2))\" fill=\"url(#hatch)\"/>")
                    if bw > 70 { w("<text x=\"\(n(bx + 4))\" y=\"\(n(top + 11))\">\(escape(b.label))</text>") }
                    w("</g>")
                }
                // A status a fault wrote, or a non-200 from the upstream: inside the lane when it fits, else
                // beside the end marker (and the end's label moves past it).
                var endLabel = (offset: 6.0, leftward: x1 + 6 + 120 > width)
                if let r = k.response, r.synthetic || r.status != 200 {
                    let text = r.synthetic ? "\(r.status) by fault" : "\(r.status) from upstream"
                    let bw = Double(text.count) * 6.6 + 12
                    var bx = x0 + 4
                    if x1 - x0 < bw + 8 {
                        endLabel.leftward = x1 + bw + 12 + 120 > width
                        bx = endLabel.leftward ? x0 - 6 - bw : x1 + 6
                        endLabel.offset = endLabel.leftward ? 6 : bw + 12
                    }
                    w("<g class=\"status-badge\(r.synthetic ? " synthetic" : "")\" data-status=\"\(r.status)\"><title>\(escape(Page.responseTip(r)))</title>")
                    w("<rect x=\"\(n(bx))\" y=\"\(n(mid - 9))\" width=\"\(n(bw))\" height=\"18\" rx=\"9\"/><text x=\"\(n(bx + bw / 2))\" y=\"\(n(mid + 4))\" text-anchor=\"middle\">\(escape(text))</text></g>")
                }
                // Frames: one mark each, or for a dense lane columns of the fates' shares.
                if dense {
                    self.dense(a.marks, x: x, top: top)
                } else {
                    for (m, mx) in zip(a.marks, markX) {
                        mark(m, x: mx, writtenX: m.writtenAt.map { max(x($0), mx) }, top: top, origin: origin)
                    }
                }
                endMarker(k, x: x1, top: top, labelOffset: endLabel.offset, leftward: endLabel.leftward)
                w("</g>\n")
            }
            w("</svg></div>\n")
        }

        /// A lane with more frames than `maxMarks`: its events in columns `denseColumn` wide, each column
        /// split into the shares of each fate (delivered at the bottom).
        mutating func dense(_ marks: [Mark], x: (UInt64) -> Double, top: Double) {
            var columns: [Int: (counts: [Int], first: Int, last: Int)] = [:]
            for m in marks where m.frame.kind == "event" {
                let c = Int(((x(m.frame.at) - Page.labelWidth) / Page.denseColumn).rounded(.down))
                var entry = columns[c] ?? (Array(repeating: 0, count: Fate.allCases.count), m.frame.index, m.frame.index)
                entry.counts[m.fate.rank] += 1
                entry.first = min(entry.first, m.frame.index)
                entry.last = max(entry.last, m.frame.index)
                columns[c] = entry
            }
            let y0 = top + 5, h = Page.laneHeight - 10
            for c in columns.keys.sorted() {
                guard let entry = columns[c] else { continue }
                let total = entry.counts.reduce(0, +)
                var tip = "frames \(entry.first)–\(entry.last): \(total) events"
                for f in Fate.allCases where entry.counts[f.rank] > 0 { tip += "\n\(entry.counts[f.rank]) \(f.label)" }
                w("<g class=\"column\"><title>\(escape(tip))</title>")
                var y = y0 + h
                for f in Fate.allCases where entry.counts[f.rank] > 0 {
                    let sh = max(1, h * Double(entry.counts[f.rank]) / Double(total))
                    y -= sh
                    w("<rect class=\"fate-\(f.rawValue)\" data-fate=\"\(f.rawValue)\" x=\"\(n(Page.labelWidth + Double(c) * Page.denseColumn))\" y=\"\(n(max(y0, y)))\" width=\"\(n(Page.denseColumn - 0.6))\" height=\"\(n(sh))\" fill=\"\(LedgerHTMLRenderer.fateColours[f] ?? "#4e79a7")\"/>")
                }
                w("</g>")
            }
        }

        mutating func mark(_ m: Mark, x: Double, writtenX: Double?, top: Double, origin: UInt64) {
            let f = m.frame
            let isEvent = f.kind == "event"
            var tip = "frame \(f.index)"
            if let id = f.id { tip += " · id \(JSONWriter.quoted(id))" }
            if let t = f.eventType { tip += " · \(t)" } else { tip += " · \(f.kind)" }
            tip += " · \(f.size) bytes · \(LedgerReportRenderer.offset(f.at, from: origin))"
            tip += "\n\(m.fate.label)"
            for note in m.notes { tip += "\n\(note.fault): \(note.action)" }
            let attrs = "class=\"mark fate-\(m.fate.rawValue)\(isEvent ? "" : " minor")\" data-fate=\"\(m.fate.rawValue)\" data-frame=\"\(f.index)\"\(f.id.map { " data-id=\"\(escape($0))\"" } ?? "")"
            w("<g \(attrs)><title>\(escape(tip))</title>")
            let colour = LedgerHTMLRenderer.fateColours[m.fate] ?? "#4e79a7"
            if let wx = writtenX, wx - x >= 1 {
                let ty = isEvent ? top + Page.laneHeight / 2 : top + Page.laneHeight - 4
                w("<line x1=\"\(n(x))\" y1=\"\(n(ty))\" x2=\"\(n(wx))\" y2=\"\(n(ty))\" stroke=\"\(colour)\" stroke-width=\"1.5\" opacity=\"0.55\"/>")
                w("<circle cx=\"\(n(wx))\" cy=\"\(n(ty))\" r=\"1.8\" fill=\"\(colour)\"/>")
            }
            if m.fate == .delivered && !m.notes.isEmpty {
                // A fault acted on it without changing its fate (an injected retry, the frame a disconnect followed).
                w("<circle class=\"noted\" cx=\"\(n(x))\" cy=\"\(n(isEvent ? top + 2.5 : top + Page.laneHeight - 10.5))\" r=\"1.9\"/>")
            }
            if isEvent {
                w(LedgerHTMLRenderer.markGlyph(m.fate, x: x - 1.5, y: top + 5, h: Page.laneHeight - 10))
            } else {
                let c = m.fate == .delivered ? "#9aa5b1" : colour
                w("<rect x=\"\(n(x - 0.75))\" y=\"\(n(top + Page.laneHeight - 8))\" width=\"1.5\" height=\"6\" fill=\"\(c)\"/>")
            }
            w("</g>")
        }

        mutating func endMarker(_ k: Conn, x: Double, top: Double, labelOffset: Double, leftward: Bool) {
            let name = Page.endName(k)
            let bottom = top + Page.laneHeight
            guard let close = k.close else {
                w("<g class=\"end open\" data-end=\"open\"><title>still open at the end of the ledger</title><path d=\"M\(n(x)) \(n(top + 6)) l8 \(n(Page.laneHeight / 2 - 6)) l-8 \(n(Page.laneHeight / 2 - 6))\"/><text x=\"\(n(x + 12))\" y=\"\(n(top + 19))\">open</text></g>")
                return
            }
            let isFault: Bool
            if case .fault = close.end { isFault = true } else { isFault = false }
            let bad: Bool
            switch close.end {
            case .fault, .upstreamError, .refused: bad = true
            default: bad = false
            }
            var tip = close.end.summary
            if let p = k.prediction { tip += "\n→ \(p.next)" }
            w("<g class=\"end\(bad ? " cut" : "")\" data-end=\"\(escape(name))\"><title>\(escape(tip))</title>")
            w("<line x1=\"\(n(x))\" y1=\"\(n(top - 3))\" x2=\"\(n(x))\" y2=\"\(n(bottom + 3))\"/>")
            if isFault { w("<path d=\"M\(n(x - 4)) \(n(top - 3)) l8 0 M\(n(x - 4)) \(n(bottom + 3)) l8 0\"/>") }
            let tx = leftward ? x - labelOffset : x + labelOffset
            let anchor = leftward ? " text-anchor=\"end\"" : ""
            w("<text x=\"\(n(tx))\" y=\"\(n(top + 12))\"\(anchor)>\(escape(name))</text>")
            if let p = k.prediction {
                let next = p.reconnects ? "→ reconnect" : "→ EventSource stops"
                w("<text x=\"\(n(tx))\" y=\"\(n(top + 25))\"\(anchor) class=\"next\(p.reconnects ? "" : " stop")\">\(next)</text>")
            }
            w("</g>")
        }

        static func endName(_ k: Conn) -> String {
            guard let close = k.close else { return "open" }
            switch close.end {
            case .upstreamEnd: return "upstream end"
            case .clientClose: return "client closed"
            case .fault(let kind, _):
                switch kind {
                case "rst": return "RST"
                case "fin": return "FIN"
                case "halfClose": return "half-close"
                default: return kind
                }
            case .upstreamError: return "upstream error"
            case .refused: return "refused"
            case .shutdown: return "shutdown"
            }
        }

        static func lifeTip(_ k: Conn) -> String {
            var s = "attempt \(k.attempt) · conn \(k.id)"
            if let o = k.open {
                s += "\n\(o.method) \(o.path) · profile \(o.profile) seed \(o.seed)"
                s += "\nLast-Event-ID sent: " + (o.lastEventIDSent.map { JSONWriter.quoted($0) } ?? "none")
            }
            if let r = k.response { s += "\n" + responseTip(r) }
            if let c = k.close {
                s += "\nupstream: \(c.frames) frames, \(c.events) events; delivered \(c.bytesDelivered) bytes; \(c.faults) fault actions"
                s += "\nended: \(c.end.summary)"
            }
            if let p = k.prediction {
                s += "\ndispatched \(p.dispatched) (\(p.intact) intact), last event ID " + (p.lastEventID.isEmpty ? "none" : JSONWriter.quoted(p.lastEventID))
                s += "\n→ \(p.next)"
            }
            return s
        }

        static func responseTip(_ r: LedgerRecord.Response) -> String {
            "response \(r.status) \(r.contentType ?? "(no Content-Type)")\(r.synthetic ? " (written by a fault)" : "")"
                + (r.failReason.map { " → EventSource fails: \($0)" } ?? "")
        }

        // MARK: Attempts table and findings

        mutating func attempts(_ c: Client) {
            guard let first = c.conns.first else { return }
            let origin = first.openedAt
            w("<table class=\"attempts\">\n<thead><tr><th>attempt</th><th>start</th><th>request</th><th>Last-Event-ID sent</th><th>response</th><th>upstream</th><th>faults</th><th>delivered / dispatched</th><th>end → next</th></tr></thead>\n<tbody>\n")
            var previous: Conn?
            for k in c.conns {
                let flagged = c.findings.contains { $0.attempt == k.attempt && $0.kind != .missing && $0.kind != .duplicated }
                w("<tr\(flagged ? " class=\"flagged\"" : "") data-conn=\"\(k.id)\"><td>\(k.attempt)<div class=\"dim\">conn \(k.id)</div></td>")
                w("<td>\(LedgerReportRenderer.offset(k.openedAt, from: origin))</td>")
                if let o = k.open {
                    w("<td><code>\(escape(o.method)) \(escape(o.path))</code><div class=\"dim\">\(escape(o.profile)) · seed \(o.seed)</div></td>")
                    var lei = o.lastEventIDSent.map { "<code>\(escape(JSONWriter.quoted($0)))</code>" } ?? "none"
                    if let p = previous, let pp = p.prediction {
                        if pp.reconnects {
                            let expected = pp.lastEventID.isEmpty ? "none" : JSONWriter.quoted(pp.lastEventID)
                            let sent = o.lastEventIDSent ?? ""
                            let ok = sent == pp.lastEventID
                            lei += "<div class=\"\(ok ? "dim" : "bad")\">expected \(escape(expected))</div>"
                        }
                        if let closed = p.closedAt, closed <= k.openedAt {
                            lei += "<div class=\"dim\">after \(formatMs(Int64(k.openedAt &- closed)))\(pp.reconnects ? " (retry \(pp.reconnectionTimeMs)ms)" : "")</div>"
                        }
                    }
                    w("<td>\(lei)</td>")
                } else {
                    w("<td>–</td><td>–</td>")
                }
                if let r = k.response {
                    w("<td><span class=\"\(r.failReason == nil ? "st-ok" : "st-bad")\">\(r.status)</span> \(escape(r.contentType ?? "(no Content-Type)"))")
                    if r.synthetic { w("<div class=\"dim\">written by a fault</div>") }
                    if let why = r.failReason { w("<div class=\"bad\">EventSource fails: \(escape(why))</div>") }
                    w("</td>")
                } else {
                    w("<td>no response</td>")
                }
                if let cl = k.close {
                    var ids = ""
                    if let f = cl.firstID, let l = cl.lastID { ids = f == l ? "id \(IDList.describe([f]))" : "ids \(IDList.describe([f]))…\(IDList.describe([l]))" }
                    w("<td>\(plural(cl.events, "event")), \(plural(cl.frames, "frame"))\(ids.isEmpty ? "" : "<div class=\"dim\">\(escape(ids))</div>")</td>")
                } else {
                    w("<td>\(plural(k.frames.count, "frame")) so far</td>")
                }
                w("<td class=\"faults\">")
                if k.faults.isEmpty { w("–") }
                var counts: [(String, Int)] = []
                for f in k.faults {
                    if let j = counts.firstIndex(where: { $0.0 == f.fault }) { counts[j].1 += 1 } else { counts.append((f.fault, 1)) }
                }
                for (name, count) in counts {
                    let actions = k.faults.filter { $0.fault == name }.prefix(12).map { ($0.frame.map { "frame \($0): " } ?? "") + $0.action }
                    w("<span class=\"fault\" title=\"\(escape(actions.joined(separator: "\n")))\">\(escape(name))\(count > 1 ? " ×\(count)" : "")</span> ")
                }
                w("</td>")
                let bytes = k.close?.bytesDelivered ?? k.deliveredTotal ?? 0
                if let p = k.prediction {
                    w("<td>\(bytes) bytes<div class=\"dim\">dispatched \(p.dispatched) (\(p.intact) intact\(p.unexpected > 0 ? ", <span class=\"bad\">\(p.unexpected) unexpected</span>" : ""))\(p.discardedTail ? ", torn tail" : "")</div></td>")
                } else {
                    w("<td>\(bytes) bytes</td>")
                }
                if let cl = k.close {
                    w("<td>\(escape(cl.end.summary))\(k.prediction.map { "<div class=\"\($0.reconnects ? "dim" : "bad")\">→ \(escape($0.next))</div>" } ?? "")</td>")
                } else {
                    w("<td>still open</td>")
                }
                w("</tr>\n")
                previous = k
            }
            w("</tbody></table>\n")
        }

        mutating func findings(_ c: Client) {
            var items: [(kind: String, text: String)] = []
            if let s = c.summary, s.missing > 0 {
                items.append(("missing", "\(s.missing) of \(s.expected) events never dispatched intact"
                    + (s.missingIDs.isEmpty ? "" : ": \(IDList.labelled(s.missingIDs, total: max(s.missing, s.missingIDs.count), limit: 20))")))
            }
            if let s = c.summary, s.duplicated > 0 {
                items.append(("duplicated", "\(plural(s.duplicated, "event")) dispatched more than once"
                    + (s.duplicatedIDs.isEmpty ? "" : ": \(IDList.labelled(s.duplicatedIDs, total: max(s.duplicated, s.duplicatedIDs.count), limit: 20))")))
            }
            for f in c.findings where f.kind != .missing && f.kind != .duplicated {
                items.append((f.kind.rawValue, (f.attempt.map { "attempt \($0): " } ?? "") + f.detail))
            }
            w("<div class=\"findings\"><h3>Findings</h3>")
            if items.isEmpty {
                w("<p class=\"none\">none</p>")
            } else {
                w("<ul>")
                for i in items { w("<li data-kind=\"\(escape(i.kind))\"><span class=\"kind\">\(escape(i.kind))</span> \(escape(i.text))</li>") }
                w("</ul>")
            }
            w("</div>\n")
        }

        // MARK: Helpers

        /// 1, 2 or 5 × 10^k ns, at least 1ms.
        static func niceStep(_ raw: Double) -> Double {
            var p = 1_000_000.0
            while p * 10 <= raw { p *= 10 }
            for m in [1.0, 2.0, 5.0, 10.0] where p * m >= raw { return p * m }
            return p * 10
        }

        static func tickLabel(_ ns: Double, step: Double) -> String {
            let ms = (ns / 1_000_000).rounded()
            if ms == 0 { return "0" }
            if step < 1_000_000_000 && ms < 1000 { return "+\(Int(ms))ms" }
            let s = ms / 1000
            if step.truncatingRemainder(dividingBy: 1_000_000_000) == 0 { return "+\(Int(s.rounded()))s" }
            let tenths = (s * 10).rounded() / 10
            if step.truncatingRemainder(dividingBy: 100_000_000) == 0 { return "+\(tenths)s" }
            let hundredths = (s * 100).rounded() / 100
            return "+\(hundredths)s"
        }

        static func short(_ s: String, _ limit: Int) -> String {
            s.count <= limit ? s : String(s.prefix(limit - 1)) + "…"
        }
    }

    /// The glyph of an event's fate: a bar (two for a duplicate; hollow when lost).
    static func markGlyph(_ fate: Fate, x: Double, y: Double, h: Double) -> String {
        let c = fateColours[fate] ?? "#4e79a7"
        switch fate {
        case .duplicated:
            return "<rect x=\"\(n(x - 2))\" y=\"\(n(y))\" width=\"3\" height=\"\(n(h))\" fill=\"\(c)\"/><rect x=\"\(n(x + 2))\" y=\"\(n(y))\" width=\"3\" height=\"\(n(h))\" fill=\"\(c)\"/>"
        case .lost:
            return "<rect x=\"\(n(x))\" y=\"\(n(y + 0.5))\" width=\"3\" height=\"\(n(h - 1))\" fill=\"#fff\" stroke=\"\(c)\" stroke-width=\"1.2\" stroke-dasharray=\"2 1.5\"/>"
        case .dropped:
            return "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"3\" height=\"\(n(h))\" fill=\"\(c)\"/><path d=\"M\(n(x - 1.5)) \(n(y - 3)) l6 6 M\(n(x + 4.5)) \(n(y - 3)) l-6 6\" stroke=\"\(c)\" stroke-width=\"1.4\"/>"
        case .corrupted:
            return "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"3\" height=\"\(n(h))\" fill=\"\(c)\"/><path d=\"M\(n(x - 1.5)) \(n(y + h / 2 - 2)) l6 2 l-6 2\" stroke=\"#fff\" stroke-width=\"1.2\" fill=\"none\"/>"
        default:
            return "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"3\" height=\"\(n(h))\" fill=\"\(c)\"/>"
        }
    }

    static let css = """
    :root { --ink:#1f2933; --dim:#66788a; --line:#d9e1e8; --bg:#f5f7fa; --card:#fff; --ok:#2f8f4e; --bad:#c0392b; --warn:#b7791f; }
    * { box-sizing: border-box; }
    body { margin:0; font:14px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", Helvetica, Arial, sans-serif; color:var(--ink); background:var(--bg); }
    code { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size:12.5px; }
    header.top { background:#1f2d3d; color:#fff; padding:16px 28px 12px; }
    header.top h1 { margin:0; font-size:21px; font-weight:600; letter-spacing:.2px; }
    header.top .sub { margin:2px 0 10px; color:#b9c6d3; }
    header.top .source { color:#fff; font-family:"DejaVu Sans Mono", monospace; font-size:12.5px; }
    ul.legend { list-style:none; margin:0; padding:0; display:flex; flex-wrap:wrap; gap:4px 16px; }
    ul.legend li { display:flex; align-items:center; gap:3px; font-size:13px; color:#e8eef4; user-select:none; }
    ul.legend li.fate-toggle { cursor:pointer; padding:1px 6px 1px 2px; border-radius:4px; background:rgba(255,255,255,.92); color:var(--ink); }
    ul.legend li.fate-toggle.off { opacity:.35; text-decoration:line-through; }
    ul.legend li.static { color:#cfd9e3; }
    ul.legend li.static svg { background:rgba(255,255,255,.92); border-radius:3px; }
    main { padding:14px 28px 8px; }
    .notice { background:#fff7e0; border:1px solid #f0d68a; padding:8px 12px; border-radius:6px; margin-bottom:12px; }
    table { border-collapse:collapse; background:var(--card); }
    table.overview { margin-bottom:14px; border:1px solid var(--line); border-radius:6px; }
    th, td { text-align:left; padding:3px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
    th { font-weight:600; color:var(--dim); font-size:12px; text-transform:uppercase; letter-spacing:.4px; background:#fafbfc; }
    td.bad, .bad { color:var(--bad); }
    .dim { color:var(--dim); font-size:12px; }
    a { color:#2563a8; text-decoration:none; } a:hover { text-decoration:underline; }
    .chip { display:inline-block; font-size:12px; font-weight:600; padding:1px 9px; border-radius:10px; vertical-align:middle; }
    .chip.ok { background:#e3f4e8; color:var(--ok); } .chip.bad { background:#fbe5e2; color:var(--bad); }
    .chip.warn { background:#fdf0d5; color:var(--warn); } .chip.pending { background:#e8edf2; color:var(--dim); }
    section.client { background:var(--card); border:1px solid var(--line); border-left:5px solid var(--ok); border-radius:8px; padding:12px 18px 14px; margin:0 0 18px; box-shadow:0 1px 2px rgba(16,24,40,.05); }
    section.client.state-bad { border-left-color:var(--bad); } section.client.state-warn { border-left-color:var(--warn); } section.client.state-pending { border-left-color:#9aa5b1; }
    section.client h2 { margin:0; font-size:17px; font-weight:600; }
    section.client h2 .label { color:var(--dim); font-weight:400; font-size:14px; }
    section.client h2 .key { font-family:"DejaVu Sans Mono", "Liberation Mono", monospace; font-size:15px; }
    p.verdict { margin:3px 0 8px; }
    dl.stats { display:flex; flex-wrap:wrap; gap:6px 22px; margin:0 0 6px; }
    dl.stats div { display:flex; gap:6px; align-items:baseline; } dl.stats dt { color:var(--dim); font-size:12px; } dl.stats dd { margin:0; font-weight:600; }
    dl.stats div.bad dd { color:var(--bad); }
    .timeline { overflow-x:auto; margin:4px 0 8px; }
    svg.lanes { display:block; max-width:100%; height:auto; font-size:11.5px; }
    svg.lanes text { fill:var(--ink); }
    .axis text { fill:var(--dim); font-size:11px; } .axis .axis-title { font-style:italic; }
    .axis line.grid { stroke:#eef1f4; stroke-width:1; }
    .lane-title { font-weight:600; font-size:12.5px; } .lane-sub { fill:var(--dim) !important; font-size:11px; }
    .st-ok { fill:var(--ok); color:var(--ok); font-weight:600; } .st-bad { fill:var(--bad); color:var(--bad); font-weight:600; }
    .warn-glyph { fill:var(--bad); }
    rect.life { fill:#eef3f8; stroke:#c8d3de; stroke-width:1; } rect.life.failed { fill:#fbeeee; stroke:#e3b5b0; }
    .band text { font-size:10px; fill:#8a6d12 !important; }
    .wait line { stroke:#9aa5b1; stroke-width:1.2; stroke-dasharray:3 3; } .wait text { fill:var(--dim) !important; font-size:10.5px; }
    .wait.bad line { stroke:var(--bad); } .wait.bad text { fill:var(--bad) !important; }
    .wait line.allowed, .wait.bad line.allowed { stroke:var(--ok); stroke-dasharray:2 2; stroke-width:1.5; } .wait .allowed-label, .wait.bad .allowed-label { fill:var(--ok) !important; font-size:10px; }
    .status-badge rect { fill:#fff; stroke:var(--bad); stroke-width:1.2; } .status-badge text { fill:var(--bad) !important; font-weight:600; font-size:11px; }
    .status-badge.synthetic rect { fill:#fbe5e2; }
    .end line, .end path { stroke:#5a6b7b; stroke-width:3; fill:none; } .end text { font-weight:600; fill:#5a6b7b !important; }
    .end.cut line, .end.cut path { stroke:var(--bad); } .end.cut text { fill:var(--bad) !important; }
    .end .next { font-weight:400; fill:var(--dim) !important; font-size:10.5px; } .end .next.stop { fill:var(--bad) !important; }
    .end.open path { stroke:#5a6b7b; stroke-width:2; }
    g.mark:hover rect { stroke:#111; stroke-width:.8; }
    circle.noted { fill:#2d3a48; }
    table.attempts { width:100%; font-size:12.5px; border:1px solid var(--line); }
    table.attempts tr.flagged td:first-child { box-shadow: inset 3px 0 var(--bad); }
    table.attempts .fault { display:inline-block; background:#f1f4f7; border:1px solid var(--line); border-radius:3px; padding:0 5px; margin:1px 0; font-size:11.5px; cursor:help; }
    .findings h3 { font-size:13px; margin:12px 0 4px; text-transform:uppercase; letter-spacing:.4px; color:var(--dim); }
    .findings ul { margin:0; padding-left:18px; } .findings li { margin:2px 0; }
    .findings .kind { display:inline-block; font-family:"DejaVu Sans Mono", monospace; font-size:12px; background:#fbe5e2; color:var(--bad); border-radius:3px; padding:0 5px; margin-right:4px; }
    .findings p.none { margin:0; color:var(--ok); }
    footer { color:var(--dim); font-size:12px; padding:0 28px 18px; }
    body.hide-delivered .fate-delivered, body.hide-delayed .fate-delayed, body.hide-reordered .fate-reordered,
    body.hide-duplicated .fate-duplicated, body.hide-corrupted .fate-corrupted, body.hide-dropped .fate-dropped,
    body.hide-lost .fate-lost { display:none; }

    """

    static let script = """
    (function () {
      var items = document.querySelectorAll('#legend .fate-toggle');
      function toggle(li) {
        var fate = li.getAttribute('data-fate');
        var off = document.body.classList.toggle('hide-' + fate);
        li.classList.toggle('off', off);
        li.setAttribute('aria-pressed', off ? 'false' : 'true');
      }
      for (var i = 0; i < items.length; i++) {
        items[i].addEventListener('click', function (e) { toggle(e.currentTarget); });
        items[i].addEventListener('keydown', function (e) {
          if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(e.currentTarget); }
        });
      }
      document.body.setAttribute('data-script', 'ready');
    })();

    """
}

/// A number for SVG attributes: at most one decimal.
private func n(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    if r == r.rounded() { return String(Int(r)) }
    return String(r)
}

private func plural(_ count: Int, _ word: String) -> String {
    "\(count) \(word)\(count == 1 ? "" : "s")"
}
