import SSE

/// A message the client under test says it dispatched (`POST /clients/KEY/observed`).
public struct ObservedMessage: Sendable, Equatable {
    /// The event type (`message` when the stream named none).
    public var type: String
    public var data: String
    /// The message's `lastEventId` as the client saw it; nil: not reported, not compared.
    public var id: String?
    /// 1-based position of the connection among the client key's connections; nil: not reported.
    public var connection: Int?

    public init(type: String, data: String, id: String? = nil, connection: Int? = nil) {
        self.type = type
        self.data = data
        self.id = id
        self.connection = connection
    }
}

/// The client's own messages against what a spec-exact client dispatched from the bytes delivered.
public struct ObservedDiff: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Both dispatched it.
        case match
        /// A spec-exact client dispatched it; the client did not.
        case missing
        /// The client dispatched it; a spec-exact client did not (e.g. an empty message after a comment).
        case unexpected
        /// Both dispatched a message here, with another type, data or id (e.g. a lost `event:` line).
        case differs
        /// In the last write before a reset: the client may or may not have read it. Not a finding.
        case uncertain
    }

    public struct Entry: Sendable, Equatable {
        public var kind: Kind
        /// 1-based connection of the expected message (or of the observed one when unexpected).
        public var connection: Int?
        /// Position in the expected sequence (0-based over the connection's dispatched messages), if any.
        public var index: Int?
        public var expected: SSEMessage?
        public var observed: ObservedMessage?
        public var detail: String
    }

    public var clientKey: String
    public var entries: [Entry]
    /// The ledger kept every expected message (`.events` level, under the per-connection caps): when false
    /// only the kept ones were compared, and observed messages past them are not judged.
    public var complete: Bool

    public func count(_ kind: Kind) -> Int { entries.reduce(0) { $0 + ($1.kind == kind ? 1 : 0) } }
    /// No message missing, unexpected or different.
    public var ok: Bool { !entries.contains { $0.kind == .missing || $0.kind == .unexpected || $0.kind == .differs } }

    /// `{"client":…,"ok":…,"matched":…,…,"diff":[…]}` (every entry but the matches, the first `maxEntries`).
    public func json(maxEntries: Int = 1000) -> String {
        var w = JSONWriter()
        w.string("client", clientKey)
        w.bool("ok", ok)
        w.bool("complete", complete)
        w.int("matched", count(.match))
        w.int("missing", count(.missing))
        w.int("unexpected", count(.unexpected))
        w.int("differs", count(.differs))
        w.int("uncertain", count(.uncertain))
        w.raw("diff", "[" + entries.lazy.filter { $0.kind != .match }.prefix(maxEntries).map { e in
            var ew = JSONWriter()
            ew.string("kind", e.kind.rawValue)
            ew.int("connection", e.connection)
            ew.int("index", e.index)
            if let m = e.expected { ew.raw("expected", Self.messageJSON(type: m.type, data: m.data, id: m.lastEventId)) }
            if let o = e.observed { ew.raw("observed", Self.messageJSON(type: o.type, data: o.data, id: o.id)) }
            ew.string("detail", e.detail)
            return ew.finish()
        }.joined(separator: ",") + "]")
        return w.finish()
    }
}

extension ObservedDiff {
    /// `{"type":…,"data":…,"id":…}` (no `id` when nil).
    static func messageJSON(type: String, data: String, id: String?) -> String {
        var w = JSONWriter()
        w.string("type", type)
        w.string("data", data)
        w.optString("id", id)
        return w.finish()
    }
}

extension Ledger {
    /// One expected message: its connection (1-based), index, the message, and whether a reset may have lost it.
    struct ExpectedMessage {
        var connection: Int
        var index: Int
        var message: SSEMessage
        var optional: Bool
    }

    /// Diffs the messages the client says it dispatched against the kept messages of a spec-exact client
    /// (`.events` level), or nil for an unknown key. With `connection` on every observed message, each
    /// connection is compared alone; otherwise the whole sequence, connections in order. Messages of a
    /// reset's last write (see "After a reset") may be absent: `uncertain`, no finding; when the next
    /// attempt chose an outcome, those past it are not expected at all.
    public func observedDiff(key: String, messages observed: [ObservedMessage]) -> ObservedDiff? {
        guard let client = clientsByKey[key] else { return nil }
        var expected: [ExpectedMessage] = []
        var complete = true
        for (n, c) in client.connections.enumerated() {
            // The reset's last write: messages from `tailStart` on; those past the chosen outcome were not dispatched.
            let tailStart = c.resetTailFirst ?? Int.max
            let chosenEnd = c.resetChosen.map { tailStart + $0 } ?? Int.max
            let total = c.resetTail.map { tailStart + $0.count } ?? c.dispatched
            if c.messages.count < total { complete = false }
            for m in c.messages where m.index < chosenEnd {
                expected.append(ExpectedMessage(connection: n + 1, index: m.index, message: m.message,
                                                optional: m.index >= tailStart && c.resetChosen == nil))
            }
        }
        var entries: [Entry] = []
        if !observed.isEmpty, observed.allSatisfy({ $0.connection != nil }) {
            for n in 1...max(client.connections.count, observed.map { $0.connection! }.max()!) {
                Self.align(expected.filter { $0.connection == n }, observed.filter { $0.connection == n }, into: &entries)
            }
        } else {
            Self.align(expected, observed, into: &entries)
        }
        if !complete {
            // Past the kept messages nothing is known: an observed message there is not judged.
            while let last = entries.last, last.kind == .unexpected { entries.removeLast() }
        }
        return ObservedDiff(clientKey: key, entries: entries, complete: complete)
    }

    typealias Entry = ObservedDiff.Entry

    static func same(_ e: SSEMessage, _ o: ObservedMessage) -> Bool {
        e.type == o.type && e.data == o.data && (o.id == nil || o.id == e.lastEventId)
    }

    /// How `o` differs from `e`, in words.
    static func difference(_ e: SSEMessage, _ o: ObservedMessage) -> String {
        var parts: [String] = []
        if e.type != o.type { parts.append("type \(JSONWriter.quoted(o.type)), expected \(JSONWriter.quoted(e.type))") }
        if e.data != o.data { parts.append("data \(JSONWriter.quoted(clipped(o.data))), expected \(JSONWriter.quoted(clipped(e.data)))") }
        if let id = o.id, id != e.lastEventId { parts.append("id \(JSONWriter.quoted(id)), expected \(JSONWriter.quoted(e.lastEventId))") }
        return parts.joined(separator: "; ")
    }

    static func clipped(_ s: String) -> String { s.count <= clipLength ? s : String(s.prefix(clipLength)) + "…" }

    /// How far ahead a lost or extra message is looked for before two messages count as one that differs.
    static let resyncWindow = 16

    /// Walks both sequences in order: equal messages match; an expected message the client lacks is missing
    /// (or uncertain), an observed one nothing expects is unexpected, found by looking `resyncWindow` ahead
    /// for an equal message, then for one with the same last event ID; otherwise the two are one message that differs.
    static func align(_ exp: [ExpectedMessage], _ obs: [ObservedMessage], into entries: inout [Entry]) {
        var i = 0, o = 0
        func skipExpected(_ e: ExpectedMessage) {
            entries.append(Entry(kind: e.optional ? .uncertain : .missing, connection: e.connection, index: e.index, expected: e.message,
                                 observed: nil, detail: e.optional
                                    ? "in the last write before a reset: the client may not have read it"
                                    : "a spec-exact client dispatched it; the client did not"))
        }
        func extra(_ m: ObservedMessage) {
            entries.append(Entry(kind: .unexpected, connection: m.connection, index: nil, expected: nil, observed: m,
                                 detail: "the client dispatched it; a spec-exact client did not"))
        }
        while i < exp.count, o < obs.count {
            if same(exp[i].message, obs[o]) {
                entries.append(Entry(kind: .match, connection: exp[i].connection, index: exp[i].index, expected: exp[i].message,
                                     observed: obs[o], detail: ""))
                i += 1; o += 1
                continue
            }
            var lost: Int?, added: Int?
            for k in 1...resyncWindow {
                if lost == nil, i + k < exp.count, same(exp[i + k].message, obs[o]) { lost = k }
                if added == nil, o + k < obs.count, same(exp[i].message, obs[o + k]) { added = k }
                if lost != nil || added != nil { break }
            }
            if lost == nil, added == nil, let id = obs[o].id, id != exp[i].message.lastEventId {
                // Nothing equal nearby: pair by last event ID, so a changed message differs where it belongs.
                for k in 1...resyncWindow {
                    if lost == nil, i + k < exp.count, exp[i + k].message.lastEventId == id { lost = k }
                    if added == nil, o + k < obs.count, obs[o + k].id == exp[i].message.lastEventId { added = k }
                    if lost != nil || added != nil { break }
                }
            }
            if let k = lost, added.map({ k <= $0 }) ?? true {
                for e in exp[i..<(i + k)] { skipExpected(e) }
                i += k
            } else if let k = added {
                for m in obs[o..<(o + k)] { extra(m) }
                o += k
            } else {
                entries.append(Entry(kind: .differs, connection: exp[i].connection, index: exp[i].index, expected: exp[i].message,
                                     observed: obs[o], detail: difference(exp[i].message, obs[o])))
                i += 1; o += 1
            }
        }
        for e in exp[i...] { skipExpected(e) }
        for m in obs[o...] { extra(m) }
    }
}
