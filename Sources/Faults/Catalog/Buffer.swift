/// A buffering intermediary (nginx `proxy_buffering`, compression middleware): frames are held
/// and released in bursts.
public struct BufferFault: Sendable, Equatable {
    public enum Release: Sendable, Equatable {
        /// When `n` matching events (frames that dispatch) are held; other held frames ride along.
        case everyEvents(Int)
        /// When at least `n` bytes are held.
        case everyBytes(Int)
        /// On a clock aligned to the stream start: at start + T, start + 2T, … (when anything is held).
        case every(Nanos)
        /// Only when upstream ends.
        case atEnd
    }
    public var release: Release
    public init(release: Release) { self.release = release }
}

struct BufferStage: FaultStage {
    let settings: BufferFault
    var held: [StreamItem] = []
    var heldFrames = 0
    var heldMatching = 0
    var heldBytes = 0
    var deadline: Nanos?

    init(_ settings: BufferFault) { self.settings = settings }

    var nextTimer: Nanos? { deadline }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        if chunk.eventOrdinal != nil { heldMatching += 1 }
        hold(.chunk(chunk), &ctx)
        switch settings.release {
        case .everyEvents(let n) where heldMatching >= n: release(&ctx, into: &out)
        case .everyBytes(let n) where heldBytes >= n: release(&ctx, into: &out)
        default: break
        }
    }

    mutating func onOther(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        switch item {
        case .close, .end:
            // The stream ends here: release what is held ahead of the close.
            release(&ctx, into: &out)
            out.append(item)
        case .chunk, .pause:
            if held.isEmpty { return out.append(item) }
            hold(item, &ctx)
            if case .everyBytes(let n) = settings.release, heldBytes >= n { release(&ctx, into: &out) }
        }
    }

    mutating func onTimer(_ ctx: inout StageContext, into out: inout [StreamItem]) {
        release(&ctx, into: &out)
    }

    mutating func onEnd(_ ctx: inout StageContext, into out: inout [StreamItem]) {
        release(&ctx, into: &out)
    }

    private mutating func hold(_ item: StreamItem, _ ctx: inout StageContext) {
        if held.isEmpty, case .every(let period) = settings.release, period > 0 {
            let elapsed = ctx.now >= ctx.streamStart ? ctx.now - ctx.streamStart : 0
            deadline = ctx.streamStart + (elapsed / period + 1) * period
        }
        if case .chunk(let c) = item {
            heldBytes += c.bytes.count
            if c.frameIndex != nil { heldFrames += 1 }
        }
        held.append(item)
    }

    private mutating func release(_ ctx: inout StageContext, into out: inout [StreamItem]) {
        deadline = nil
        guard !held.isEmpty else { return }
        ctx.record(nil, .burstReleased(frames: heldFrames, bytes: heldBytes))
        for item in held {
            if case .chunk(var c) = item {
                c.notBefore = Swift.max(c.notBefore, ctx.now)
                out.append(.chunk(c))
            } else {
                out.append(item)
            }
        }
        held = []
        heldFrames = 0
        heldMatching = 0
        heldBytes = 0
    }
}

extension BufferFault: FaultSettings {
    public static let name = "buffer"
    public static let summary = "Hold frames, release them in bursts."
    public static let guide = """
        Exactly one release rule. Held data is also released at end of stream and before a close.
        """
    public static let keys = [
        SettingKey("every_events", Schema.integer(min: 1), "release when N matching frames are held"),
        SettingKey("every_bytes", Schema.integer(min: 1), "release when at least N bytes are held"),
        SettingKey("every", Schema.duration, "release on a clock from the stream start: start+T, start+2T, … (T > 0)"),
        SettingKey("until_end", Schema.trueFlag, "`true`: release only at end of stream"),
    ]
    static let rules = ["every_events", "every_bytes", "every", "until_end"]
    public static let schemaRules = [Schema.exactlyOne(rules.map { [$0] })]
    public static let examples = ["buffer: { every_events: 5 }"]
    public static let defaultKinds: Set<FrameKind> = FrameKind.allKinds
    public static let probabilityScope = ProbabilityScope.perFrame

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> BufferFault {
        let (key, v) = try m.exactlyOne(of: rules)
        switch key {
        case "every_events": return BufferFault(release: .everyEvents(try v.int(in: 1...Int.max)))
        case "every_bytes": return BufferFault(release: .everyBytes(try v.int(in: 1...Int.max)))
        case "every":
            let t = try v.nanos()
            guard t > 0 else { throw v.error("expected a duration above 0, found 0") }
            return BufferFault(release: .every(t))
        default:
            try v.trueFlag()
            return BufferFault(release: .atEnd)
        }
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(BufferStage(self)) }
}

extension Fault {
    public static func buffer(_ f: BufferFault) -> Fault { Fault(f) }
}
