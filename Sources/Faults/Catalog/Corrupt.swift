import SSE

/// Malformed frames: each mode produces one kind of damage a real stream shows.
/// Modes that insert something (`bom`, `oversized`, `garbage`, `nul_comment`) write it just
/// before the matching frame and leave the frame intact.
public struct CorruptFault: Sendable, Equatable {
    public enum Cut: Sendable, Equatable {
        case atByte(Int)
        /// 0 < f < 1 of the frame's length (at least 1 byte kept, at least 1 cut).
        case fraction(Double)
    }

    public enum Mode: Sendable, Equatable {
        /// Cut the frame's bytes; the rest of it is dropped and the stream goes on (the torn
        /// tail runs into the next frame). `terminate` ends the torn piece with a blank line.
        case truncate(Cut, terminate: Bool)
        /// Remove the terminating blank line: this event and the next merge.
        case removeTerminator
        /// Rename a field (`data` → `Data` when `to` is nil: case matters in SSE).
        case mangleField(field: String, to: String?)
        /// Insert bytes that are not UTF-8 in the middle of the first data value.
        case invalidUTF8(bytes: [UInt8])
        /// Break the JSON in the data (drop its last `}`/`]`, or prefix `{"`).
        case breakJSON
        /// Rewrite the frame's line ends.
        case lineEnds(Malformed.LineEnd)
        /// A BOM before the frame (only one at stream start is legal).
        case bom
        /// An extra event of `bytes` data bytes before the frame.
        case oversized(bytes: Int)
        /// `length` random bytes before the frame.
        case garbage(length: Int)
        /// A comment containing a NUL byte before the frame.
        case nulComment
    }

    public var mode: Mode
    public init(_ mode: Mode) { self.mode = mode }
}

struct CorruptStage: FaultStage {
    let settings: CorruptFault
    init(_ settings: CorruptFault) { self.settings = settings }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        var c = chunk
        let raw = chunk.bytes
        func inject(_ bytes: [UInt8], _ what: FaultEffect.Injection) {
            out.append(.chunk(.injected(bytes, at: chunk.notBefore)))
            ctx.record(chunk.frameIndex, .corrupted(.injected(what)))
        }
        switch settings.mode {
        case .truncate(let cut, let terminate):
            guard raw.count > 1 else { break }
            let k: Int
            switch cut {
            case .atByte(let n): k = n
            case .fraction(let f): k = Int(Double(raw.count) * f)
            }
            let at = Swift.min(Swift.max(1, k), raw.count - 1)
            guard at < raw.count else { break }
            c.bytes = Malformed.truncate(raw, at: at)
            if terminate { c.bytes += Malformed.lineEnd(of: raw) + Malformed.lineEnd(of: raw) }
            ctx.record(chunk.frameIndex, .corrupted(.truncated(at: at, of: raw.count)))
        case .removeTerminator:
            let cut = Malformed.removeTerminator(raw)
            if cut != raw {
                c.bytes = cut
                ctx.record(chunk.frameIndex, .corrupted(.terminatorRemoved))
            }
        case .mangleField(let field, let to):
            let replacement = to ?? (field.prefix(1).uppercased() + field.dropFirst())
            if let r = Malformed.renameField(raw, from: field, to: replacement) {
                c.bytes = r
                ctx.record(chunk.frameIndex, .corrupted(.fieldRenamed(from: field, to: replacement)))
            }
        case .invalidUTF8(let bytes):
            if let r = Malformed.insertIntoData(raw, bytes: bytes) {
                c.bytes = r
                ctx.record(chunk.frameIndex, .corrupted(.invalidUTF8(bytes: bytes.count)))
            }
        case .breakJSON:
            if let r = Malformed.breakJSON(raw) {
                c.bytes = r
                ctx.record(chunk.frameIndex, .corrupted(.jsonBroken))
            }
        case .lineEnds(let style):
            let r = Malformed.convertLineEnds(raw, to: style)
            if r != raw {
                c.bytes = r
                ctx.record(chunk.frameIndex, .corrupted(.lineEnds(style)))
            }
        case .bom:
            inject(Malformed.bom, .bom)
        case .oversized(let bytes):
            inject(Malformed.oversizedEvent(dataBytes: bytes), .oversizedEvent(dataBytes: bytes))
        case .garbage(let length):
            var g: [UInt8] = []
            g.reserveCapacity(length)
            while g.count < length {
                var r = ctx.rng.next()
                for _ in 0..<Swift.min(8, length - g.count) {
                    g.append(UInt8(truncatingIfNeeded: r))
                    r >>= 8
                }
            }
            inject(g, .garbage(bytes: length))
        case .nulComment:
            inject(Malformed.nulComment(), .nulComment)
        }
        out.append(.chunk(c))
    }
}
