import Faults

/// The terminal report of a ledger (`sputter ledger FILE`): per client, a timeline of its connections
/// (attempt, time since its first connection, the `Last-Event-ID` it sent, status, what the upstream sent,
/// what each fault did, what was delivered and dispatched, how it ended and what a spec-exact client does
/// next), then the findings and a one-line verdict.
///
/// A view of the `LedgerReplay` built from the records (it does not re-run the analysis): missing and duplicated counts and
/// the verdict come from the last `client` record of each client, the other findings from `finding`
/// records. At `.summary` level there are no `frame` records for unfaulted frames nor `delivered`
/// records; the counts come from `connection_close` and `prediction`.
public enum LedgerReportRenderer {
    public static func render(jsonLines text: String) -> String {
        let replay = LedgerReplay(jsonLines: text)
        var out = render(replay)
        let errors = replay.unreadable
        if !errors.isEmpty {
            out += "\n\(errors.count) line\(errors.count == 1 ? "" : "s") could not be read:\n"
            for e in errors.prefix(10) { out += "  line \(e.line): \(e.error)\n" }
        }
        return out
    }

    public static func render(records: [LedgerRecord]) -> String {
        render(LedgerReplay(records: records))
    }

    /// The report of a replay (its unreadable lines are not listed: `render(jsonLines:)` does that).
    public static func render(_ replay: LedgerReplay) -> String {
        guard replay.runs.count > 1 else { return renderRun(replay.runs[0]) }
        return replay.runs.enumerated().map { index, run in
            "run \(index + 1) of \(replay.runs.count) (POST /reset between runs; attempts start again at 1)\n" + renderRun(run)
        }.joined(separator: "\n")
    }

    private static func renderRun(_ run: LedgerReplay.Run) -> String {
        let nConns = run.connectionCount
        var out = "Sputter ledger: \(run.keyCount) client\(run.keyCount == 1 ? "" : "s"), \(nConns) connection\(nConns == 1 ? "" : "s")\n"
        for c in run.clients {
            out += "\n" + renderClient(c)
        }
        return out
    }

    private static func renderClient(_ c: LedgerReplay.Client) -> String {
        var out = "client \(JSONWriter.quoted(c.key))\n"
        let origin = c.connections.first?.openedAt ?? 0
        var previous: LedgerReplay.Connection?
        for k in c.connections {
            let attempt = k.attempt
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
                    if let waited = k.waitedNs {
                        line += "; waited \(duration(waited))"
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
            let frames = k.close?.frames ?? k.frames.count
            let events = k.close?.events
            var up = "    upstream: \(frames) frame\(frames == 1 ? "" : "s")"
            if let events { up += ", \(events) event\(events == 1 ? "" : "s")" }
            if let f = k.close?.firstID, let l = k.close?.lastID {
                up += f == l ? " (id \(IDList.describe([f])))" : " (ids \(IDList.describe([f])) … \(IDList.describe([l])))"
            } else if case let ids = k.eventIDs, !ids.isEmpty {
                up += " (ids \(IDList.describe(ids, limit: 6)))"
            }
            out += up + "\n"
            for f in k.faults.prefix(20) {
                out += "    fault \(f.fault)\(f.frameIndex.map { " on frame \($0)" } ?? ""): \(f.action)\n"
            }
            if k.faults.count > 20 { out += "    … \(k.faults.count - 20) more fault actions\n" }
            let bytes = k.close?.bytesDelivered ?? k.deliveredTotal ?? 0
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
        let lines = c.findingItems.map { "\($0.kind)\($0.attempt.map { " (attempt \($0))" } ?? ""): \($0.text)" }
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
