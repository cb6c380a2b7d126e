// Shared by the SSE tests and the libFuzzer target (scripts/fuzz-sse.sh compiles this file with
// Sources/SSE/*.swift into one module, where there is no SSE module to import): plain Swift, public API only.
#if canImport(SSE)
import SSE
#endif

/// What a spec-exact client does with a sequence of frames, computed from the frames' fields only
/// (an independent check of `SSEClientModel`).
func replay(_ frames: [SSEFrame], from start: SSEClientState = SSEClientState()) -> ([SSEMessage], SSEClientState) {
    var idBuffer = start.lastEventID
    var state = start
    var messages: [SSEMessage] = []
    for f in frames {
        if let id = f.id { idBuffer = id }
        if let r = f.retry { state.reconnectionTimeMs = r }
        state.lastEventID = idBuffer
        if f.kind == .event {
            let type = (f.eventType ?? "").isEmpty ? "message" : f.eventType!
            messages.append(SSEMessage(type: type, data: f.data.joined(separator: "\n"), lastEventId: idBuffer))
        }
    }
    return (messages, state)
}

/// A frame with its raw bytes normalised for comparison across splits: the LF that completes a final
/// CR may sit at the end of one frame or at the start of the next (see `SSEParser`).
struct FrameMeaning: Equatable {
    var raw: [UInt8]
    var kind: SSEFrame.Kind
    var eventType: String?
    var id: String?
    var retry: UInt64?
    var data: [String]
    var comments: [String]
    var index: Int

    init(_ f: SSEFrame) {
        var r = f.raw
        if f.bodyStart == 1 { r.removeFirst() }
        if r.count >= 2 && r[r.count - 2] == 0x0D && r[r.count - 1] == 0x0A { r.removeLast() }
        raw = r
        kind = f.kind
        eventType = f.eventType
        id = f.id
        retry = f.retry
        data = f.data
        comments = f.comments
        index = f.index
    }
}
