import SSE

extension Ledger {
    /// What one read of a passthrough stream held, for the caller's metrics and logs.
    public struct RelayedRead: Sendable, Equatable {
        /// Frames the parser made (every kind).
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
    /// A message the model dispatches from a frame's own fields (`SSEDispatch.isFramesOwn`) is matched by
    /// what `record` found for that frame (its digest, its id table slot) instead of digesting and looking
    /// it up again; every frame of the read is still recorded before any dispatch is matched.
    /// A connection fed this way is fed only this way (the model is behind by the parser's unfinished
    /// block, `ConnectionLedger.unparsedTail`, until the next read or the close).
    /// Without the connection (not recorded, or after `reset`) the bytes are still parsed and counted.
    public func relayed(id: UInt64, bytes: UnsafeRawBufferPointer, at: UInt64, parser: inout SSEParser) -> RelayedRead {
        var read = RelayedRead()
        guard let conn = connectionsByID[id] else {
            parser.feed(bytes) { output in read.count(output) }
            return read
        }
        // First every frame as sent, then the delivery: as the two calls would, so a dispatch is matched
        // against all of the read's frames.
        var outputs = relayedOutputs
        relayedOutputs = []
        conn.unparsedTail = []  // the parser's block is uniquely referenced while fed: extended in place, never copied
        outputs.removeAll(keepingCapacity: outputs.capacity <= 4096)
        parser.feed(bytes) { output in
            read.count(output)
            var sent: SentEvent?
            if case .frame(let frame) = output { sent = record(frame, conn, at: at, shaped: false) }
            outputs.append((output, sent))
        }
        conn.unparsedTail = parser.unfinishedTail
        conn.deliveredBytes += bytes.count
        conn.deliveredWrites += 1
        var dispatched = 0
        if var model = conn.model {
            conn.model = nil  // keep the model uniquely referenced while it is fed
            let client = conn.client
            for (output, sent) in outputs {
                switch output {
                case .frame(let frame):
                    // A message that is the frame's own is matched by what the frame was recorded as: no
                    // second digest of its bytes, no second id lookup.
                    model.feed(frame: frame) { message in
                        dispatched += 1
                        classify(message, conn, client, sent: message.isFramesOwn ? sent : nil)
                    }
                case .oversized(let piece, _, _):
                    piece.withUnsafeBytes { piece in
                        model.feed(piece) { message in
                            dispatched += 1
                            classify(message, conn, client)
                        }
                    }
                }
            }
            conn.model = model
        }
        outputs.removeAll(keepingCapacity: outputs.capacity <= 4096)
        relayedOutputs = outputs
        recordDelivery(conn, bytes: bytes.count, dispatched: dispatched, at: at)
        return read
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
