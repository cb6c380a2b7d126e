import SSE

/// An `SSEClientModel` fed the bytes delivered on one connection, that hands over each dispatched
/// message once and keeps memory bounded however long the stream runs.
///
/// `SSEClientModel` keeps every message it dispatched. To bound memory, this wrapper replaces the
/// model by a fresh one carrying its state (last event ID, reconnection time) at a point where the two
/// are equivalent: right after an empty line was processed (a dispatch). There every buffer of the model
/// is empty and its last event ID buffer equals its last event ID string. The fresh model is first fed a
/// single LF: that decides the stream's BOM (so a later `EF BB BF` is content, as in the old model) and
/// is an empty dispatch, which changes nothing in that state. A CR-LF split by the cut gives the new model
/// one more empty line: again an empty dispatch, again no change.
///
/// The cut points are found by a small line tracker that follows the model's line rules (CR, LF, CRLF,
/// a CR at the end of one write and LF at the start of the next being one line end).
struct PredictingClient {
    private var model: SSEClientModel
    private var consumed = 0
    /// Line tracker: nothing of the current line seen yet.
    private var atLineStart = true
    /// The previous byte was a CR (an LF next is part of the same line end).
    private var afterCR = false
    /// The current line starts with `:`.
    private var lineIsComment = false
    /// A non-empty, non-comment line was processed since the last dispatch (a block is open).
    private var blockOpen = false
    /// Leading bytes that matched the BOM so far (the tracker skips a stream-start BOM like the model).
    private var bomMatched = 0
    private var bomDone = false
    /// Rebase once this many messages are held by the model.
    private let rebaseAfter: Int

    init(state: SSEClientState, rebaseAfter: Int = 64) {
        model = SSEClientModel(state: state)
        self.rebaseAfter = rebaseAfter
    }

    var state: SSEClientState { model.state }

    /// Messages the current model still holds (bounded by `rebaseAfter` plus one write's worth).
    var heldMessages: Int { model.dispatched.count }

    /// An unfinished line or block is pending (it is discarded if the stream ends now).
    var hasPendingTail: Bool { (!atLineStart && !lineIsComment) || blockOpen }

    /// Feeds delivered payload bytes; `onMessage` gets each message the model dispatches, in order.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ onMessage: (SSEMessage) -> Void) {
        let n = bytes.count
        guard n > 0 else { return }
        let lastClean = track(bytes)
        if let cut = lastClean {
            // Feed up to the clean point, hand over, maybe start a fresh model, feed the rest.
            model.feed(UnsafeRawBufferPointer(rebasing: bytes[0..<cut]))
            harvest(onMessage)
            if model.dispatched.count >= rebaseAfter { rebase() }
            if cut < n {
                model.feed(UnsafeRawBufferPointer(rebasing: bytes[cut..<n]))
                harvest(onMessage)
            }
        } else {
            model.feed(bytes)
            harvest(onMessage)
        }
    }

    /// The stream ended: the unfinished tail is discarded. Returns whether there was one.
    mutating func end() -> Bool {
        let tail = hasPendingTail
        model.end()
        atLineStart = true
        blockOpen = false
        return tail
    }

    private mutating func harvest(_ onMessage: (SSEMessage) -> Void) {
        let all = model.dispatched
        while consumed < all.count {
            onMessage(all[consumed])
            consumed += 1
        }
    }

    private mutating func rebase() {
        var fresh = SSEClientModel(state: model.state)
        fresh.feed([0x0A])
        model = fresh
        consumed = 0
    }

    /// Follows line ends; returns the offset just after the last empty line's terminator in `bytes`.
    private mutating func track(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var clean: Int?
        var i = 0
        let n = bytes.count
        if !bomDone {
            let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
            while i < n && bomMatched < 3 && bytes[i] == bom[bomMatched] {
                bomMatched += 1
                i += 1
            }
            if bomMatched == 3 {
                bomDone = true
            } else if i < n {
                bomDone = true
                if bomMatched > 0 {  // not a BOM: the bytes are line content
                    atLineStart = false
                    lineIsComment = false
                }
            } else {
                return nil
            }
        }
        while i < n {
            let b = bytes[i]
            if afterCR {
                afterCR = false
                if b == 0x0A {
                    i += 1
                    continue
                }
            }
            if b == 0x0A || b == 0x0D {
                if atLineStart {
                    blockOpen = false
                    clean = i + 1
                } else {
                    if !lineIsComment { blockOpen = true }
                    atLineStart = true
                }
                afterCR = b == 0x0D
            } else if atLineStart {
                atLineStart = false
                lineIsComment = b == 0x3A
            }
            i += 1
        }
        return clean
    }
}
