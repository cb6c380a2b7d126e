import SSE
import Testing

@testable import Faults

/// Builds an event frame with `data: <data>` (and optional id/event/retry lines), raw bytes included.
func event(_ index: Int, _ data: String = "", id: String? = nil, type: String? = nil, retry: UInt64? = nil) -> SSEFrame {
    var text = ""
    if let type { text += "event: \(type)\n" }
    if let id { text += "id: \(id)\n" }
    if let retry { text += "retry: \(retry)\n" }
    let payload = data.isEmpty ? "e\(index)" : data
    text += "data: \(payload)\n\n"
    return SSEFrame(
        raw: Array(text.utf8), kind: .event, eventType: type, data: [payload], id: id, retry: retry, index: index)
}

func comment(_ index: Int, _ text: String = "ping") -> SSEFrame {
    SSEFrame(raw: Array(": \(text)\n\n".utf8), kind: .commentOnly, comments: [" \(text)"], index: index)
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

let ms: Nanos = 1_000_000

func plan(_ faults: [FaultSpec], seed: UInt64 = 1, client: String = "c", attempt: Int = 1, lastEventID: String? = nil)
    -> FaultPlan
{
    FaultPlan(
        faults: faults,
        context: ConnectionContext(clientKey: client, attempt: attempt, seed: seed, lastEventID: lastEventID))
}

extension Emission {
    var bytes: [UInt8]? {
        if case .write(let b, _, _) = self { return b }
        return nil
    }
    var at: Nanos? {
        switch self {
        case .write(_, let t, _), .close(_, let t), .end(let t): return t
        case .pause: return nil
        }
    }
    var frameIndex: Int? {
        if case .write(_, _, let i) = self { return i }
        return nil
    }
}

/// Runs frames through a plan (frame i arrives at i·10ms), then ends the stream at `endAt`.
func run(_ p: inout FaultPlan, _ frames: [SSEFrame], every step: Nanos = 10 * ms, end: Bool = true) -> [Emission] {
    var out: [Emission] = []
    _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 0)
    for (i, f) in frames.enumerated() { out += p.frame(f, now: Nanos(i) * step) }
    if end { out += p.upstreamEnded(now: Nanos(frames.count) * step) }
    return out
}

/// Concatenated bytes of all writes.
func written(_ e: [Emission]) -> String { text(e.compactMap(\.bytes).flatMap { $0 }) }
