/// Lost events: drop matching frames (all of them, every nth, or by probability). The
/// heartbeat variant drops `:` comment frames, to trip clients' read timeouts.
public struct DropFault: Sendable, Equatable {
    /// Drop only every nth frame the selector and probability let through (nil = each one).
    public var everyNth: Int?
    /// Target comment-only frames (heartbeats) instead of events, unless the selector names kinds.
    public var heartbeatsOnly: Bool

    public init(everyNth: Int? = nil, heartbeatsOnly: Bool = false) {
        self.everyNth = everyNth
        self.heartbeatsOnly = heartbeatsOnly
    }
}

struct DropStage: FaultStage {
    let settings: DropFault
    var seen = 0
    init(_ settings: DropFault) { self.settings = settings }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        seen += 1
        if let n = settings.everyNth, seen % n != 0 { return out.append(.chunk(chunk)) }
        ctx.record(chunk.frameIndex, .dropped(bytes: chunk.bytes.count))
    }
}
