import Faults

// The replay as JSON: what the HTML report's script draws, and (frames, fault records) what the control
// API's connection endpoint lists. Times are the ledger's monotonic ns.

extension FaultRecord {
    /// `{"frame":2,"fault":"drop","action":"dropped 23 bytes","effect":{"kind":"dropped",…},"t":…}`
    public var json: String {
        var w = JSONWriter(capacity: 160)
        w.int("frame", frameIndex)
        w.string("fault", fault)
        w.string("action", action)
        w.raw("effect", effect.json)
        w.uint("t", at)
        return w.finish()
    }
}

extension LedgerReplay.Frame {
    /// The frame's fields (as `FrameInfo.json`), then `fate`, `written_t` (null: as it arrived), `copies`,
    /// `burst_t` and `faults`: positions in the connection's fault list of the records about it.
    public var json: String {
        var w = JSONWriter(capacity: 200)
        w.frameFields(info)
        w.uint("t", info.at)
        w.string("fate", fate.rawValue)
        if let writtenAt { w.uint("written_t", writtenAt) } else { w.raw("written_t", "null") }
        w.int("copies", copies)
        if let burstAt { w.uint("burst_t", burstAt) }
        w.raw("faults", "[" + faultIndices.map(String.init).joined(separator: ",") + "]")
        return w.finish()
    }
}

extension LedgerReplay {
    /// One finding line of a client, as both reports list them: missing and duplicated from the last
    /// `client` record, then the other findings in the order found.
    public struct FindingItem: Sendable, Equatable {
        public var kind: String
        public var attempt: Int?
        /// Without the kind: `3 of 5 events never dispatched intact: ids 2-4`, `expected "5", sent "1"`.
        public var text: String
    }
}

extension LedgerReplay.Client {
    public var findingItems: [LedgerReplay.FindingItem] {
        var items: [LedgerReplay.FindingItem] = []
        if let s = summary, s.missing > 0 {
            items.append(.init(kind: "missing", attempt: nil, text: "\(s.missing) of \(s.expected) events never dispatched intact"
                + (s.missingIDs.isEmpty ? "" : ": \(IDList.labelled(s.missingIDs, total: s.missing, limit: 20))")))
        }
        if let s = summary, s.duplicated > 0 {
            items.append(.init(kind: "duplicated", attempt: nil, text: "\(s.duplicated) event\(s.duplicated == 1 ? "" : "s") dispatched more than once"
                + (s.duplicatedIDs.isEmpty ? "" : ": \(IDList.labelled(s.duplicatedIDs, total: s.duplicated, limit: 20))")))
        }
        for f in findings where f.kind != .missing && f.kind != .duplicated {
            items.append(.init(kind: f.kind.rawValue, attempt: f.attempt, text: f.detail))
        }
        return items
    }
}

extension LedgerReplay.Connection {
    /// How it ended, in a word or two: `RST`, `FIN`, `half_close`, `upstream end`, `open`, …
    public var endLabel: String {
        guard let close else { return "open" }
        switch close.end {
        case .upstreamEnd: return "upstream end"
        case .clientClose: return "client closed"
        case .fault(let kind, _):
            switch kind {
            case .rst: return "RST"
            case .fin: return "FIN"
            case .halfClose: return kind.rawValue
            }
        case .upstreamError: return "upstream error"
        case .refused: return "refused"
        case .shutdown: return "shutdown"
        }
    }

    /// `id 7` or `ids 1…5` from the close record, or "".
    var idsLabel: String {
        guard let f = close?.firstID, let l = close?.lastID else { return "" }
        return f == l ? "id \(IDList.describe([f]))" : "ids \(IDList.describe([f]))…\(IDList.describe([l]))"
    }

    public var json: String {
        var w = JSONWriter(capacity: 1024 + frames.count * 180)
        w.uint("conn", id)
        w.int("attempt", attempt)
        w.uint("opened_t", openedAt)
        w.rawOrNull("closed_t", closedAt.map(String.init))
        w.uint("end_t", endAt)
        w.rawOrNull("open", open.map { o in
            var ow = JSONWriter()
            ow.string("method", o.method)
            ow.string("path", o.path)
            ow.string("last_event_id", o.lastEventIDSent)
            ow.string("profile", o.profile)
            ow.uint("seed", o.seed)
            return ow.finish()
        })
        w.rawOrNull("response", response.map { r in
            var rw = JSONWriter()
            rw.int("status", r.status)
            rw.string("content_type", r.contentType)
            rw.bool("synthetic", r.synthetic)
            rw.string("fail_reason", r.failReason)
            return rw.finish()
        })
        w.rawOrNull("close", close.map { c in
            var cw = JSONWriter()
            cw.string("end", c.end.name)
            cw.string("summary", c.end.summary)
            cw.bool("by_fault", { if case .fault = c.end { return true } else { return false } }())
            cw.bool("bad", { switch c.end { case .fault, .upstreamError, .refused: return true; default: return false } }())
            cw.int("frames", c.frames)
            cw.int("events", c.events)
            cw.int("bytes_delivered", c.bytesDelivered)
            cw.string("ids", idsLabel)
            cw.int("faults", c.faults)
            return cw.finish()
        })
        w.string("end_label", endLabel)
        w.rawOrNull("prediction", prediction.map { p in
            var pw = JSONWriter()
            pw.int("dispatched", p.dispatched)
            pw.int("intact", p.intact)
            pw.int("unexpected", p.unexpected)
            pw.string("last_event_id", p.lastEventID)
            pw.uint("reconnection_ms", p.reconnectionTimeMs)
            pw.bool("discarded_tail", p.discardedTail)
            pw.bool("reconnects", p.reconnects)
            pw.string("next", p.next)
            p.writeResetFields(&pw)
            return pw.finish()
        })
        w.int("delivered_total", deliveredTotal)
        w.rawOrNull("waited_ns", waitedNs.map(String.init))
        w.rawOrNull("allowed_t", allowedAt.map(String.init))
        w.raw("faults", "[" + faults.map(\.json).joined(separator: ",") + "]")
        w.raw("frames", "[" + frames.map(\.json).joined(separator: ",") + "]")
        w.raw("bands", "[" + bands.map { b in
            var bw = JSONWriter()
            bw.string("kind", b.kind.rawValue)
            bw.uint("from", b.from)
            bw.uint("to", b.to)
            bw.string("fault", b.record.fault)
            bw.string("action", b.record.action)
            return bw.finish()
        }.joined(separator: ",") + "]")
        return w.finish()
    }
}

extension LedgerReplay {
    /// Everything the HTML report's script draws, as one JSON object.
    public var json: String {
        var w = JSONWriter(capacity: 4096)
        w.int("records", recordCount)
        w.int("connections", connectionCount)
        w.bool("summary_level", summaryLevel)
        w.int("unreadable_total", unreadable.count)
        w.raw("unreadable", "[" + unreadable.prefix(10).map { u in
            var uw = JSONWriter()
            uw.int("line", u.line)
            uw.string("error", u.error)
            return uw.finish()
        }.joined(separator: ",") + "]")
        w.raw("fates", "[" + FrameFate.allCases.map { f in
            var fw = JSONWriter()
            fw.string("name", f.rawValue)
            fw.string("label", f.label)
            fw.string("explanation", f.explanation)
            return fw.finish()
        }.joined(separator: ",") + "]")
        w.raw("clients", "[" + clients.map { c in
            var cw = JSONWriter(capacity: 2048)
            cw.string("key", c.key)
            cw.int("index", c.index)
            cw.int("run", c.run)
            cw.raw("summary", c.summary?.json ?? "null")
            cw.raw("findings", "[" + c.findings.map { f in
                var fw = JSONWriter()
                fw.string("kind", f.kind.rawValue)
                fw.int("attempt", f.attempt)
                fw.string("line", f.line)
                return fw.finish()
            }.joined(separator: ",") + "]")
            cw.raw("finding_items", "[" + c.findingItems.map { i in
                var iw = JSONWriter()
                iw.string("kind", i.kind)
                iw.int("attempt", i.attempt)
                iw.string("text", i.text)
                return iw.finish()
            }.joined(separator: ",") + "]")
            cw.raw("connections", "[" + c.connections.map(\.json).joined(separator: ",") + "]")
            return cw.finish()
        }.joined(separator: ",") + "]")
        return w.finish()
    }
}
