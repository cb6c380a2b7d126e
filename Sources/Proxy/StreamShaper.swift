import EventLoop
import Faults
import HTTP1
import Ledger
import SSE
import Session

/// The body of an event stream whose profile changes it: the upstream payload is parsed into
/// frames, each frame goes through the connection's `FaultPlan`, and the plan's emissions are
/// written to the client in order, each not before its time. Pure bookkeeping plus writes into
/// the client's buffer; the session owns the timer and the ends.
final class StreamShaper {
    /// What the session should do next (the machine decides with it).
    typealias Next = ShaperNext

    private var parser: SSEParser
    private(set) var plan: FaultPlan
    private var queue: [Emission] = []
    private var head = 0
    /// Re-chunk writes for the client (an HTTP/1.1 client); otherwise the body ends with the connection.
    private let chunked: Bool
    private var upstreamEnded = false
    private let highWater: Int
    /// Bytes of payload waiting in the queue (for back-pressure on the upstream).
    private(set) var queuedBytes = 0
    /// Upstream frames seen and bytes delivered (the ledger's raw material).
    private(set) var framesSeen = 0
    private(set) var bytesDelivered = 0
    /// SSE blocks larger than the limit, passed on untouched.
    private(set) var oversizedBlocks = 0

    private var ledger: SharedLedger?
    private var ledgerID: UInt64 = 0
    /// What the ledger is told, in order, once the writes of a round are out (`recordPending`): so its work
    /// stays off each event's path, as for passthrough streams, and takes the ledger's lock once a round.
    private enum LedgerCall {
        case frame(SSEFrame, at: UInt64)
        case fault(FaultRecord)
        /// `frameIndex`: the upstream frame the bytes came from (nil: injected).
        case delivered([UInt8], frameIndex: Int?, at: UInt64)
    }
    private var pendingCalls: [LedgerCall] = []
    /// `recordPending`: the frames the ledger recorded and the client may not have been written yet, in
    /// order, as the ledger recorded them (at most `keptRoundFrames`; older ones are delivered as bytes).
    private var roundFrames: [(frame: SSEFrame, sent: Ledger.SentEvent?)] = []
    private static let keptRoundFrames = 4096

    private var metrics: ProxyMetrics?

    /// Reports frames, decisions and deliveries to the ledger (`target`, when recorded) and `metrics`.
    func record(into target: (SharedLedger, UInt64)?, metrics: ProxyMetrics) {
        self.metrics = metrics
        if let target { (ledger, ledgerID) = target }
        flushRecords()
    }

    /// Hands the plan's pending decisions to the metrics now and to the ledger with the round's other calls.
    private func flushRecords() {
        let records = plan.drainRecords()
        for r in records {
            metrics?.faultFired(r.fault)
            if ledger != nil { pendingCalls.append(.fault(r)) }
        }
    }

    /// Tells the ledger what this round saw and wrote (call after `pump`, and before the stream's end is recorded).
    func recordPending() {
        flushRecords()
        guard let ledger, !pendingCalls.isEmpty else { return }
        let id = ledgerID
        var frames = roundFrames
        roundFrames = []
        var next = 0
        ledger.with { l in
            for call in pendingCalls {
                switch call {
                case .frame(let frame, let at):
                    frames.append((frame, l.upstreamFrame(id: id, frame: frame, at: at)))
                case .fault(let record): l.fault(id: id, record: record)
                case .delivered(let bytes, let index?, let at):
                    // A write of a whole recorded frame, unchanged (the common case: no fault acted on it): the
                    // ledger takes the frame, not a second parse of its bytes. Writes come in frame order, so
                    // the search goes forward; anything else is delivered as bytes.
                    while next < frames.count, frames[next].frame.index < index { next += 1 }
                    let k = next
                    if k < frames.count, frames[k].frame.index == index, frames[k].frame.raw == bytes {
                        l.delivered(id: id, frame: frames[k].frame, sent: frames[k].sent, at: at)
                    } else {
                        l.delivered(id: id, bytes: bytes, at: at)
                    }
                case .delivered(let bytes, nil, let at): l.delivered(id: id, bytes: bytes, at: at)
                }
            }
        }
        // Frames not yet written (held back by the client's output, or a delay) wait for a later round;
        // those before the last write's frame were written, dropped or changed. Bounded.
        frames.removeFirst(min(frames.count, max(next, frames.count - Self.keptRoundFrames)))
        roundFrames = frames
        pendingCalls.removeAll(keepingCapacity: pendingCalls.capacity <= 4096)
    }

    /// - Parameter parser: a passthrough stream's parser, when it switches to shaping (frame indexes go on).
    init(plan: FaultPlan, chunked: Bool, maxFrameBytes: Int, highWater: Int, parser: SSEParser? = nil) {
        self.plan = plan
        self.parser = parser ?? SSEParser(maxFrameBytes: maxFrameBytes)
        self.chunked = chunked
        self.highWater = highWater
    }

    /// Upstream payload bytes (de-chunked).
    func ingest(_ payload: UnsafeRawBufferPointer, now: UInt64) {
        parser.feed(payload) { output in
            switch output {
            case .frame(let frame):
                framesSeen += 1
                noteKind(frame.kind, of: frame.index)
                if frame.kind == .event { metrics?.events.increment() }
                if ledger != nil { pendingCalls.append(.frame(frame, at: now)) }
                let first = queue.count
                plan.frame(frame, now: now, into: &queue)  // straight into the queue: no array per frame
                enqueued(from: first)
            case .oversized(let bytes, let index, let isEnd):
                if isEnd { oversizedBlocks += 1 }
                // Too large to hold as a frame: passed on as it comes, in order, untouched by faults.
                enqueue([.write(bytes, notBefore: now, frameIndex: index)])
            }
        }
    }

    /// The upstream body ended cleanly: held frames are released, the unfinished tail (which a
    /// client discards) is passed on as the upstream sent it, then the stream ends.
    func finishUpstream(now: UInt64) {
        guard !upstreamEnded else { return }
        upstreamEnded = true
        var out = plan.upstreamEnded(now: now)
        let tail = parser.unfinishedTail
        if !tail.isEmpty {
            let at = out.lastIndex { switch $0 { case .close, .end: true; default: false } } ?? out.count
            out.insert(.write(tail, notBefore: now, frameIndex: nil), at: at)
        }
        enqueue(out)
    }

    func timerFired(now: UInt64) {
        if let t = plan.nextTimer, t <= now { enqueue(plan.timer(now: now)) }
    }

    private func enqueue(_ emissions: [Emission]) {
        let first = queue.count
        queue.append(contentsOf: emissions)
        enqueued(from: first)
    }

    /// Accounts for the emissions appended to the queue from index `first` on.
    private func enqueued(from first: Int) {
        flushRecords()
        for i in first..<queue.count {
            if case .write(let bytes, _, _) = queue[i] { queuedBytes += bytes.count }
        }
    }

    private static let crlf: (UInt8, UInt8) = (0x0D, 0x0A)
    /// Chunks up to this payload size are copied into one piece before they go into the output.
    private static let joinedChunkLimit = 2048

    /// One chunk: `hex(count) CRLF`, as `ChunkedEncoder.chunkHeader` but without allocating, the
    /// bytes, CRLF; with `direct`, straight to the socket when nothing waits in the client's output.
    private static func writeChunked(_ bytes: [UInt8], to client: Connection, direct: Bool) {
        let count = bytes.count
        var storage: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var crlf = Self.crlf
        withUnsafeMutableBytes(of: &storage) { buf in
            var digits = 0
            var n = count
            repeat {
                digits += 1
                n >>= 4
            } while n > 0
            var v = count
            for i in stride(from: digits - 1, through: 0, by: -1) {
                let d = UInt8(v & 0xF)
                buf[i] = d < 10 ? 0x30 + d : 0x61 + d - 10
                v >>= 4
            }
            buf[digits] = 0x0D
            buf[digits + 1] = 0x0A
            let header = UnsafeRawBufferPointer(rebasing: buf[0..<(digits + 2)])
            bytes.withUnsafeBytes { payload in
                withUnsafeBytes(of: &crlf) { end in
                    if direct {
                        client.writeDirect(header, payload, end)
                    } else if count <= Self.joinedChunkLimit {
                        // A small chunk goes into the output in one append (each append runs the buffer's callbacks).
                        let total = header.count + count + 2
                        withUnsafeTemporaryAllocation(byteCount: total, alignment: 1) { joined in
                            joined.baseAddress!.copyMemory(from: header.baseAddress!, byteCount: header.count)
                            if count > 0 { (joined.baseAddress! + header.count).copyMemory(from: payload.baseAddress!, byteCount: count) }
                            (joined.baseAddress! + header.count + count).copyMemory(from: end.baseAddress!, byteCount: 2)
                            client.write(UnsafeRawBufferPointer(joined))
                        }
                    } else {
                        client.write(header)
                        client.write(payload)
                        client.write(end)
                    }
                }
            }
        }
    }

    /// Writes what is due into `client`, in order. Returns what the session should do next.
    func pump(into client: Connection, now: UInt64) -> Next {
        while head < queue.count {
            if let cut = liveCut, cut.remaining <= 0, atFrameBoundary(before: queue[head]) { return landCut(into: client, now: now) }
            if let heartbeats = liveStall, atFrameBoundary(before: queue[head]) {
                if heartbeats { passHeartbeats(into: client, now: now) }
                return .blocked
            }
            switch queue[head] {
            case .write(let bytes, let notBefore, let frameIndex):
                if notBefore > now { return wakeup(notBefore) }
                if client.output.count >= highWater { return .blocked }
                // The last write due now may go straight to the socket (a trickling stream: one
                // system call); a run of due writes is queued and goes out in one writev.
                var direct = true
                if head + 1 < queue.count, case .write(_, let next, _) = queue[head + 1], next <= now { direct = false }
                if chunked {
                    Self.writeChunked(bytes, to: client, direct: direct)
                } else if direct {
                    bytes.withUnsafeBytes { client.writeDirect($0) }
                } else {
                    client.write(bytes)
                }
                queuedBytes -= bytes.count
                bytesDelivered += bytes.count
                if ledger != nil { pendingCalls.append(.delivered(bytes, frameIndex: frameIndex, at: now)) }
                metrics?.bytesToClients.increment(by: Int64(bytes.count))
                wrote(frameIndex)
            case .pause(let until):
                guard let until else { return .stalled }
                if until > now { return wakeup(until) }
            case .close(let kind, let notBefore):
                if notBefore > now { return wakeup(notBefore) }
                // A fault's close: a FIN mid-stream leaves a chunked body unterminated (the client sees
                // it cut off, as from a dying gateway), whether or not the upstream had ended meanwhile.
                head = queue.count
                return .close(kind, byFault: true)
            case .end(let notBefore):
                if notBefore > now { return wakeup(notBefore) }
                // The upstream's end or a fault's clean end (`end`): the body is terminated properly.
                if chunked { client.write(ChunkedEncoder.lastChunk) }
                head = queue.count
                return .close(.fin, byFault: false)
            }
            head += 1
            if head > 64, head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
        }
        if let cut = liveCut, cut.remaining <= 0 { return landCut(into: client, now: now) }
        if liveStall != nil { return .blocked }
        return plan.nextTimer.map { .wake(at: $0) } ?? .idle
    }

    private func wakeup(_ at: UInt64) -> Next {
        .wake(at: min(at, plan.nextTimer ?? at))
    }

    // MARK: - Live actions (the control API)

    /// Set by `liveStall`: nothing is written until `liveResume` (the value: comment-only frames still pass).
    private var liveStall: Bool?
    /// An armed cut: it lands at the first frame boundary once `remaining` more events have been written.
    private var liveCut: (kind: LiveAction.CutKind, remaining: Int, action: LiveAction)?
    /// The upstream frame the last write belonged to (nil: injected bytes, or nothing written yet).
    private var lastWrittenFrame: Int?
    /// The last event frame written whole or in part (where an armed cut lands).
    private var lastEventWritten: Int?
    /// The kind of each recent upstream frame, by index from `kindsBase` (bounded: the oldest are forgotten).
    private var kinds: [SSEFrame.Kind] = []
    private var kindsBase = 0
    private static let keptKinds = 4096

    private func noteKind(_ kind: SSEFrame.Kind, of index: Int) {
        if kinds.isEmpty { kindsBase = index }
        guard index >= kindsBase + kinds.count else { return }
        while kindsBase + kinds.count < index { kinds.append(.blank) }
        kinds.append(kind)
        if kinds.count > Self.keptKinds {
            kinds.removeFirst(Self.keptKinds / 2)
            kindsBase += Self.keptKinds / 2
        }
    }

    private func kind(of index: Int) -> SSEFrame.Kind? {
        let i = index - kindsBase
        return i >= 0 && i < kinds.count ? kinds[i] : nil
    }

    /// Accounts for one write: counts an event (once per frame, however many writes it takes) for an armed cut.
    private func wrote(_ frameIndex: Int?) {
        lastWrittenFrame = frameIndex
        guard let frameIndex, frameIndex != lastEventWritten, kind(of: frameIndex) == .event else { return }
        lastEventWritten = frameIndex
        if liveCut != nil { liveCut!.remaining -= 1 }
    }

    /// Whether `next` starts a new frame (not the rest of the frame written last).
    private func atFrameBoundary(before next: Emission) -> Bool {
        guard let last = lastWrittenFrame, case .write(_, _, let index) = next else { return true }
        return index != last
    }

    /// Ends the stream now (between frames): `clean` writes the chunked terminator first.
    private func landCut(into client: Connection, now: UInt64) -> Next {
        guard let cut = liveCut else { return .idle }
        liveCut = nil
        if cut.action.afterEvents != nil, ledger != nil {
            var landed = cut.action
            landed.landed = true
            pendingCalls.append(.fault(FaultRecord(frameIndex: lastEventWritten, fault: "control", effect: .controlled(landed), at: now)))
        }
        if cut.kind == .clean, chunked { client.write(ChunkedEncoder.lastChunk) }
        head = queue.count
        return .cut(cut.kind)
    }

    /// Arms a cut after `afterEvents` more events (0: at the next frame boundary).
    func liveCut(_ kind: LiveAction.CutKind, afterEvents: Int, action: LiveAction) {
        liveCut = (kind, afterEvents, action)
    }

    func liveStall(heartbeats: Bool) { liveStall = heartbeats }

    func liveResume() { liveStall = nil }

    /// Writes comment-only frames that are due while stalled (they carry no event; their order among the
    /// held events does not change what a client dispatches).
    private func passHeartbeats(into client: Connection, now: UInt64) {
        var i = head
        guard i < queue.count, atFrameBoundary(before: queue[i]) else { return }
        while i < queue.count {
            if case .write(let bytes, let notBefore, let index?) = queue[i], notBefore <= now, kind(of: index) == .commentOnly {
                if chunked { Self.writeChunked(bytes, to: client, direct: false) } else { client.write(bytes) }
                queuedBytes -= bytes.count
                bytesDelivered += bytes.count
                if ledger != nil { pendingCalls.append(.delivered(bytes, frameIndex: index, at: now)) }
                metrics?.bytesToClients.increment(by: Int64(bytes.count))
                queue.remove(at: i)
            } else {
                i += 1
            }
        }
    }

    /// Queues one whole event to be written next: after the rest of a frame partly written, before anything else.
    func inject(_ bytes: [UInt8], now: UInt64) {
        var at = head
        if let last = lastWrittenFrame {
            while at < queue.count, case .write(_, _, let index) = queue[at], index == last { at += 1 }
        }
        queue.insert(.write(bytes, notBefore: now, frameIndex: nil), at: at)
        queuedBytes += bytes.count
    }

    /// The stream takes `plan` from now on (what the old plan already emitted stays queued).
    func replacePlan(_ plan: FaultPlan) {
        flushRecords()
        self.plan = plan
        flushRecords()
    }
}

extension StreamShaper {
    /// Bytes held: the queue's payload and the parser's unfinished block (up to `--max-event-bytes`).
    var heldBytes: Int { queuedBytes + parser.unfinishedTail.count }
}
