/// Out-of-order delivery: a matching frame is held and written after the next `distance`
/// events (a swap with the next one for distance 1). The selector and probability decide
/// which frames are moved; every later `event` frame counts towards `distance`.
public struct ReorderFault: Sendable, Equatable {
    public var distance: Int
    public init(distance: Int = 1) { self.distance = distance }
}

struct ReorderStage: FaultStage {
    let settings: ReorderFault
    var held: Chunk?
    var remaining = 0
    init(_ settings: ReorderFault) { self.settings = settings }

    var needsDraw: Bool { held == nil }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        guard held != nil else {
            held = chunk
            remaining = settings.distance
            return
        }
        out.append(.chunk(chunk))
        remaining -= 1
        if remaining == 0 { release(&ctx, into: &out) }
    }

    mutating func onOther(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        switch item {
        case .close, .end:
            release(&ctx, into: &out)
            out.append(item)
        case .chunk(let c) where held != nil && c.frame?.kind == .event:
            out.append(item)
            remaining -= 1
            if remaining == 0 { release(&ctx, into: &out) }
        default:
            out.append(item)
        }
    }

    mutating func onEnd(_ ctx: inout StageContext, into out: inout [StreamItem]) {
        release(&ctx, into: &out)
    }

    private mutating func release(_ ctx: inout StageContext, into out: inout [StreamItem]) {
        guard var c = held else { return }
        held = nil
        let moved = settings.distance - remaining
        ctx.record(c.frameIndex, .reordered(movedAfter: moved))
        c.notBefore = Swift.max(c.notBefore, ctx.now)
        out.append(.chunk(c))
    }
}

extension ReorderFault: FaultSettings {
    public static let name = "reorder"
    public static let summary = "Move a matching frame after the next k events."
    public static let guide = "The selector and probability choose which frames move; every later event frame counts."
    public static let keys = [
        SettingKey("distance", Schema.integer(min: 1, max: 1000), "K: the frame is written after the next K event frames (default 1)")
    ]
    public static let examples = ["reorder: { distance: 2, select: { event_index: { from: 5, to: 5 } } }"]
    public static let defaultKinds: Set<FrameKind> = [.event]
    public static let probabilityScope = ProbabilityScope.perFrame

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> ReorderFault {
        ReorderFault(distance: try m["distance"]?.int(in: 1...1000) ?? 1)
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(ReorderStage(self)) }
}

extension Fault {
    public static func reorder(_ f: ReorderFault) -> Fault { Fault(f) }
}
