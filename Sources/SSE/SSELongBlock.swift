/// A block too long for the parser (its `.oversized` pieces), followed through a client model as the pieces
/// pass, so it can be recorded like a frame without being held: its size and raw digest from the pieces,
/// its fields from the model (`SSEClientModel.openBlock`, read before the block's final empty line), its
/// message from the model's dispatch of that empty line.
///
/// The final empty line may straddle two pieces (a CRLF whose LF opens the last piece): a CR ending a
/// piece that is not the last is held back (one byte) and fed with the next, so the model sees the empty
/// line only in the last piece. The model is split-independent, so holding it back changes nothing else.
public struct SSELongBlock: Sendable {
    /// What a frame of the block would say: its fields, its size and `Digest64` of its raw bytes.
    public struct End {
        public let fields: SSEBlockFields
        public let size: Int
        public let rawDigest: UInt64
    }

    private var size = 0
    private var digest = Digest64()
    private var heldCR = false

    public init() {}

    /// Feeds one piece (in order, the block's first to its last, `isEnd`) to `model`. At the end, `atEnd` is
    /// called once: inside the model's dispatch when the block dispatches a message (with it), else after
    /// the empty line (nil). Nothing dispatches before the block's end.
    public mutating func feed(_ piece: UnsafeRawBufferPointer, isEnd: Bool, model: inout SSEClientModel,
                              atEnd: (End, SSEDispatch?) -> Void) {
        size += piece.count
        digest.add(piece)
        guard heldCR else { return feedHeld(piece, isEnd: isEnd, model: &model, atEnd: atEnd) }
        heldCR = false
        var joined = [SSELines.cr]
        joined.append(contentsOf: piece)
        joined.withUnsafeBytes { feedHeld($0, isEnd: isEnd, model: &model, atEnd: atEnd) }
    }

    /// Feeds `model` the byte held back, if any (when the stream ends, or its state is read, mid-block):
    /// it ends a line of the block, never the block (the parser would have ended the block there).
    public func feedUnfed(into model: inout SSEClientModel, onDispatch: (SSEDispatch) -> Void) {
        guard heldCR else { return }
        var cr = SSELines.cr
        withUnsafeBytes(of: &cr) { model.feed($0, onDispatch: onDispatch) }
    }

    private mutating func feedHeld(_ bytes: UnsafeRawBufferPointer, isEnd: Bool, model: inout SSEClientModel,
                                   atEnd: (End, SSEDispatch?) -> Void) {
        guard isEnd else {
            heldCR = bytes.last == SSELines.cr
            model.feed(UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - (heldCR ? 1 : 0))])) { _ in
                assertionFailure("a long block dispatched before its last piece")
            }
            return
        }
        let head = bytes.count - SSEParser.finalEmptyLineLength(bytes)
        model.feed(UnsafeRawBufferPointer(rebasing: bytes[..<head])) { _ in assertionFailure("a long block dispatched before its empty line") }
        let end = End(fields: model.openBlock, size: size, rawDigest: digest.value)
        self = SSELongBlock()
        var dispatched = false
        model.feed(UnsafeRawBufferPointer(rebasing: bytes[head...])) { message in
            dispatched = true
            atEnd(end, message)
        }
        if !dispatched { atEnd(end, nil) }
    }
}
