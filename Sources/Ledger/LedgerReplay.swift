import Faults

/// A ledger file as one value, built once from its records: runs (split at `POST /reset`) → clients →
/// connections → frames, each frame with its fate and the time it was written, from the typed fault
/// effects. The text report (`LedgerReportRenderer`), the HTML report (`LedgerHTMLRenderer`, which
/// embeds `json`) and the control API's frame lists (`LedgerReplay.analyse`) all present this model.
///
/// A frame's fate is what the faults did to it (`FaultEffect.fate`; the most damaging wins), not what the
/// client made of it (that is the prediction and the findings). Frames the upstream sent after a fault cut
/// the connection, or after a stall that never ends, are `lost`. At `.summary` level only the frames a
/// fault acted on are recorded, so only those are here.
public struct LedgerReplay: Sendable, Equatable {
    /// A line of the file that could not be read.
    public struct Unreadable: Sendable, Equatable {
        public var line: Int
        public var error: String
    }

    /// The records between two `reset` records (the whole file when there is none).
    public struct Run: Sendable, Equatable {
        public var clients: [Client]
        /// Distinct client keys in the run.
        public var keyCount: Int
        public var connectionCount: Int
    }

    /// One client key's run of attempts. A key whose attempt number starts again (a reset the file does
    /// not record) begins another `Client`, with the next `run` number.
    public struct Client: Sendable, Equatable {
        public var key: String
        /// 1-based position among all clients of the file (the page's anchors).
        public var index: Int
        /// 1-based: the how-manieth run of this key in the file.
        public var run: Int
        /// The last `client` record (nil while none of its connections has closed).
        public var summary: ClientSummary?
        public var findings: [Finding]
        /// In order of opening.
        public var connections: [Connection]
    }

    public struct Connection: Sendable, Equatable {
        public var id: UInt64
        public var open: LedgerRecord.Open?
        public var openedAt: UInt64
        public var response: LedgerRecord.Response?
        public var responseAt: UInt64?
        public var close: LedgerRecord.Close?
        public var closedAt: UInt64?
        /// The time of its last record.
        public var lastAt: UInt64
        public var prediction: Prediction?
        /// Payload bytes delivered as of the last `delivered` record.
        public var deliveredTotal: Int?
        /// Every fault record, in order.
        public var faults: [FaultRecord]
        /// The recorded upstream frames in index order, with their fates.
        public var frames: [Frame]
        /// Spans where the connection waited.
        public var bands: [Band]
        /// For a reconnect: the time since the previous attempt closed.
        public var waitedNs: Int64?
        /// For a reconnect after a connection a spec-exact client reconnects from: the earliest moment it
        /// was allowed (previous close + reconnection time).
        public var allowedAt: UInt64?

        public var attempt: Int { open?.attempt ?? close?.attempt ?? prediction?.attempt ?? 0 }
        public var endAt: UInt64 { closedAt ?? lastAt }
        /// Ids of the recorded event frames that have one.
        public var eventIDs: [String] { frames.compactMap { $0.info.kind == "event" ? $0.info.id.flatMap { $0.isEmpty ? nil : $0 } : nil } }
    }

    /// One upstream frame and what became of it.
    public struct Frame: Sendable, Equatable {
        public var info: FrameInfo
        public var fate: FrameFate
        /// The fault records about this frame, and their positions in the connection's list.
        public var faults: [FaultRecord]
        public var faultIndices: [Int]
        /// When it was written, when a fault held it back and the time is known.
        public var writtenAt: UInt64?
        /// Times it was written (1 + duplicates).
        public var copies: Int
        /// The time of the `buffer` burst that released it, when one held it.
        public var burstAt: UInt64?
    }

    /// A span of a lane where the connection waited.
    public struct Band: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable {
            case connectDelay = "connect delay"
            case firstByteDelay = "first-byte delay"
            case stall = "stalled"
        }
        public var kind: Kind
        public var from: UInt64
        public var to: UInt64
        /// The record that caused it.
        public var record: FaultRecord
    }

    public var runs: [Run]
    public var recordCount: Int
    public var unreadable: [Unreadable]

    /// Every client of every run, in order.
    public var clients: [Client] { runs.flatMap(\.clients) }
    public var connectionCount: Int { runs.reduce(0) { $0 + $1.connectionCount } }
    /// A `.summary`-level ledger: a connection closed with more frames than were recorded.
    public var summaryLevel: Bool {
        clients.contains { c in c.connections.contains { k in k.close.map { k.frames.count < $0.frames } ?? false } }
    }

    public init(jsonLines text: String) {
        let parsed = LedgerRecord.parse(jsonLines: text)
        self.init(records: parsed.records, unreadable: parsed.errors.map { Unreadable(line: $0.line, error: $0.error) })
    }

    public init(records: [LedgerRecord], unreadable: [Unreadable] = []) {
        self.recordCount = records.count
        self.unreadable = unreadable
        var runs: [Run] = []
        var runsOfKey: [String: Int] = [:]
        var index = 0
        for part in records.split(whereSeparator: { if case .reset = $0.body { return true } else { return false } }) {
            runs.append(Self.run(part, runsOfKey: &runsOfKey, index: &index))
        }
        self.runs = runs.isEmpty ? [Run(clients: [], keyCount: 0, connectionCount: 0)] : runs
    }

    private final class ConnBox {
        var c: Connection
        var frames: [FrameInfo] = []
        init(_ c: Connection) { self.c = c }
    }

    private final class ClientBox {
        var c: Client
        var conns: [ConnBox] = []
        var lastAttempt = 0
        init(_ c: Client) { self.c = c }
    }

    private static func run(_ records: ArraySlice<LedgerRecord>, runsOfKey: inout [String: Int], index: inout Int) -> Run {
        var byKey: [String: ClientBox] = [:]
        var order: [ClientBox] = []
        var conns: [UInt64: ConnBox] = [:]
        func newClient(_ key: String) -> ClientBox {
            index += 1
            let run = (runsOfKey[key] ?? 0) + 1
            runsOfKey[key] = run
            let b = ClientBox(Client(key: key, index: index, run: run, summary: nil, findings: [], connections: []))
            byKey[key] = b
            order.append(b)
            return b
        }
        func client(_ key: String) -> ClientBox { byKey[key] ?? newClient(key) }
        func conn(_ r: LedgerRecord) -> ConnBox? {
            guard let id = r.connection else { return nil }
            if let b = conns[id] {
                b.c.lastAt = max(b.c.lastAt, r.at)
                return b
            }
            let b = ConnBox(Connection(id: id, open: nil, openedAt: r.at, response: nil, responseAt: nil, close: nil, closedAt: nil,
                                       lastAt: r.at, prediction: nil, deliveredTotal: nil, faults: [], frames: [], bands: [],
                                       waitedNs: nil, allowedAt: nil))
            conns[id] = b
            client(r.clientKey).conns.append(b)
            return b
        }
        for r in records {
            switch r.body {
            case .connectionOpen(let o):
                if let id = r.connection, conns[id] == nil {
                    if let previous = byKey[r.clientKey], !previous.conns.isEmpty, o.attempt <= previous.lastAttempt {
                        _ = newClient(r.clientKey)
                    }
                    client(r.clientKey).lastAttempt = o.attempt
                }
                guard let b = conn(r) else { break }
                b.c.open = o
                b.c.openedAt = r.at
            case .response(let x):
                guard let b = conn(r) else { break }
                b.c.response = x
                b.c.responseAt = r.at
            case .frame(let f): conn(r)?.frames.append(f)
            case .fault(let frame, let fault, let effect):
                conn(r)?.c.faults.append(FaultRecord(frameIndex: frame, fault: fault, effect: effect, at: r.at))
            case .delivered(let d): conn(r)?.c.deliveredTotal = d.total
            case .connectionClose(let x):
                guard let b = conn(r) else { break }
                b.c.close = x
                b.c.closedAt = r.at
            case .prediction(let p): conn(r)?.c.prediction = p
            case .finding(let f): client(r.clientKey).c.findings.append(f)
            case .client(let s): client(r.clientKey).c.summary = s
            case .reset: break
            }
        }
        var clients: [Client] = []
        for box in order {
            var c = box.c
            let sorted = box.conns.sorted { $0.c.openedAt < $1.c.openedAt || ($0.c.openedAt == $1.c.openedAt && $0.c.id < $1.c.id) }
            var previous: Connection?
            for b in sorted {
                var k = b.c
                let a = analyse(frames: b.frames, faults: k.faults, openedAt: k.openedAt, endAt: k.endAt)
                k.frames = a.frames
                k.bands = a.bands
                if let p = previous, let closed = p.closedAt {
                    k.waitedNs = Int64(bitPattern: k.openedAt &- closed)
                    if let pred = p.prediction, pred.reconnects { k.allowedAt = closed &+ pred.reconnectionTimeMs &* 1_000_000 }
                }
                c.connections.append(k)
                previous = k
            }
            clients.append(c)
        }
        return Run(clients: clients, keyCount: Set(order.map(\.c.key)).count, connectionCount: conns.count)
    }

    // MARK: - Fates

    /// Fates, write times and waits of one connection's frames, from its fault records alone.
    public static func analyse(frames: [FrameInfo], faults: [FaultRecord], openedAt: UInt64, endAt: UInt64)
        -> (frames: [Frame], bands: [Band])
    {
        var byFrame: [Int: [Int]] = [:]
        /// The last frame written whole before a cut (nil with `cutAt`: the cut came on a timer).
        var cutFrame: Int?
        var cutAt: UInt64?
        var stallForeverFrame: Int?
        var stallForeverAt: UInt64?
        var bands: [Band] = []
        var bursts: [(at: UInt64, frames: Int)] = []
        /// Timed stalls: from, to, and the frame they fired after (written before the stall).
        var timedStalls: [(from: UInt64, to: UInt64, after: Int?)] = []
        for (i, r) in faults.enumerated() {
            if let f = r.frameIndex { byFrame[f, default: []].append(i) }
            switch r.effect {
            case .cut(_, _, let dropped), .ended(_, _, let dropped):
                // A clean end (`end`) loses what comes after it just as a cut does.
                if cutAt == nil {
                    cutAt = r.at
                    cutFrame = r.frameIndex.map { dropped > 0 ? $0 - 1 : $0 }
                }
            case .eventInjected(_, _, thenEnd: true):
                if cutAt == nil {
                    cutAt = r.at
                    cutFrame = r.frameIndex
                }
            case .stalled(_, nil):
                stallForeverFrame = r.frameIndex
                stallForeverAt = r.at
                bands.append(Band(kind: .stall, from: r.at, to: max(r.at, endAt), record: r))
            case .stalled(_, .some(let d)):
                timedStalls.append((r.at, r.at &+ d, r.frameIndex))
                bands.append(Band(kind: .stall, from: r.at, to: r.at &+ d, record: r))
            case .connectDelayed(let d):
                bands.append(Band(kind: .connectDelay, from: openedAt, to: openedAt &+ d, record: r))
            case .firstByteDelayed(let d):
                bands.append(Band(kind: .firstByteDelay, from: r.at, to: r.at &+ d, record: r))
            case .burstReleased(let n, _):
                bursts.append((r.at, n))
            default: break
            }
        }

        var out: [Frame] = frames.sorted { $0.index < $1.index }.map { f in
            let indices = byFrame[f.index] ?? []
            let records = indices.map { faults[$0] }
            var fate = FrameFate.of(records.map(\.effect))
            var writtenAt: UInt64?
            var copies = 1
            for r in records {
                if let hold = r.effect.holdTime(frameSize: f.size) { writtenAt = max(writtenAt ?? 0, f.at &+ hold) }
                switch r.effect {
                case .reordered: writtenAt = max(writtenAt ?? 0, r.at)
                case .duplicated(let extra): copies += extra
                default: break
                }
            }
            if let cf = cutFrame, f.index > cf { fate = .lost } else if cutFrame == nil, let t = cutAt, f.at > t { fate = .lost }
            if let sf = stallForeverFrame, f.index > sf { fate = .lost } else if stallForeverFrame == nil, let t = stallForeverAt, f.at > t { fate = .lost }
            for s in timedStalls where f.at >= s.from && f.at < s.to && f.index > (s.after ?? -1) && fate <= .delayed {
                fate = .delayed
                writtenAt = max(writtenAt ?? 0, s.to)
            }
            return Frame(info: f, fate: fate, faults: records, faultIndices: indices, writtenAt: writtenAt, copies: copies, burstAt: nil)
        }
        // A burst releases the frames held since the previous one: the latest `k` frames that had arrived.
        var taken = Set<Int>()
        for b in bursts {
            var need = b.frames
            var i = out.count - 1
            while i >= 0 && need > 0 {
                if out[i].info.at <= b.at && !taken.contains(i) {
                    taken.insert(i)
                    need -= 1
                    if out[i].fate <= .delayed, b.at > out[i].info.at {
                        out[i].fate = .delayed
                        out[i].writtenAt = max(out[i].writtenAt ?? 0, b.at)
                        out[i].burstAt = b.at
                    }
                }
                i -= 1
            }
        }
        return (out, bands)
    }
}
