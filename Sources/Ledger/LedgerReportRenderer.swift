import Faults

/// The terminal report of a ledger (`sputter ledger FILE`): per client, a timeline of its connections
/// (attempt, time since its first connection, the `Last-Event-ID` it sent, status, what the upstream sent,
/// what each fault did, what was delivered and dispatched, how it ended and what a spec-exact client does
/// next), then the findings and a one-line verdict.
///
/// Works from the records alone (it does not re-run the analysis): missing and duplicated counts and
/// the verdict come from the last `client` record of each client, the other findings from `finding`
/// records. At `.summary` level there are no `frame` records for unfaulted frames nor `delivered`
/// records; the counts come from `connection_close` and `prediction`.
public enum LedgerReportRenderer {
    public static func render(jsonLines text: String) -> String {
        let parsed = LedgerRecord.parse(jsonLines: text)
        var out = render(records: parsed.records)
        if !parsed.errors.isEmpty {
            out += "\n\(parsed.errors.count) line\(parsed.errors.count == 1 ? "" : "s") could not be read:\n"
            for e in parsed.errors.prefix(10) { out += "  line \(e.line): \(e.error)\n" }
        }
        return out
    }

    private final class Conn {
        let id: UInt64
        var open: LedgerRecord.Open?
        var openedAt: UInt64 = 0
        var response: LedgerRecord.Response?
        var frames = 0
        var eventIDs: [String] = []
        var faults: [(frame: Int?, fault: String, action: String)] = []
        var delivered = 0
        var close: LedgerRecord.Close?
        var closedAt: UInt64?
        var prediction: Prediction?
        init(id: UInt64) { self.id = id }
    }

    private final class Client {
        let key: String
        var conns: [Conn] = []
        var findings: [Finding] = []
        var summary: ClientSummary?
        init(key: String) { self.key = key }
    }

    public static func render(records: [LedgerRecord]) -> String {
        let runs = records.split { if case .reset = $0.body { return true } else { return false } }
        guard runs.count > 1 else { return renderRun(records) }
        return runs.enumerated().map { index, run in
            "run \(index + 1) of \(runs.count) (POST /reset between runs; attempts start again at 1)\n" + renderRun(Array(run))
        }.joined(separator: "\n")
    }

    private static func renderRun(_ records: [LedgerRecord]) -> String {
        var clients: [String: Client] = [:]
        var order: [String] = []
        var conns: [UInt64: Conn] = [:]
        func client(_ key: String) -> Client {
            if let c = clients[key] { return c }
            let c = Client(key: key)
            clients[key] = c
            order.append(key)
            return c
        }
        func conn(_ r: LedgerRecord) -> Conn? {
            guard let id = r.connection else { return nil }
            if let c = conns[id] { return c }
            let c = Conn(id: id)
            c.openedAt = r.at
            conns[id] = c
            client(r.clientKey).conns.append(c)
            return c
        }
        for r in records {
            switch r.body {
            case .connectionOpen(let o):
                let c = conn(r)
                c?.open = o
                c?.openedAt = r.at
            case .response(let x): conn(r)?.response = x
            case .frame(let f):
                guard let c = conn(r) else { break }
                c.frames += 1
                if f.kind == "event", let id = f.id, !id.isEmpty { c.eventIDs.append(id) }
            case .fault(let frame, let fault, let action): conn(r)?.faults.append((frame, fault, action))
            case .delivered(let d): conn(r)?.delivered = d.total
            case .connectionClose(let x):
                let c = conn(r)
                c?.close = x
                c?.closedAt = r.at
            case .prediction(let p): conn(r)?.prediction = p
            case .finding(let f): client(r.clientKey).findings.append(f)
            case .client(let s): client(r.clientKey).summary = s
            case .reset: break
            }
        }

        let nConns = conns.count
        var out = "Sputter ledger: \(order.count) client\(order.count == 1 ? "" : "s"), \(nConns) connection\(nConns == 1 ? "" : "s")\n"
        for key in order {
            guard let c = clients[key] else { continue }
            out += "\n" + renderClient(c)
        }
        return out
    }

    private static func renderClient(_ c: Client) -> String {
        var out = "client \(JSONWriter.quoted(c.key))\n"
        let origin = c.conns.first?.openedAt ?? 0
        var previous: Conn?
        for k in c.conns {
            let attempt = k.open?.attempt ?? k.close?.attempt ?? k.prediction?.attempt ?? 0
            var head = "  attempt \(attempt)  \(offset(k.openedAt, from: origin))  conn \(k.id)"
            if let o = k.open {
                head += "  \(o.method) \(o.path)  profile \(o.profile) seed \(o.seed)"
            }
            out += head + "\n"
            if let o = k.open {
                var line = "    Last-Event-ID sent: " + (o.lastEventIDSent.map { JSONWriter.quoted($0) } ?? "none")
                if let p = previous, let pp = p.prediction {
                    if pp.reconnects {
                        line += " (expected " + (pp.lastEventID.isEmpty ? "none" : JSONWriter.quoted(pp.lastEventID)) + ")"
                    }
                    if let closed = p.closedAt {
                        line += "; waited \(duration(Int64(bitPattern: k.openedAt &- closed)))"
                        if pp.reconnects { line += " (reconnection time \(pp.reconnectionTimeMs)ms)" }
                    }
                    if !pp.reconnects { line += " (no reconnect expected: attempt \(pp.attempt) failed)" }
                }
                out += line + "\n"
            }
            if let r = k.response {
                out += "    response \(r.status) \(r.contentType ?? "(no Content-Type)")\(r.synthetic ? " (written by a fault)" : "")"
                    + (r.failReason.map { " → EventSource fails: \($0)" } ?? "") + "\n"
            } else {
                out += "    no response\n"
            }
            let frames = k.close?.frames ?? k.frames
            let events = k.close?.events
            var up = "    upstream: \(frames) frame\(frames == 1 ? "" : "s")"
            if let events { up += ", \(events) event\(events == 1 ? "" : "s")" }
            if let f = k.close?.firstID, let l = k.close?.lastID {
                up += f == l ? " (id \(IDList.describe([f])))" : " (ids \(IDList.describe([f])) … \(IDList.describe([l])))"
            } else if !k.eventIDs.isEmpty {
                up += " (ids \(IDList.describe(k.eventIDs, limit: 6)))"
            }
            out += up + "\n"
            for f in k.faults.prefix(20) {
                out += "    fault \(f.fault)\(f.frame.map { " on frame \($0)" } ?? ""): \(f.action)\n"
            }
            if k.faults.count > 20 { out += "    … \(k.faults.count - 20) more fault actions\n" }
            let bytes = k.close?.bytesDelivered ?? k.delivered
            if let p = k.prediction {
                var line = "    delivered \(bytes) bytes; dispatched \(p.dispatched) (\(p.intact) intact"
                if p.unexpected > 0 { line += ", \(p.unexpected) unexpected" }
                line += "), last event ID " + (p.lastEventID.isEmpty ? "none" : JSONWriter.quoted(p.lastEventID))
                if p.discardedTail { line += "; an unfinished event was discarded" }
                out += line + "\n"
            } else {
                out += "    delivered \(bytes) bytes\n"
            }
            if let close = k.close {
                out += "    ended \(k.closedAt.map { offset($0, from: origin) } ?? "?"): \(close.end.summary)"
                    + (k.prediction.map { " → \($0.next)" } ?? "") + "\n"
            } else {
                out += "    still open\n"
            }
            previous = k
        }
        let s = c.summary
        var lines: [String] = []
        if let s, s.missing > 0 {
            lines.append("missing: \(s.missing) of \(s.expected) events never dispatched intact"
                + (s.missingIDs.isEmpty ? "" : ": \(IDList.labelled(s.missingIDs, total: s.missing, limit: 20))"))
        }
        if let s, s.duplicated > 0 {
            lines.append("duplicated: \(s.duplicated) event\(s.duplicated == 1 ? "" : "s") dispatched more than once"
                + (s.duplicatedIDs.isEmpty ? "" : ": \(IDList.labelled(s.duplicatedIDs, total: s.duplicated, limit: 20))"))
        }
        for f in c.findings where f.kind != .missing && f.kind != .duplicated {
            lines.append(f.line)
        }
        if lines.isEmpty {
            out += "  findings: none\n"
        } else {
            out += "  findings:\n"
            for l in lines { out += "    - \(l)\n" }
        }
        out += "  verdict: " + (s?.verdict ?? "none yet (no connection of this client has closed)") + "\n"
        return out
    }

    /// `+1.250s` since the client's first connection.
    static func offset(_ t: UInt64, from origin: UInt64) -> String {
        let ns = Int64(bitPattern: t &- origin)
        let ms = ns / 1_000_000
        let sign = ms < 0 ? "-" : "+"
        let a = abs(ms)
        let frac = String(a % 1000)
        return "\(sign)\(a / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)s"
    }

    static func duration(_ ns: Int64) -> String { formatMs(ns) }
}
