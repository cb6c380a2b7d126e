import SSE

extension Ledger {
    /// What one read of a passthrough stream held, for the caller's metrics and logs.
    public struct RelayedRead: Sendable, Equatable {
        /// Frames the parser made (every kind), and blocks too long for it that the ledger recorded as frames.
        public var frames = 0
        /// Of them, events (frames with data).
        public var events = 0
        /// Oversized blocks that ended in this read (passed on, not made into frames).
        public var oversizedBlocks = 0
        public init() {}
    }

    /// One read of a passthrough stream: `bytes` are both what the upstream sent and what the client was
    /// delivered, unchanged. `parser` (the stream's own, fed here) makes the frames once, and the client
    /// model takes the same frames (`SSEClientModel.feed(frame:onDispatch:)`) instead of parsing the bytes
    /// again. The records and counts are those of `upstreamFrame(id:frame:at:shaped: false)` for each
    /// frame the parser yields, in order, then `delivered(id:bytes:at:)`; with one connection lookup.
    /// Each frame is recorded as sent just before the model takes it, so a message is matched against the
    /// frames up to its own; one the model dispatches from a frame's own fields (`SSEDispatch.isFramesOwn`)
    /// is matched by what `record` found for that frame (its digest, its id table slot) instead of
    /// digesting and looking it up again.
    ///
    /// A block longer than the parser holds (`.oversized` pieces) is recorded all the same when the stream
    /// has a client model (`recordsOversizedBlocks`): the model takes its pieces, its fields are the ones
    /// the model applied (`SSEClientModel.openBlock`, read before the block's final empty line), its
    /// message digest the one the model dispatches (digested as the data passed), its size and raw digest
    /// taken from the pieces as they pass. So the proxy's parser need hold only a small block, and what is
    /// recorded does not depend on how large a block the parser holds (`LedgerRelayedTests`), save the
    /// model's documented deviations for single lines over `ConnectionLedger.maxHeldEventBytes`.
    ///
    /// A connection fed this way is fed only this way (the model is behind by the parser's unfinished
    /// block, `ConnectionLedger.unparsedTail`, until the next read or the close).
    /// Without the connection (not recorded, or after `reset`) the bytes are still parsed and counted.
    public func relayed(id: UInt64, bytes: UnsafeRawBufferPointer, at: UInt64, parser: inout SSEParser) -> RelayedRead {
        var read = RelayedRead()
        guard let conn = connectionsByID[id] else {
            parser.feed(bytes) { output in read.count(output) }
            return read
        }
        conn.unparsedTail = []  // the parser's block is uniquely referenced while fed: extended in place, never copied
        conn.deliveredBytes += bytes.count
        conn.deliveredWrites += 1
        var dispatched = 0
        var model = conn.model
        conn.model = nil  // keep the model uniquely referenced while it is fed
        let client = conn.client
        parser.feed(bytes) { output in
            read.count(output)
            switch output {
            case .frame(let frame):
                let sent = record(frame, conn, at: at, shaped: false)
                // A message that is the frame's own is matched by what the frame was recorded as: no
                // second digest of its bytes, no second id lookup.
                model?.feed(frame: frame) { message in
                    dispatched += 1
                    classify(message, conn, client, sent: message.isFramesOwn ? sent : nil)
                }
            case .oversized(let piece, let index, let isEnd):
                guard model != nil else { return }
                piece.withUnsafeBytes { piece in
                    conn.longBlock.feed(piece, isEnd: isEnd, model: &model!) { end, message in
                        let f = end.fields
                        read.frames += 1
                        if f.kind == .event { read.events += 1 }
                        let sent = recordBlock(conn, at: at, shaped: false, index: index, kind: f.kind, id: f.id,
                                               eventType: message?.type, retry: f.retry, size: end.size,
                                               eventDigest: { _ in message.map { Digest64.event($0) } ?? 0 }, rawDigest: { end.rawDigest })
                        guard let message else { return }
                        dispatched += 1
                        classify(message, conn, client, sent: sent)
                    }
                }
            }
        }
        conn.model = model
        conn.unparsedTail = parser.unfinishedTail
        recordDelivery(conn, bytes: bytes.count, dispatched: dispatched, at: at)
        return read
    }

    /// Whether `relayed` records a block longer than the stream's parser holds (the stream has a client
    /// model to apply its fields): the proxy's parser then holds a small block, else whole blocks up to its limit.
    public func recordsOversizedBlocks(id: UInt64) -> Bool {
        connectionsByID[id]?.model != nil
    }
}

extension Ledger {
    /// The bytes the ledger holds in memory for one open connection's stream (0 when not recorded):
    /// `ConnectionLedger.heldBytes`. Part of the proxy's per-stream accounting (`ClientSession.heldBytes`).
    public func heldBytes(id: UInt64) -> Int {
        connectionsByID[id]?.heldBytes ?? 0
    }
}

extension Ledger.RelayedRead {
    /// Counts one output of the parser.
    public mutating func count(_ output: SSEParser.Output) {
        switch output {
        case .frame(let frame):
            frames += 1
            if frame.kind == .event { events += 1 }
        case .oversized(_, _, let isEnd):
            if isEnd { oversizedBlocks += 1 }
        }
    }
}
